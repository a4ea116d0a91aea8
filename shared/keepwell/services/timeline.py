"""Timeline use cases: read a customer's timeline, add a note."""

from __future__ import annotations

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain.timeline import TimelineEntry, note_title
from keepwell.schemas.timeline import NoteIn, TimelineQuery
from keepwell.services.customers import visible_customer
from keepwell.services.timeline_recording import require_open_timeline
from keepwell.storage import timeline as store


def list_timeline(caller: Caller, customer_id: str, query: TimelineQuery) -> store.TimelinePage:
    visible_customer(caller, customer_id)
    return store.list_timeline(
        caller.workspace_id, customer_id, limit=query.limit, cursor=query.cursor, kind=query.kind
    )


def add_note(caller: Caller, customer_id: str, body: NoteIn) -> TimelineEntry:
    customer = visible_customer(caller, customer_id)
    require_open_timeline(customer_id, customer.status)  # a churned customer's timeline is frozen
    entry = TimelineEntry(
        customer_id=customer_id,
        kind="note",
        occurred_at=clock.now(),
        title=note_title(body.title, body.body),
        body=body.body,
        actor=caller.user_id,
        source="keepwell",
    )
    return store.add_timeline_item(caller.workspace_id, entry)
