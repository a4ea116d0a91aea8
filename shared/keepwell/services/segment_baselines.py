"""Tally the workspace's segment baselines while walking its customers for a fan-out.

The daily fan-out and a manual recalculation's start both list every customer that is not archived;
that Query now reads the profiles' denormalised health too (the same pages, a larger projection), so
the segments' score tallies (domain/segment_baselines.py) cost one PutItem per workspace and run, and
the scorer reads them by key with each customer's inputs.
"""

from __future__ import annotations

from datetime import date
from itertools import islice

from keepwell.domain.segment_baselines import RunningTally, SavedSegment, add_to_tally, finish_tally
from keepwell.domain.segments import segment_fields
from keepwell.observability import logger
from keepwell.storage import custom_fields as field_store
from keepwell.storage import health_models as model_store
from keepwell.storage import segments as segment_store


def condition_fields(workspace_id: str) -> dict[str, str]:
    """The fields a segment condition of this workspace may name, with their types (custom field
    definitions and the model's dimensions included)."""
    definitions = {d.key: d.type for d in field_store.list_definitions(workspace_id)}
    model, _ = model_store.get_current_model(workspace_id)
    return dict(segment_fields(definitions, [d.key for d in model.dimensions]))


def refresh(workspace_id: str, day: date) -> list[str]:
    """Store the workspace's segment tallies as of now and return its (not archived) customer ids, by
    name. Without segments the customers are listed all the same and the (empty) tally is stored, so a
    deleted last segment stops the alert."""
    customer_ids, _, _ = refresh_page(workspace_id, day, cursor=None, carried=None, limit=None)
    return customer_ids


def refresh_page(
    workspace_id: str, day: date, *, cursor: str | None, carried: RunningTally | None, limit: int | None
) -> tuple[list[str], str | None, RunningTally | None]:
    """One page of that walk: up to `limit` customers by name after `cursor`, added to the running
    tally `carried` (from the pages before). Returns the page's customer ids, and either the cursor
    after it with the running tally (more customers follow) or None twice: the walk is over and the
    finished tally is stored."""
    saved = [SavedSegment(s.segment_id, s.name, s.condition) for s in segment_store.list_segments(workspace_id)]
    fields = condition_fields(workspace_id) if saved else {}
    walk = segment_store.iter_health_rows(workspace_id, cursor=cursor)
    page = list(walk if limit is None else islice(walk, limit))
    more = limit is not None and len(page) == limit and next(walk, None) is not None
    sums = add_to_tally(saved, fields, (row for row, _ in page), carried)
    customer_ids = [row.customer.customer_id for row, _ in page]
    if more:
        return customer_ids, page[-1][1], sums
    baselines = finish_tally(day, saved, fields, sums)
    segment_store.put_segment_baselines(workspace_id, baselines)
    logger.info(
        "segment baselines tallied",
        extra={
            "workspace_id": workspace_id,
            "day": day.isoformat(),
            "segments": {t.name: {"count": t.count, "total": round(t.total, 1)} for t in baselines.segments},
        },
    )
    return customer_ids, None, None
