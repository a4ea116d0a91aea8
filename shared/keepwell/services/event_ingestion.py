"""POST /v1/events: validate each event, count each one once, keep the raw events, ask for rescoring."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from typing import Any

from keepwell import clock
from keepwell.domain.ingestion import ValidEvent, digest_line, roll_up_new_events, validate_events
from keepwell.observability import logger
from keepwell.schemas.events import EventBatchOut, RejectedEvent
from keepwell.storage import metrics
from keepwell.storage.customer_lookup import resolve_customer_refs

RAW_EVENT_RETENTION_DAYS = 30
MAX_CONCURRENCY_RETRIES = 5


def _record(event: ValidEvent) -> dict[str, Any]:
    return {
        "event": event.name,
        "user_id": event.user_id,
        "timestamp": clock.iso(event.occurred_at),
        "digest": event.digest,
        "properties": event.properties,
    }


def ingest_batch(workspace_id: str, raw_events: list[Any]) -> tuple[EventBatchOut, dict[str, date]]:
    """Returns the answer and, per customer whose history changed, the earliest day to recompute."""
    now = clock.now()
    valid, rejected = validate_events(raw_events, now)
    resolved = resolve_customer_refs(workspace_id, {e.customer for e in valid})

    groups: dict[tuple[str, date], list[ValidEvent]] = defaultdict(list)
    for event in valid:
        customer_id = resolved.get(event.customer)
        if customer_id is None:
            rejected.append(
                RejectedEvent(
                    index=event.index,
                    code="unknown_customer",
                    message=f"no customer with {event.customer.kind} {event.customer.value!r}",
                )
            )
            continue
        groups[(customer_id, event.day)].append(event)

    previous_days = metrics.get_days(workspace_id, groups)
    accepted = duplicates = 0
    raw_by_day: dict[tuple[str, date], list[dict[str, Any]]] = {}
    recompute_from: dict[str, date] = {}
    for (customer_id, day), events in groups.items():
        previous = previous_days.get((customer_id, day))
        for _attempt in range(MAX_CONCURRENCY_RETRIES):
            rollup, fresh = roll_up_new_events(events, previous.event_digests if previous else set())
            if not fresh:
                break
            try:
                metrics.apply_rollup(workspace_id, customer_id, day, rollup, previous)
                break
            except metrics.ConcurrentUpdate:
                previous = metrics.get_days(workspace_id, [(customer_id, day)]).get((customer_id, day))
        else:  # pragma: no cover - only under sustained contention on one customer-day
            raise RuntimeError(f"could not update metrics of {customer_id} on {day}")
        accepted += len(fresh)
        duplicates += len(events) - len(fresh)
        if fresh:
            raw_by_day[(customer_id, day)] = [_record(e) for e in fresh]
            logger.debug(
                "day updated",
                extra={"customer_id": customer_id, "day": day.isoformat(), "summary": digest_line(rollup)},
            )
            if day < now.date():
                recompute_from[customer_id] = min(day, recompute_from.get(customer_id, day))

    if raw_by_day:
        batch_digest = hashlib.blake2b(
            "".join(sorted(e["digest"] for v in raw_by_day.values() for e in v)).encode(), digest_size=8
        ).hexdigest()
        metrics.put_raw_events(workspace_id, raw_by_day, batch_digest, RAW_EVENT_RETENTION_DAYS, now)
    rejected.sort(key=lambda r: r.index)
    return EventBatchOut(accepted=accepted, duplicates=duplicates, rejected=rejected), recompute_from
