"""What-if scoring: how a proposed model would band the workspace, from each customer's latest
denormalised dimension values, without touching raw signals or saving anything.

An approximation, on purpose (the dry run answers in one request over the whole workspace):
- both sides are scored from the *same* latest dimension values with `score_values` and `classify`,
  without smoothing or hysteresis, so only the model difference shows (an unchanged model changes
  nobody's band);
- changed targets, sentiment keywords, smoothing or hysteresis do not show (they act on raw signals or
  on the daily series);
- a custom (expression) dimension keeps its stored value when the proposal leaves its expression
  unchanged; otherwise it is evaluated over the customer's fields, custom fields and standard
  dimension values, and is N/A when it needs a raw metric (e.g. `logins_per_seat_week`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keepwell.domain.health.bands import classify
from keepwell.domain.health.expressions import CompiledExpression, compile_expression, evaluate, expression_names
from keepwell.domain.health.model import STANDARD_DIMENSIONS, HealthModel
from keepwell.domain.health.names import METRIC_NAMES
from keepwell.domain.health.scoring import score_values

# Customer fields the profile carries and expressions may read (a customer field wins over a metric
# of the same name, as in scoring: `seats`, `nps`).
PROFILE_FIELDS = frozenset(
    {"arr", "mrr", "seats", "employee_count", "nps", "status", "tier", "industry", "region", "country", "plan"}
)


@dataclass(frozen=True)
class LatestHealth:
    """One customer's inputs to the dry run."""

    customer_id: str
    name: str
    dimensions: Mapping[str, float | None]  # latest denormalised values (standard and custom)
    fields: Mapping[str, Any] = field(default_factory=dict)  # customer fields usable by expressions
    custom: Mapping[str, Any] = field(default_factory=dict)  # custom field values


@dataclass(frozen=True)
class BandChange:
    customer_id: str
    name: str
    score_before: float | None
    score_after: float | None
    band_before: str | None
    band_after: str | None


@dataclass(frozen=True)
class Approximation:
    dimension: str
    reason: str


@dataclass
class DryRunResult:
    customers: int = 0
    unscored: int = 0  # no dimension values yet (never scored) or every dimension N/A under both models
    distribution_before: dict[str, int] = field(default_factory=dict)
    distribution_after: dict[str, int] = field(default_factory=dict)
    changed: list[BandChange] = field(default_factory=list)
    approximations: list[Approximation] = field(default_factory=list)


class _Side:
    """One model ready to rescore customers: which custom dimensions to reuse, evaluate, or leave N/A."""

    def __init__(self, model: HealthModel, reference: HealthModel | None):
        self.model = model
        self.evaluate: dict[str, CompiledExpression] = {}
        self.unavailable: dict[str, list[str]] = {}
        same = {d.key: d.expression for d in (reference or model).dimensions if d.expression}
        allowed = expression_names(model.variables)
        for dim in model.enabled_dimensions():
            if not dim.expression or same.get(dim.key) == dim.expression:
                continue  # a standard dimension, or a custom one whose stored value still holds
            compiled = compile_expression(dim.expression, allowed)
            raw = sorted(n for n in compiled.names if n in METRIC_NAMES and n not in PROFILE_FIELDS)
            if raw:
                self.unavailable[dim.key] = raw
            else:
                self.evaluate[dim.key] = compiled

    def values(self, customer: LatestHealth) -> dict[str, float | None]:
        values: dict[str, float | None] = {}
        inputs: dict[str, Any] | None = None
        for dim in self.model.enabled_dimensions():
            if dim.key in self.unavailable:
                values[dim.key] = None
            elif dim.key in self.evaluate:
                if inputs is None:
                    inputs = {k: v for k, v in customer.dimensions.items() if k in STANDARD_DIMENSIONS}
                    inputs.update(customer.fields)
                    inputs.update(customer.custom)
                values[dim.key] = evaluate(self.evaluate[dim.key], inputs)
            else:
                values[dim.key] = customer.dimensions.get(dim.key)
        return values

    def band(self, customer: LatestHealth) -> tuple[float | None, str | None]:
        result = score_values(self.model, self.values(customer))
        if result.score is None:
            return None, None
        return result.display_score, classify(result.score, self.model.bands).label


def dry_run(current: HealthModel, proposed: HealthModel, customers: Iterable[LatestHealth]) -> DryRunResult:
    """Band distribution before (current model) and after (proposed), and who would change band."""
    before_side, after_side = _Side(current, None), _Side(proposed, current)
    result = DryRunResult(
        distribution_before={b.label: 0 for b in current.bands},
        distribution_after={b.label: 0 for b in proposed.bands},
        approximations=[
            Approximation(key, f"needs raw signals not on the customer profile: {', '.join(names)}; counted as N/A")
            for key, names in after_side.unavailable.items()
        ],
    )
    for customer in customers:
        result.customers += 1
        if not any(v is not None for v in customer.dimensions.values()):
            result.unscored += 1
            continue
        score_before, band_before = before_side.band(customer)
        score_after, band_after = after_side.band(customer)
        if band_before is not None:
            result.distribution_before[band_before] += 1
        if band_after is not None:
            result.distribution_after[band_after] += 1
        if band_before is None and band_after is None:
            result.unscored += 1
        if band_before != band_after:
            result.changed.append(
                BandChange(customer.customer_id, customer.name, score_before, score_after, band_before, band_after)
            )
    return result
