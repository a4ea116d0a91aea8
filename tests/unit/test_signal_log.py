"""The per-customer signal log (domain/signal_log.py): what scoring reads instead of the timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from keepwell.domain import signal_log
from keepwell.domain.signal_log import SignalLog, compact, fold
from keepwell.domain.timeline import TimelineEntry

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def entry(kind: str, item_id: str, days_ago: float = 1, **fields: object) -> TimelineEntry:
    attributes = fields.pop("attributes", {})
    return TimelineEntry(
        customer_id="cus_1",
        kind=kind,  # type: ignore[arg-type]
        occurred_at=NOW - timedelta(days=days_ago),
        title=str(fields.pop("title", f"{kind} {item_id}")),
        body=fields.pop("body", None),  # type: ignore[arg-type]
        item_id=item_id,
        source_event_id=fields.pop("source_event_id", None),  # type: ignore[arg-type]
        attributes=attributes,  # type: ignore[arg-type]
    )


def test_fold_keeps_the_scoring_facts_of_each_kind_and_says_something_changed():
    log = SignalLog()
    changed = fold(
        log,
        [
            entry(
                "email",
                "e1",
                title="Renewal",
                body="We love the product, thanks!",
                attributes={"direction": "in", "reply_to_proactive": True, "champion_response_hours": 5},
            ),
            entry("email", "e2", attributes={"direction": "out", "proactive": True}),
            entry("meeting", "m1", attributes={"duration_minutes": 45}),
            entry("ticket", "tl_9", attributes={"ticket_id": "ZD-1", "status": "open", "priority": "urgent"}),
            entry("nps", "n1", attributes={"score": 9}),
            entry("note", "x1", body="internal note"),  # not a scoring signal
        ],
    )
    assert changed
    (inbound,) = [e for e in signal_log.emails(log) if e.direction == "in"]
    assert inbound.id == "e1" and inbound.reply_to_proactive and inbound.champion_response_hours == 5.0
    assert inbound.tone is not None and inbound.tone > 0.5  # VADER computed once, at fold time
    assert "love the product" in inbound.text
    (outbound,) = [e for e in signal_log.emails(log) if e.direction == "out"]
    assert outbound.proactive and outbound.tone is None
    (meeting,) = signal_log.meetings(log)
    assert (meeting.id, meeting.duration_minutes) == ("m1", 45.0)
    (ticket,) = signal_log.tickets(log)
    assert (ticket.id, ticket.status, ticket.priority, ticket.resolved_at) == ("tl_9", "open", "urgent", None)
    (answer,) = signal_log.nps_responses(log)
    assert (answer.id, answer.score) == ("n1", 9)
    assert "x1" not in json.dumps(log.to_document())


def test_replaying_the_same_entries_overwrites_and_reports_no_change():
    entries = [
        entry("email", "e1", body="hello", attributes={"direction": "in"}),
        entry("meeting", "m1", attributes={"duration_minutes": 30}),
        entry("nps", "n1", attributes={"score": 7}),
    ]
    log = SignalLog()
    assert fold(log, entries)
    before = json.dumps(log.to_document(), sort_keys=True)
    assert not fold(log, entries)
    assert json.dumps(log.to_document(), sort_keys=True) == before
    assert len(signal_log.emails(log)) == 1 and len(signal_log.meetings(log)) == 1


def test_a_ticket_update_replaces_its_state_keeping_creation_time_and_escalation():
    log = SignalLog()
    opened = entry(
        "ticket",
        "tl_1",
        days_ago=5,
        attributes={"ticket_id": "ZD-7", "status": "open", "priority": "high", "escalated": True},
    )
    solved = entry(
        "ticket",
        "tl_2",
        days_ago=1,
        attributes={
            "ticket_id": "ZD-7",
            "status": "solved",
            "priority": "normal",
            "resolved_at": (NOW - timedelta(days=1)).isoformat(),
        },
    )
    fold(log, [opened])
    assert fold(log, [solved])
    (ticket,) = signal_log.tickets(log)  # one ticket, not two
    assert ticket.status == "closed"  # provider statuses map onto open/pending/closed
    assert ticket.priority == "normal" and ticket.escalated
    assert ticket.created_at == NOW - timedelta(days=5)
    assert ticket.resolved_at == NOW - timedelta(days=1)


def test_unknown_values_fall_back_and_an_invalid_nps_is_ignored():
    log = SignalLog()
    fold(
        log,
        [
            entry("ticket", "t1", attributes={"status": "weird", "priority": "p0"}),
            entry("nps", "n1", attributes={"score": 11}),
            entry("nps", "n2", attributes={"score": "9"}),
            entry("meeting", "m1", attributes={"duration_minutes": "long"}),
        ],
    )
    (ticket,) = signal_log.tickets(log)
    assert (ticket.status, ticket.priority) == ("open", "normal")
    assert signal_log.nps_responses(log) == ()
    assert signal_log.meetings(log)[0].duration_minutes == 30.0


def test_compaction_drops_what_no_dimension_reads_and_keeps_open_tickets_whatever_their_age():
    old = signal_log.RETENTION_DAYS + 5
    log = SignalLog()
    fold(
        log,
        [
            entry("email", "old-email", days_ago=old, attributes={"direction": "in"}),
            entry("email", "new-email", days_ago=2, attributes={"direction": "in"}),
            entry("meeting", "old-meeting", days_ago=old),
            entry("nps", "old-nps", days_ago=old, attributes={"score": 3}),
            entry("ticket", "t-open", days_ago=old, attributes={"ticket_id": "A", "status": "open"}),
            entry(
                "ticket",
                "t-closed",
                days_ago=old,
                attributes={
                    "ticket_id": "B",
                    "status": "closed",
                    "resolved_at": (NOW - timedelta(days=old)).isoformat(),
                },
            ),
        ],
    )
    kept = compact(log, NOW)
    assert list(kept.emails) == ["new-email"]
    assert kept.meetings == {} and kept.nps == {}
    assert set(kept.tickets) == {"A"}


def test_compaction_keeps_the_newest_emails_up_to_the_cap():
    log = SignalLog()
    fold(
        log,
        [
            entry("email", f"e{n:04d}", days_ago=n / 10, attributes={"direction": "out"})
            for n in range(signal_log.MAX_EMAILS + 20)
        ],
    )
    kept = compact(log, NOW)
    assert len(kept.emails) == signal_log.MAX_EMAILS
    assert "e0000" in kept.emails and f"e{signal_log.MAX_EMAILS + 19:04d}" not in kept.emails


def test_the_log_round_trips_through_its_stored_document():
    log = SignalLog()
    fold(log, [entry("email", "e1", attributes={"direction": "in"}), entry("nps", "n", attributes={"score": 8})])
    stored = json.loads(json.dumps(log.to_document()))
    assert SignalLog.from_document(stored) == log
    assert SignalLog.from_document(None) == SignalLog()
