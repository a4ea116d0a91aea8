"""Which recorded signals rescore a customer at once: open urgent/critical tickets and inbound emails
naming a sentiment keyword."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from keepwell.domain.critical_signals import customers_with_critical_signals, has_inbound_email, is_critical_ticket
from keepwell.domain.timeline import TimelineEntry

KEYWORDS = ["cancel", "terminate contract", "globex"]


def entry(kind: str, customer_id: str = "c1", body: str = "", **attributes: Any) -> TimelineEntry:
    return TimelineEntry(
        customer_id=customer_id,
        kind=kind,  # type: ignore[arg-type]
        occurred_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        title="Subject",
        body=body,
        attributes=attributes,
    )


@pytest.mark.parametrize(
    ("status", "priority", "critical"),
    [
        ("open", "urgent", True),
        ("pending", "critical", True),
        ("OPEN", "URGENT", True),
        ("open", "high", False),
        ("open", "normal", False),
        ("solved", "urgent", False),
        ("closed", "critical", False),
    ],
)
def test_only_an_open_urgent_or_critical_ticket_is_critical(status: str, priority: str, critical: bool):
    assert is_critical_ticket(entry("ticket", status=status, priority=priority)) is critical


def test_an_inbound_email_naming_a_keyword_is_critical_and_an_outbound_one_is_not():
    found = customers_with_critical_signals(
        [
            entry("email", "c1", "We will have to cancel at renewal.", direction="in"),
            entry("email", "c2", "Did you cancel the meeting?", direction="out"),
            entry("email", "c3", "Thanks, all good here.", direction="in"),
            entry("email", "c4", "We are evaluating Globex.", direction="in"),
            entry("meeting", "c5", "cancel"),
        ],
        KEYWORDS,
    )
    assert found == {"c1", "c4"}


def test_without_keywords_only_tickets_count_and_inbound_email_is_detected_to_read_them():
    entries = [entry("email", "c1", "cancel", direction="in"), entry("ticket", "c2", status="open", priority="urgent")]
    assert customers_with_critical_signals(entries, []) == {"c2"}
    assert has_inbound_email(entries) and not has_inbound_email(entries[1:])
