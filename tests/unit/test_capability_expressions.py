"""Capability adoption as a health-model input (issue 21): the variables custom-dimension expressions see."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from keepwell.domain import capabilities as caps
from keepwell.domain import customer_scoring as scoring
from keepwell.domain.customers import Customer
from keepwell.domain.health.dimensions import dimension_values
from keepwell.domain.health.model import DimensionConfig, HealthModel
from keepwell.domain.health.signals import CustomerSignals, UsageDay

TODAY = date(2026, 11, 20)
REPORTING = caps.Capability("cap_1", "reporting", "Automated reporting", "Analytics", ("report_exported",), 3, 30)
ALERTS = caps.Capability("cap_2", "alerts", "Alerting", "Monitoring", ("alert_created",), 3, 30)
SSO = caps.Capability("cap_3", "sso", "Single sign-on", "Platform", ("sso_login",), 3, 30)
ADOPTION = HealthModel(
    variables=["capability_reporting"],
    dimensions=[
        DimensionConfig(key="usage", weight=50),
        DimensionConfig(key="adoption", weight=25, expression="capabilities_adopted / capabilities_tracked * 100"),
        DimensionConfig(key="reporting", weight=25, expression="capability_reporting * 100"),
    ],
)


def used(feature: str, days: int) -> list[UsageDay]:
    return [UsageDay(day=TODAY - timedelta(days=n), logins=1, features=frozenset({feature})) for n in range(days)]


def usage_today(days: list[UsageDay], before: dict[str, caps.CapabilityUsage] | None = None):
    return caps.usage_all([REPORTING, ALERTS, SSO], days, TODAY, before or {})


def test_expression_variables_count_adopted_lapsed_and_flag_each_capability():
    before = {"sso": caps.CapabilityUsage("adopted", TODAY - timedelta(days=40), 5)}
    usage = usage_today(used("report_exported", 4) + used("alert_created", 1), before)  # sso unused now: lapsed

    variables = caps.expression_variables(usage)

    assert variables == {
        "capability_reporting": 1.0,
        "capability_alerts": 0.0,
        "capability_sso": 0.0,
        "capabilities_adopted": 1.0,
        "capabilities_lapsed": 1.0,
        "capabilities_tracked": 3.0,
    }


def test_a_custom_dimension_scores_capability_adoption():
    usage = usage_today(used("report_exported", 4) + used("alert_created", 1))
    signals = CustomerSignals(capabilities=caps.expression_variables(usage))

    result = dimension_values(ADOPTION, signals, TODAY)

    assert result.values["adoption"] == pytest.approx(100 / 3)  # 1 of 3 capabilities adopted
    assert result.values["reporting"] == 100
    assert "Reporting at 100" in [e.text for e in result.evidence if e.dimension == "reporting"]


def test_without_tracked_capabilities_the_adoption_dimension_is_na_not_zero():
    result = dimension_values(ADOPTION, CustomerSignals(), TODAY)
    assert result.values["adoption"] is None and result.values["reporting"] is None


def test_capability_keys_need_declaring_but_the_counts_are_always_allowed():
    HealthModel(dimensions=[DimensionConfig(key="a", weight=100, expression="capabilities_lapsed * 50")])
    with pytest.raises(ValueError, match=r"unknown field 'capability_reporting'"):
        HealthModel(dimensions=[DimensionConfig(key="a", weight=100, expression="capability_reporting * 100")])


def test_build_signals_passes_the_capability_variables_to_the_engine():
    customer = Customer(customer_id="c1", workspace_id="w1", name="Acme", created_at="x", updated_at="x")
    variables = caps.expression_variables(usage_today(used("report_exported", 3)))
    signals = scoring.build_signals(customer, [], None, usage_connected=False, capabilities=variables)
    assert signals.capabilities["capabilities_adopted"] == 1.0
    assert scoring.build_signals(customer, [], None, usage_connected=False).capabilities == {}
