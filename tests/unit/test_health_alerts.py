from __future__ import annotations

from datetime import date, timedelta

from keepwell.domain.health.alerts import AlertState, detect_alerts
from keepwell.domain.health.benchmark import benchmark
from keepwell.domain.health.model import AlertThresholds, HealthModel
from keepwell.domain.health.snapshot import DimensionSnapshot, HealthSnapshot

DAY = date(2026, 11, 20)
MODEL = HealthModel.from_preset()


def snap(customer: str, score: float | None, usage: float | None = None) -> HealthSnapshot:
    dims = [
        DimensionSnapshot(
            key="usage",
            label="Usage",
            value=usage,
            weight=100,
            effective_weight=100,
            contribution=usage or 0,
            na=usage is None,
        )
    ]
    return HealthSnapshot(
        customer_id=customer,
        date=DAY,
        score=score,
        display_score=score,
        smoothed_score=score,
        band=None,
        band_color=None,
        dimensions=dims,
        na_dimensions=[],
        coverage=1.0,
        model_version=1,
    )


def test_benchmark_places_the_customer_against_its_segment_overall_and_per_dimension():
    me = snap("c1", 42.0, usage=80)
    peers = [snap("c2", 60.0, usage=50), snap("c3", 70.0, usage=70), me]
    result = benchmark(me, peers, "Enterprise")
    assert {k: result[k] for k in ("score", "segment", "segment_avg", "position")} == {
        "score": 42.0,
        "segment": "Enterprise",
        "segment_avg": 65.0,
        "position": "below",
    }
    assert result["segment_size"] == 2  # the customer is not its own peer
    assert result["dimensions"]["usage"]["segment_avg"] == 60.0
    assert result["dimensions"]["usage"]["position"] == "above"


def test_benchmark_reports_at_when_equal_to_one_decimal_and_skips_na_members():
    me = snap("c1", 65.02, usage=None)
    result = benchmark(me, [snap("c2", 60.0, usage=None), snap("c3", 70.0), snap("c4", None)], "SMB")
    assert result["position"] == "at"
    assert result["segment_size"] == 2
    assert result["dimensions"]["usage"] == {
        "score": None,
        "segment": "SMB",
        "segment_avg": None,
        "segment_size": 0,
        "position": None,
    }


def run(days, thresholds=None, segment_avg=None):
    """Feed (score, band) day by day, as the pipeline would; returns the alerts of each day."""
    thresholds = thresholds or MODEL.alerts
    state = AlertState()
    history: list[tuple[date, float]] = []
    out = []
    for offset, (score, band) in enumerate(days):
        day = DAY + timedelta(days=offset)
        alerts, state = detect_alerts(
            day, score, band, history, thresholds, MODEL.bands, state, segment_avg=segment_avg, segment="Enterprise"
        )
        history.append((day, score))
        out.append([a.kind for a in alerts])
    return out


def test_a_sharp_drop_alerts_once_per_episode():
    days = [(80, "Healthy"), (78, "Healthy"), (62, "Neutral"), (60, "Neutral"), (61, "Neutral")]
    kinds = run(days)
    assert kinds[2] == ["sharp_drop", "band_crossing"]
    assert kinds[3] == [] and kinds[4] == []  # same episode: no daily repeats


def test_a_drop_of_exactly_the_threshold_does_not_alert():
    assert run([(80, "Healthy"), (65, "Neutral")])[1] == ["band_crossing"]


def test_a_new_drop_after_recovery_alerts_again():
    days = [(80, "Healthy")] + [(60, "Neutral")] * 8 + [(85, "Healthy")] + [(62, "Neutral")]
    kinds = run(days)
    assert kinds[1].count("sharp_drop") == 1
    assert all("sharp_drop" not in k for k in kinds[2:10])
    assert "sharp_drop" in kinds[10]


def test_drop_threshold_and_window_are_configurable():
    strict = AlertThresholds(sharp_drop_points=5, sharp_drop_days=2)
    assert run([(80, "Healthy"), (74, "Healthy")], strict)[1] == ["sharp_drop"]
    slow = [(80, "Healthy"), (78, "Healthy"), (76, "Healthy"), (74, "Healthy")]  # 6 points, but over 3 days
    assert run(slow, strict) == [[], [], [], []]


def test_band_crossing_is_direction_aware():
    up_and_down = [(55, "Neutral"), (71, "Healthy"), (60, "Neutral")]
    assert run(up_and_down, AlertThresholds(band_crossing="down"), None) == [[], [], ["band_crossing"]]
    state = AlertState(band="Neutral")
    alerts, _ = detect_alerts(DAY, 71, "Healthy", [], MODEL.alerts, MODEL.bands, state)
    assert alerts[0].details["direction"] == "up" and alerts[0].severity == "info"
    alerts, _ = detect_alerts(DAY, 30, "At risk", [], MODEL.alerts, MODEL.bands, AlertState(band="Healthy"))
    assert alerts[0].details == {"from": "Healthy", "to": "At risk", "direction": "down"}


def test_misalignment_with_the_segment_alerts_once_until_back_in_line():
    days = [(50, "Neutral"), (49, "At risk"), (45, "At risk"), (60, "Neutral"), (48, "At risk")]
    kinds = run(days, AlertThresholds(band_crossing="off"), segment_avg=72)
    assert kinds == [["misalignment"], [], [], [], ["misalignment"]]


def test_no_score_means_no_alerts_and_the_state_is_kept():
    state = AlertState(band="Healthy", in_drop=True)
    alerts, after = detect_alerts(DAY, None, None, [], MODEL.alerts, MODEL.bands, state)
    assert alerts == [] and after == state
