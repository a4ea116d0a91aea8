"""Pure segment rules: the field set, the record a condition sees, rebuilding saved rules, membership,
benchmarks against segments, and the dry-run rescoring of a proposed health model. No AWS."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from keepwell.domain import conditions
from keepwell.domain.customers import Customer
from keepwell.domain.health.dry_run import LatestHealth, dry_run
from keepwell.domain.health.model import HealthModel, parse_health_model
from keepwell.domain.segments import (
    HealthRow,
    SegmentRule,
    customer_record,
    is_member,
    segment_benchmarks,
    segment_fields,
    stored_rule,
)
from keepwell.errors import InvalidInput

DAY = date(2026, 11, 20)


def customer(customer_id: str = "cus_a", **fields: Any) -> Customer:
    base: dict[str, Any] = {
        "customer_id": customer_id,
        "workspace_id": "ws",
        "name": customer_id,
        "created_at": "2026-01-05T10:00:00.000Z",
        "updated_at": "2026-01-05T10:00:00.000Z",
    }
    return Customer(**{**base, **fields})


def row(customer_id: str, score: float | None, dims: dict[str, float | None] | None = None, **fields: Any) -> HealthRow:
    return HealthRow(customer(customer_id, health_score=score, **fields), dims or {})


FIELDS = segment_fields({"plan_type": "select", "sla_hours": "number", "pilot": "boolean"}, ["usage", "roi"])


# --- fields and records ---------------------------------------------------------------------------
def test_the_field_set_types_custom_fields_by_their_definition_and_adds_health_and_dimensions() -> None:
    assert FIELDS["custom.plan_type"] == "string"
    assert FIELDS["custom.sla_hours"] == "number"
    assert FIELDS["custom.pilot"] == "boolean"
    assert FIELDS["health_score"] == "number" and FIELDS["health_band"] == "string"
    assert FIELDS["dimension.roi"] == "number"
    assert FIELDS["dimension.payment"] == "number"  # every standard dimension, enabled or not
    assert FIELDS["tags"] == "list" and FIELDS["renewal_date"] == "date"


def test_an_undefined_custom_field_is_an_unknown_field() -> None:
    with pytest.raises(InvalidInput, match=r"unknown field 'custom\.tier'"):
        conditions.compile_condition('custom.tier = "gold"', FIELDS)


def test_the_record_flattens_custom_fields_and_dimension_values() -> None:
    record = customer_record(
        customer(arr=120000.0, custom_fields={"sla_hours": 8}, tags=["pilot"], renewal_date=date(2027, 1, 31)),
        {"usage": 72.5, "support": None},
    )

    assert record["arr"] == 120000
    assert record["custom.sla_hours"] == 8
    assert record["dimension.usage"] == 72.5 and record["dimension.support"] is None
    assert record["tags"] == ["pilot"]
    assert record["renewal_date"] == date(2027, 1, 31)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('status = "active" AND country IN ("BR", "MX") AND arr > 50000', True),
        ("health_score < 60", False),
        ("dimension.usage >= 70 AND dimension.support NOT EXISTS", True),
        ('custom.plan_type = "gold" OR custom.sla_hours <= 8', True),
        ('tags CONTAINS "PILOT"', False),  # list membership is exact; text contains is case-insensitive
        ('renewal_date BETWEEN "2027-01-01" AND "2027-03-31"', True),
        ('created_at < "2026-02-01"', True),
        ("NOT arr > 50000", False),
    ],
)
def test_membership_is_the_condition_over_the_record(condition: str, expected: bool) -> None:
    member = HealthRow(
        customer(
            arr=120000.0,
            country="BR",
            health_score=64.0,
            tags=["pilot"],
            custom_fields={"sla_hours": 8},
            renewal_date=date(2027, 1, 31),
        ),
        {"usage": 72.5, "support": None},
    )
    assert is_member(conditions.compile_condition(condition, FIELDS), member) is expected


def test_a_customer_without_a_score_matches_no_health_comparison() -> None:
    rule = conditions.compile_condition("health_score < 60 OR health_score >= 60", FIELDS)
    assert not is_member(rule, row("cus_a", None))


# --- saved rules ----------------------------------------------------------------------------------
def test_a_saved_rule_naming_a_field_that_has_gone_still_loads_and_matches_nothing() -> None:
    saved = conditions.to_dict(conditions.compile_condition('custom.plan_type = "gold" OR arr > 10', FIELDS))
    today = segment_fields({}, [])  # the custom field was deleted since

    rule = stored_rule(saved, today)

    assert is_member(rule, row("cus_a", None, arr=100.0, custom_fields={"plan_type": "gold"}))
    assert not is_member(rule, row("cus_b", None, arr=1.0))
    gone = stored_rule(conditions.to_dict(conditions.compile_condition("dimension.roi NOT EXISTS", FIELDS)), today)
    assert is_member(gone, row("cus_c", 50.0))


def test_a_saved_date_range_on_a_removed_field_still_loads() -> None:
    fields = segment_fields({"signed_on": "date"})
    saved = conditions.to_dict(
        conditions.compile_condition('custom.signed_on BETWEEN "2026-01-01" AND "2026-06-30"', fields)
    )

    rule = stored_rule(saved, segment_fields({}))

    assert is_member(rule, row("cus_a", None, custom_fields={"signed_on": "2026-03-01"}))


def test_rendering_a_saved_rule_needs_no_field_set() -> None:
    saved = {
        "all": [{"field": "arr", "op": "between", "value": [1, 5]}, {"field": "tags", "op": "contains", "value": "x"}]
    }
    assert conditions.to_text(stored_rule(saved, {})) == '(arr BETWEEN 1 AND 5 AND tags CONTAINS "x")'


# --- benchmarks -----------------------------------------------------------------------------------
def test_benchmark_covers_only_the_segments_the_customer_is_in_and_leaves_it_out_of_the_average() -> None:
    enterprise = SegmentRule("seg_e", "Enterprise", conditions.compile_condition('tier = "Enterprise"', FIELDS))
    smb = SegmentRule("seg_s", "SMB", conditions.compile_condition('tier = "SMB"', FIELDS))
    me = row("cus_a", 72.0, {"usage": 80.0, "support": None}, tier="Enterprise")
    rows = [
        me,
        row("cus_b", 60.0, {"usage": 50.0, "support": 40.0}, tier="Enterprise"),
        row("cus_c", 70.0, {"usage": None, "support": 60.0}, tier="Enterprise"),
        row("cus_d", None, {}, tier="Enterprise"),  # never scored: not in any average
        row("cus_e", 10.0, {"usage": 10.0}, tier="SMB"),
    ]

    [entry] = segment_benchmarks(me, [smb, enterprise], rows, DAY, {"usage": "Usage"})

    assert entry["segment_id"] == "seg_e"
    assert (entry["score"], entry["segment_avg"], entry["segment_size"], entry["position"]) == (72.0, 65.0, 2, "above")
    assert entry["dimensions"]["usage"] == {
        "score": 80.0,
        "segment": "Enterprise",
        "segment_avg": 50.0,
        "segment_size": 1,
        "position": "above",
    }
    assert entry["dimensions"]["support"]["position"] is None and entry["dimensions"]["support"]["segment_avg"] == 50.0


def test_a_customer_alone_in_its_segment_has_no_average() -> None:
    only = SegmentRule("seg_o", "Only", conditions.compile_condition('tier = "Solo"', FIELDS))
    me = row("cus_a", 72.0, {"usage": 80.0}, tier="Solo")

    [entry] = segment_benchmarks(me, [only], [me], DAY)

    assert (entry["segment_avg"], entry["segment_size"], entry["position"]) == (None, 0, None)


# --- dry run --------------------------------------------------------------------------------------
def latest(customer_id: str, dims: dict[str, float | None], **extra: Any) -> LatestHealth:
    return LatestHealth(customer_id, customer_id.title(), dims, **extra)


def test_the_dry_run_reports_distributions_and_band_changes() -> None:
    current, proposed = HealthModel.from_preset("balanced"), HealthModel.from_preset("usage_heavy")
    customers = [
        latest("acme", {"usage": 90, "engagement": 40, "support": 50, "sentiment": 50}),  # 63 -> 72
        latest("birch", {"usage": 30, "engagement": 80, "support": 80, "sentiment": 80}),  # 60 -> 50
        latest("dune", {}),
    ]

    result = dry_run(current, proposed, customers)

    assert (result.customers, result.unscored) == (3, 1)
    assert result.distribution_before == {"Healthy": 0, "Neutral": 2, "At risk": 0}
    assert result.distribution_after == {"Healthy": 1, "Neutral": 1, "At risk": 0}
    [change] = result.changed
    assert (change.customer_id, change.score_before, change.score_after) == ("acme", 63.0, 72.0)
    assert (change.band_before, change.band_after) == ("Neutral", "Healthy")


def test_the_same_model_changes_nobody_and_new_bands_are_applied() -> None:
    current = HealthModel.from_preset("balanced")
    customers = [latest("acme", {"usage": 65, "engagement": 65, "support": 65, "sentiment": 65})]

    assert dry_run(current, current, customers).changed == []
    strict_bands = [
        {"label": "Healthy", "color": "green", "min": 80, "max": 100},
        {"label": "Watch", "color": "yellow", "min": 60, "max": 79},
        {"label": "Critical", "color": "red", "min": 0, "max": 59},
    ]
    rebanded = parse_health_model({**current.model_dump(), "bands": strict_bands})
    [change] = dry_run(current, rebanded, customers).changed
    assert (change.band_before, change.band_after) == ("Neutral", "Watch")


def test_na_dimensions_are_redistributed_in_the_dry_run_too() -> None:
    current, proposed = HealthModel.from_preset("balanced"), HealthModel.from_preset("support_critical")
    # usage N/A: balanced 30/20/10 -> 50/33.33/16.67 of (65, 80, 60) = 69.2 (Neutral)
    customers = [latest("acme", {"usage": None, "engagement": 65, "support": 80, "sentiment": 60})]

    result = dry_run(current, proposed, customers)

    [change] = result.changed
    assert change.score_before == 69.2
    assert change.score_after == 72.9  # 20/40/10 of 70 -> (65*20 + 80*40 + 60*10) / 70 = 72.857
    assert change.band_after == "Healthy"


def test_custom_dimensions_reuse_stored_values_evaluate_from_fields_or_are_na() -> None:
    variables = ["monthly_savings_usd", "mrr"]
    roi = {"key": "roi", "weight": 50, "expression": "= CLAMP(0, 100, (monthly_savings_usd / mrr) * 10)"}
    current = parse_health_model({"dimensions": [{"key": "usage", "weight": 50}, roi], "variables": variables})
    proposed = parse_health_model(
        {
            "dimensions": [
                {"key": "usage", "weight": 40},
                roi,  # unchanged: the stored value is used
                {"key": "reach", "weight": 10, "expression": "MIN(100, mrr / 10)"},
                {"key": "adoption", "weight": 0, "expression": "logins_per_seat_week * 20"},
            ],
            "variables": variables,
        }
    )
    customers = [
        latest("acme", {"usage": 60, "roi": 20}, fields={"mrr": 500}, custom={"monthly_savings_usd": 10_000}),
        latest("birch", {"usage": 60, "roi": None}, fields={"mrr": 0}),
    ]

    result = dry_run(current, proposed, customers)

    assert [(a.dimension, "logins_per_seat_week" in a.reason) for a in result.approximations] == [("adoption", True)]
    # acme: 40 before (usage 60, stored roi 20); after (40*60 + 50*20 + 10*MIN(100, 500/10)) / 100 = 39
    # birch: 60 before (roi N/A); after its reach is 0 and roi still N/A: (40*60 + 10*0) / 50 = 48
    [change] = result.changed
    assert (change.customer_id, change.score_before, change.score_after) == ("birch", 60.0, 48.0)
    assert result.distribution_after == {"Healthy": 0, "Neutral": 0, "At risk": 2}
