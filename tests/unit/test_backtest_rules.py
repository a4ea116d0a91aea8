"""The backtest's figures (domain/health/backtest.py), checked against plain reference computations."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from keepwell.domain.health.backtest import (
    CustomerReplay,
    Outcome,
    StoredDay,
    changed_custom_dimensions,
    headline,
    replay,
    roc_auc,
    summarise,
)
from keepwell.domain.health.model import DimensionConfig, HealthModel

END = date(2026, 11, 30)
BALANCED = HealthModel.from_preset("balanced")


def only(key: str) -> HealthModel:
    dims = [DimensionConfig(key=k, weight=100 if k == key else 0, enabled=k == key) for k in ("usage", "support")]
    return HealthModel(dimensions=dims)


def history(outcome_day: date, values_of, days: int = 120) -> list[StoredDay]:
    return [
        StoredDay(day=outcome_day - timedelta(days=n), dimensions=values_of(outcome_day - timedelta(days=n)))
        for n in range(1, days + 1)
    ]


def predictive_fixture(customers: int = 80, seed: int = 7) -> list[tuple[Outcome, list[StoredDay]]]:
    """Usage perfectly predicts churn (churners 5-35, the others 60-95); support is random noise."""
    rng = random.Random(seed)
    fixture = []
    for n in range(customers):
        churned = n % 4 == 0
        outcome_day = END - timedelta(days=rng.randint(0, 300))
        outcome = Outcome(f"cus_{n:03d}", f"Customer {n}", "churned" if churned else "renewed", outcome_day)
        usage = rng.uniform(5, 35) if churned else rng.uniform(60, 95)
        days = history(outcome_day, lambda _d, u=usage: {"usage": u, "support": rng.uniform(0, 100)})
        fixture.append((outcome, days))
    return fixture


def test_a_dimension_that_predicts_churn_perfectly_gives_auc_1_and_a_random_one_about_half():
    fixture = predictive_fixture()
    by_usage = summarise(only("usage"), [replay(only("usage"), o, d) for o, d in fixture])
    by_noise = summarise(only("support"), [replay(only("support"), o, d) for o, d in fixture])
    assert by_usage["roc_auc"] == 1.0
    assert by_noise["roc_auc"] == pytest.approx(0.5, abs=0.03)
    assert by_usage["at_risk"]["recall"] == 1.0 and by_usage["at_risk"]["precision"] == 1.0
    assert by_usage["missed_count"] == 0


def test_roc_auc_agrees_with_counting_every_pair_ties_half():
    rng = random.Random(3)
    risky = [float(rng.randint(0, 30)) for _ in range(60)]
    safe = [float(rng.randint(10, 60)) for _ in range(90)]
    pairs = [(1.0 if s > r else 0.5 if s == r else 0.0) for r in risky for s in safe]
    assert roc_auc(risky, safe) == pytest.approx(sum(pairs) / len(pairs))
    assert roc_auc([], safe) is None


def test_band_rates_lead_times_and_calibration_match_a_reference_computation():
    """Churners' usage falls from 80 to 20 on a customer-specific day; the rest stay between 55 and 90.
    With no smoothing effect 30/60/90 days out, each band is plain arithmetic on the fixture."""
    rng = random.Random(11)
    model = only("usage")
    fixture = []
    for n in range(40):
        churned = n % 3 == 0
        outcome_day = END - timedelta(days=rng.randint(0, 200))
        drop = rng.choice((20, 45, 75, 120))  # decayed 20, 45, 75 or 120 days before churning
        level = rng.choice((55.0, 65.0, 90.0))

        def values(day: date, o=outcome_day, d=drop, c=churned, lv=level) -> dict[str, float | None]:
            return {"usage": (20.0 if (o - day).days <= d else 80.0) if c else lv}

        outcome = Outcome(f"cus_{n:03d}", f"C{n}", "churned" if churned else "renewed", outcome_day)
        fixture.append((outcome, history(outcome_day, values, days=130), values))
    summary = summarise(model, [replay(model, o, d) for o, d, _ in fixture])

    # reference: plain Python over the fixture, not the production path
    def band(score: float) -> str:
        return "Healthy" if score >= 70 else "Neutral" if score >= 50 else "At risk"

    def at(outcome: Outcome, values, days_before: int) -> float:
        return values(outcome.day - timedelta(days=days_before))["usage"]

    churners = [(o, v) for o, _, v in fixture if o.kind == "churned"]
    for row in summary["bands"]:
        members = [(o, v) for o, _, v in fixture if band(at(o, v, 30)) == row["band"]]
        churned_members = [o for o, _ in members if o.kind == "churned"]
        assert row["customers"] == len(members)
        assert row["churn_rate"] == (len(churned_members) / len(members) if members else None)
        for h in (30, 60, 90):
            expected = sum(1 for o, v in churners if band(at(o, v, h)) == row["band"]) / len(churners)
            assert row["lead_time"][f"{h}d"] == pytest.approx(expected)
    days = [(at(o, v, n), o.kind == "churned") for o, _, v in fixture for n in range(1, 91)]
    positives = [s for s, c in days if c]
    negatives = [s for s, c in days if not c]
    pairs = [(1.0 if s > r else 0.5 if s == r else 0.0) for r in positives for s in negatives]
    assert summary["roc_auc"] == pytest.approx(sum(pairs) / len(pairs))
    flagged = [o for o, _, v in fixture if band(at(o, v, 30)) == "At risk"]
    assert summary["at_risk"]["precision"] == pytest.approx(
        sum(1 for o in flagged if o.kind == "churned") / len(flagged)
    )
    assert summary["at_risk"]["recall"] == pytest.approx(sum(1 for o in flagged if o.kind == "churned") / len(churners))
    twenties = next(c for c in summary["calibration"] if c["scores"] == "20-30")
    assert twenties["customer_days"] == sum(1 for s, _ in days if 20 <= s < 30)
    assert twenties["churn_rate"] == 1.0
    # a churner whose usage fell only 20 days out was still Healthy 30 days before: missed, with why
    late = [o for o, v in churners if at(o, v, 30) == 80.0]
    assert summary["missed_count"] == len(late) > 0
    missed = summary["missed"][0]
    assert (
        missed["band"] == "Healthy"
        and missed["day"] == (date.fromisoformat(missed["churned_on"]) - timedelta(30)).isoformat()
    )
    assert missed["why"].startswith(f"{missed['name']} scored 80 (Healthy) 30 days before churning")


def test_days_before_the_first_stored_day_are_unscored_and_counted():
    outcome = Outcome("cus_new", "New", "churned", END)
    short = history(END, lambda _d: {"usage": 30.0, "support": 30.0}, days=40)  # scored 40 days only
    result = replay(BALANCED, outcome, short)
    assert result.band_at(30) is not None and result.band_at(60) is None
    summary = summarise(BALANCED, [result])
    assert summary["unscored"]["lead_time"] == {"30d": 0.0, "60d": 1.0, "90d": 1.0}
    assert summary["unscored_customer_days"] == 50


def test_a_dimension_not_stored_is_na_that_day_and_counted_while_the_others_carry_the_weight():
    outcome = Outcome("cus_1", "One", "renewed", END)
    stored = history(END, lambda _d: {"usage": 80.0, "engagement": 60.0, "support": 70.0, "sentiment": 50.0})
    six = HealthModel.from_preset("six_factor")
    result = replay(six, outcome, stored)
    # payment, relationship and contract were never stored: 90 window days each
    assert result.not_stored == {"payment": 90, "relationship": 90, "contract": 90}
    expected = (80 * 20 + 60 * 20 + 70 * 15) / 55  # the stored dimensions share the weight
    assert result.scores[-1] == pytest.approx(expected)


def test_a_changed_custom_expression_is_not_replayed_from_the_old_formula():
    current = HealthModel(
        dimensions=[DimensionConfig(key="usage", weight=50), DimensionConfig(key="roi", weight=50, expression="usage")],
    )
    proposed = HealthModel(
        dimensions=[
            DimensionConfig(key="usage", weight=50),
            DimensionConfig(key="roi", weight=50, expression="usage / 2"),
        ],
    )
    assert changed_custom_dimensions(current, current) == frozenset()
    assert changed_custom_dimensions(proposed, current) == frozenset({"roi"})


def test_hysteresis_and_smoothing_follow_the_model():
    outcome = Outcome("cus_1", "One", "churned", END)
    # one bad day amid good ones: smoothing over 7 days keeps the band Healthy that day
    stored = history(END, lambda d: {"usage": 10.0 if d == END - timedelta(days=30) else 90.0})
    model = only("usage")
    assert model.bands[replay(model, outcome, stored).band_at(30) or 0].label == "Healthy"
    three = model.model_copy(update={"smoothing_window": 3})
    assert replay(three, outcome, stored).scores[60] == 10.0  # the daily score itself is unsmoothed


def test_a_replay_survives_its_json_round_trip_and_the_headline_reads_plainly():
    outcome = Outcome("cus_1", "One", "churned", END, reason="price")
    result = replay(BALANCED, outcome, history(END, lambda _d: {"usage": 90.0}))
    again = CustomerReplay.from_json(result.to_json())
    assert again.scores == pytest.approx(result.scores) and again.missed == result.missed
    line = headline(summarise(BALANCED, [again]))
    assert line == "AUC n/a; 0% of 1 churned customers flagged 'At risk' >= 30 days ahead (1 outcomes)"
