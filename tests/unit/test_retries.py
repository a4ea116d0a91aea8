"""One retry for version conflicts and one for unprocessed batch items (keepwell/retries.py): bounded,
with jittered backoff, counted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keepwell import retries
from keepwell.observability import metrics


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    slept: list[float] = []
    monkeypatch.setattr(retries, "sleep", slept.append)
    metrics.clear_metrics()
    yield slept
    metrics.clear_metrics()


def _count(name: str) -> float:
    return sum(metrics.metric_set.get(name, {}).get("Value", []))


def test_a_conflict_is_retried_a_bounded_number_of_times_with_growing_jittered_waits(waits: list[float]) -> None:
    attempts = list(retries.conflict_attempts(4))

    assert attempts == [0, 1, 2, 3]
    assert len(waits) == 3  # none before the first attempt
    for retry, wait in enumerate(waits, start=1):
        assert 0.0 <= wait < min(retries.MAX_DELAY_S, retries.BASE_DELAY_S * 2**retry)
    assert _count("VersionConflictRetries") == 3


def test_a_write_that_succeeds_first_time_neither_waits_nor_counts(waits: list[float]) -> None:
    for _attempt in retries.conflict_attempts(3):
        break
    assert waits == [] and _count("VersionConflictRetries") == 0


def test_unprocessed_items_are_sent_again_until_none_is_left(waits: list[float]) -> None:
    sent: list[list[int]] = []

    def send(batch: list[int]) -> list[int]:
        sent.append(batch)
        return batch[1:]  # the service processes one item a call

    retries.until_processed(send, [1, 2, 3])

    assert sent == [[1, 2, 3], [2, 3], [3]]
    assert len(waits) == 2 and _count("UnprocessedRetries") == 2


def test_items_left_unprocessed_after_every_attempt_raise_and_say_how_many(waits: list[float]) -> None:
    calls = 0

    def send(batch: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        return batch  # throttled every time

    with pytest.raises(retries.StillUnprocessed, match="2 keys still unprocessed after 5 attempts"):
        retries.until_processed(send, ["a", "b"], what="keys", attempts=5)
    assert calls == 5 and len(waits) == 4


def test_the_backoff_never_exceeds_its_cap() -> None:
    assert all(0.0 <= retries.backoff(n) <= retries.MAX_DELAY_S for n in range(1, 40))
