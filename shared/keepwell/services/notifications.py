"""The signed-in user's in-app notifications: list, mark one read, mark all read.

A user only ever reads and marks their own: every lookup is in the caller's own partition
(`WS#w#USER#<caller>#NOTIFICATIONS`), so another user's notification id answers 404 like an unknown one.
"""

from __future__ import annotations

from keepwell import clock
from keepwell.auth import Caller
from keepwell.errors import NotFound
from keepwell.schemas.notifications import (
    NotificationListOut,
    NotificationListQuery,
    NotificationOut,
    NotificationsReadOut,
)
from keepwell.storage import notifications as store

READ_ALL_BATCH = 200  # notifications marked per request; `more` says to call again


def list_notifications(caller: Caller, query: NotificationListQuery) -> NotificationListOut:
    items, next_cursor = store.page_notifications(
        caller.workspace_id, caller.user_id, query.limit, unread_only=query.unread_only, cursor=query.cursor
    )
    return NotificationListOut(items=[NotificationOut.of(n) for n in items], next_cursor=next_cursor)


def mark_read(caller: Caller, notification_id: str) -> NotificationOut:
    """Idempotent: marking it again keeps the first `read_at`."""
    found = store.find_notification(caller.workspace_id, caller.user_id, notification_id)
    if found is None:
        raise NotFound(f"No notification {notification_id}")
    return NotificationOut.of(store.mark_read(caller.workspace_id, found, clock.iso(clock.now())))


def mark_all_read(caller: Caller) -> NotificationsReadOut:
    at = clock.iso(clock.now())
    marked = store.mark_all_read(caller.workspace_id, caller.user_id, at, READ_ALL_BATCH)
    more = marked >= READ_ALL_BATCH and bool(
        store.page_notifications(caller.workspace_id, caller.user_id, 1, unread_only=True)[0]
    )
    return NotificationsReadOut(marked_read=marked, more=more)
