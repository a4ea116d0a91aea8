from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from keepwell.domain.scheduling import WorkspaceClock, is_due, scoring_day


@pytest.mark.parametrize(
    ("timezone", "scoring_hour", "utc_hour", "due"),
    [
        ("UTC", 5, 5, True),
        ("UTC", 5, 6, False),
        ("America/Sao_Paulo", 5, 8, True),  # UTC-3: 05:00 local
        ("America/Sao_Paulo", 5, 5, False),
        ("Asia/Tokyo", 5, 20, True),  # UTC+9: 05:00 the next local day
        ("Asia/Kolkata", 4, 23, True),  # UTC+5:30: the 23:00 UTC run is 04:30 local
    ],
)
def test_each_workspace_is_due_once_a_day_at_its_local_scoring_hour(timezone, scoring_hour, utc_hour, due):
    workspace = WorkspaceClock("ws", timezone, scoring_hour=scoring_hour)
    assert is_due(workspace, datetime(2026, 11, 20, utc_hour, 0, tzinfo=UTC)) is due


def test_exactly_one_hourly_run_per_day_picks_a_workspace():
    workspace = WorkspaceClock("ws", "Australia/Adelaide", scoring_hour=5)  # UTC+10:30 in November
    runs = [datetime(2026, 11, 20, hour, 0, tzinfo=UTC) for hour in range(24)]
    assert sum(is_due(workspace, run) for run in runs) == 1


def test_unknown_timezone_falls_back_to_utc():
    assert is_due(WorkspaceClock("ws", "Mars/Olympus", 5), datetime(2026, 11, 20, 5, tzinfo=UTC))


def test_scoring_day_is_the_local_calendar_day():
    workspace = WorkspaceClock("ws", "Asia/Tokyo", 5)
    assert scoring_day(workspace, datetime(2026, 11, 20, 20, tzinfo=UTC)) == date(2026, 11, 21)
