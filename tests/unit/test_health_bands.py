from __future__ import annotations

from datetime import date, timedelta

import pytest

from keepwell.domain.health.bands import BandState, apply_hysteresis, classify
from keepwell.domain.health.model import Band, HealthModel, HysteresisConfig, parse_health_model
from keepwell.domain.health.smoothing import MovingAverage, smooth_series
from keepwell.errors import InvalidInput

BANDS = HealthModel.from_preset().bands


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, "Healthy"),
        (70, "Healthy"),
        (69.96, "Healthy"),
        (69.9, "Neutral"),
        (50, "Neutral"),
        (49.9, "At risk"),
        (0, "At risk"),
    ],
)
def test_default_bands_classify_the_displayed_score(score, band):
    assert classify(score, BANDS).label == band


def test_default_band_colours():
    assert {b.label: b.color for b in BANDS} == {"Healthy": "green", "Neutral": "yellow", "At risk": "red"}


def test_a_three_band_healthy_at_risk_critical_table_is_one_configuration():
    model = parse_health_model(
        {
            "dimensions": [{"key": "usage", "weight": 100}],
            "bands": [
                {"label": "Critical", "color": "#d00", "min": 0, "max": 39},
                {"label": "Healthy", "color": "#0a0", "min": 70, "max": 100},
                {"label": "At Risk", "color": "#fa0", "min": 40, "max": 69},
            ],
        }
    )
    assert [b.label for b in model.bands] == ["Healthy", "At Risk", "Critical"]
    assert classify(39.9, model.bands).label == "Critical"
    assert classify(40, model.bands).label == "At Risk"


def bands_error(bands):
    with pytest.raises(InvalidInput) as error:
        parse_health_model({"dimensions": [{"key": "usage", "weight": 100}], "bands": bands})
    return str(error.value.details)


def test_a_gap_between_bands_is_rejected_naming_the_missing_scores():
    message = bands_error(
        [
            {"label": "Good", "color": "green", "min": 60, "max": 100},
            {"label": "Bad", "color": "red", "min": 0, "max": 49},
        ]
    )
    assert "scores 50-59 have no band" in message


def test_overlapping_bands_are_rejected():
    assert "overlap" in bands_error(
        [
            {"label": "Good", "color": "green", "min": 40, "max": 100},
            {"label": "Bad", "color": "red", "min": 0, "max": 49},
        ]
    )


def test_bands_must_cover_0_to_100():
    assert "must reach 100" in bands_error([{"label": "All", "color": "g", "min": 0, "max": 90}])
    assert "must start at 0" in bands_error([{"label": "All", "color": "g", "min": 5, "max": 100}])


def test_inverted_band_is_rejected():
    assert "min 60 above max 50" in bands_error(
        [
            {"label": "All", "color": "g", "min": 0, "max": 100},
            {"label": "Odd", "color": "r", "min": 60, "max": 50},
        ]
    )


ON = HysteresisConfig(enabled=True, margin_points=3, min_days=3)


def test_without_hysteresis_the_band_follows_the_score_at_once():
    band, _ = apply_hysteresis(69.5, BANDS, HysteresisConfig(), BandState("Healthy"))
    assert band.label == "Neutral"


def test_with_hysteresis_a_small_dip_below_the_boundary_keeps_the_band():
    band, state = apply_hysteresis(68.5, BANDS, ON, BandState("Healthy"))
    assert band.label == "Healthy"
    assert state.pending_band == "Neutral" and state.pending_days == 1


def test_with_hysteresis_crossing_by_the_margin_switches_at_once():
    band, state = apply_hysteresis(66.9, BANDS, ON, BandState("Healthy"))
    assert band.label == "Neutral" and state.pending_band is None
    band, _ = apply_hysteresis(73, BANDS, ON, BandState("Neutral"))
    assert band.label == "Healthy"


def test_with_hysteresis_staying_across_for_the_minimum_days_switches():
    state = BandState("Healthy")
    shown = []
    for score in (69, 68.5, 69.5, 69):
        band, state = apply_hysteresis(score, BANDS, ON, state)
        shown.append(band.label)
    assert shown == ["Healthy", "Healthy", "Neutral", "Neutral"]


def test_with_hysteresis_returning_resets_the_wait():
    state = BandState("Healthy")
    for score in (69, 69, 71, 69, 69):
        band, state = apply_hysteresis(score, BANDS, ON, state)
    assert band.label == "Healthy" and state.pending_days == 2


D0 = date(2026, 11, 1)


def test_moving_average_over_a_gappy_series_uses_only_days_with_a_score():
    series = {D0: 10.0, D0 + timedelta(days=1): 20.0, D0 + timedelta(days=3): 60.0, D0 + timedelta(days=9): 90.0}
    smoothed = smooth_series(series, window=3)
    assert smoothed[D0] == 10
    assert smoothed[D0 + timedelta(days=1)] == 15
    assert smoothed[D0 + timedelta(days=3)] == 40  # day 1 and day 3 (day 0 is out of the 3-day window)
    assert smoothed[D0 + timedelta(days=9)] == 90


def test_a_day_with_no_score_inside_the_window_still_gets_the_average_and_an_empty_window_none():
    series = [(D0, 30.0), (D0 + timedelta(days=1), None), (D0 + timedelta(days=10), None)]
    expected = {D0: 30, D0 + timedelta(days=1): 30, D0 + timedelta(days=10): None}
    assert smooth_series(series, window=7) == expected


def test_seven_day_average_matches_a_direct_mean():
    values = [float((i * 37) % 100) for i in range(40)]
    smoothed = smooth_series({D0 + timedelta(days=i): v for i, v in enumerate(values)}, window=7)
    for i in range(40):
        window = values[max(0, i - 6) : i + 1]
        assert smoothed[D0 + timedelta(days=i)] == pytest.approx(sum(window) / len(window))


@pytest.mark.parametrize("window", [1, 5, 31])
def test_unsupported_smoothing_window_is_a_validation_error(window):
    with pytest.raises(InvalidInput, match="3, 7, 14, 30"):
        MovingAverage(window)


def test_days_out_of_order_are_refused():
    average = MovingAverage(7)
    average.add(D0, 1.0)
    with pytest.raises(ValueError):
        average.add(D0, 2.0)


def test_band_model_is_strict():
    with pytest.raises(ValueError):
        Band(label="x", color="g", min=0, max=101)
