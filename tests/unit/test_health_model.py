from __future__ import annotations

import pytest
from pydantic import ValidationError

from keepwell.domain.health.model import DimensionConfig, HealthModel, Target, parse_health_model
from keepwell.errors import InvalidInput


@pytest.mark.parametrize(
    ("preset", "weights"),
    [
        ("balanced", [40, 30, 20, 10]),
        ("usage_heavy", [60, 20, 15, 5]),
        ("engagement_first", [20, 50, 20, 10]),
        ("support_critical", [30, 20, 40, 10]),
    ],
)
def test_four_factor_presets_weigh_usage_engagement_support_sentiment(preset, weights):
    model = HealthModel.from_preset(preset)
    assert [d.key for d in model.dimensions] == ["usage", "engagement", "support", "sentiment"]
    assert [d.weight for d in model.dimensions] == weights


def test_balanced_is_the_default_preset():
    assert HealthModel.from_preset().preset == "balanced"


def test_unknown_preset_is_rejected_naming_the_choices():
    with pytest.raises(InvalidInput, match="balanced, usage_heavy"):
        HealthModel.from_preset("yolo")


def test_weights_not_summing_to_100_are_rejected_with_the_actual_sum():
    body = {"dimensions": [{"key": "usage", "weight": 60}, {"key": "support", "weight": 39}]}
    with pytest.raises(InvalidInput) as error:
        parse_health_model(body)
    assert "weights sum to 99, must be 100" in str(error.value.details)


def test_disabled_dimensions_do_not_count_towards_the_100():
    model = parse_health_model(
        {
            "dimensions": [
                {"key": "usage", "weight": 100},
                {"key": "support", "weight": 30, "enabled": False},
            ]
        }
    )
    assert [d.key for d in model.enabled_dimensions()] == ["usage"]


def test_fractional_weights_summing_to_100_are_accepted():
    model = parse_health_model(
        {
            "dimensions": [
                {"key": "usage", "weight": 33.3},
                {"key": "support", "weight": 33.3},
                {"key": "engagement", "weight": 33.4},
            ]
        }
    )
    assert len(model.dimensions) == 3


def test_repeated_dimension_keys_are_rejected():
    with pytest.raises(InvalidInput) as error:
        parse_health_model({"dimensions": [{"key": "usage", "weight": 50}, {"key": "usage", "weight": 50}]})
    assert "repeated: usage" in str(error.value.details)


def test_custom_dimension_needs_an_expression_and_standard_ones_cannot_have_one():
    with pytest.raises(ValidationError, match="needs an expression"):
        HealthModel(dimensions=[DimensionConfig(key="roi", weight=100)])
    with pytest.raises(ValidationError, match="cannot have an expression"):
        HealthModel(dimensions=[DimensionConfig(key="usage", weight=100, expression="1")])


def test_custom_expression_is_validated_when_the_model_is_saved():
    with pytest.raises(InvalidInput) as error:
        parse_health_model(
            {
                "variables": ["mrr"],
                "dimensions": [
                    {"key": "usage", "weight": 50},
                    {"key": "roi", "weight": 50, "expression": "= mrr / savings"},
                ],
            }
        )
    assert "unknown field 'savings'" in str(error.value.details)


@pytest.mark.parametrize("window", [3, 7, 14, 30])
def test_smoothing_windows_offered_are_accepted(window):
    assert HealthModel.from_preset(smoothing_window=window).smoothing_window == window


@pytest.mark.parametrize("window", [0, 5, 10, 60])
def test_other_smoothing_windows_are_rejected(window):
    with pytest.raises(InvalidInput) as error:
        parse_health_model({"dimensions": [{"key": "usage", "weight": 100}], "smoothing_window": window})
    assert "must be one of 3, 7, 14, 30" in str(error.value.details)


def test_default_smoothing_is_seven_days_and_hysteresis_is_off():
    model = HealthModel.from_preset()
    assert model.smoothing_window == 7
    assert model.hysteresis.enabled is False


def test_a_workspace_overrides_one_target_and_keeps_the_other_defaults():
    model = parse_health_model(
        {
            "dimensions": [{"key": "usage", "weight": 100}],
            "targets": {"logins_per_seat_week": {"good": 10, "bad": 1}},
        }
    )
    assert model.targets.logins_per_seat_week.normalise(5.5) == 50
    assert model.targets.distinct_features.good == 10


def test_target_normalises_in_both_directions_and_clamps():
    more_is_better, less_is_better = Target(good=5, bad=0), Target(good=24, bad=120)
    assert more_is_better.normalise(2.5) == 50
    assert more_is_better.normalise(50) == 100
    assert less_is_better.normalise(72) == 50
    assert less_is_better.normalise(500) == 0
    with pytest.raises(ValidationError):
        Target(good=1, bad=1)
