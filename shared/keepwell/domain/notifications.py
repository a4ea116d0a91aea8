"""An in-app notification: what one user is told (a health alert, a playbook's notify step)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notification:
    notification_id: str
    user_id: str
    title: str
    body: str | None
    customer_id: str | None
    playbook_id: str | None
    run_id: str | None
    created_at: str
    kind: str | None = None
    read_at: str | None = None
