"""The one way timeline entries enter Keepwell: write the items and fold their signals into each
customer's signal log, so the next score sees them without querying the timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from keepwell import clock
from keepwell.domain import timeline as timeline_rules
from keepwell.domain.timeline import TimelineEntry
from keepwell.errors import Conflict
from keepwell.retries import conflict_attempts
from keepwell.storage import customer_lookup, timeline

# The signal log (its domain rules, the health engine's signal classes, its storage) is imported by the
# functions that fold entries into it: ingestion imports this module for `frozen_customers` only, and a
# cold start there paid for the rest (decision 0027).

SIGNAL_KINDS = frozenset({"email", "meeting", "ticket", "nps"})
MAX_ATTEMPTS = 5


def frozen_customers(workspace_id: str, customer_ids: Iterable[str]) -> set[str]:
    """Which of these customers have a frozen timeline (churned: `domain/timeline.timeline_frozen`);
    one BatchGetItem of two profile attributes per 100 customers."""
    statuses = customer_lookup.customer_statuses(workspace_id, customer_ids)
    return {customer_id for customer_id, status in statuses.items() if timeline_rules.timeline_frozen(status)}


def require_open_timeline(customer_id: str, status: str) -> None:
    """409 when a customer's timeline is frozen (a note written by hand)."""
    if not timeline_rules.accepts_entry("note", timeline_rules.timeline_frozen(status)):
        raise Conflict(
            f"Customer {customer_id} has churned: its timeline is read-only",
            [{"field": "customer_id", "issue": "churned"}],
        )


def record_timeline_entries(
    workspace_id: str, entries: Iterable[TimelineEntry], *, frozen: set[str] | None = None
) -> set[str]:
    """Write entries (idempotent per item id) and update signal logs; returns the customers whose
    scoring inputs changed. Entries a frozen timeline does not take are left out (`frozen`: the
    caller's own answer of `frozen_customers`, else read here)."""
    entries = list(entries)
    if frozen is None:
        outside = {e.customer_id for e in entries if e.kind not in timeline_rules.KEEPWELL_RECORD_KINDS}
        frozen = frozen_customers(workspace_id, outside) if outside else set()
    entries = [e for e in entries if timeline_rules.accepts_entry(e.kind, e.customer_id in frozen)]
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
    from keepwell.domain import signal_log
    from keepwell.storage import signal_logs

    for _attempt in conflict_attempts(MAX_ATTEMPTS):
        log, version = signal_logs.get_signal_log(workspace_id, customer_id)
        activity = signal_logs.last_activity(log)  # before the fold: the renewal rows follow a change of it
        if not signal_log.fold(log, entries):
            return False
        now = clock.now()
        try:
            signal_logs.put_signal_log(
                workspace_id,
                customer_id,
                signal_log.compact(log, now),
                seen_version=version,
                updated_at=clock.iso(now),
                activity_before=activity,
            )
            return True
        except signal_logs.SignalLogConflict:
            continue
    raise signal_logs.SignalLogConflict(f"{customer_id}: gave up after {MAX_ATTEMPTS} concurrent updates")
