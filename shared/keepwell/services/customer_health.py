"""A customer's current health and its daily history, as the API shows them.

CSMs and viewers see the customers of their portfolio (owner or co-owner; others are not found);
directors and admins see every customer of the workspace. A customer of another workspace is simply not found.
"""

from __future__ import annotations

from datetime import date, timedelta

from keepwell import permissions
from keepwell.auth import Caller
from keepwell.domain.customers import Customer
from keepwell.errors import NotFound
from keepwell.schemas.health import DimensionBenchmarkOut, DimensionDayOut, DimensionDetailOut
from keepwell.schemas.health_api import (
    CustomerHealthHistoryOut,
    CustomerHealthOut,
    DimensionPoint,
    DimensionSeries,
    ScorePoint,
)
from keepwell.services import segments
from keepwell.storage import health_models as model_store
from keepwell.storage import health_snapshots as store


def _require_visible(caller: Caller, customer_id: str) -> tuple[Customer, store.ProfileHealth]:
    found = store.get_customer_health(caller.workspace_id, customer_id)
    if found is None:
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    customer, health = found
    if not permissions.can_see_customer(caller, customer):  # outside the portfolio: as if absent
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    return customer, health


def _window(caller: Caller, health: store.ProfileHealth, days: int) -> tuple[date, date]:
    """The last `days` days up to today (or the latest scored day, when the workspace's today lags it)."""
    from keepwell.services.scoring_queue import workspace_today

    end = max(health.day or workspace_today(caller.workspace_id), workspace_today(caller.workspace_id))
    return end - timedelta(days=days - 1), end


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


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
    start, end = _window(caller, health, days)
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


def get_dimension_detail(caller: Caller, customer_id: str, dimension: str, days: int) -> DimensionDetailOut:
    """One dimension of the customer's health: its daily series, its latest value with the events behind
    it, and its segment benchmark. Only the current model's dimensions can be asked for."""
    customer, health = _require_visible(caller, customer_id)  # first, so nothing is said of hidden customers
    model, _ = model_store.get_current_model(caller.workspace_id)
    labels = {d.key: d.title for d in model.dimensions}
    if dimension not in labels:
        known = ", ".join(labels)
        raise NotFound(
            f"No dimension '{dimension}' in the health model; its dimensions are {known}",
            [{"field": "dimension", "issue": f"unknown; one of {known}"}],
        )
    start, end = _window(caller, health, days)
    snapshots = store.get_snapshots(caller.workspace_id, customer_id, start, end)
    # A day scored under a model without this dimension is absent, as in the history.
    days_of = [(s.date, d) for s in snapshots if (d := s.dimension(dimension)) is not None]
    series = [
        DimensionDayOut(
            date=day, value=_one_decimal(d.value), effective_weight=d.effective_weight, contribution=d.contribution
        )
        for day, d in days_of
    ]
    out = DimensionDetailOut(
        customer_id=customer.customer_id,
        dimension=dimension,
        label=labels[dimension],
        start=start,
        end=end,
        series=series,
    )
    latest = next((s for s in snapshots if s.date == health.day), None)
    if latest is None and health.day is not None:  # scored before the window began
        latest = store.get_snapshot(caller.workspace_id, customer_id, health.day)
    current = latest.dimension(dimension) if latest is not None else None
    if latest is not None and current is not None:
        out.value = _one_decimal(current.value)
        out.scored_day = latest.date
        out.top_positive = [e for e in latest.top_positive if e.dimension == dimension]
        out.top_negative = [e for e in latest.top_negative if e.dimension == dimension]
    out.benchmark = [
        DimensionBenchmarkOut(segment_id=s.segment_id, **s.dimensions[dimension].model_dump())
        for s in segments.benchmark(caller, customer_id).segments
        if dimension in s.dimensions
    ]
    return out
