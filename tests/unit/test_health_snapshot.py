from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from keepwell.domain.health import sentiment
from keepwell.domain.health.dimensions import measure
from keepwell.domain.health.explain import weigh, weigh_parts
from keepwell.domain.health.model import HealthModel, HysteresisConfig
from keepwell.domain.health.scoring import score_values
from keepwell.domain.health.signals import CustomerSignals, Email, Ticket, UsageDay, UsageSignals
from keepwell.domain.health.snapshot import Scorer, compute_history, compute_snapshot

END = date(2026, 11, 20)


def noon(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)


def busy_then_quiet(seed: int = 7) -> CustomerSignals:
    """120 days: heavy usage that fades over the last month, emails turning sour, tickets piling up."""
    rng = random.Random(seed)
    days = []
    for i in range(120):
        day = END - timedelta(days=i)
        logins = rng.randint(0, 4) if i < 30 else rng.randint(20, 60)
        users = frozenset(f"u{rng.randint(0, 9)}" for _ in range(3))
        features = frozenset(f"f{rng.randint(0, 12)}" for _ in range(3))
        days.append(UsageDay(day=day, logins=logins, users=users, features=features))
    emails = []
    for i in range(0, 120, 2):
        text = "We are frustrated and may cancel" if i < 20 else "Great quarter, thanks!"
        emails.append(Email("in", noon(END - timedelta(days=i)), text, id=f"tl_{i}"))
        emails.append(Email("out", noon(END - timedelta(days=i + 1)), "Checking in", proactive=True))
    tickets = [Ticket(noon(END - timedelta(days=i)), "open", "critical", id=f"t{i}") for i in (1, 3, 8)]
    resolved = noon(END - timedelta(days=58))
    tickets.append(Ticket(noon(END - timedelta(days=60)), "closed", "low", resolved_at=resolved))
    return CustomerSignals(
        customer_id="c1",
        name="Acme",
        usage=UsageSignals(days=tuple(days), seats=10),
        emails=tuple(emails),
        tickets=tuple(tickets),
    )


MODEL = HealthModel.from_preset("balanced")


def test_history_has_one_snapshot_per_day_for_90_days_oldest_first():
    history = compute_history(MODEL, busy_then_quiet(), END)
    assert len(history) == 90
    assert history[0].date == END - timedelta(days=89) and history[-1].date == END
    assert all(s.model_version == 1 and s.customer_id == "c1" for s in history)


def test_history_shows_the_decline_the_signals_describe():
    history = compute_history(MODEL, busy_then_quiet(), END)
    scores = [s.score or 0.0 for s in history]
    assert scores[0] > 70
    assert scores[-1] < scores[0] - 20
    assert history[0].band == "Healthy" and history[-1].band != "Healthy"


def test_history_matches_scoring_each_day_from_scratch():
    signals = busy_then_quiet()
    history = compute_history(MODEL, signals, END, days=40)
    for index in (0, 1, 12, 25, 39):
        snap = history[index]
        again = compute_snapshot(MODEL, signals, snap.date, prior=history[:index])
        assert again == snap


def test_every_day_of_a_history_shows_the_evidence_and_breakdown_of_that_day_alone():
    """A history shares what repeats between days (a dimension's outcome, its ranked evidence, breakdown
    rows and evidence items); each day must still show exactly what weighing that day's evidence gives."""
    signals = busy_then_quiet()
    scorer = Scorer(MODEL, signals)
    for offset in range(90):
        day = END - timedelta(days=89 - offset)
        measurement = measure(scorer.prepared, scorer.index, day)
        result = score_values(MODEL, measurement.values)
        assert weigh_parts(measurement.parts, result) == weigh(measurement.evidence, result), day
        snap = scorer.score(day)
        ranked = weigh(measurement.evidence, result)
        assert [(e.text, e.impact) for e in snap.top_negative] == [(r.text, r.impact) for r in ranked if r.impact < 0][
            :3
        ]
        assert [(d.key, d.value) for d in snap.dimensions] == [(d.key, d.value) for d in result.dimensions]


def test_smoothed_score_is_the_mean_of_the_last_seven_daily_scores():
    history = compute_history(MODEL, busy_then_quiet(), END)
    last7 = [s.score or 0.0 for s in history[-7:]]
    assert history[-1].smoothed_score == pytest.approx(sum(last7) / 7)
    assert history[0].smoothed_score == history[0].score


def test_band_follows_the_smoothed_score():
    history = compute_history(MODEL, busy_then_quiet(), END)
    for snap in history:
        shown = round(snap.smoothed_score or 0.0, 1)
        expected = "Healthy" if shown >= 70 else ("Neutral" if shown >= 50 else "At risk")
        assert snap.band == expected


def test_hysteresis_waits_out_the_minimum_days_before_changing_band():
    model = HealthModel.from_preset(hysteresis=HysteresisConfig(enabled=True, margin_points=50, min_days=3))
    plain = compute_history(MODEL, busy_then_quiet(), END)
    held = compute_history(model, busy_then_quiet(), END)
    first = next(i for i, s in enumerate(plain) if s.band != "Healthy")
    assert plain[first + 2].band == plain[first].band  # the crossing lasts
    assert [s.band for s in held[first : first + 3]] == ["Healthy", "Healthy", plain[first].band]
    assert held[first].pending_band == plain[first].band and held[first].pending_days == 1


def test_each_email_tone_is_computed_once_for_the_whole_history(monkeypatch):
    calls: list[str] = []
    real = sentiment.tone

    def counting_tone(text: str) -> float:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(sentiment, "tone", counting_tone)
    signals = busy_then_quiet()
    compute_history(MODEL, signals, END)
    inbound = len([e for e in signals.emails or () if e.direction == "in"])
    assert len(calls) == inbound


def test_snapshot_carries_breakdown_evidence_and_an_explanation():
    snap = compute_history(MODEL, busy_then_quiet(), END)[-1]
    assert [d.key for d in snap.dimensions] == ["usage", "engagement", "support", "sentiment"]
    assert sum(d.contribution for d in snap.dimensions) == pytest.approx(snap.score)
    negatives = [e.text for e in snap.top_negative]
    assert "3 critical tickets open" in negatives
    assert all(e.impact < 0 for e in snap.top_negative) and all(e.impact > 0 for e in snap.top_positive)
    assert len(snap.top_negative) <= 3
    assert snap.explanation.startswith(f"Acme scores {snap.display_score:.1f} ({snap.band}).")
    assert "pulled down by" in snap.explanation and "3 critical tickets open" in snap.explanation


def test_explanation_says_which_dimensions_had_no_data_and_the_coverage():
    signals = CustomerSignals(name="Globex", tickets=(Ticket(noon(END), "open", "urgent", id="t9"),))
    snap = compute_snapshot(MODEL, signals, END)
    assert snap.na_dimensions == ["usage", "engagement", "sentiment"]
    assert snap.coverage == pytest.approx(0.2)
    assert "Usage, engagement and sentiment have no data" in snap.explanation
    assert "coverage 20%" in snap.explanation
    assert snap.top_negative[0].ref == "t9"


def test_a_customer_with_no_data_has_no_score_and_no_band():
    snap = compute_snapshot(MODEL, CustomerSignals(name="Empty"), END)
    assert snap.score is None and snap.band is None and snap.smoothed_score is None
    assert "has no health score" in snap.explanation


def test_scorer_refuses_days_out_of_order():
    scorer = Scorer(MODEL, busy_then_quiet())
    scorer.score(END)
    with pytest.raises(ValueError):
        scorer.score(END)
