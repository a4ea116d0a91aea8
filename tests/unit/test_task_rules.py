"""Task rules, pure: the status machine and what My day flags (who sees a task: test_tasks_api.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from keepwell.domain import tasks as rules
from keepwell.domain.tasks import Task
from keepwell.errors import Conflict

TODAY = date(2026, 11, 20)
NOW = "2026-11-20T09:30:00.000Z"


def task(**fields) -> Task:
    data = {
        "task_id": "tsk_1",
        "workspace_id": "ws_acme",
        "title": "Call the champion",
        "owner_id": "csm-1",
        "due_date": TODAY,
        "customer_id": "cus_1",
        "created_by": "csm-1",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Task.model_validate({**data, **fields})


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("pending", "in_progress"),
        ("pending", "completed"),
        ("pending", "skipped"),
        ("in_progress", "completed"),
        ("in_progress", "skipped"),
        ("completed", "completed"),  # no change is not a transition
    ],
)
def test_allowed_transitions(current, new):
    rules.check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("in_progress", "pending"),
        ("completed", "pending"),
        ("completed", "in_progress"),
        ("completed", "skipped"),
        ("skipped", "completed"),
        ("skipped", "in_progress"),
    ],
)
def test_invalid_transitions_are_conflicts_naming_the_status(current, new):
    with pytest.raises(Conflict) as error:
        rules.check_transition(current, new)
    assert error.value.status == 409
    assert error.value.code == "invalid_transition"
    assert error.value.details == [{"field": "status", "issue": f"{current} → {new} is not allowed"}]


def test_starting_and_finishing_stamp_their_times():
    started = rules.apply_changes(task(), {"status": "in_progress"}, now_iso="2026-11-20T10:00:00.000Z")
    done = rules.apply_changes(started, {"status": "completed"}, now_iso="2026-11-20T11:00:00.000Z")
    assert started.started_at == "2026-11-20T10:00:00.000Z" and started.completed_at is None
    assert done.completed_at == "2026-11-20T11:00:00.000Z" and done.updated_at == "2026-11-20T11:00:00.000Z"


def test_a_rejected_transition_changes_nothing():
    completed = task(status="completed")
    with pytest.raises(Conflict):
        rules.apply_changes(completed, {"status": "pending", "title": "x"}, now_iso=NOW)
    assert completed.title == "Call the champion"


def test_overdue_and_due_today_count_only_open_tasks():
    assert rules.is_overdue(task(due_date=TODAY - timedelta(days=1)), TODAY)
    assert not rules.is_overdue(task(due_date=TODAY - timedelta(days=1), status="completed"), TODAY)
    assert not rules.is_overdue(task(due_date=TODAY), TODAY)
    assert rules.is_due_today(task(status="in_progress"), TODAY)
    assert not rules.is_due_today(task(status="skipped"), TODAY)


def test_red_flags_come_from_the_latest_health_renewal_and_champion():
    flags = rules.red_flags(
        {
            "health_band": "At risk",
            "health_score": 41.0,
            "renewal_date": TODAY + timedelta(days=20),
            "status": "active",
        },
        TODAY,
    )
    assert flags == ["health is At risk (41.0)", "renews on 2026-12-10 and is not healthy", "no champion"]
    healthy = {"health_band": "Healthy", "health_score": 85.0, "status": "active", "champion_contact_id": "con_1"}
    assert rules.red_flags({**healthy, "renewal_date": TODAY + timedelta(days=20)}, TODAY) == []


def test_new_alerts_are_those_of_today_and_yesterday():
    alerts = [
        {"kind": "sharp_drop", "day": "2026-11-20"},
        {"kind": "band_crossing", "date": "2026-11-19"},
        {"kind": "misalignment", "day": "2026-11-10"},
        {"kind": "broken", "day": "not a day"},
    ]
    assert [a["kind"] for a in rules.new_alerts(alerts, TODAY)] == ["sharp_drop", "band_crossing"]


def test_a_new_alert_reads_as_words_not_as_the_scorers_key():
    alerts = [
        {"kind": "sharp_drop", "detail": None, "day": "2026-11-20"},
        {"kind": "band_crossing", "detail": "At risk", "day": "2026-11-20"},
        {"kind": "misalignment", "detail": None, "day": "2026-11-19"},
    ]
    assert [a["title"] for a in rules.new_alerts(alerts, TODAY)] == [
        "Sharp drop in health",
        "Health moved into At risk",
        "Well below its segment's average",
    ]
