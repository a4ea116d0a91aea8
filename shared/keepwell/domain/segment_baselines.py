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
                )
                for s in data.get("segments", [])
            ),
        )


@dataclass(frozen=True)
class SavedSegment:
    segment_id: str
    name: str
    condition: Mapping[str, Any]


def tally_segments(
    day: date, segments: Sequence[SavedSegment], fields: Mapping[str, str], rows: Iterable[HealthRow]
) -> SegmentBaselines:
    """One pass over the customers: each segment's members' current scores summed and counted
    (customers never scored count in no average)."""
    rules = [(segment, stored_rule(segment.condition, fields)) for segment in segments]
    totals = {segment.segment_id: [0.0, 0] for segment in segments}
    for row in rows:
        score = row.customer.health_score
        if score is None or not math.isfinite(score) or not rules:
            continue
        record = row.record
        for segment, rule in rules:
            if conditions.evaluate(rule, record):
                entry = totals[segment.segment_id]
                entry[0] += score
                entry[1] += 1
    return SegmentBaselines(
        day=day,
        fields=dict(fields),
        segments=tuple(
            SegmentTally(
                segment_id=segment.segment_id,
                name=segment.name,
                condition=segment.condition,
                total=round(float(totals[segment.segment_id][0]), 6),
                count=int(totals[segment.segment_id][1]),
            )
            for segment in segments
        ),
    )
