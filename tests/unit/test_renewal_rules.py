"""Pure renewal rules: days-left colour, proposed delta, pipeline groups, forecast categories, escalation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from keepwell.domain import renewals as rules
from keepwell.domain.renewals import DEFAULT_FORECAST, ForecastCategory, ForecastSettings, Renewal
from keepwell.errors import InvalidInput

TODAY = date(2026, 11, 20)


def renewal(**fields: Any) -> Renewal:
    data: dict[str, Any] = {
        "renewal_id": "ren_1",
        "workspace_id": "ws",
        "customer_id": "cus_1",
        "renewal_date": date(2027, 1, 15),
        "current_arr": 12000.0,
        "mrr": 1000.0,
        "forecast_category": "probable",
        "created_by": "csm-1",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }
    data.update(fields)
    return Renewal.model_validate(data)


@pytest.mark.parametrize(
    ("days", "colour"),
    [(-5, "red"), (0, "red"), (29, "red"), (30, "amber"), (89, "amber"), (90, "green"), (400, "green")],
)
def test_days_left_are_red_below_30_or_overdue_amber_below_90_green_from_90(days: int, colour: str) -> None:
    assert rules.colour(days) == colour


def test_days_left_are_negative_when_the_renewal_is_overdue() -> None:
    assert rules.days_left(date(2026, 11, 10), TODAY) == -10
    assert rules.days_left(date(2026, 12, 20), TODAY) == 30


@pytest.mark.parametrize(
    ("renewal_arr", "kind", "delta", "percent"),
    [
        (13200.0, "expansion", 1200.0, 10.0),
        (12000.0, "flat", 0.0, 0.0),
        (12050.0, "flat", 50.0, 0.4),  # within 0.5 %
        (9000.0, "downsell", -3000.0, -25.0),
    ],
)
def test_proposed_delta_names_expansion_flat_or_downsell(
    renewal_arr: float, kind: str, delta: float, percent: float
) -> None:
    found = rules.proposed_delta(12000.0, renewal_arr)
    assert (found.kind, found.delta, found.percent) == (kind, delta, percent)


def test_no_proposed_renewal_arr_has_no_delta() -> None:
    assert rules.proposed_delta(12000.0, None).as_dict() == {
        "renewal_arr": None,
        "delta": None,
        "percent": None,
        "kind": None,
    }


def test_pipeline_groups_do_not_overlap_and_overdue_open_renewals_stay_this_month() -> None:
    assert rules.pipeline_group(renewal(renewal_date=date(2026, 11, 2)), TODAY) == "this_month"  # overdue
    assert rules.pipeline_group(renewal(renewal_date=date(2026, 11, 30)), TODAY) == "this_month"
    assert rules.pipeline_group(renewal(renewal_date=date(2026, 12, 1)), TODAY) == "next_90_days"
    assert rules.pipeline_group(renewal(renewal_date=date(2027, 2, 18)), TODAY) == "next_90_days"  # day 90
    assert rules.pipeline_group(renewal(renewal_date=date(2027, 2, 19)), TODAY) == "next_180_days"
    assert rules.pipeline_group(renewal(renewal_date=date(2027, 5, 19)), TODAY) == "next_180_days"  # day 180
    assert rules.pipeline_group(renewal(renewal_date=date(2027, 5, 20)), TODAY) is None


def test_closed_renewals_are_historical_for_twelve_months_after_they_closed() -> None:
    recent = renewal(status="renewed", renewal_date=date(2026, 3, 1), closed_on=date(2026, 2, 10), closed_arr=1.0)
    old = renewal(status="churned", renewal_date=date(2025, 10, 1), closed_on=date(2025, 10, 1), closed_arr=0.0)
    early = renewal(status="renewed", renewal_date=date(2027, 1, 15), closed_on=date(2026, 11, 1), closed_arr=1.0)
    assert rules.pipeline_group(recent, TODAY) == "historical"
    assert rules.pipeline_group(old, TODAY) is None
    assert rules.pipeline_group(early, TODAY) == "historical"


def test_closed_early_means_renewed_at_least_15_days_before_the_date() -> None:
    base = {"status": "renewed", "renewal_date": date(2026, 6, 30), "closed_arr": 1.0}
    assert rules.closed_early(renewal(**base, closed_on=date(2026, 6, 15)))
    assert not rules.closed_early(renewal(**base, closed_on=date(2026, 6, 16)))
    churned = renewal(status="churned", renewal_date=date(2026, 6, 30), closed_on=date(2026, 5, 1), closed_arr=0.0)
    assert not rules.closed_early(churned)


def test_a_forecast_change_without_a_reason_is_refused_naming_reason() -> None:
    for missing in (None, "", "   "):
        with pytest.raises(InvalidInput) as error:
            rules.require_reason(missing)
        assert error.value.details[0]["field"] == "reason"
    assert rules.require_reason("  champion left ") == "champion left"


def test_an_unknown_category_is_refused_listing_the_workspace_categories() -> None:
    with pytest.raises(InvalidInput) as error:
        rules.check_category(DEFAULT_FORECAST, "pipeline")
    assert "commit, probable, best_case, at_risk" in error.value.message


def test_a_workspace_may_configure_its_own_category_list() -> None:
    custom = ForecastSettings(
        categories=(
            ForecastCategory(key="commit", label="Commit"),
            ForecastCategory(key="best_case", label="Best case"),
            ForecastCategory(key="pipeline", label="Pipeline"),
            ForecastCategory(key="omit", label="Omit"),
        ),
        default_category="pipeline",
        at_risk_category=None,
        best_case_category="best_case",
    )
    assert rules.check_category(custom, "omit") == "omit"
    assert custom.label("pipeline") == "Pipeline"


def test_forecast_settings_must_name_categories_of_their_own_list() -> None:
    with pytest.raises(ValueError, match="at_risk_category"):
        ForecastSettings(
            categories=(ForecastCategory(key="commit", label="Commit"),),
            default_category="commit",
            at_risk_category="at_risk",
        )
    with pytest.raises(ValueError, match="unique"):
        ForecastSettings(
            categories=(ForecastCategory(key="commit", label="A"), ForecastCategory(key="commit", label="B")),
            default_category="commit",
        )


def test_two_red_flags_suggest_at_risk() -> None:
    found = rules.escalation(
        red_flags=["usage_drop", "stale_severe_tickets"],
        renewal=renewal(),
        today=TODAY,
        champion_aligned=True,
        competitor_mentions=[],
    )
    assert found.suggested and found.suggested_category == "at_risk"
    assert found.reasons == ("2 red flags at the same time: usage_drop, stale_severe_tickets",)


def test_one_red_flag_with_an_aligned_champion_far_from_renewal_suggests_nothing() -> None:
    found = rules.escalation(
        red_flags=["usage_drop"], renewal=renewal(), today=TODAY, champion_aligned=True, competitor_mentions=[]
    )
    assert not found.suggested and found.reasons == ()


def test_less_than_30_days_left_without_an_aligned_champion_suggests_at_risk() -> None:
    soon = renewal(renewal_date=date(2026, 12, 10))
    found = rules.escalation(red_flags=[], renewal=soon, today=TODAY, champion_aligned=False, competitor_mentions=[])
    assert found.suggested
    assert found.reasons == ("renewal on 2026-12-10 (20 days left) without an aligned champion",)
    aligned = rules.escalation(red_flags=[], renewal=soon, today=TODAY, champion_aligned=True, competitor_mentions=[])
    assert not aligned.suggested


def test_a_competitor_mention_suggests_at_risk() -> None:
    found = rules.escalation(
        red_flags=[], renewal=renewal(), today=TODAY, champion_aligned=True, competitor_mentions=["rivalco"]
    )
    assert found.suggested and found.reasons == ("competitor mentioned: rivalco",)


def test_a_renewal_already_at_risk_or_a_workspace_without_that_category_gets_no_suggestion() -> None:
    at_risk = renewal(forecast_category="at_risk")
    found = rules.escalation(
        red_flags=["a", "b"], renewal=at_risk, today=TODAY, champion_aligned=True, competitor_mentions=[]
    )
    assert not found.suggested and found.reasons  # the reasons are still shown
    without = ForecastSettings(categories=(ForecastCategory(key="commit", label="C"),), default_category="commit")
    found = rules.escalation(
        red_flags=["a", "b"],
        renewal=renewal(forecast_category="commit"),
        today=TODAY,
        champion_aligned=True,
        competitor_mentions=[],
        settings=without,
    )
    assert not found.suggested


def test_the_next_open_renewal_is_the_earliest_with_the_account_first_on_a_tie() -> None:
    account = renewal(renewal_id="ren_a", renewal_date=date(2027, 1, 1))
    subscription = renewal(renewal_id="ren_b", renewal_date=date(2027, 1, 1), product="Analytics")
    closed = renewal(renewal_id="ren_c", renewal_date=date(2026, 12, 1), status="renewed", closed_arr=1.0)
    assert rules.next_open([subscription, closed, account]) == account
    assert rules.next_open([closed]) is None


# --- the profile's renewal date and the records --------------------------------------------------------------
def test_a_profile_date_opens_a_renewal_moves_the_open_one_or_changes_nothing() -> None:
    open_ = renewal(renewal_date=date(2027, 1, 15))
    closed = renewal(renewal_id="ren_0", renewal_date=date(2026, 1, 15), status="renewed", closed_arr=1.0)
    sub = renewal(renewal_id="ren_s", product="Add-on", renewal_date=date(2026, 12, 1))
    follow = rules.follow_profile_date
    assert follow(date(2027, 1, 15), tracked=True, account_renewals=[open_]).needed is False
    assert follow(date(2027, 3, 1), tracked=True, account_renewals=[closed, open_, sub]).move == open_
    assert follow(date(2027, 3, 1), tracked=True, account_renewals=[closed, sub]).create is True
    assert follow(date(2026, 1, 15), tracked=True, account_renewals=[closed]).needed is False
    assert follow(date(2027, 3, 1), tracked=False, account_renewals=[]).needed is False
    assert follow(None, tracked=True, account_renewals=[]).needed is False
    assert rules.profile_renewal_id("cus_1", date(2027, 3, 1)) == rules.profile_renewal_id("cus_1", date(2027, 3, 1))
    assert rules.profile_renewal_id("cus_1", date(2027, 3, 1)) != rules.profile_renewal_id("cus_1", date(2027, 3, 2))


# --- what the Contract dimension reads -------------------------------------------------------------------
def test_contract_signals_read_the_next_renewal_and_the_expansion_history() -> None:
    history = [
        renewal(renewal_id="ren_a", renewal_date=date(2024, 1, 15), status="renewed", closed_arr=15_000.0),
        renewal(renewal_id="ren_b", renewal_date=date(2025, 1, 15), status="renewed", closed_arr=10_000.0),
        renewal(renewal_id="ren_c", renewal_date=date(2026, 1, 15), status="renewed", closed_arr=12_030.0),  # flat
        renewal(renewal_id="ren_d", product="Add-on", renewal_date=date(2026, 3, 1), status="churned", closed_arr=0.0),
        renewal(renewal_id="ren_e", product="Data", renewal_date=date(2026, 12, 1), auto_renew=True),
        renewal(renewal_id="ren_f", renewal_date=date(2027, 1, 15), auto_renew=False),
    ]
    found = rules.contract_signals(history)
    assert found is not None
    # the next open renewal is the subscription on 2026-12-01, which auto-renews
    assert (found.renewal_date, found.auto_renew) == (date(2026, 12, 1), True)
    assert (found.expansions, found.contractions) == (1, 2)  # a: up; b: down, d: a subscription lost
    assert rules.contract_signals([]) is None  # no record: N/A, not 0
    closed_only = rules.contract_signals(history[:2])
    assert closed_only is not None and (closed_only.renewal_date, closed_only.auto_renew) == (None, False)
