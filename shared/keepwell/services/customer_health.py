"""A customer's current health and its daily history, as the API shows them.

CSMs see the customers of their portfolio (owner or co-owner); directors, admins and viewers see every
customer of the workspace. A customer of another workspace is simply not found.
"""

from __future__ import annotations

from datetime import timedelta

from keepwell.auth import Caller
from keepwell.domain.customers import Customer
from keepwell.errors import Forbidden, NotFound
from keepwell.schemas.health_api import (
    CustomerHealthHistoryOut,
    CustomerHealthOut,
    DimensionPoint,
    DimensionSeries,
    ScorePoint,
)
from keepwell.storage import health_snapshots as store

PORTFOLIO_ROLES = frozenset({"csm"})


def _require_visible(caller: Caller, customer_id: str) -> tuple[Customer, store.ProfileHealth]:
    found = store.get_customer_health(caller.workspace_id, customer_id)
    if found is None:
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    customer, health = found
    if caller.role in PORTFOLIO_ROLES and caller.user_id not in {customer.owner_id, *customer.co_owner_ids}:
        raise Forbidden(f"Customer {customer_id} is not in your portfolio")
    return customer, health


def get_customer_health(caller: Caller, customer_id: str) -> CustomerHealthOut:
    customer, health = _require_visible(caller, customer_id)
    out = CustomerHealthOut(customer_id=customer.customer_id, name=customer.name)
    if health.day is None:
        return out
    snapshot = store.get_snapshot(caller.workspace_id, customer_id, health.day)
    if snapshot is None:  # the profile names a day whose snapshot is gone (TTL): show the denormalised part
        return out.model_copy(
            update={
                "score": health.score,
                "band": health.band,
                "band_color": health.band_color,
                "smoothed_score": health.smoothed_score,
                "scored_day": health.day,
                "scored_at": health.scored_at,
                "model_version": health.model_version,
                "coverage": health.coverage,
            }
        )
    return CustomerHealthOut(
        customer_id=customer.customer_id,
        name=customer.name,
        score=snapshot.display_score,
        smoothed_score=None if snapshot.smoothed_score is None else round(snapshot.smoothed_score, 1),
        band=snapshot.band,
        band_color=snapshot.band_color,
        scored_day=snapshot.date,
        scored_at=health.scored_at,
        model_version=snapshot.model_version,
        coverage=snapshot.coverage,
        dimensions=snapshot.dimensions,
        na_dimensions=snapshot.na_dimensions,
        top_positive=snapshot.top_positive,
        top_negative=snapshot.top_negative,
        explanation=snapshot.explanation,
        pending_band=snapshot.pending_band,
    )


def get_customer_health_history(caller: Caller, customer_id: str, days: int) -> CustomerHealthHistoryOut:
    customer, health = _require_visible(caller, customer_id)
    from keepwell.services.scoring_jobs import workspace_today

    end = max(health.day or workspace_today(caller.workspace_id), workspace_today(caller.workspace_id))
    start = end - timedelta(days=days - 1)
    snapshots = store.get_snapshots(caller.workspace_id, customer_id, start, end)
    overall = [
        ScorePoint(
            date=s.date,
            score=s.display_score,
            smoothed_score=None if s.smoothed_score is None else round(s.smoothed_score, 1),
            band=s.band,
        )
        for s in snapshots
    ]
    series: dict[str, DimensionSeries] = {}
    for snapshot in snapshots:
        for dimension in snapshot.dimensions:
            entry = series.setdefault(dimension.key, DimensionSeries(label=dimension.label, points=[]))
            value = None if dimension.value is None else round(dimension.value, 1)
            entry.points.append(DimensionPoint(date=snapshot.date, value=value))
    return CustomerHealthHistoryOut(
        customer_id=customer.customer_id, start=start, end=end, overall=overall, dimensions=series
    )
