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


# The domain's Notification as the user reads it: its fields are written there, once (a comment, not a
# docstring, so the OpenAPI document stays as it was).
class NotificationOut(Notification):
    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        kind = notification.kind or ("playbook" if notification.playbook_id else None)
        return cls.model_validate(notification.model_copy(update={"kind": kind}), from_attributes=True)


class NotificationListOut(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class NotificationsReadOut(BaseModel):
    """POST /v1/notifications/read-all: how many were marked read by this call."""

    marked_read: int
    more: bool = Field(description="true when unread notifications remain (call again)")
