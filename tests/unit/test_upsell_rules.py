"""Upsell rules: eligibility, trigger weights, the composite score, the top 3 and their reasons."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from keepwell.domain import upsell
from keepwell.domain.flags import ActivityDay
from keepwell.domain.renewals import Renewal
from keepwell.domain.upsell import AccountFacts, UpsellRule

TODAY = date(2026, 11, 20)


def rule(**fields: Any) -> UpsellRule:
    data: dict[str, Any] = {
        "rule_id": "ups_1",
        "workspace_id": "ws",
        "name": "Analytics Pro",
        "product": "Analytics Pro",
        "base_score": 40,
        "created_by": "admin-1",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }
    data.update(fields)
    return UpsellRule.model_validate(data)


def facts(**fields: Any) -> AccountFacts:
    data: dict[str, Any] = {
        "today": TODAY,
        "products": frozenset({"core"}),
        "expired_products": frozenset(),
        "employee_count": 250,
        "industry": "Software",
        "next_renewal_date": TODAY + timedelta(days=25),
        "revenue_growth_percent": 12.0,
        "usage_30d": {"report_run": 340.0, "logins": 900.0},
    }
    data.update(fields)
    return AccountFacts(**data)


def test_the_composite_score_adds_the_weight_of_every_trigger_that_holds_and_explains_each() -> None:
    found = upsell.score(
        rule(
            triggers=[
                {"type": "renewal_within_days", "days": 60, "weight": 20},
                {"type": "usage_metric_above", "metric": "report_run", "threshold": 200, "weight": 15},
                {"type": "revenue_growth_percent", "percent": 20, "weight": 10},  # 12 % < 20 %: no
            ]
        ),
        facts(),
    )
    assert found is not None
    assert found.score == 75
    assert found.why == (
        "base score 40 for Analytics Pro",
        "+20: renewal in 25 days (within 60)",
        "+15: report_run 340 in the last 30 days (above 200)",
    )


def test_the_score_is_capped_at_100() -> None:
    found = upsell.score(
        rule(base_score=90, triggers=[{"type": "renewal_within_days", "days": 60, "weight": 30}]), facts()
    )
    assert found is not None and found.score == 100 and found.why[-1] == "capped at 100"


def test_an_expired_subscription_triggers_its_weight() -> None:
    trigger = {"type": "subscription_expired", "product": "Legacy Reports", "weight": 25}
    found = upsell.score(rule(triggers=[trigger]), facts(expired_products=frozenset({"legacy reports"})))
    assert found is not None and found.score == 65


@pytest.mark.parametrize(
    ("fields", "account", "reason"),
    [
        ({"active": False}, {}, "the rule is inactive"),
        ({}, {"products": frozenset({"core", "analytics pro"})}, "already has Analytics Pro"),
        ({"prerequisites": ["Core", "Data Hub"]}, {}, "lacks the prerequisite Data Hub"),
        ({"exclusions": ["Core"]}, {}, "has the excluded Core"),
        ({"min_employees": 500}, {}, "company size 250 is outside 500-∞"),
        ({"max_employees": 100}, {"employee_count": None}, "company size unknown is outside 0-100"),
        ({"industries": ["Retail", "Health"]}, {}, "industry Software is not one of Retail, Health"),
    ],
)
def test_a_rule_does_not_apply_when_the_account_does_not_fit(
    fields: dict[str, Any], account: dict[str, Any], reason: str
) -> None:
    assert upsell.ineligibility(rule(**fields), facts(**account)) == reason
    assert upsell.score(rule(**fields), facts(**account)) is None


def test_prerequisites_and_industries_match_case_insensitively() -> None:
    assert upsell.ineligibility(rule(prerequisites=["CORE"], industries=["software"]), facts()) is None


def test_the_top_three_are_the_highest_scores_then_by_name() -> None:
    rules_ = [
        rule(rule_id="r1", name="B", product="P1", base_score=50),
        rule(rule_id="r2", name="A", product="P2", base_score=50),
        rule(rule_id="r3", name="C", product="P3", base_score=70),
        rule(rule_id="r4", name="D", product="P4", base_score=10),
        rule(rule_id="r5", name="E", product="core", base_score=99),  # already held
    ]
    assert [r.rule_id for r in upsell.recommend(rules_, facts())] == ["r3", "r2", "r1"]


def test_account_facts_come_from_the_plan_subscriptions_renewals_and_usage() -> None:
    def ren(rid: str, product: str | None, **fields: Any) -> Renewal:
        data: dict[str, Any] = {
            "renewal_id": rid,
            "workspace_id": "ws",
            "customer_id": "cus_1",
            "product": product,
            "renewal_date": TODAY + timedelta(days=40),
            "current_arr": 10_000.0,
            "mrr": 833.33,
            "forecast_category": "commit",
            "created_by": "u",
            "created_at": "x",
            "updated_at": "x",
        }
        data.update(fields)
        return Renewal.model_validate(data)

    renewals = [
        ren("a", "Data Hub"),
        ren("b", "Legacy", status="churned", closed_arr=0.0, closed_on=TODAY - timedelta(days=100)),
        ren("c", "Old Add-on", renewal_date=TODAY - timedelta(days=3)),  # lapsed, no auto-renew
        ren("d", None, renewal_date=TODAY - timedelta(days=300), status="renewed", closed_arr=11_500.0),
    ]
    usage = [
        ActivityDay(day=TODAY - timedelta(days=n), events=10, logins=2, users=frozenset({f"u{n % 3}"}))
        for n in range(1, 41)
    ]
    found = upsell.account_facts(
        today=TODAY, renewals=renewals, employee_count=80, industry="Retail", plan="Growth", usage=usage
    )
    assert found.products == frozenset({"growth", "data hub"})
    assert found.expired_products == frozenset({"legacy", "old add-on"})
    assert found.next_renewal_date == TODAY - timedelta(days=3)
    assert found.revenue_growth_percent == 15.0
    assert (found.usage_30d["events"], found.usage_30d["logins"], found.usage_30d["active_users"]) == (300, 60, 3)


def test_a_rule_body_refuses_an_inverted_size_range_and_unknown_trigger_types() -> None:
    with pytest.raises(ValidationError, match="min_employees"):
        upsell.RuleBody.model_validate(
            {"name": "x", "product": "p", "base_score": 1, "min_employees": 9, "max_employees": 1}
        )
    with pytest.raises(ValidationError):
        upsell.RuleBody.model_validate({"name": "x", "product": "p", "base_score": 1, "triggers": [{"type": "vibes"}]})
