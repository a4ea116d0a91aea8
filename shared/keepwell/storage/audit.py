"""The audit log: who changed what, from what to what, and why. Append-only.

An entry lives at `WS#w#AUDIT / <ISO>#<id>` (by time), and is listed by target on gsi1
(`WS#w#AUDIT#TARGET#<target>`) and by actor on gsi2 (`WS#w#AUDIT#ACTOR#<user>`), both sorted by
time. `before` and `after` are any JSON values, stored as JSON text.

Writers either put `audit_item(...)` in the transaction of the change it describes, or call
`record_audit` right after a successful write (docs/decisions/0010-audit-log.md). `query_entries`
serves `GET /v1/audit`: by target (gsi1), by actor (gsi2) or the whole workspace (table), a time
range on the sort key, newest first, opaque cursors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.pagination import ResultIterator

from keepwell import clock, ids
from keepwell.domain.audit import AuditEntry  # re-exported: the entity this module stores
from keepwell.storage import cursors, keys
from keepwell.storage.models import TableItem

ENTITY = "audit_entry"
MAX_LIST = 500
# Defence in depth: whatever a writer passes, a value under one of these names is never stored.
# Writers record markers instead ("secret_state": "rotated", a key's display prefix).
SECRET_NAMES = frozenset(
    {"secret", "secrets", "signing_secret", "api_key", "key_hash", "token", "password", "webhook_url"}
)
REDACTED = "[redacted]"


class AuditItem(TableItem):
    entry_id = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    before_json = UnicodeAttribute(null=True)
    after_json = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SECRET_NAMES else _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(_redacted(value), default=str, sort_keys=True, separators=(",", ":"))


def audit_item(
    workspace_id: str,
    actor_id: str,
    action: str,
    target: str,
    before: Any,
    after: Any,
    reason: str | None = None,
    *,
    at: datetime | None = None,
) -> AuditItem:
    """The item of a new entry, unsaved: callers that must write it with another change put it in
    their transaction (e.g. a forecast change and its entry, all or nothing)."""
    occurred = clock.iso(at or clock.now())
    entry_id = ids.new_id("aud")
    key = keys.audit_entry(workspace_id, occurred, entry_id)
    sort = f"{occurred}#{entry_id}"
    return AuditItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=workspace_id,
        entry_id=entry_id,
        occurred_at=occurred,
        actor_id=actor_id,
        action=action,
        target=target,
        before_json=_dump(before),
        after_json=_dump(after),
        reason=reason,
        gsi1pk=keys.audit_by_target(workspace_id, target),
        gsi1sk=sort,
        gsi2pk=keys.audit_by_actor(workspace_id, actor_id),
        gsi2sk=sort,
    )


def to_entry(item: AuditItem) -> AuditEntry:
    before = json.loads(item.before_json) if item.before_json is not None else None
    after = json.loads(item.after_json) if item.after_json is not None else None
    return AuditEntry.model_validate(
        {**{name: getattr(item, name, None) for name in AuditEntry.model_fields}, "before": before, "after": after}
    )


def record_audit(
    workspace_id: str,
    actor_id: str,
    action: str,
    target: str,
    before: Any,
    after: Any,
    reason: str | None = None,
) -> AuditEntry:
    """Write one entry (a fresh id: never overwrites) and return it. An entry whose key is taken is
    written again under the next fresh id: with random ids that never happens, but seeded ids (the
    local stack's demo, tests that keep one stack across a frozen clock) can repeat a key."""
    for attempt in range(3):
        item = audit_item(workspace_id, actor_id, action, target, before, after, reason)
        try:
            item.save(condition=AuditItem.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException" or attempt == 2:
                raise
            continue
        return to_entry(item)
    raise AssertionError("unreachable")


def list_by_target(workspace_id: str, target: str, limit: int = 100) -> list[AuditEntry]:
    """A target's entries, newest first (gsi1)."""
    results = AuditItem.gsi1.query(
        keys.audit_by_target(workspace_id, target), scan_index_forward=False, limit=min(limit, MAX_LIST)
    )
    return [to_entry(item) for item in results]


def list_since(workspace_id: str, since: datetime, action: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """The workspace's entries since a moment, newest first, optionally of one action."""
    key = keys.audit_entry(workspace_id, clock.iso(since), "")
    results = AuditItem.query(
        key.pk,
        AuditItem.sk >= key.sk,
        filter_condition=(AuditItem.action == action) if action else None,
        scan_index_forward=False,
        limit=min(limit, MAX_LIST),
    )
    return [to_entry(item) for item in results]


# --- the audit API's reads ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditFilter:
    """What `GET /v1/audit` asks for. `since` is inclusive, `until` exclusive (millisecond precision)."""

    target: str | None = None
    actor_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None


def _time_range(attribute: Any, since: datetime | None, until: datetime | None) -> Condition | None:
    """A key condition on a `<ISO>#<id>` sort key."""
    low = clock.iso(since) if since is not None else None
    high = clock.iso(until) if until is not None else None
    if low is not None and high is not None:
        return attribute.between(low, high)  # `<until>#…` sorts after `<until>`: until stays exclusive
    if low is not None:
        return attribute >= low
    if high is not None:
        return attribute < high
    return None


def _and(conditions: list[Condition]) -> Condition | None:
    combined: Condition | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def query_entries(workspace_id: str, wanted: AuditFilter, limit: int, cursor: str | None) -> AuditPage:
    """A workspace's entries, newest first. One Query on the narrowest partition: a target's (gsi1),
    else an actor's (gsi2), else the workspace's; the other criteria are a FilterExpression. Keeps
    reading until `limit` matches or the range ends, and resumes exactly after the last one returned."""
    limit = max(1, min(limit, MAX_LIST))
    table_pk = keys.audit_entry(workspace_id, "", "").pk
    filters: list[Condition] = []
    index_query: Callable[..., ResultIterator[Any]]  # the table's or an index's Query
    if wanted.action:
        filters.append(AuditItem.action == wanted.action)
    if wanted.target:
        partition = keys.audit_by_target(workspace_id, wanted.target)
        if wanted.actor_id:
            filters.append(AuditItem.actor_id == wanted.actor_id)
        index_query, names = AuditItem.gsi1.query, ("gsi1pk", "gsi1sk")
        range_condition = _time_range(AuditItem.gsi1sk, wanted.since, wanted.until)
    elif wanted.actor_id:
        partition = keys.audit_by_actor(workspace_id, wanted.actor_id)
        index_query, names = AuditItem.gsi2.query, ("gsi2pk", "gsi2sk")
        range_condition = _time_range(AuditItem.gsi2sk, wanted.since, wanted.until)
    else:
        partition, names = table_pk, ("pk", "sk")
        index_query = AuditItem.query
        range_condition = _time_range(AuditItem.sk, wanted.since, wanted.until)
    # The cursor must come from this very partition of this workspace.
    expected = {names[0]: partition, "pk": table_pk}
    prefixes = {names[1]: "", "sk": ""}
    start = cursors.decode(cursor, expected=expected, prefixes=prefixes)
    condition = _and(filters)
    # A filter can make pages short: read ahead then (each page is still one Query request).
    page_size = min(max(limit * 4, 100), MAX_LIST) if condition is not None else limit + 1
    results = index_query(
        partition,
        range_condition,
        filter_condition=condition,
        scan_index_forward=False,
        limit=limit,
        page_size=page_size,
        last_evaluated_key=start,
    )
    items = [to_entry(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return AuditPage(items=items, next_cursor=cursors.encode(next_key))
