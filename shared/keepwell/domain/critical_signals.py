"""Which recorded signals are critical enough to rescore a customer at once rather than at the next
daily scoring (docs/health-model.md, "Event-driven rescoring"). Pure: no AWS.

- a ticket that is open (or pending) with priority urgent or critical;
- an inbound email naming one of the health model's sentiment keywords (critical keywords such as
  "cancel", extra keywords, competitors), matched as the sentiment dimension matches them.

A sharp usage drop is decided at ingestion (domain/usage_history.sharp_usage_drop).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from keepwell.domain.health import sentiment
from keepwell.domain.health.signals import SEVERE_PRIORITIES
from keepwell.domain.timeline import TimelineEntry

CLOSED_STATUSES = frozenset({"closed", "solved", "resolved"})


def is_critical_ticket(entry: TimelineEntry) -> bool:
    attributes = entry.attributes
    status = str(attributes.get("status", "open")).lower()
    priority = str(attributes.get("priority", "normal")).lower()
    return entry.kind == "ticket" and priority in SEVERE_PRIORITIES and status not in CLOSED_STATUSES


def has_inbound_email(entries: Iterable[TimelineEntry]) -> bool:
    return any(e.kind == "email" and e.attributes.get("direction") == "in" for e in entries)


def churn_keywords_in(entry: TimelineEntry, keywords: Sequence[str]) -> list[str]:
    """The keywords an inbound email names (none for anything else)."""
    if entry.kind != "email" or entry.attributes.get("direction") != "in" or not keywords:
        return []
    return sentiment.find_keywords(f"{entry.title}\n{entry.body or ''}", keywords)


def customers_with_critical_signals(entries: Iterable[TimelineEntry], keywords: Sequence[str]) -> set[str]:
    """The customers that one of these entries gives a critical signal."""
    return {e.customer_id for e in entries if is_critical_ticket(e) or churn_keywords_in(e, keywords)}
