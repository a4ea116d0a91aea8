"""In-app notifications (`WS#w#USER#u#NOTIFICATIONS / <created ISO>#<id>`), a copy of each user's newest
ones in one item (`WS#w#USER#u#INBOX / INBOX`, so My day reads them by key with the profiles), the alert
notices that make health alerts reach their owners once (`WS#w#CUST#c / ALERT#<day>#<alert key>`), and the workspace's
notification channels (who set the Slack webhook and when, and whether Slack answered 410 since, in the
workspace's settings map; the URL itself is in Secrets Manager)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from keepwell import clock
from keepwell.domain.notifications import Notification  # re-exported: the entity this module stores
from keepwell.storage import cursors, keys
from keepwell.storage.models import TableItem, WorkspaceItem, table_connection

ENTITY = "notification"
ALERT_NOTICE_ENTITY = "alert_notice"
# Notifications and alert notices expire after this (TTL): a user's partition stays small, so finding
# one by id (mark read) reads a few pages at most.
RETENTION = timedelta(days=90)
ALERT_NOTICE_PREFIX = "ALERT#"
_CONDITION_FAILED = "ConditionalCheckFailedException"


class NotificationItem(TableItem):
    notification_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    playbook_id = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    kind = UnicodeAttribute(null=True)  # playbook (a notify step) or health_alert
    read_at = UnicodeAttribute(null=True)  # when the user marked it read; absent while unread


def _condition_failed(error: PutError | UpdateError) -> bool:
    return getattr(error, "cause_response_code", None) == _CONDITION_FAILED


def _expires(created_at_iso: str) -> datetime:
    try:
        return datetime.fromisoformat(created_at_iso) + RETENTION
    except ValueError:
        return clock.now() + RETENTION


class InboxItem(TableItem):
    """A user's newest notifications (at most INBOX_SIZE, newest first), as JSON: written in the same
    transaction as each notification and each change of one, so it is what the partition's first page
    says. `version` conditions every write (two writers for one user: the loser reads again)."""

    user_id = UnicodeAttribute()
    version = NumberAttribute()
    document = UnicodeAttribute()


INBOX_SIZE = 20  # what My day shows (list_notifications' default page)
INBOX_ATTEMPTS = 5


@dataclass(frozen=True)
class Inbox:
    version: int  # 0: no inbox item yet
    notifications: tuple[Notification, ...]


def _inbox_item(workspace_id: str, user_id: str, version: int, notifications: Sequence[Notification]) -> InboxItem:
    key = keys.notification_inbox(workspace_id, user_id)
    document = json.dumps([n.model_dump(mode="json") for n in notifications], separators=(",", ":"))
    return InboxItem(
        key.pk,
        key.sk,
        entity="notification_inbox",
        workspace_id=workspace_id,
        user_id=user_id,
        version=version,
        document=document,
    )


def _inbox_of(item: InboxItem) -> Inbox:
    """The inbox, its notifications past RETENTION left out (their items have expired from the
    partition, or are about to)."""
    oldest = clock.iso(clock.now() - RETENTION)
    found = (Notification.model_validate({**d, "user_id": item.user_id}) for d in json.loads(item.document))
    return Inbox(int(item.version), tuple(n for n in found if n.created_at >= oldest))


def inbox_of_raw(raw: dict[str, Any]) -> Inbox:
    """An inbox item as BatchGetItem returns it."""
    return _inbox_of(InboxItem.from_raw_data(raw))


def _read_inbox(workspace_id: str, user_id: str) -> Inbox | None:
    key = keys.notification_inbox(workspace_id, user_id)
    try:
        return _inbox_of(InboxItem.get(key.pk, key.sk, consistent_read=True))
    except InboxItem.DoesNotExist:
        return None


def _newest(notifications: Iterable[Notification]) -> list[Notification]:
    by_id = {n.notification_id: n for n in notifications}
    return sorted(by_id.values(), key=lambda n: (n.created_at, n.notification_id), reverse=True)[:INBOX_SIZE]


def _inbox_condition(version: int) -> Any:
    return InboxItem.pk.does_not_exist() if version == 0 else InboxItem.version == version


def _write_with_inbox(workspace_id: str, user_id: str, write: Any, change: Any) -> bool:
    """Run `write(tx)` (the notification's own write) and the inbox as `change(current)` makes it in one
    transaction, reading the inbox again when another write changed it meanwhile. False: `write`'s own
    condition failed (nothing written)."""
    for _ in range(INBOX_ATTEMPTS):
        current = _read_inbox(workspace_id, user_id)
        if current is None:  # none yet (a user notified before the inbox existed): from the partition
            current = Inbox(0, tuple(page_notifications(workspace_id, user_id, INBOX_SIZE)[0]))
        try:
            with TransactWrite(connection=table_connection()) as tx:
                write(tx)
                tx.save(
                    _inbox_item(workspace_id, user_id, current.version + 1, _newest(change(current.notifications))),
                    condition=_inbox_condition(current.version),
                )
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            if not any(r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons):
                raise
            own_condition = any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)
            now = _read_inbox(workspace_id, user_id)
            if own_condition and (now.version if now is not None else 0) == current.version:
                return False  # the inbox is as read: the notification's own condition failed
            continue  # another write changed the inbox, or a transaction got in the way: again
        return True
    raise TransactWriteError(f"the notification inbox of {user_id} kept changing")


def put_notification(workspace_id: str, notification: Notification) -> bool:
    """Idempotent: the same id at the same time is written once. The user's inbox takes it in the same
    transaction."""
    key = keys.notification(workspace_id, notification.user_id, notification.created_at, notification.notification_id)
    item = NotificationItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=workspace_id,
        expires_at=_expires(notification.created_at),
        user_id=notification.user_id,  # excluded from dumps: it is not part of an answer
        **notification.model_dump(),
    )
    return _write_with_inbox(
        workspace_id,
        notification.user_id,
        lambda tx: tx.save(item, condition=NotificationItem.pk.does_not_exist()),
        lambda head: [notification, *head],
    )


def fill_inbox(workspace_id: str, user_id: str, notifications: Sequence[Notification]) -> None:
    """Create the inbox of a user who has none yet (notified before it existed) from the partition's
    first page, read by the caller; another writer's inbox wins."""
    try:
        _inbox_item(workspace_id, user_id, 1, _newest(notifications)).save(condition=InboxItem.pk.does_not_exist())
    except PutError as error:
        if not _condition_failed(error):
            raise


def _to_notification(item: NotificationItem) -> Notification:
    return Notification.model_validate(item, from_attributes=True)


def list_notifications(workspace_id: str, user_id: str, limit: int = 20) -> list[Notification]:
    """A user's newest notifications first."""
    return page_notifications(workspace_id, user_id, limit)[0]


def page_notifications(
    workspace_id: str, user_id: str, limit: int, *, unread_only: bool = False, cursor: str | None = None
) -> tuple[list[Notification], str | None]:
    """One page of a user's notifications, newest first, and the next page's cursor (None at the end).
    The cursor only resumes this user's partition (another user's cursor is refused)."""
    pk = keys.notifications_partition(workspace_id, user_id)
    start = cursors.decode(cursor, expected={"pk": pk}, prefixes={"sk": ""})
    results = NotificationItem.query(
        pk,
        filter_condition=NotificationItem.read_at.does_not_exist() if unread_only else None,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start,
    )
    items = [_to_notification(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return items, cursors.encode(next_key)


def _items(workspace_id: str, user_id: str, *, unread_only: bool = False) -> Iterator[NotificationItem]:
    pk = keys.notifications_partition(workspace_id, user_id)
    condition = NotificationItem.read_at.does_not_exist() if unread_only else None
    yield from NotificationItem.query(pk, filter_condition=condition, scan_index_forward=False, page_size=100)


def find_notification(workspace_id: str, user_id: str, notification_id: str) -> Notification | None:
    """The user's notification with this id (only ever in the user's own partition), or None.
    The id is not in the sort key, so this reads the partition newest first until it is found."""
    pk = keys.notifications_partition(workspace_id, user_id)
    for item in NotificationItem.query(
        pk, filter_condition=NotificationItem.notification_id == notification_id, scan_index_forward=False
    ):
        return _to_notification(item)
    return None


def _read_in(notifications: Iterable[Notification], notification_id: str, at_iso: str) -> list[Notification]:
    return [
        n.model_copy(update={"read_at": at_iso}) if n.notification_id == notification_id and n.read_at is None else n
        for n in notifications
    ]


def _set_read_once(workspace_id: str, user_id: str, key: keys.Key, at_iso: str) -> bool:
    """Set `read_at` unless it is set already (then False: the first time read is kept), and in the
    user's inbox in the same transaction."""
    notification_id = key.sk.rsplit("#", 1)[1]
    condition = NotificationItem.pk.exists() & NotificationItem.read_at.does_not_exist()
    return _write_with_inbox(
        workspace_id,
        user_id,
        lambda tx: tx.update(
            NotificationItem(key.pk, key.sk), actions=[NotificationItem.read_at.set(at_iso)], condition=condition
        ),
        lambda head: _read_in(head, notification_id, at_iso),
    )


def mark_read(workspace_id: str, notification: Notification, at_iso: str) -> Notification:
    """Set `read_at` once: marking a read notification again keeps the first time it was read."""
    key = keys.notification(workspace_id, notification.user_id, notification.created_at, notification.notification_id)
    if not _set_read_once(workspace_id, notification.user_id, key, at_iso):
        return _to_notification(NotificationItem.get(key.pk, key.sk, consistent_read=True))
    return notification.model_copy(update={"read_at": at_iso})


def mark_all_read(workspace_id: str, user_id: str, at_iso: str, limit: int) -> int:
    """Mark up to `limit` unread notifications of the user read; returns how many this call marked."""
    marked = 0
    for item in _items(workspace_id, user_id, unread_only=True):
        if marked >= limit:
            break
        marked += _set_read_once(workspace_id, user_id, keys.Key(item.pk, item.sk), at_iso)
    return marked


# --- alert notices: one per alert, with each channel's outcome ---------------------------------------
class AlertNoticeItem(TableItem):
    alert_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    alert_kind = UnicodeAttribute()
    scored_day = UnicodeAttribute()
    created_at = UnicodeAttribute()
    recipients = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    # channel ("in_app:<user>", "email:<user>", "slack") -> {"status": claimed|done|skipped|failed, ...}
    channels = MapAttribute[str, Any](default=dict)


@dataclass(frozen=True)
class AlertNotice:
    workspace_id: str
    alert_id: str
    customer_id: str
    alert_kind: str
    scored_day: str
    created_at: str
    recipients: tuple[str, ...]
    channels: dict[str, dict[str, Any]]

    def outcome(self, channel: str) -> dict[str, Any] | None:
        return self.channels.get(channel)


def _alert_notice_key(workspace_id: str, customer_id: str, scored_day: str, alert_key: str) -> keys.Key:
    # The customer's partition, beside its profile: an alert belongs to the customer.
    sk = f"{ALERT_NOTICE_PREFIX}{scored_day}#{alert_key}"
    return keys.Key(keys.customer_partition(workspace_id, customer_id), sk)


def _to_notice(item: AlertNoticeItem) -> AlertNotice:
    raw = item.channels.as_dict() if hasattr(item.channels, "as_dict") else dict(item.channels or {})
    return AlertNotice(
        workspace_id=item.workspace_id,
        alert_id=item.alert_id,
        customer_id=item.customer_id,
        alert_kind=item.alert_kind,
        scored_day=item.scored_day,
        created_at=item.created_at,
        recipients=tuple(item.recipients or ()),
        channels={name: dict(value) for name, value in raw.items()},
    )


def create_alert_notice(
    workspace_id: str,
    customer_id: str,
    alert_id: str,
    alert_key: str,
    alert_kind: str,
    scored_day: str,
    recipients: Sequence[str],
) -> AlertNotice:
    """The alert's notice, created once (conditional put on the alert's identity); an alert seen before
    returns the stored notice, whose `created_at` and recipients every retry reuses."""
    key = _alert_notice_key(workspace_id, customer_id, scored_day, alert_key)
    now = clock.iso(clock.now())
    item = AlertNoticeItem(
        key.pk,
        key.sk,
        entity=ALERT_NOTICE_ENTITY,
        workspace_id=workspace_id,
        alert_id=alert_id,
        customer_id=customer_id,
        alert_kind=alert_kind,
        scored_day=scored_day,
        created_at=now,
        recipients=list(recipients),
        channels={},
        expires_at=_expires(now),
    )
    try:
        item.save(condition=AlertNoticeItem.pk.does_not_exist())
    except PutError as error:
        if not _condition_failed(error):
            raise
        item = AlertNoticeItem.get(key.pk, key.sk, consistent_read=True)
    return _to_notice(item)


def claim_alert_channel(notice: AlertNotice, alert_key: str, channel: str, at_iso: str) -> bool:
    """Claim one channel of the alert before its side effect; False if it was claimed (or done) before."""
    key = _alert_notice_key(notice.workspace_id, notice.customer_id, notice.scored_day, alert_key)
    try:
        AlertNoticeItem(key.pk, key.sk).update(
            actions=[AlertNoticeItem.channels[channel].set({"status": "claimed", "at": at_iso})],
            condition=AlertNoticeItem.pk.exists() & AlertNoticeItem.channels[channel].does_not_exist(),
        )
    except UpdateError as error:
        if _condition_failed(error):
            return False
        raise
    return True


def finish_alert_channel(notice: AlertNotice, alert_key: str, channel: str, outcome: dict[str, Any]) -> None:
    key = _alert_notice_key(notice.workspace_id, notice.customer_id, notice.scored_day, alert_key)
    AlertNoticeItem(key.pk, key.sk).update(actions=[AlertNoticeItem.channels[channel].set(outcome)])


def release_alert_channel(notice: AlertNotice, alert_key: str, channel: str) -> None:
    """Give a claim back when its side effect certainly did not happen (the retry claims it again)."""
    key = _alert_notice_key(notice.workspace_id, notice.customer_id, notice.scored_day, alert_key)
    AlertNoticeItem(key.pk, key.sk).update(actions=[AlertNoticeItem.channels[channel].remove()])


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


def record_slack_gone(workspace_id: str, *, reason: str, at_iso: str) -> None:
    """Slack answered 410 Gone (webhook revoked, channel archived): stop posting until an admin sets the
    webhook again (PUT /v1/settings/slack replaces the whole setting, clearing this)."""
    key = keys.workspace(workspace_id)
    path = WorkspaceItem.settings[SLACK_SETTING]
    WorkspaceItem(key.pk, key.sk).update(
        actions=[path["gone_at"].set(at_iso), path["gone_reason"].set(reason)],
        condition=path.exists(),
    )


def record_slack_failing(workspace_id: str, *, reason: str, at_iso: str | None) -> None:
    """A Slack delivery exhausted its retries (`at_iso`), or one succeeded again (None clears it)."""
    key = keys.workspace(workspace_id)
    path = WorkspaceItem.settings[SLACK_SETTING]
    if at_iso is None:
        actions = [path["failing_since"].remove(), path["failure_reason"].remove()]
    else:
        actions = [path["failing_since"].set(at_iso), path["failure_reason"].set(reason)]
    try:
        WorkspaceItem(key.pk, key.sk).update(actions=actions, condition=path.exists())
    except UpdateError as error:
        if not _condition_failed(error):
            raise
