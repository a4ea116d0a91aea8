"""The weighted score with N/A redistribution, and its per-dimension breakdown."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from keepwell.domain.health.bands import display_round
from keepwell.domain.health.model import HealthModel


@dataclass(frozen=True, slots=True)
class DimensionScore:
    key: str
    label: str
    value: float | None  # 0-100, None = N/A (no data source)
    weight: float  # configured
    effective_weight: float  # after N/A redistribution; available ones sum to 100
    contribution: float  # value x effective weight / 100

    @property
    def na(self) -> bool:
        return self.value is None


@dataclass(frozen=True, slots=True)
class ScoreResult:
    score: float | None  # exact; None when every dimension is N/A
    dimensions: tuple[DimensionScore, ...]
    coverage: float  # share (0-1) of the configured weight that had data

    @property
    def display_score(self) -> float | None:
        return None if self.score is None else display_round(self.score)

    @property
    def na_dimensions(self) -> list[str]:
        return [d.key for d in self.dimensions if d.na]

    def dimension(self, key: str) -> DimensionScore:
        return next(d for d in self.dimensions if d.key == key)


def effective_weights(weights: Mapping[str, float], available: set[str]) -> dict[str, float]:
    """Share the weight of N/A dimensions among the available ones in proportion to their own weight.

    If every available dimension has weight 0 (possible only when the weighted ones are N/A), they share
    equally so data that exists still counts."""
    live = {k: w for k, w in weights.items() if k in available}
    total = math.fsum(live.values())
    if not live:
        return {k: 0.0 for k in weights}
    if total <= 0:
        return {k: (100.0 / len(live) if k in live else 0.0) for k in weights}
    return {k: (w * 100.0 / total if k in live else 0.0) for k, w in weights.items()}


class Weighting:
    """What `score_values` derives from the model alone (enabled dimensions, weights, their total), and
    the effective weights and coverage of each set of available dimensions met so far: a customer's
    history meets one or two such sets in 90 days, so they are shared out once rather than every day.
    It also keeps the DimensionScores it built (at most PARTS_KEPT), as most dimensions keep their value
    for days. Read-only once built but for those caches; what it hands out must not be changed."""

    __slots__ = ("_parts", "_shares", "enabled", "total_weight", "weights")
    PARTS_KEPT = 2048

    def __init__(self, model: HealthModel):
        self.enabled = [(d.key, d.title, d.weight) for d in model.enabled_dimensions()]
        self.weights = {key: weight for key, _, weight in self.enabled}
        self.total_weight = math.fsum(self.weights.values())
        self._shares: dict[frozenset[str], tuple[dict[str, float], float]] = {}
        self._parts: dict[tuple[str, float | None, float], DimensionScore] = {}

    def shares(self, available: frozenset[str]) -> tuple[dict[str, float], float]:
        """(effective weights, coverage) when these dimensions have data."""
        found = self._shares.get(available)
        if found is None:
            weights, total_weight = self.weights, self.total_weight
            effective = effective_weights(weights, set(available))
            coverage = math.fsum(weights[k] for k in available) / total_weight if total_weight else 0.0
            found = self._shares[available] = (effective, coverage)
        return found


def score_values(
    model: HealthModel, values: Mapping[str, float | None], weighting: Weighting | None = None
) -> ScoreResult:
    """Score = sum(value x effective weight / 100) over enabled dimensions; missing keys count as N/A.
    `weighting`: the model's, when scoring many days under it (`Weighting(model)`)."""
    if weighting is None:
        weighting = Weighting(model)
    clean: dict[str, float | None] = {}
    for key, _, _ in weighting.enabled:
        raw = values.get(key)
        clean[key] = None if raw is None or not math.isfinite(raw) else min(100.0, max(0.0, float(raw)))
    available = frozenset(k for k, v in clean.items() if v is not None)
    effective, coverage = weighting.shares(available)
    parts: list[DimensionScore] = []
    built = weighting._parts
    for key, title, weight in weighting.enabled:
        value = clean[key]
        share = effective[key]
        # A clean value is never -0.0 nor NaN, so equal keys mean the same DimensionScore.
        part = built.get((key, value, share))
        if part is None:
            contribution = 0.0 if value is None else value * share / 100.0
            part = DimensionScore(key, title, value, weight, share, contribution)
            if len(built) < weighting.PARTS_KEPT:
                built[(key, value, share)] = part
        parts.append(part)
    if not available:
        return ScoreResult(None, tuple(parts), 0.0)
    score = math.fsum(p.contribution for p in parts)
    return ScoreResult(min(100.0, max(0.0, score)), tuple(parts), coverage)
