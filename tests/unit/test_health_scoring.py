from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell.domain.health.model import PRESETS, DimensionConfig, HealthModel
from keepwell.domain.health.scoring import effective_weights, score_values

PROPERTY = settings(max_examples=200, derandomize=True, deadline=None)
BALANCED = HealthModel.from_preset("balanced")


def test_balanced_preset_scores_the_acceptance_example_exactly():
    result = score_values(BALANCED, {"usage": 72, "engagement": 65, "support": 80, "sentiment": 60})
    assert result.score == 70.3
    assert [d.contribution for d in result.dimensions] == [28.8, 19.5, 16.0, 6.0]
    assert result.display_score == 70.3
    assert result.coverage == 1.0
    assert result.na_dimensions == []


def test_na_usage_shares_its_weight_proportionally_among_the_others():
    result = score_values(BALANCED, {"usage": None, "engagement": 65, "support": 80, "sentiment": 60})
    weights = {d.key: round(d.effective_weight, 2) for d in result.dimensions}
    assert weights == {"usage": 0.0, "engagement": 50.0, "support": 33.33, "sentiment": 16.67}
    assert result.display_score == 69.2
    assert result.score == pytest.approx(69.1666666, abs=1e-6)  # the exact value is kept
    usage = result.dimension("usage")
    assert usage.na and usage.contribution == 0.0 and usage.weight == 40
    assert result.coverage == pytest.approx(0.6)
    assert result.na_dimensions == ["usage"]


def test_a_dimension_missing_from_the_values_counts_as_na_not_zero():
    with_zero = score_values(BALANCED, {"usage": 0, "engagement": 65, "support": 80, "sentiment": 60})
    missing = score_values(BALANCED, {"engagement": 65, "support": 80, "sentiment": 60})
    assert with_zero.display_score == 41.5
    assert missing.display_score == 69.2


def test_all_dimensions_na_gives_no_score_rather_than_zero():
    result = score_values(BALANCED, {})
    assert result.score is None
    assert result.display_score is None
    assert result.coverage == 0.0


def test_disabled_dimensions_are_ignored_by_the_score():
    model = HealthModel(
        dimensions=[
            DimensionConfig(key="usage", weight=100),
            DimensionConfig(key="support", weight=0, enabled=False),
        ]
    )
    result = score_values(model, {"usage": 55, "support": 0})
    assert result.score == 55
    assert [d.key for d in result.dimensions] == ["usage"]


def test_display_rounding_is_half_up_to_one_decimal():
    model = HealthModel(dimensions=[DimensionConfig(key="usage", weight=100)])
    assert score_values(model, {"usage": 70.25}).display_score == 70.3
    assert score_values(model, {"usage": 70.24}).display_score == 70.2


def test_six_factor_preset_weights():
    model = HealthModel.from_preset("six_factor")
    assert {d.key: d.weight for d in model.dimensions} == {
        "payment": 25,
        "engagement": 20,
        "usage": 20,
        "support": 15,
        "relationship": 10,
        "contract": 10,
    }
    result = score_values(model, {"payment": 100, "engagement": 50})
    assert result.display_score == pytest.approx(77.8)  # (100x25 + 50x20) / 45


def test_effective_weights_fall_back_to_equal_shares_when_only_zero_weight_dimensions_have_data():
    assert effective_weights({"a": 100, "b": 0, "c": 0}, {"b", "c"}) == {"a": 0.0, "b": 50.0, "c": 50.0}


values = st.one_of(st.none(), st.floats(min_value=0, max_value=100, allow_nan=False))
presets = st.sampled_from(sorted(PRESETS))


@PROPERTY
@given(preset=presets, data=st.data())
def test_score_is_always_within_0_and_100(preset, data):
    model = HealthModel.from_preset(preset)
    dims = {d.key: data.draw(values) for d in model.dimensions}
    result = score_values(model, dims)
    if all(v is None for v in dims.values()):
        assert result.score is None
    else:
        assert result.score is not None and 0.0 <= result.score <= 100.0


@PROPERTY
@given(preset=presets, data=st.data(), bump=st.floats(min_value=0, max_value=100, allow_nan=False))
def test_score_never_falls_when_one_dimension_value_rises(preset, data, bump):
    model = HealthModel.from_preset(preset)
    dims = {d.key: data.draw(values) for d in model.dimensions}
    available = [k for k, v in dims.items() if v is not None]
    if not available:
        return
    key = data.draw(st.sampled_from(available))
    current = dims[key]
    assert current is not None
    higher = dict(dims, **{key: min(100.0, current + bump)})
    before, after = score_values(model, dims).score, score_values(model, higher).score
    assert before is not None and after is not None
    assert after >= before - 1e-9


@PROPERTY
@given(
    weights=st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=7),
    data=st.data(),
)
def test_effective_weights_of_available_dimensions_sum_to_100(weights, data):
    total = sum(weights)
    if total == 0:
        return
    # Scale to a valid model: integer weights summing to exactly 100.
    scaled = [w * 100 // total for w in weights]
    scaled[0] += 100 - sum(scaled)
    keys = ["usage", "engagement", "support", "sentiment", "payment", "relationship", "contract"]
    dims_config = [DimensionConfig(key=k, weight=w) for k, w in zip(keys, scaled, strict=False)]
    model = HealthModel(dimensions=dims_config)
    dims = {d.key: data.draw(values) for d in model.dimensions}
    result = score_values(model, dims)
    if result.score is None:
        return
    live = [d.effective_weight for d in result.dimensions if not d.na]
    assert math.isclose(math.fsum(live), 100.0, abs_tol=1e-9)
    assert all(d.effective_weight == 0 for d in result.dimensions if d.na)
