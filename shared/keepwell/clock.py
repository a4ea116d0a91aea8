"""The one clock. Everything asks it for 'now' so tests and the demo seed can freeze time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


def today() -> date:
    return _now().date()


def set_now(provider: Callable[[], datetime]) -> None:
    global _now
    _now = provider


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Freeze the clock at `at` (timezone-aware) for the duration of the block."""
    global _now
    previous = _now
    _now = lambda: at  # noqa: E731
    try:
        yield
    finally:
        _now = previous


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with millisecond precision and a Z, sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
