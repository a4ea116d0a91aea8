"""Segment baselines and the misalignment alert (domain/segment_baselines.py, domain/customer_scoring.py): the
tally of each segment's scores, the peer average a customer is compared with, and the alert it raises
once per episode. No AWS."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from keepwell.domain import customer_scoring as scoring
from keepwell.domain import signal_log
from keepwell.domain.customer_scoring import ScoringState
from keepwell.domain.customers import Customer
from keepwell.domain.health.dimensions import PreparedModel
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.signals import CustomerSignals
from keepwell.domain.segment_baselines import MIN_PEERS, SavedSegment, SegmentBaselines, tally_segments
from keepwell.domain.segments import HealthRow, segment_fields
from keepwell.domain.timeline import TimelineEntry

DAY = date(2026, 11, 20)
FIELDS = segment_fields({})
ENTERPRISE = SavedSegment("seg_ent", "Enterprise", {"field": "tier", "op": "eq", "value": "enterprise"})
EMEA = SavedSegment("seg_emea", "EMEA", {"field": "region", "op": "eq", "value": "emea"})
MODEL = PreparedModel.of(HealthModel.from_preset("balanced"), 0)


def customer(customer_id: str, score: float | None, tier: str = "enterprise", region: str = "amer") -> Customer:
    return Customer.model_validate(
        {
            "customer_id": customer_id,
            "workspace_id": "ws_acme",
            "name": customer_id.title(),
            "owner_id": "csm-1",
            "tier": tier,
            "region": region,
            "health_score": score,
            "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z",
        }
    )


def row(customer_id: str, score: float | None, tier: str = "enterprise", region: str = "amer") -> HealthRow:
    return HealthRow(customer(customer_id, score, tier, region))


def book() -> list[HealthRow]:
    return [
        row("ada", 80),
        row("bea", 70),
        row("cal", 90, region="emea"),
        row("dov", 60),
        row("eve", 30),  # the laggard
        row("fay", None),  # never scored: in no average
        row("gus", 40, tier="smb", region="emea"),
    ]


def test_each_segment_sums_and_counts_its_scored_members():
    baselines = tally_segments(DAY, [ENTERPRISE, EMEA], FIELDS, book())
    tallies = {t.name: (t.total, t.count) for t in baselines.segments}
    assert tallies == {"Enterprise": (330.0, 5), "EMEA": (130.0, 2)}


def test_a_customer_is_compared_with_its_peers_without_itself():
    baselines = tally_segments(DAY, [ENTERPRISE], FIELDS, book())
    peer = baselines.peer_average(row("eve", 25), before=row("eve", 30))
    assert peer is not None
    assert (peer.name, peer.peers) == ("Enterprise", 4)
    assert peer.average == pytest.approx((80 + 70 + 90 + 60) / 4)


def test_a_customer_not_counted_at_tally_time_takes_nothing_out():
    baselines = tally_segments(DAY, [ENTERPRISE], FIELDS, book())
    peer = baselines.peer_average(row("fay", 20), before=row("fay", None))
    assert peer is not None and peer.peers == 5 and peer.average == pytest.approx(330 / 5)


def test_a_segment_with_too_few_peers_is_no_baseline():
    baselines = tally_segments(DAY, [EMEA], FIELDS, book())  # cal 90 and gus 40
    assert MIN_PEERS > 1
    gus = row("gus", 40, tier="smb", region="emea")
    assert baselines.peer_average(gus, before=gus) is None


def test_of_several_segments_the_one_whose_peers_score_highest_is_the_baseline():
    rows = [*book(), row("hal", 95, region="emea"), row("ivy", 92, tier="smb", region="emea")]
    baselines = tally_segments(DAY, [ENTERPRISE, EMEA], FIELDS, rows)
    peer = baselines.peer_average(row("cal", 50, region="emea"), before=row("cal", 90, region="emea"))
    assert peer is not None and peer.name == "EMEA"
    assert peer.average == pytest.approx((40 + 95 + 92) / 3)


def test_membership_is_judged_on_the_customer_as_just_scored():
    baselines = tally_segments(DAY, [ENTERPRISE], FIELDS, book())
    moved_to_smb = baselines.peer_average(row("eve", 25, tier="smb"), before=row("eve", 30))
    assert moved_to_smb is None


def test_a_tally_is_used_for_a_week_then_ignored_and_survives_storage():
    baselines = tally_segments(DAY, [ENTERPRISE], FIELDS, book())
    assert baselines.usable_on(DAY + timedelta(days=7))
    assert not baselines.usable_on(DAY + timedelta(days=8))
    again = SegmentBaselines.from_document(baselines.to_document())
    assert again == baselines
    assert again.peer_average(row("eve", 25), row("eve", 30)) == baselines.peer_average(row("eve", 25), row("eve", 30))


# --- the alert, through the scorer's pure part -------------------------------------------------------
def low_signals() -> CustomerSignals:
    """A customer whose only connected source is a poor NPS: its score is low and known."""
    log = signal_log.SignalLog()
    signal_log.fold(
        log,
        [
            TimelineEntry(
                customer_id="eve",
                kind="nps",  # type: ignore[arg-type]
                occurred_at=datetime(2026, 11, 1, 10, tzinfo=UTC),
                title="NPS 1",
                item_id="nps1",
                attributes={"score": 1},
            )
        ],
    )
    return scoring.build_signals(customer("eve", None), [], log, usage_connected=False)


def score(state: ScoringState, day: date, baselines: SegmentBaselines | None, tier: str = "enterprise"):
    me = customer("eve", 30, tier=tier)
    baseline = scoring.segment_baseline(baselines, me, {}, day)
    return scoring.score_day(MODEL, low_signals(), day, state, baseline)


def test_a_customer_far_below_its_segment_is_alerted_once_per_episode():
    baselines = tally_segments(DAY, [ENTERPRISE], FIELDS, book())
    first = score(ScoringState(), DAY, baselines)
    assert first.latest.score is not None and first.latest.score < 50
    misaligned = [a for a in first.alerts if a.kind == "misalignment"]
    assert len(misaligned) == 1
    alert = misaligned[0]
    assert alert.details["segment"] == "Enterprise" and alert.details["segment_id"] == "seg_ent"
    assert alert.details["segment_avg"] == 75.0 and alert.details["peers"] == 4
    assert "below the segment Enterprise average (75.0)" in alert.message

    next_day = score(first.state, DAY + timedelta(days=1), baselines)
    assert [a for a in next_day.alerts if a.kind == "misalignment"] == []  # same episode

    left = score(next_day.state, DAY + timedelta(days=2), baselines, tier="smb")
    assert left.alerts == [] and not left.state.days[DAY + timedelta(days=2)].misaligned

    back = score(left.state, DAY + timedelta(days=3), baselines)
    assert [a.kind for a in back.alerts] == ["misalignment"]  # a new episode


def test_without_a_tally_the_episode_carries_on_and_nothing_is_raised():
    baselines = tally_segments(DAY, [ENTERPRISE], FIELDS, book())
    first = score(ScoringState(), DAY, baselines)
    unknown = score(first.state, DAY + timedelta(days=1), None)
    assert unknown.state.days[DAY + timedelta(days=1)].misaligned
    stale = score(first.state, DAY + timedelta(days=9), baselines)  # tally older than a week: unknown
    assert stale.alerts == [] and stale.state.days[DAY + timedelta(days=9)].misaligned


def test_within_the_threshold_of_its_segment_nothing_is_raised():
    rows = [row("ada", 50), row("bea", 45), row("cal", 55), row("dov", 40), row("eve", 30)]
    baselines = tally_segments(DAY, [ENTERPRISE], FIELDS, rows)
    scored = score(ScoringState(), DAY, baselines)
    assert scored.latest.score is not None and 47.5 - scored.latest.score <= 20
    assert scored.alerts == []


def test_the_tally_keeps_each_dimensions_sum_and_count_and_survives_its_document() -> None:
    from keepwell.domain.conditions import compile_condition, to_dict
    from keepwell.domain.segment_baselines import SavedSegment, SegmentBaselines, tally_segments
    from keepwell.domain.segments import HealthRow, segment_fields

    fields = segment_fields({})
    everyone = SavedSegment("seg_all", "All", to_dict(compile_condition('status = "active"', fields)))
    rows = [
        HealthRow(customer("a", 80.0), {"usage": 70.0, "support": None}),
        HealthRow(customer("b", 60.0), {"usage": 50.0, "support": 30.0}),
        HealthRow(customer("c", None), {}),  # never scored: in no average
    ]
    tally = tally_segments(DAY, [everyone], fields, rows)
    [segment] = tally.segments
    assert (segment.total, segment.count) == (140.0, 2)
    assert dict(segment.dimensions) == {"support": (30.0, 1), "usage": (120.0, 2)}
    assert SegmentBaselines.from_document(tally.to_document()) == tally
