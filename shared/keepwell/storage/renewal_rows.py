"""What a renewal's pipeline row shows besides the renewal itself, kept on the renewal item so the
pipeline reads its rows and nothing else (docs/renewals.md, decision 0027):

- the customer's `customer_name`, `customer_owner_id`, `co_owner_ids`, `customer_archived`, and the
  owner's listing on gsi2 (`WS#w#OWNER#o#RENEWALS`, sorted like gsi1) — set when a profile write
  changes one of them (storage/customers.py);
- `next_action`: the customer's earliest-due open task from a renewal playbook (JSON, `null` for
  none) — set when a renewal playbook's task is created or changed (storage/tasks.py);
- `last_activity`: the latest email or meeting of the signal log (JSON `at`, `kind`, `ref`, `null` for
  none) — set when a signal-log write changes it (storage/signal_logs.py).

Each source sets its own attributes by UpdateItem, and only on the items whose value differs, so a
source writes nothing when its value did not change and two sources never overwrite each other. An
attribute that is absent (an item from before, `backfill_pipeline_rows`) means "not known": the
pipeline reads it from its source instead.

This module imports no other storage module: the writers of the sources call it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from keepwell.storage import keys
from keepwell.storage.models import TableItem

if TYPE_CHECKING:  # storage/workspaces imports this module, and the authorizer it: no pydantic at its start
    from keepwell.domain.customers import Customer

MARKER_ENTITY = "renewal_rows_marker"
PROFILE_ATTRIBUTES = ("customer_name", "customer_owner_id", "co_owner_ids", "customer_archived")


class RenewalRowItem(TableItem):
    """The renewal item as its row's sources see it (storage/renewals.RenewalItem adds the renewal)."""

    renewal_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    renewal_date = UnicodeAttribute()
    customer_name = UnicodeAttribute(null=True)
    customer_owner_id = UnicodeAttribute(null=True)
    co_owner_ids = ListAttribute(of=UnicodeAttribute, null=True)
    customer_archived = BooleanAttribute(null=True)
    next_action = UnicodeAttribute(null=True)  # JSON; absent: not known yet
    last_activity = UnicodeAttribute(null=True)  # JSON; absent: not known yet


class RowsMarkerItem(TableItem):
    """`WS#w / RENEWALROWS#v1`: every renewal of the workspace carries its row (keys.pipeline_rows_marker)."""

    rows_version = NumberAttribute(default=1)


@dataclass(frozen=True)
class RowContext:
    """What an item says besides its renewal; `None` in the `has_*` sense means "read the source"."""

    customer_name: str | None
    owner_id: str | None
    co_owner_ids: tuple[str, ...]
    archived: bool
    has_profile: bool
    next_action: dict[str, Any] | None
    has_next_action: bool
    last_activity: dict[str, Any] | None
    has_last_activity: bool


def encode(value: dict[str, Any] | None) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _decode(text: str | None) -> tuple[dict[str, Any] | None, bool]:
    if text is None:
        return None, False
    try:
        value = json.loads(text)
    except ValueError:
        return None, False
    return (value if isinstance(value, dict) else None), True


def context_of(item: RenewalRowItem) -> RowContext:
    action, has_action = _decode(item.next_action)
    activity, has_activity = _decode(item.last_activity)
    return RowContext(
        customer_name=item.customer_name,
        owner_id=item.customer_owner_id,
        co_owner_ids=tuple(str(c) for c in item.co_owner_ids or ()),
        archived=bool(item.customer_archived),
        has_profile=item.customer_name is not None,
        next_action=action,
        has_next_action=has_action,
        last_activity=activity,
        has_last_activity=has_activity,
    )


def profile_values(customer: Customer) -> dict[str, Any]:
    """The profile's part of its renewals' rows, with the owner's gsi2 listing (none without an owner)."""
    owner = customer.owner_id
    return {
        "customer_name": customer.name,
        "customer_owner_id": owner,
        "co_owner_ids": sorted(customer.co_owner_ids),
        "customer_archived": bool(customer.archived),
        "gsi2pk": keys.renewals_by_owner(customer.workspace_id, owner) if owner else None,
    }


def customer_rows(workspace_id: str, customer_id: str) -> list[RenewalRowItem]:
    """The customer's renewal items (one strongly consistent Query of its collection)."""
    pk = keys.customer_partition(workspace_id, customer_id)
    return list(RenewalRowItem.query(pk, RenewalRowItem.sk.startswith(keys.RENEWAL_PREFIX), consistent_read=True))


def _sort_key(item: RenewalRowItem) -> str:
    return keys.renewal_sort(date.fromisoformat(item.renewal_date), item.customer_id, item.renewal_id)


def apply(items: Iterable[RenewalRowItem], values: dict[str, Any]) -> int:
    """Set `values` on the items where they differ (one UpdateItem per such item, none otherwise);
    an item deleted meanwhile is not written again. Returns the items written."""
    written = 0
    for item in items:
        wanted = dict(values)
        if "gsi2pk" in wanted:
            wanted["gsi2sk"] = _sort_key(item)
        actions = []
        for name, value in wanted.items():
            current = getattr(item, name)
            if isinstance(current, list):
                current = list(current)
            if current == value:
                continue
            attribute = getattr(RenewalRowItem, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        if not actions:
            continue
        try:
            item.update(actions=actions, condition=RenewalRowItem.pk.exists())
        except UpdateError as error:
            if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
                continue
            raise
        written += 1
    return written


def set_profile(customer: Customer) -> int:
    """After a profile write changed the name, owner, co-owners or archived flag."""
    return apply(customer_rows(customer.workspace_id, customer.customer_id), profile_values(customer))


def set_next_action(workspace_id: str, customer_id: str, action: dict[str, Any] | None) -> int:
    return apply(customer_rows(workspace_id, customer_id), {"next_action": encode(action)})


def set_last_activity(workspace_id: str, customer_id: str, activity: dict[str, Any] | None) -> int:
    return apply(customer_rows(workspace_id, customer_id), {"last_activity": encode(activity)})


def mark_kept(workspace_id: str) -> None:
    """Every renewal of the workspace carries its row (a new workspace; the end of the backfill)."""
    key = keys.pipeline_rows_marker(workspace_id)
    RowsMarkerItem(key.pk, key.sk, entity=MARKER_ENTITY, workspace_id=workspace_id, rows_version=1).save()
