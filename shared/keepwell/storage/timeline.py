"""Timeline items in the customer's item collection: `WS#w#CUST#c / TL#<occurred ISO>#<id>`.

The sort key orders them by time, so "newest first" is a descending Query on the `TL#` prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keepwell import clock
from keepwell.domain.timeline import TimelineEntry
from keepwell.storage import cursors, keys
from keepwell.storage.models import TimelineItem

ENTITY = "timeline"


def to_item(workspace_id: str, entry: TimelineEntry) -> TimelineItem:
    occurred = clock.iso(entry.occurred_at)
    key = keys.timeline_item(workspace_id, entry.customer_id, occurred, entry.item_id)
    return TimelineItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=workspace_id,
        item_id=entry.item_id,
        customer_id=entry.customer_id,
        kind=entry.kind,
        occurred_at=occurred,
        title=entry.title,
        body=entry.body,
        actor=entry.actor,
        source=entry.source,
        source_event_id=entry.source_event_id,
        attributes=entry.attributes,
        created_at=entry.created_at or clock.iso(clock.now()),
    )


def to_entry(item: TimelineItem) -> TimelineEntry:
    attributes = item.attributes.as_dict() if hasattr(item.attributes, "as_dict") else dict(item.attributes or {})
    return TimelineEntry(
        item_id=item.item_id,
        customer_id=item.customer_id,
        kind=item.kind,  # type: ignore[arg-type]
        occurred_at=item.occurred_at,  # type: ignore[arg-type]  # ISO text, parsed by pydantic
        title=item.title,
        body=item.body,
        actor=item.actor,
        source=item.source,
        source_event_id=item.source_event_id,
        attributes=attributes,
        created_at=item.created_at,
    )


def add_timeline_item(workspace_id: str, entry: TimelineEntry) -> TimelineEntry:
    """Write one entry (PutItem). Writing the same (customer, occurred_at, item_id) again overwrites it."""
    item = to_item(workspace_id, entry)
    item.save()
    return entry.model_copy(update={"created_at": item.created_at})


def add_timeline_items(workspace_id: str, entries: Iterable[TimelineEntry]) -> int:
    """Batch write (25 per request, unprocessed items retried by pynamodb); idempotent per entry id."""
    count = 0
    with TimelineItem.batch_write() as batch:
        for entry in entries:
            batch.save(to_item(workspace_id, entry))
            count += 1
    return count


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineEntry]
    next_cursor: str | None


def list_timeline(
    workspace_id: str, customer_id: str, *, limit: int, cursor: str | None, kind: str | None = None
) -> TimelinePage:
    """Newest first; with `kind`, keeps reading until the page is full or the timeline ends."""
    pk = keys.customer_partition(workspace_id, customer_id)
    start = cursors.decode(cursor, expected={"pk": pk}, prefixes={"sk": keys.TIMELINE_PREFIX})
    condition = (TimelineItem.kind == kind) if kind else None
    page_size = min(max(limit * 2, 100), 500) if kind else limit + 1
    results = TimelineItem.query(
        pk,
        TimelineItem.sk.startswith(keys.TIMELINE_PREFIX),
        filter_condition=condition,
        scan_index_forward=False,
        limit=limit,
        page_size=page_size,
        last_evaluated_key=start,
    )
    items = [to_entry(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return TimelinePage(items=items, next_cursor=cursors.encode(next_key))
