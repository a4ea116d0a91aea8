"""The one way timeline entries enter Keepwell: write the items and fold their signals into each
customer's signal log, so the next score sees them without querying the timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from keepwell import clock
from keepwell.domain import signal_log
from keepwell.domain.timeline import TimelineEntry
from keepwell.retries import conflict_attempts
from keepwell.storage import signal_logs, timeline

SIGNAL_KINDS = frozenset({"email", "meeting", "ticket", "nps"})
MAX_ATTEMPTS = 5


def record_timeline_entries(workspace_id: str, entries: Iterable[TimelineEntry]) -> set[str]:
    """Write entries (idempotent per item id) and update signal logs; returns the customers whose
    scoring inputs changed."""
    entries = list(entries)
    timeline.add_timeline_items(workspace_id, entries)
    by_customer: dict[str, list[TimelineEntry]] = defaultdict(list)
    for entry in entries:
        if entry.kind in SIGNAL_KINDS:
            by_customer[entry.customer_id].append(entry)
    changed: set[str] = set()
    for customer_id, customer_entries in by_customer.items():
        if _fold_into_log(workspace_id, customer_id, customer_entries):
            changed.add(customer_id)
    return changed


def _fold_into_log(workspace_id: str, customer_id: str, entries: list[TimelineEntry]) -> bool:
    for _attempt in conflict_attempts(MAX_ATTEMPTS):
        log, version = signal_logs.get_signal_log(workspace_id, customer_id)
        if not signal_log.fold(log, entries):
            return False
        now = clock.now()
        try:
            signal_logs.put_signal_log(
                workspace_id, customer_id, signal_log.compact(log, now), seen_version=version, updated_at=clock.iso(now)
            )
            return True
        except signal_logs.SignalLogConflict:
            continue
    raise signal_logs.SignalLogConflict(f"{customer_id}: gave up after {MAX_ATTEMPTS} concurrent updates")
