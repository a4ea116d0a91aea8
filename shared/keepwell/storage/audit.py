"""The audit log: who changed what, from what to what, and why. Append-only.

An entry lives at `WS#w#AUDIT / <ISO>#<id>` (by time), and is listed by target on gsi1
(`WS#w#AUDIT#TARGET#<target>`) and by actor on gsi2 (`WS#w#AUDIT#ACTOR#<user>`), both sorted by
time. `before` and `after` are any JSON values, stored as JSON text.

Minimal on purpose: `record_audit` and the reads below; a later change extends it (more actions,
an audit API).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute

from keepwell import clock, ids
from keepwell.storage import keys
from keepwell.storage.models import TableItem

ENTITY = "audit_entry"
MAX_LIST = 500


class AuditItem(TableItem):
    entry_id = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    before_json = UnicodeAttribute(null=True)
    after_json = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class AuditEntry:
    entry_id: str
    workspace_id: str
    occurred_at: str
    actor_id: str
    action: str
    target: str
    before: Any
    after: Any
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "occurred_at": self.occurred_at,
            "actor_id": self.actor_id,
            "action": self.action,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True, separators=(",", ":"))


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
    return AuditEntry(
        entry_id=item.entry_id,
        workspace_id=item.workspace_id,
        occurred_at=item.occurred_at,
        actor_id=item.actor_id,
        action=item.action,
        target=item.target,
        before=json.loads(item.before_json) if item.before_json is not None else None,
        after=json.loads(item.after_json) if item.after_json is not None else None,
        reason=item.reason,
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
    """Write one entry (a fresh id: never overwrites) and return it."""
    item = audit_item(workspace_id, actor_id, action, target, before, after, reason)
    item.save(condition=AuditItem.pk.does_not_exist())
    return to_entry(item)


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
