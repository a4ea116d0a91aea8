"""Moving-average smoothing of a daily score series that may have gaps."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from keepwell.domain.health.model import SMOOTHING_WINDOWS
from keepwell.errors import InvalidInput


def check_window(window: int) -> int:
    if window not in SMOOTHING_WINDOWS:
        allowed = ", ".join(str(w) for w in SMOOTHING_WINDOWS)
        raise InvalidInput(
            f"smoothing window must be one of {allowed} days, got {window}",
            details=[{"field": "smoothing_window", "issue": f"must be one of {allowed}"}],
        )
    return window


class MovingAverage:
    """Trailing average over the last `window` calendar days; days without a score are simply absent
    (so a gap shrinks the sample rather than counting as 0). Feed days in increasing order; O(window) each."""

    def __init__(self, window: int):
        self.window = check_window(window)
        self._points: deque[tuple[date, float]] = deque()

    def add(self, day: date, value: float | None) -> float | None:
        if self._points and day <= self._points[-1][0]:
            raise ValueError("days must be fed in increasing order")
        if value is not None:
            self._points.append((day, value))
        oldest_kept = day - timedelta(days=self.window - 1)
        while self._points and self._points[0][0] < oldest_kept:
            self._points.popleft()
        if not self._points:
            return None
        # fsum over at most 30 points: exact, so the same day smooths identically whatever the history
        # started from (a running total would drift).
        return math.fsum(v for _, v in self._points) / len(self._points)


def smooth_series(
    series: Mapping[date, float | None] | Iterable[tuple[date, float | None]], window: int = 7
) -> dict[date, float | None]:
    """Smoothed value for every day in the series (None where the window holds no score at all)."""
    items = sorted(series.items() if isinstance(series, Mapping) else series)
    average = MovingAverage(window)
    return {day: average.add(day, value) for day, value in items}
