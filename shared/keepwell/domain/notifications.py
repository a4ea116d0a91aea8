"""An in-app notification: what one user is told (a health alert, a playbook's notify step).

The field list is written once, here: the stored item is built from it and read back into it, and the
API's NotificationOut is this model (less `user_id`, which is whose partition it lives in, not something
the user reads about themselves)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    notification_id: str
    kind: str | None = Field(default=None, description="health_alert, or playbook (a playbook's notify step)")
    title: str
    body: str | None
    customer_id: str | None
    playbook_id: str | None
    run_id: str | None
    created_at: str
    read_at: str | None = Field(default=None, description="when the user marked it read; null while unread")
    user_id: str = Field(exclude=True)  # the recipient: part of the key, never in an answer
