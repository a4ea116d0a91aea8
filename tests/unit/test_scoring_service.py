"""The pure part of the scoring pipeline (domain/customer_scoring.py): signals, the scoring state carried on the
profile, daily vs history scoring, idempotency digests and the domain events. No AWS."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from keepwell.domain import customer_scoring as scoring
from keepwell.domain import signal_log
from keepwell.domain.customer_scoring import DayEntry, ScoringState
from keepwell.domain.customers import Customer
from keepwell.domain.health.dimensions import PreparedModel
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.signals import ContractSignals, UsageDay
from keepwell.domain.timeline import TimelineEntry

END = date(2026, 11, 20)
MODEL = PreparedModel.of(HealthModel.from_preset("balanced"), 0)  # stored as 0: the default, never saved


def customer(**fields: object) -> Customer:
    base: dict[str, object] = {
        "customer_id": "cus_1",
        "workspace_id": "ws_acme",
        "name": "Acme",
        "owner_id": "csm-1",
        "seats": 10,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }
    return Customer.model_validate(base | fields)


def usage(days: int = 120, drop_after: int | None = None, seed: int = 3) -> list[UsageDay]:
    """Steady usage of ten seats; from `drop_after` days back to today nobody logs in any more."""
    rng = random.Random(seed)
    out = []
    for offset in range(days - 1, -1, -1):
        day = END - timedelta(days=offset)
        quiet = drop_after is not None and offset < drop_after
        users = frozenset() if quiet else frozenset(f"u{n}" for n in rng.sample(range(10), 6))
        out.append(UsageDay(day=day, logins=0 if quiet else 12, users=users, features=frozenset({"a", "b", "c"})))
    return out


def entry(kind: str, days_ago: int, item_id: str, **attributes: object) -> TimelineEntry:
    return TimelineEntry(
        customer_id="cus_1",
        kind=kind,  # type: ignore[arg-type]
        occurred_at=datetime.combine(END - timedelta(days=days_ago), datetime.min.time(), UTC) + timedelta(hours=10),
        title=f"{kind} {item_id}",
        body="Thanks, all good" if kind == "email" else None,
        item_id=item_id,
        attributes=attributes,
    )


def a_log() -> signal_log.SignalLog:
    log = signal_log.SignalLog()
    signal_log.fold(
        log,
        [entry("email", n, f"e{n}", direction="in" if n % 2 else "out") for n in range(0, 60, 3)]
        + [entry("meeting", n, f"m{n}", duration_minutes=30) for n in range(0, 60, 14)],
    )
    return log


def signals(days: list[UsageDay] | None = None, log: signal_log.SignalLog | None = None) -> object:
    return scoring.build_signals(customer(), usage() if days is None else days, log or a_log(), usage_connected=True)


# --- signals ----------------------------------------------------------------------------------------
def test_sources_without_data_are_not_connected_so_their_dimensions_are_na_not_zero():
    built = scoring.build_signals(customer(), [], None, usage_connected=False)
    assert built.usage is None and built.emails is None and built.tickets is None and built.nps is None
    assert built.contract is None and built.payment is None and built.relationship is None
    snapshot = scoring.score_day(MODEL, built, END, ScoringState()).latest
    assert snapshot.score is None and set(snapshot.na_dimensions) == {"usage", "engagement", "support", "sentiment"}


def test_a_signal_log_without_tickets_is_connected_support_with_no_tickets():
    built = scoring.build_signals(customer(), [], a_log(), usage_connected=False)
    assert built.tickets == () and built.emails


def test_payment_comes_from_custom_fields_and_contract_from_the_renewal_records_not_a_custom_field():
    records = ContractSignals(renewal_date=END, auto_renew=True, expansions=1)
    built = scoring.build_signals(
        customer(custom_fields={"auto_renew": False, "expansions": 2, "overdue_invoices": 1}, renewal_date=END),
        [],
        None,
        usage_connected=False,
        contract=records,
    )
    assert built.contract == records  # the `auto_renew` / `expansions` custom fields are not read
    assert built.payment is not None and built.payment.overdue_invoices == 1 and built.payment.avg_days_to_pay is None
    assert built.fields["seats"] == 10 and built.custom["auto_renew"] is False
    without = scoring.build_signals(customer(custom_fields={"auto_renew": True}), [], None, usage_connected=False)
    assert without.contract is None  # no renewal record: the Contract dimension is N/A


def test_metric_days_cover_the_usage_window_before_the_first_scored_day():
    days = scoring.metric_days(MODEL.model, END, END)
    assert len(days) == 30 and days[0] == END - timedelta(days=29) and days[-1] == END
    history = scoring.metric_days(MODEL.model, END - timedelta(days=89), END)
    assert len(history) == 119


def test_history_starts_90_days_back_or_at_a_late_events_day():
    assert scoring.history_start(END) == END - timedelta(days=89)
    assert scoring.history_start(END, END - timedelta(days=3)) == END - timedelta(days=3)
    assert scoring.history_start(END, END - timedelta(days=400)) == END - timedelta(days=89)
    assert scoring.history_start(END, END + timedelta(days=2)) == END


# --- state ------------------------------------------------------------------------------------------
def test_the_scoring_state_round_trips_through_json_and_keeps_31_days():
    days = {
        END - timedelta(days=n): DayEntry(50.0 + n, "Neutral", None, 0, n == 1, False, ("sharp_drop",))
        for n in range(40)
    }
    state = ScoringState().with_days(days, END - timedelta(days=60))
    assert len(state.days) == scoring.STATE_DAYS and min(state.days) == END - timedelta(days=30)
    again = ScoringState.from_json(state.to_json())
    assert again == state and again.usage_since == END - timedelta(days=60)
    assert ScoringState.from_json({"v": 99, "days": {}}) == ScoringState()  # an unknown layout starts afresh


def test_daily_scoring_continues_smoothing_from_the_carried_state():
    built = signals()
    history = scoring.score_history(MODEL, built, END - timedelta(days=20), END - timedelta(days=1), ScoringState())
    today = scoring.score_day(MODEL, built, END, history.state).latest
    fresh = scoring.score_day(MODEL, built, END, ScoringState()).latest
    assert today.score == fresh.score  # same day, same inputs
    window = [e.score for d, e in history.state.days.items() if d > END - timedelta(days=7)] + [today.score]
    assert today.smoothed_score == pytest.approx(sum(window) / len(window))
    assert fresh.smoothed_score == fresh.score  # without the state the window holds only today


def test_history_gives_the_same_days_as_scoring_them_one_by_one():
    built = signals(usage(drop_after=15))
    start = END - timedelta(days=30)
    version_3 = PreparedModel.of(MODEL.model, 3)
    history = scoring.score_history(version_3, built, start, END, ScoringState())
    state = ScoringState()
    one_by_one = []
    for offset in range(31):
        scored = scoring.score_day(version_3, built, start + timedelta(days=offset), state)
        state = scored.state
        one_by_one.append(scored.latest)
    assert [(s.date, s.score, s.smoothed_score, s.band) for s in history.snapshots] == [
        (s.date, s.score, s.smoothed_score, s.band) for s in one_by_one
    ]
    assert history.state.days == state.days
    assert all(s.model_version == 3 for s in history.snapshots)


def test_a_sharp_drop_alerts_once_however_often_the_day_is_rescored():
    built_before = signals(usage())
    warm = scoring.score_history(MODEL, built_before, END - timedelta(days=10), END - timedelta(days=1), ScoringState())
    dropped = signals(usage(drop_after=1), signal_log.SignalLog())  # today: no usage, no emails, no meetings
    first = scoring.score_day(MODEL, dropped, END, warm.state)
    assert "sharp_drop" in [a.kind for a in first.alerts]
    again = scoring.score_day(MODEL, dropped, END, first.state)
    assert again.alerts == []  # re-scoring the same day raises nothing new
    assert again.state.days[END].in_drop and "sharp_drop" in again.state.days[END].alerts
    tomorrow = scoring.score_day(MODEL, dropped, END + timedelta(days=1), again.state)
    assert "sharp_drop" not in [a.kind for a in tomorrow.alerts]  # the same episode


def crisis_today() -> signal_log.SignalLog:
    """The usual emails and meetings, then today: escalated critical tickets and emails about cancelling."""
    log = a_log()
    signal_log.fold(
        log,
        [
            entry("ticket", 0, f"t{n}", ticket_id=f"T{n}", status="open", priority="critical", escalated=True)
            for n in range(6)
        ]
        + [
            TimelineEntry(
                customer_id="cus_1",
                kind="email",
                occurred_at=datetime.combine(END, datetime.min.time(), UTC) + timedelta(hours=9, minutes=n),
                title="Contract",
                body="This is terrible, we will cancel and terminate contract",
                item_id=f"x{n}",
                attributes={"direction": "in"},
            )
            for n in range(3)
        ],
    )
    return log


def test_history_replay_returns_only_the_last_days_alerts_not_raised_before():
    built = signals(usage(), crisis_today())
    replay = scoring.score_history(MODEL, built, END - timedelta(days=20), END, ScoringState())
    assert all(a.date == END for a in replay.alerts)
    assert "sharp_drop" in [a.kind for a in replay.alerts]
    raised = ScoringState(days={END: DayEntry(10.0, "At risk", alerts=("sharp_drop",))})
    again = scoring.score_history(MODEL, built, END - timedelta(days=20), END, raised)
    assert "sharp_drop" not in [a.kind for a in again.alerts]


# --- idempotency -------------------------------------------------------------------------------------
def test_the_inputs_digest_changes_with_what_was_scored_and_nothing_else():
    state = ScoringState(days={END - timedelta(days=1): DayEntry(70.0, "Healthy")})
    base = {
        "version": 2,
        "first": END,
        "last": END,
        "customer": customer(),
        "usage_version": 3,
        "signal_log_version": 5,
        "state": state,
    }
    digest = scoring.inputs_digest(**base)  # type: ignore[arg-type]
    assert digest == scoring.inputs_digest(**base)  # type: ignore[arg-type]
    for change in (
        {"version": 3},
        {"usage_version": 4},
        {"signal_log_version": 6},
        {"customer": customer(version=2)},
        {"state": ScoringState(days={END - timedelta(days=1): DayEntry(71.0, "Healthy")})},
        {"job_id": "rc_1"},
    ):
        assert scoring.inputs_digest(**(base | change)) != digest, change  # type: ignore[arg-type]
    # Today's own entry (written by the scoring being repeated) is not an input of today.
    with_today = ScoringState(days={**state.days, END: DayEntry(10.0, "At risk")})
    assert scoring.inputs_digest(**(base | {"state": with_today})) == digest  # type: ignore[arg-type]


# --- events -----------------------------------------------------------------------------------------
def test_events_say_who_what_before_and_after_and_band_changes_only_when_the_band_moved():
    snapshot = scoring.score_day(
        PreparedModel.of(MODEL.model, 4), signals(usage(drop_after=20), signal_log.SignalLog()), END, ScoringState()
    ).latest
    assert snapshot.band == "At risk"
    events = scoring.domain_events(
        customer=customer(),
        model=MODEL.model,
        snapshot=snapshot,
        previous_score=74.04,
        previous_band="Healthy",
        previous_contributions={"usage": 30.0, "engagement": 20.0, "support": 16.0, "sentiment": 8.0},
        alerts=[],
        reason="schedule",
    )
    kinds = [e.detail_type for e in events]
    assert kinds == ["health.scored", "health.band_changed"]
    scored, changed = events[0].detail, events[1].detail
    assert scored["workspace_id"] == "ws_acme" and scored["customer_id"] == "cus_1" and scored["owner_id"] == "csm-1"
    assert scored["score"] == snapshot.display_score and scored["previous_score"] == 74.0
    assert scored["model_version"] == 4 and set(scored["dimensions"]) == {"usage", "engagement", "support", "sentiment"}
    assert (changed["previous_band"], changed["band"], changed["direction"]) == ("Healthy", "At risk", "down")
    drivers = {d["dimension"]: d["delta"] for d in changed["drivers"]}
    assert drivers["usage"] < 0 and drivers["engagement"] < 0
    assert [abs(d["delta"]) for d in changed["drivers"]] == sorted(
        (abs(d["delta"]) for d in changed["drivers"]), reverse=True
    )
    same = scoring.domain_events(
        customer=customer(),
        model=MODEL.model,
        snapshot=snapshot,
        previous_score=20.0,
        previous_band="At risk",
        previous_contributions={},
        alerts=[],
        reason="schedule",
    )
    assert [e.detail_type for e in same] == ["health.scored"]
    first = scoring.domain_events(
        customer=customer(),
        model=MODEL.model,
        snapshot=snapshot,
        previous_score=None,
        previous_band=None,
        previous_contributions={},
        alerts=[],
        reason="manual",
    )
    assert [e.detail_type for e in first] == ["health.scored"]  # a first score is no band change


def test_each_alert_is_its_own_event_with_its_kind():
    built = signals(usage(drop_after=1), signal_log.SignalLog())
    warm = scoring.score_history(MODEL, signals(), END - timedelta(days=10), END - timedelta(days=1), ScoringState())
    scored = scoring.score_day(MODEL, built, END, warm.state)
    events = scoring.domain_events(
        customer=customer(),
        model=MODEL.model,
        snapshot=scored.latest,
        previous_score=warm.latest.display_score,
        previous_band=warm.latest.band,
        previous_contributions=scoring.contributions(warm.latest),
        alerts=scored.alerts,
        reason="ingest",
    )
    alerts = [e.detail for e in events if e.detail_type == "health.alert"]
    assert {a["alert_kind"] for a in alerts} == {a.kind for a in scored.alerts}
    assert all(a["severity"] in ("info", "warning", "critical") and a["message"] for a in alerts)
