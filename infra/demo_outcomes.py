"""A year of demo outcomes for the model backtest (docs/health-model.md, "How good is my model?").

The demo's own 90 days end today, so on their own they show no outcome a backtest could judge. This adds,
to ws_demo, what a workspace that used Keepwell for a year would have stored:

- churned customers (about one per nine demo customers), churned 90 to 365 days ago and archived since
  (out of lists and daily scoring), each with a churn record and the daily health stored for the 97 days
  before it; their signals decayed in different ways
  (usage collapse, slow fade, support storm, gone quiet, a long decline, a late drop) — and a few churned with good
  signals throughout (a strategy shift, a new executive): the surprises no score could see;
- renewals closed 90 to 365 days ago for some of the demo's active customers (about one in six):
  renewed flat, expanded, or contracted, with their daily health before the renewal.

The stored days are what the scorer writes, built from daily dimension values through the engine's own
weighted score, smoothing and bands under the default (Balanced) model, with its explanation; only the
raw signals behind them are not generated (a year of emails and events would cost minutes to seed).
Outcomes end at least 90 days ago on purpose: a recalculation rewrites the last 90 days from raw signals,
so these stored days stay as they are. Same `today` and seed → same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from keepwell import clock
from keepwell.domain.customers import Customer
from keepwell.domain.health.bands import classify
from keepwell.domain.health.explain import explain
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.scoring import score_values
from keepwell.domain.health.smoothing import MovingAverage
from keepwell.domain.health.snapshot import DimensionSnapshot, HealthSnapshot
from keepwell.domain.renewals import Renewal

STORED_DAYS = 97  # the backtest's 90 days and the default smoothing window's warm-up
EARLIEST, LATEST = 365, 90  # outcomes happen this many days before today
DIMENSIONS = ("usage", "engagement", "support", "sentiment")
# How a churner's dimensions move over its last STORED_DAYS days: per dimension (start, end, from, to):
# it goes from `start` to `end` between `from` and `to` days before the churn; one not listed stays put.
DECAYS: dict[str, dict[str, tuple[float, float, int, int]]] = {
    "usage_collapse": {"usage": (75, 10, 90, 40), "engagement": (65, 35, 80, 30)},
    "slow_fade": {d: (72, 28, 97, 0) for d in DIMENSIONS},
    "support_storm": {
        "support": (80, 10, 60, 25),
        "sentiment": (70, 15, 50, 20),
        "usage": (70, 45, 60, 20),
        "engagement": (65, 45, 60, 20),
    },
    "gone_quiet": {"engagement": (70, 5, 90, 45), "usage": (70, 35, 80, 30)},
    "long_decline": {d: (50, 22, 97, 30) for d in DIMENSIONS},  # at risk for months before leaving
    "late_drop": {"usage": (78, 15, 25, 5), "engagement": (72, 15, 25, 5)},  # too late to flag 30 days out
    "surprise": {},  # good signals to the end
}
DECAY_WEIGHTS = (5, 3, 3, 3, 3, 2, 2)
SURPRISE_REASONS = ("strategy_shift", "executive_churn")
DECAY_REASONS = ("price", "competition", "product", "other")
# Renewals: (kind, typical level of every dimension)
RENEWALS = (("renewed", 72.0), ("renewed", 60.0), ("expanded", 84.0), ("contracted", 55.0))
RENEWAL_WEIGHTS = (5, 2, 3, 2)


@dataclass
class DemoOutcomes:
    churned: list[Customer] = field(default_factory=list)
    churn_days: dict[str, date] = field(default_factory=dict)
    churn_reasons: dict[str, str] = field(default_factory=dict)
    renewals: list[Renewal] = field(default_factory=list)
    history: dict[str, list[HealthSnapshot]] = field(default_factory=dict)  # customer -> stored days

    def counts(self) -> dict[str, int]:
        kinds = {"churned": len(self.churned)}
        for renewal in self.renewals:
            arr = renewal.closed_arr or 0.0
            kind = "expanded" if arr > renewal.current_arr else "contracted" if arr < renewal.current_arr else "renewed"
            kinds[kind] = kinds.get(kind, 0) + 1
        return kinds


def _level(spec: dict[str, tuple[float, float, int, int]], key: str, days_before: int, base: float) -> float:
    start, end, from_day, to_day = spec.get(key, (base, base, 0, 0))
    if days_before >= from_day:
        return start
    if days_before <= to_day:
        return end
    return start + (end - start) * (from_day - days_before) / (from_day - to_day)


def stored_history(
    model: HealthModel, name: str, customer_id: str, last_day: date, levels, rng: random.Random
) -> list[HealthSnapshot]:
    """STORED_DAYS snapshots ending on `last_day`, as the scorer stores them, from daily dimension values."""
    average = MovingAverage(model.smoothing_window)
    history = []
    for offset in range(STORED_DAYS - 1, -1, -1):
        day = last_day - timedelta(days=offset)
        values = {k: max(0.0, min(100.0, levels(k, offset + 1) + rng.uniform(-5, 5))) for k in DIMENSIONS}
        result = score_values(model, values)
        assert result.score is not None
        smoothed = average.add(day, result.score)
        assert smoothed is not None
        band = classify(smoothed, model.bands)
        history.append(
            HealthSnapshot(
                customer_id=customer_id,
                date=day,
                score=result.score,
                display_score=result.display_score,
                smoothed_score=smoothed,
                band=band.label,
                band_color=band.color,
                dimensions=[DimensionSnapshot.model_validate(d, from_attributes=True) for d in result.dimensions],
                na_dimensions=result.na_dimensions,
                coverage=result.coverage,
                model_version=0,
                explanation=explain(result, [], band.label, name),
            )
        )
    return history


def generate_outcomes(today: date, demo_customers: list[Customer], seed: int, workspace_id: str) -> DemoOutcomes:
    rng = random.Random(f"{seed}:outcomes")
    model = HealthModel.from_preset("balanced")
    outcomes = DemoOutcomes()
    churners = max(3, len(demo_customers) // 9)
    stamp = clock.iso(datetime.combine(today, time(6, 0), UTC))
    for n in range(churners):
        decay = "surprise" if n % 12 == 5 else rng.choices(list(DECAYS), DECAY_WEIGHTS)[0]
        churned_on = today - timedelta(days=rng.randint(LATEST, EARLIEST))
        customer_id = f"cus_gone{n:03d}"
        arr = float(round(rng.uniform(5_000, 150_000), -2))
        customer = Customer(
            customer_id=customer_id,
            workspace_id=workspace_id,
            name=f"Former Customer {n + 1:02d}",
            domain=f"former-{n + 1:02d}.test",
            status="churned",
            archived=True,  # left months ago: out of lists and daily scoring, their history kept
            arr=arr,
            mrr=round(arr / 12, 2),
            tier="Mid-Market" if arr > 30_000 else "SMB",
            renewal_date=churned_on,
            churn_reason=rng.choice(SURPRISE_REASONS if decay == "surprise" else DECAY_REASONS),
            created_at=clock.iso(datetime.combine(churned_on - timedelta(days=rng.randint(400, 900)), time(9), UTC)),
            updated_at=stamp,
        )
        outcomes.churned.append(customer)
        outcomes.churn_days[customer_id] = churned_on
        outcomes.churn_reasons[customer_id] = customer.churn_reason or "other"
        spec = DECAYS[decay]
        base = rng.uniform(68, 85) if decay == "surprise" else rng.uniform(60, 75)
        outcomes.history[customer_id] = stored_history(
            model,
            customer.name,
            customer_id,
            churned_on - timedelta(days=1),
            lambda key, before, spec=spec, base=base: _level(spec, key, before, base),
            rng,
        )
    active = [c for c in demo_customers if c.status == "active" and c.arr > 0]
    for customer in rng.sample(active, min(len(active), max(4, len(demo_customers) // 6))):
        kind, level = rng.choices(RENEWALS, RENEWAL_WEIGHTS)[0]
        closed_on = today - timedelta(days=rng.randint(LATEST, EARLIEST))
        factor = {"renewed": 1.0, "expanded": rng.uniform(1.1, 1.4), "contracted": rng.uniform(0.6, 0.9)}[kind]
        dip = rng.random() < 0.2  # a rough patch a month or so before renewing anyway
        outcomes.renewals.append(
            Renewal(
                renewal_id=f"rnw_past_{customer.customer_id}",
                workspace_id=workspace_id,
                customer_id=customer.customer_id,
                renewal_date=closed_on,
                current_arr=customer.arr,
                mrr=customer.mrr,
                forecast_category="commit",
                status="renewed",
                closed_on=closed_on,
                closed_arr=float(round(customer.arr * factor, -2)),
                created_by="usr_admin",
                created_at=stamp,
                updated_at=stamp,
            )
        )
        center = level + rng.uniform(-10, 10)
        outcomes.history[customer.customer_id] = stored_history(
            model,
            customer.name,
            customer.customer_id,
            closed_on - timedelta(days=1),
            lambda _key, before, c=center, d=dip: c - (25 if d and 20 <= before <= 50 else 0),
            rng,
        )
    return outcomes


def write_outcomes(outcomes: DemoOutcomes, workspace_id: str) -> None:
    from keepwell.storage import customers, health_snapshots, keys
    from keepwell.storage import renewals as renewal_store

    customers.put_customers_batch(workspace_id, outcomes.churned)
    with renewal_store.ChurnRecordItem.batch_write() as batch:
        for customer in outcomes.churned:
            key = keys.churn_record(workspace_id, customer.customer_id)
            day = outcomes.churn_days[customer.customer_id]
            batch.save(
                renewal_store.ChurnRecordItem(
                    key.pk,
                    key.sk,
                    entity=renewal_store.CHURN_ENTITY,
                    workspace_id=workspace_id,
                    customer_id=customer.customer_id,
                    churn_reason=outcomes.churn_reasons[customer.customer_id],
                    churned_at=clock.iso(datetime.combine(day, time(15), UTC)),
                    churned_by="usr_admin",
                    arr_lost=customer.arr,
                    previous_status="active",
                )
            )
    with renewal_store.RenewalItem.batch_write() as batch:
        for renewal in outcomes.renewals:
            batch.save(renewal_store.to_item(renewal))
    for customer_id, history in outcomes.history.items():
        health_snapshots.write_history(workspace_id, customer_id, history, version=0, inputs="demo-history")
