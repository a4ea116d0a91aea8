"""The per-customer signal log item (`WS#w#CUST#c / SIGNALS`), read by key and written with a version check."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from keepwell.domain import renewals as renewal_rules
from keepwell.domain.signal_log import SignalLog
from keepwell.storage import keys, renewal_rows
from keepwell.storage.models import TableItem

ENTITY = "signal_log"


class SignalLogItem(TableItem):
    customer_id = UnicodeAttribute()
    document = UnicodeAttribute()  # JSON of SignalLog: one attribute keeps the item compact
    version = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)


class SignalLogConflict(Exception):
    """Someone else wrote the log since it was read; read it again and retry."""


def _to_log(item: SignalLogItem) -> tuple[SignalLog, int]:
    return log_of_item(item), int(item.version)


def log_of_item(item: SignalLogItem) -> SignalLog:
    return SignalLog.from_document(json.loads(item.document))


def get_signal_log(workspace_id: str, customer_id: str) -> tuple[SignalLog, int]:
    key = keys.signal_log(workspace_id, customer_id)
    try:
        return _to_log(SignalLogItem.get(key.pk, key.sk))
    except SignalLogItem.DoesNotExist:
        return SignalLog(), 0


def get_signal_logs(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, SignalLog]:
    """Batch read (100 keys per request); customers without a log are missing from the answer."""
    wanted = [keys.signal_log(workspace_id, c) for c in set(customer_ids)]
    return {item.customer_id: _to_log(item)[0] for item in SignalLogItem.batch_get([(k.pk, k.sk) for k in wanted])}


def to_item(workspace_id: str, customer_id: str, log: SignalLog, version: int, updated_at: str) -> SignalLogItem:
    key = keys.signal_log(workspace_id, customer_id)
    return SignalLogItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=workspace_id,
        customer_id=customer_id,
        document=json.dumps(log.to_document(), separators=(",", ":"), sort_keys=True),
        version=version,
        updated_at=updated_at,
    )


UNKNOWN: Any = object()


def last_activity(log: SignalLog) -> dict[str, Any] | None:
    """What the customer's renewal rows show as their last activity (the latest email or meeting)."""
    return renewal_rules.latest_activity(log.emails, log.meetings)


def put_signal_log(
    workspace_id: str,
    customer_id: str,
    log: SignalLog,
    *,
    seen_version: int,
    updated_at: str,
    activity_before: dict[str, Any] | None = UNKNOWN,
) -> None:
    """Write the log if nobody wrote it since `seen_version` was read; else raise SignalLogConflict.
    When its last activity differs from `activity_before` (the log's as read; unknown: always looked
    at), the customer's renewal rows follow (storage/renewal_rows.py)."""
    item = to_item(workspace_id, customer_id, log, seen_version + 1, updated_at)
    condition: Any = SignalLogItem.pk.does_not_exist() if seen_version == 0 else SignalLogItem.version == seen_version
    try:
        item.save(condition=condition)
    except PutError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            raise SignalLogConflict(customer_id) from error
        raise
    activity = last_activity(log)
    if activity_before is UNKNOWN or activity != activity_before:
        renewal_rows.set_last_activity(workspace_id, customer_id, activity)


def put_signal_logs(workspace_id: str, logs: dict[str, SignalLog], updated_at: str) -> None:
    """Bulk write for seeding (no version check): one BatchWriteItem per 25 customers."""
    with SignalLogItem.batch_write() as batch:
        for customer_id, log in logs.items():
            batch.save(to_item(workspace_id, customer_id, log, 1, updated_at))
