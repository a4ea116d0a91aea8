"""Ticket updates arrive out of order and often: decide how a new state of a ticket meets the stored one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from keepwell.domain.integrations.model import TimelineDraft
from keepwell.domain.timeline import TimelineEntry


def merge_ticket_update(stored: Mapping[str, Any] | None, new: TimelineEntry) -> TimelineEntry | None:
    """The entry to write for a ticket update given the stored item's attributes, or None when the stored
    state is newer (a late redelivery must not reopen a solved ticket). The first resolution time, the
    earliest creation time and an escalation are kept: later events only know the ticket's current state."""
    if new.kind != "ticket" or not stored:
        return new
    stored_updated = str(stored.get("source_updated_at") or "")
    new_updated = str(new.attributes.get("source_updated_at") or "")
    if stored_updated and new_updated and stored_updated > new_updated:
        return None
    attributes = dict(new.attributes)
    if stored.get("created_at") and (
        not attributes.get("created_at") or str(stored["created_at"]) < str(attributes["created_at"])
    ):
        attributes["created_at"] = stored["created_at"]
    if stored.get("escalated"):
        attributes["escalated"] = True
    if attributes.get("status") == "closed" and stored.get("status") == "closed" and stored.get("resolved_at"):
        attributes["resolved_at"] = stored["resolved_at"]
    return new.model_copy(update={"attributes": attributes})


def newest_per_item(drafts: Iterable[tuple[str, TimelineDraft]]) -> list[tuple[str, TimelineDraft]]:
    """One draft per (customer, item): several updates of one ticket in a batch collapse to the newest
    (a batch write may not name one key twice)."""
    chosen: dict[tuple[str, str, str], tuple[str, TimelineDraft]] = {}
    for customer_id, draft in drafts:
        key = (customer_id, draft.item_id, draft.occurred_at.isoformat())
        previous = chosen.get(key)
        if previous is None or _updated(previous[1]) <= _updated(draft):
            chosen[key] = (customer_id, draft)
    return list(chosen.values())


def _updated(draft: TimelineDraft) -> str:
    return str(draft.attributes.get("source_updated_at") or "")
