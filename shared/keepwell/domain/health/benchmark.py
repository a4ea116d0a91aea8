"""Segment benchmark: a customer's score and dimensions against the average of its segment."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from keepwell.domain.health.bands import display_round
from keepwell.domain.health.snapshot import HealthSnapshot

Position = Literal["above", "below", "at"]
AT_TOLERANCE = 0.05  # equal once rounded to the one decimal users see


def position(score: float, average: float) -> Position:
    if abs(score - average) < AT_TOLERANCE:
        return "at"
    return "above" if score > average else "below"


def _entry(score: float | None, segment: str, values: list[float]) -> dict[str, Any]:
    average = math.fsum(values) / len(values) if values else None
    return {
        "score": None if score is None else display_round(score),
        "segment": segment,
        "segment_avg": None if average is None else display_round(average),
        "segment_size": len(values),
        "position": None if score is None or average is None else position(score, average),
    }


def _entry_of_sum(score: float | None, segment: str, total: float, count: int) -> dict[str, Any]:
    average = total / count if count > 0 else None
    return {
        "score": None if score is None else display_round(score),
        "segment": segment,
        "segment_avg": None if average is None else display_round(average),
        "segment_size": max(count, 0),
        "position": None if score is None or average is None else position(score, average),
    }


def benchmark_of_totals(
    snapshot: HealthSnapshot,
    segment: str,
    score_total: tuple[float, int],
    dimension_totals: Mapping[str, tuple[float, int]],
) -> dict[str, Any]:
    """`benchmark`'s answer from the peers' sums and counts (the segment tallies) instead of their
    snapshots: the same entries, the averages as sum / count."""
    overall = _entry_of_sum(snapshot.score, segment, *score_total)
    dimensions = {
        dim.key: _entry_of_sum(dim.value, segment, *dimension_totals.get(dim.key, (0.0, 0)))
        for dim in snapshot.dimensions
    }
    return {**overall, "dimensions": dimensions}


def benchmark(snapshot: HealthSnapshot, members: Sequence[HealthSnapshot], segment: str) -> dict[str, Any]:
    """Overall and per-dimension comparison. Members with no value (N/A) do not count in an average;
    the customer itself is left out of its own segment's average when it is among the members."""
    peers = [m for m in members if not (snapshot.customer_id and m.customer_id == snapshot.customer_id)]
    overall = _entry(snapshot.score, segment, [m.score for m in peers if m.score is not None])
    dimensions: dict[str, Any] = {}
    for dim in snapshot.dimensions:
        values = []
        for member in peers:
            other = member.dimension(dim.key)
            if other is not None and other.value is not None:
                values.append(other.value)
        dimensions[dim.key] = _entry(dim.value, segment, values)
    return {**overall, "dimensions": dimensions}
