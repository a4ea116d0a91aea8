"""The two retries DynamoDB asks of its callers, written once: bounded, with jittered backoff, counted.

- `conflict_attempts(n)`: a read-modify-write conditioned on the version it read loses to a concurrent
  writer; read again and re-apply, at most n times (the caller raises its own error after the last).
  Metric `VersionConflictRetries`.
- `until_processed(send, items)`: BatchWriteItem / BatchGetItem may hand back part of a request
  unprocessed (throttling); send that part again, at most `MAX_UNPROCESSED_ATTEMPTS` times, then raise.
  Metric `UnprocessedRetries`.

Backoff is "full jitter" (a random wait up to an exponentially growing cap), so retries of writers that
collided do not collide again in step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from keepwell.observability import metrics

T = TypeVar("T")

BASE_DELAY_S = 0.02
MAX_DELAY_S = 1.0
MAX_UNPROCESSED_ATTEMPTS = 8
_jitter = random.Random()  # own generator: tests that seed `random` are not disturbed, nor disturb it
sleep: Callable[[float], None] = time.sleep  # tests replace it to observe the waits


def backoff(retry: int) -> float:
    """The wait before retry number `retry` (1 = the first retry): uniform in [0, min(cap, base·2^retry))."""
    return _jitter.uniform(0.0, min(MAX_DELAY_S, BASE_DELAY_S * 2**retry))


def conflict_attempts(limit: int) -> Iterator[int]:
    """Attempt numbers 0..limit-1 of an optimistic read-modify-write; each retry waits a jittered
    backoff first and is counted. Use: `for attempt in conflict_attempts(3): ...read, write, break`."""
    for attempt in range(limit):
        if attempt:
            metrics.add_metric(name="VersionConflictRetries", unit=MetricUnit.Count, value=1)
            sleep(backoff(attempt))
        yield attempt


class StillUnprocessed(RuntimeError):
    """Part of a batch request stayed unprocessed after every attempt."""

    def __init__(self, what: str, count: int, attempts: int):
        self.count = count
        super().__init__(f"{count} {what} still unprocessed after {attempts} attempts")


def until_processed(
    send: Callable[[list[T]], Sequence[T]],
    items: list[T],
    *,
    what: str = "items",
    attempts: int = MAX_UNPROCESSED_ATTEMPTS,
) -> None:
    """`send(batch)` returns what it left unprocessed; send that again until nothing is left, waiting a
    jittered backoff before each retry, at most `attempts` sends in all (`StillUnprocessed` after)."""
    pending = items
    for attempt in range(attempts):
        if attempt:
            metrics.add_metric(name="UnprocessedRetries", unit=MetricUnit.Count, value=1)
            sleep(backoff(attempt))
        pending = list(send(pending))
        if not pending:
            return
    raise StillUnprocessed(what, len(pending), attempts)
