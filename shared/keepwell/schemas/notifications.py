"""Bodies of the notification routes: the signed-in user's own in-app notifications."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.notifications import Notification


class NotificationListQuery(BaseModel):
    """GET /v1/notifications: newest first; `unread_only` leaves out those marked read."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unread_only: bool = False
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class NotificationOut(BaseModel):
    notification_id: str
    kind: str | None = Field(default=None, description="health_alert, or playbook (a playbook's notify step)")
    title: str
    body: str | None
    customer_id: str | None
    playbook_id: str | None
    run_id: str | None
    created_at: str
    read_at: str | None = Field(default=None, description="when the user marked it read; null while unread")

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        kind = notification.kind or ("playbook" if notification.playbook_id else None)
        return cls.model_validate({**vars(notification), "kind": kind})


class NotificationListOut(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class NotificationsReadOut(BaseModel):
    """POST /v1/notifications/read-all: how many were marked read by this call."""

    marked_read: int
    more: bool = Field(description="true when unread notifications remain (call again)")
