"""The demo's year of outcomes: deterministic, varied, and a backtest on it answers something non-trivial."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from infra.demo_outcomes import LATEST, STORED_DAYS, generate_outcomes
from infra.seed import generate_demo
from keepwell.domain.health.backtest import Outcome, StoredDay, replay, summarise
from keepwell.domain.health.model import HealthModel

TODAY = date(2026, 11, 20)


@cache
def demo_customers(customers: int = 180) -> tuple:
    return tuple(c.customer for c in generate_demo(TODAY, customers=customers, other_customers=0).demo.customers)


def outcomes_of():
    return generate_outcomes(TODAY, list(demo_customers()), 42, "ws_demo")


def backtest(generated) -> dict:
    model = HealthModel.from_preset("balanced")
    replays = []
    for customer in generated.churned:
        outcome = Outcome(customer.customer_id, customer.name, "churned", generated.churn_days[customer.customer_id])
        replays.append(replay(model, outcome, _days(generated.history[customer.customer_id])))
    for renewal in generated.renewals:
        assert renewal.closed_on is not None
        outcome = Outcome(renewal.customer_id, renewal.customer_id, "renewed", renewal.closed_on)
        replays.append(replay(model, outcome, _days(generated.history[renewal.customer_id])))
    return summarise(model, replays)


def _days(history) -> list[StoredDay]:
    return [StoredDay(s.date, {d.key: d.value for d in s.dimensions}) for s in history]


def test_the_same_seed_gives_the_same_outcomes():
    first, second = outcomes_of(), outcomes_of()
    assert [c.customer_id for c in first.churned] == [c.customer_id for c in second.churned]
    assert first.history == second.history and first.renewals == second.renewals


def test_outcomes_span_the_year_before_the_last_90_days_with_their_stored_health():
    generated = outcomes_of()
    assert generated.counts()["churned"] == 180 // 9 and sum(generated.counts().values()) == 180 // 9 + 180 // 6
    assert {"renewed", "expanded", "contracted"} <= set(generated.counts())
    days = list(generated.churn_days.values()) + [r.closed_on for r in generated.renewals]
    assert all(TODAY - timedelta(days=365) <= d <= TODAY - timedelta(days=LATEST) for d in days if d)
    assert all(len(h) == STORED_DAYS for h in generated.history.values())
    assert all(h[-1].explanation for h in generated.history.values())


def test_a_backtest_of_the_demo_year_is_meaningful_but_not_perfect():
    summary = backtest(outcomes_of())
    assert 0.65 < summary["roc_auc"] < 0.95
    assert 0.4 < summary["at_risk"]["recall"] < 0.95  # late drops and surprises are missed
    assert 0.5 < summary["at_risk"]["precision"] < 1.0  # some renewed after a rough patch
    assert summary["missed_count"] >= 3
