"""The 7-day change of the score the customer list shows (issue #19), from the scoring state alone."""

from __future__ import annotations

from datetime import date, timedelta

from keepwell.domain.customer_scoring import DayEntry, ScoringState

LATEST = date(2026, 11, 20)


def state(**scores: float | None) -> ScoringState:
    """Scores by days before LATEST: state(d0=61.26, d7=70.04)."""
    return ScoringState(days={LATEST - timedelta(days=int(k[1:])): DayEntry(v, "Neutral") for k, v in scores.items()})


def test_the_change_is_the_latest_shown_score_minus_the_one_shown_a_week_before():
    assert state(d0=61.26, d3=80.0, d7=70.04).change() == -8.7  # 61.3 - 70.0 as shown, not 61.26 - 70.04
    assert state(d0=70.0, d7=64.0).change() == 6.0
    assert state(d0=64.0, d7=64.0).change() == 0.0  # flat is a change of 0, not "no change known"


def test_no_change_without_both_days_or_when_either_is_not_applicable():
    assert ScoringState().change() is None
    assert state(d0=61.0, d6=70.0, d8=70.0).change() is None  # no score exactly a week back
    assert state(d0=None, d7=70.0).change() is None
    assert state(d0=61.0, d7=None).change() is None


def test_the_alerts_raised_read_from_the_stored_state_are_those_of_its_days_oldest_first() -> None:
    kept = ScoringState(
        days={
            LATEST: DayEntry(40.0, "At risk", alerts=("band_crossing:At risk", "sharp_drop")),
            LATEST - timedelta(days=1): DayEntry(55.0, "Neutral"),
            LATEST - timedelta(days=9): DayEntry(60.0, "Neutral", alerts=("misalignment",)),
        }
    )
    assert ScoringState.raised_alerts(kept.to_json()) == [
        (LATEST - timedelta(days=9), "misalignment"),
        (LATEST, "band_crossing:At risk"),
        (LATEST, "sharp_drop"),
    ]
    assert ScoringState.raised_alerts({**kept.to_json(), "v": 0}) == []  # a format it does not know: none
    assert ScoringState.raised_alerts(None) == []
