"""In-app notifications (`WS#w#USER#u#NOTIFICATIONS / <created ISO>#<id>`) and the workspace's
notification channels (who set the Slack webhook and when, in the workspace's settings map; the URL
itself is in Secrets Manager)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError

from keepwell.storage import keys
from keepwell.storage.models import TableItem, WorkspaceItem

ENTITY = "notification"


class NotificationItem(TableItem):
    notification_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    playbook_id = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


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


def put_notification(workspace_id: str, notification: Notification) -> bool:
    """Idempotent: the same id at the same time is written once."""
    key = keys.notification(workspace_id, notification.user_id, notification.created_at, notification.notification_id)
    item = NotificationItem(key.pk, key.sk, entity=ENTITY, workspace_id=workspace_id, **vars(notification))
    try:
        item.save(condition=NotificationItem.pk.does_not_exist())
    except PutError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def list_notifications(workspace_id: str, user_id: str, limit: int = 20) -> list[Notification]:
    """A user's newest notifications first."""
    pk = keys.notifications_partition(workspace_id, user_id)
    items = NotificationItem.query(pk, scan_index_forward=False, limit=limit)
    return [
        Notification(
            notification_id=i.notification_id,
            user_id=i.user_id,
            title=i.title,
            body=i.body,
            customer_id=i.customer_id,
            playbook_id=i.playbook_id,
            run_id=i.run_id,
            created_at=i.created_at,
        )
        for i in items
    ]


# --- the Slack channel --------------------------------------------------------------------------
SLACK_SETTING = "slack"


def record_slack_configured(workspace_id: str, *, by: str, at_iso: str) -> None:
    """The URL itself is a credential kept in Secrets Manager; the workspace records who set it when."""
    key = keys.workspace(workspace_id)
    WorkspaceItem(key.pk, key.sk).update(
        actions=[WorkspaceItem.settings[SLACK_SETTING].set({"configured_by": by, "configured_at": at_iso})]
    )


def slack_settings(workspace_id: str) -> dict[str, Any] | None:
    """Who configured Slack and when (never the URL); None if it is not configured."""
    key = keys.workspace(workspace_id)
    item = WorkspaceItem.get(key.pk, key.sk, consistent_read=True, attributes_to_get=["settings"])
    raw = item.settings.as_dict() if hasattr(item.settings, "as_dict") else dict(item.settings or {})
    value = raw.get(SLACK_SETTING)
    return dict(value) if isinstance(value, dict) else None
