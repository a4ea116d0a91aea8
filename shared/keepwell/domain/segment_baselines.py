"""Segment baselines: what the misalignment alert compares a customer's new score with (pure).

The daily fan-out (and a manual recalculation's start) walks the workspace's customers anyway; it
tallies, for every segment, the sum and count of its members' current scores and stores the tally once
per workspace (storage/segment_baselines.py). The scorer reads it by key in the same BatchGetItem as
the customer's own inputs, so the alert costs no request per customer:

- membership is the segment's condition evaluated over the customer as just scored (new score, band
  and dimension values), the same rule the segment API evaluates;
- the customer itself is left out of the average: its score at tally time is taken back out when its
  record as it stood before this scoring matched the rule;
- a segment with fewer than `MIN_PEERS` other scored members is no baseline (an average of one or two
  peers says nothing); a tally older than `MAX_AGE_DAYS` is not used;
- of several segments, the one whose peers score highest (the widest gap) is the baseline named.

See docs/health-model.md ("Alerts").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from keepwell.domain import conditions
from keepwell.domain.conditions import Rule
from keepwell.domain.segments import HealthRow, stored_rule

MIN_PEERS = 3
MAX_AGE_DAYS = 7


@dataclass(frozen=True)
class SegmentTally:
    segment_id: str
    name: str
    condition: Mapping[str, Any]
    total: float  # the members' scores summed
    count: int  # members with a score
    # Per dimension, (sum, count) over the members with a value: what the benchmark compares with.
    dimensions: Mapping[str, tuple[float, int]] = field(default_factory=dict)

    def rule(self, fields: Mapping[str, str]) -> Rule:
        return stored_rule(self.condition, fields)


@dataclass(frozen=True)
class PeerAverage:
    segment_id: str
    name: str
    average: float
    peers: int


@dataclass(frozen=True)
class SegmentBaselines:
    """Every segment's tally as of `day`, with the field types its conditions were saved against."""

    day: date
    fields: Mapping[str, str]
    segments: tuple[SegmentTally, ...]
    _rules: dict[str, Rule] = field(default_factory=dict, compare=False, repr=False)

    def _rule(self, tally: SegmentTally) -> Rule:
        rule = self._rules.get(tally.segment_id)
        if rule is None:
            rule = self._rules[tally.segment_id] = tally.rule(self.fields)
        return rule

    def usable_on(self, day: date) -> bool:
        return abs((day - self.day).days) <= MAX_AGE_DAYS

    def peer_average(self, now: HealthRow, before: HealthRow | None = None) -> PeerAverage | None:
        """The highest average among the segments `now` belongs to, the customer itself left out;
        None when it belongs to none with at least MIN_PEERS scored peers."""
        best: PeerAverage | None = None
        record = now.record
        earlier = before.record if before is not None else None
        own_score = before.customer.health_score if before is not None else None
        for tally in self.segments:
            rule = self._rule(tally)
            if not conditions.evaluate(rule, record):
                continue
            total, count = tally.total, tally.count
            if earlier is not None and own_score is not None and conditions.evaluate(rule, earlier):
                total, count = total - own_score, count - 1
            if count < MIN_PEERS:
                continue
            average = total / count
            if best is None or average > best.average:
                best = PeerAverage(tally.segment_id, tally.name, average, count)
        return best

    def to_document(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "fields": dict(self.fields),
            "segments": [
                {
                    "segment_id": t.segment_id,
                    "name": t.name,
                    "condition": dict(t.condition),
                    "total": t.total,
                    "count": t.count,
                    "dimensions": {k: [v[0], v[1]] for k, v in t.dimensions.items()},
                }
                for t in self.segments
            ],
        }

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> SegmentBaselines:
        return cls(
            day=date.fromisoformat(data["day"]),
            fields=dict(data.get("fields", {})),
            segments=tuple(
                SegmentTally(
                    segment_id=s["segment_id"],
                    name=s["name"],
                    condition=s["condition"],
                    total=float(s["total"]),
                    count=int(s["count"]),
                    dimensions={k: (float(v[0]), int(v[1])) for k, v in s.get("dimensions", {}).items()},
                )
                for s in data.get("segments", [])
            ),
        )


@dataclass(frozen=True)
class SavedSegment:
    segment_id: str
    name: str
    condition: Mapping[str, Any]


# A tally in progress, as the daily fan-out carries it from one page of customers to the next (JSON):
# segment id -> [score total, scored count, {dimension: [value total, count]}], unrounded.
RunningTally = dict[str, list[Any]]


def add_to_tally(
    segments: Sequence[SavedSegment],
    fields: Mapping[str, str],
    rows: Iterable[HealthRow],
    carried: Mapping[str, Any] | None = None,
) -> RunningTally:
    """Add `rows` to the running sums `carried` (from earlier pages of the same walk; None: the first):
    each segment's members' current scores, and each of their dimension values, summed and counted (a
    customer never scored, or a dimension N/A, counts in no average). Adding page after page gives the
    very sums one pass over all the rows gives (the same additions in the same order)."""
    rules = [(segment, stored_rule(segment.condition, fields)) for segment in segments]
    carried = carried or {}
    sums: RunningTally = {}
    for segment in segments:
        total, count, dimensions = carried.get(segment.segment_id) or (0.0, 0, {})
        sums[segment.segment_id] = [
            float(total),
            int(count),
            {k: [float(v[0]), int(v[1])] for k, v in dimensions.items()},
        ]
    for row in rows:
        if not rules:
            break
        score = row.customer.health_score
        scored = score is not None and math.isfinite(score)
        values = {k: v for k, v in row.dimensions.items() if v is not None and math.isfinite(v)}
        if not scored and not values:
            continue
        record = row.record
        for segment, rule in rules:
            if conditions.evaluate(rule, record):
                entry = sums[segment.segment_id]
                if scored:
                    assert score is not None
                    entry[0] += score
                    entry[1] += 1
                per_dimension = entry[2]
                for key, value in values.items():
                    pair = per_dimension.setdefault(key, [0.0, 0])
                    pair[0] += value
                    pair[1] += 1
    return sums


def finish_tally(
    day: date, segments: Sequence[SavedSegment], fields: Mapping[str, str], sums: Mapping[str, Any]
) -> SegmentBaselines:
    """The stored tally from the running sums of a whole walk."""

    def entry(segment_id: str) -> tuple[float, int, Mapping[str, Any]]:
        total, count, dimensions = sums.get(segment_id) or (0.0, 0, {})
        return float(total), int(count), dimensions

    return SegmentBaselines(
        day=day,
        fields=dict(fields),
        segments=tuple(
            SegmentTally(
                segment_id=segment.segment_id,
                name=segment.name,
                condition=segment.condition,
                total=round(entry(segment.segment_id)[0], 6),
                count=entry(segment.segment_id)[1],
                dimensions={
                    key: (round(float(pair[0]), 6), int(pair[1]))
                    for key, pair in sorted(entry(segment.segment_id)[2].items())
                },
            )
            for segment in segments
        ),
    )


def tally_segments(
    day: date, segments: Sequence[SavedSegment], fields: Mapping[str, str], rows: Iterable[HealthRow]
) -> SegmentBaselines:
    """One pass over the customers: `add_to_tally` from nothing, then `finish_tally`."""
    return finish_tally(day, segments, fields, add_to_tally(segments, fields, rows))


# --- the customer benchmark from the tallies ------------------------------------------------------------
def benchmark_from_tallies(
    row: HealthRow, segments: Sequence[tuple[str, str, Rule, Mapping[str, Any]]], baselines: SegmentBaselines
) -> list[tuple[str, str, tuple[float, int], dict[str, tuple[float, int]]]] | None:
    """For each saved segment (id, name, rule, condition as saved) the customer belongs to now, by name:
    the peers' score (sum, count) and per-dimension (sum, count) from the tally, the customer's own
    current values taken back out. None when the tally cannot answer: a segment the customer is in is
    missing from it or was edited since (its condition differs) — the caller then walks the customers."""
    tallies = {t.segment_id: t for t in baselines.segments}
    found = []
    own_score = row.customer.health_score
    own_values = {k: v for k, v in row.dimensions.items() if v is not None and math.isfinite(v)}
    for segment_id, name, rule, condition in sorted(segments, key=lambda s: s[1].lower()):
        if not conditions.evaluate(rule, row.record):
            continue
        tally = tallies.get(segment_id)
        if tally is None or dict(tally.condition) != dict(condition):
            return None
        total, count = tally.total, tally.count
        if own_score is not None and math.isfinite(own_score) and count > 0:
            total, count = total - own_score, count - 1
        dimensions: dict[str, tuple[float, int]] = {}
        for key in row.dimensions:
            value_total, value_count = tally.dimensions.get(key, (0.0, 0))
            if key in own_values and value_count > 0:
                value_total, value_count = value_total - own_values[key], value_count - 1
            dimensions[key] = (value_total, value_count)
        found.append((segment_id, name, (total, count), dimensions))
    return found
