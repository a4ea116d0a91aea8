"""The Relationship dimension from real data (issue 21): contact depth, the champion, a QBR within 120 days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from keepwell.domain import customer_scoring as scoring
from keepwell.domain import signal_log as logs
from keepwell.domain.contacts import ContactDepth, depth_change, role_level
from keepwell.domain.customers import Customer
from keepwell.domain.health.dimensions import dimension_values
from keepwell.domain.health.model import HealthModel
from keepwell.domain.timeline import TimelineEntry

TODAY = date(2026, 11, 20)
MODEL = HealthModel.from_preset("balanced")


def customer(champion: str | None = None) -> Customer:
    return Customer(
        customer_id="c1", workspace_id="w1", name="Acme", champion_contact_id=champion, created_at="x", updated_at="x"
    )


def meeting(item_id: str, days_ago: int, title: str, meeting_type: str | None = None) -> TimelineEntry:
    attributes: dict[str, object] = {"duration_minutes": 60}
    if meeting_type is not None:
        attributes["meeting_type"] = meeting_type
    at = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC) + timedelta(hours=15)
    return TimelineEntry(
        customer_id="c1", kind="meeting", occurred_at=at, title=title, item_id=item_id, attributes=attributes
    )


def relationship(cust: Customer, depth: ContactDepth | None, log: logs.SignalLog | None, day: date = TODAY):
    signals = scoring.build_signals(cust, [], log, usage_connected=False, contacts=depth)
    return dimension_values(MODEL, signals, day)


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Chief Financial Officer", "executive"),
        ("VP Operations", "executive"),
        ("Head of Support", "executive"),
        ("Director, IT", "executive"),
        ("Support Manager", "manager"),
        ("Team Lead", "manager"),
        ("Data analyst", "practitioner"),
        ("", None),
        (None, None),
    ],
)
def test_a_title_reads_as_a_level(title, level):
    assert role_level(title) == level


def test_contact_writes_move_the_counters():
    assert depth_change(None, "CFO", created=True) == {"total": 1, "executive": 1}
    assert depth_change("Analyst", "Support Manager") == {"practitioner": -1, "manager": 1}
    assert depth_change("Analyst", "Data analyst") == {}  # same level: nothing moves
    assert depth_change("CFO", None, deleted=True) == {"total": -1, "executive": -1}
    assert depth_change(None, None, created=True) == {"total": 1}  # untitled: counted, no level


def test_qbrs_are_recognised_by_type_or_title():
    log = logs.SignalLog()
    logs.fold(
        log,
        [
            meeting("m1", 10, "Check-in call", "check_in"),
            meeting("m2", 40, "Quarterly business review", "qbr"),
            meeting("m3", 70, "Q3 QBR with Acme"),  # generic events carry no type: the title says it
            meeting("m4", 80, "Weekly sync"),
            meeting("m5", 90, "QBR prep", "internal"),  # a typed meeting is what its type says
        ],
    )
    assert logs.qbr_days(log) == (TODAY - timedelta(days=70), TODAY - timedelta(days=40))


def test_without_contacts_champion_or_qbr_relationship_stays_na():
    result = relationship(customer(), None, logs.SignalLog())
    assert result.values["relationship"] is None
    assert relationship(customer(), ContactDepth(), None).values["relationship"] is None


def test_worked_example_of_docs_health_model():
    """docs/health-model.md: 3 contacts (an executive and two practitioners), a champion, the last QBR
    130 days ago: contacts 3/5 = 60, levels 2/3 = 66.7, champion 100, QBR 0 → (60 + 66.67 + 100 + 0) / 4
    = 56.7; a QBR 40 days ago → 81.7."""
    depth = ContactDepth(total=3, executive=1, practitioner=2)
    old = logs.SignalLog(meetings={"m1": {"at": "2026-07-13T15:00:00+00:00", "min": 60.0, "qbr": True}})
    result = relationship(customer("con_1"), depth, old)
    assert result.values["relationship"] == pytest.approx(56.67, abs=0.01)
    assert result.metrics["contacts"] == 3 and result.metrics["contact_roles"] == 2
    assert result.metrics["champion_identified"] == 1 and result.metrics["qbr_recent"] == 0
    texts = [e.text for e in result.evidence if e.dimension == "relationship"]
    assert "champion identified" in texts and "no QBR in the last 120 days" in texts

    logs.fold(old, [meeting("m2", 40, "Quarterly business review", "qbr")])
    assert relationship(customer("con_1"), depth, old).values["relationship"] == pytest.approx(81.67, abs=0.01)


def test_a_qbr_counts_for_120_days_and_history_days_see_only_earlier_qbrs():
    log = logs.SignalLog()
    logs.fold(log, [meeting("m1", 0, "EBR", "ebr")])  # held today
    depth = ContactDepth(total=5, executive=1, manager=1, practitioner=3)
    assert relationship(customer("con_1"), depth, log).values["relationship"] == 100
    # scored as of yesterday (a history day), today's QBR had not happened yet
    yesterday = relationship(customer("con_1"), depth, log, TODAY - timedelta(days=1))
    assert yesterday.metrics["qbr_recent"] == 0
    later = relationship(customer("con_1"), depth, log, TODAY + timedelta(days=120))
    assert later.metrics["qbr_recent"] == 1
    assert relationship(customer("con_1"), depth, log, TODAY + timedelta(days=121)).metrics["qbr_recent"] == 0


def test_a_champion_alone_counts_as_one_contact_and_titles_unknown_leave_levels_out():
    result = relationship(customer("con_1"), None, None)  # counters older than the champion
    assert result.metrics["contacts"] == 1 and "contact_roles" not in result.metrics
    assert result.values["relationship"] == pytest.approx((20 + 100 + 0) / 3)


def test_the_contact_counters_are_part_of_the_inputs_digest():
    state = scoring.ScoringState()
    common = {"version": 1, "first": TODAY, "last": TODAY, "customer": customer(), "usage_version": 0}
    before = scoring.inputs_digest(**common, signal_log_version=1, state=state)
    same = scoring.inputs_digest(**common, signal_log_version=1, state=state, contacts=None)
    one = scoring.inputs_digest(**common, signal_log_version=1, state=state, contacts=ContactDepth(total=1))
    two = scoring.inputs_digest(**common, signal_log_version=1, state=state, contacts=ContactDepth(total=2))
    assert before == same and len({before, one, two}) == 3
