"""When to retry a webhook delivery, and what a response means for the subscription.

Schedule (Standard Webhooks / Svix): the first attempt is immediate, then retries after 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, each delay with up to ±10% jitter so a receiver that
came back up is not hit by every queued delivery at once. 10 attempts in all, ~3 days; then exhausted.
SQS caps DelaySeconds at 900, so longer waits are chained hops (`sqs_delay`); see docs/webhooks.md.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.10
# A receiver's Retry-After can postpone a retry, but not beyond the longest step of the schedule.
MAX_RETRY_AFTER = SCHEDULE[-1]
SQS_MAX_DELAY_SECONDS = 900


class Outcome(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"  # failed; try again per the schedule
    DISABLE = "disable"  # 410 Gone: the receiver asked us to stop; disable the subscription
    EXHAUSTED = "exhausted"  # failed and no attempts left


class TransportError(StrEnum):
    """Failures with no HTTP response."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TLS = "tls"
    BLOCKED = "blocked_destination"  # the SSRF guard refused the address at send time


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    attempt: int
    delay: timedelta | None = None  # set when outcome is RETRY
    not_before: datetime | None = None


def classify(status: int | None, error: TransportError | None = None) -> Verdict:
    """What one attempt's response means, before counting attempts.

    Every non-2xx except 410 is retried, as Svix does: a 400/401/404 is usually a receiver's deploy or
    config mistake that gets fixed within the retry window, and dropping the event would lose it.
    Redirects are not followed (a 3xx could point the sender at an internal address) and count as failures.
    """
    if status is None:
        return Verdict(Outcome.RETRY, (error or TransportError.CONNECTION).value)
    if 200 <= status <= 299:
        return Verdict(Outcome.SUCCESS, f"http_{status}")
    if status == 410:
        return Verdict(Outcome.DISABLE, "http_410_gone")
    if status == 429:
        return Verdict(Outcome.RETRY, "http_429_rate_limited")
    if 500 <= status <= 599:
        return Verdict(Outcome.RETRY, f"http_{status}_server_error")
    if 300 <= status <= 399:
        return Verdict(Outcome.RETRY, f"http_{status}_redirect_not_followed")
    if 400 <= status <= 499:
        return Verdict(Outcome.RETRY, f"http_{status}_client_error")
    return Verdict(Outcome.RETRY, f"http_{status}_unexpected")


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """`Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP-dates are always GMT
        return None
    return max(when - now, timedelta(0))


def scheduled_delay(attempt: int, rng: random.Random) -> timedelta | None:
    """The jittered wait after failed attempt number `attempt` (1-based); None when it was the last."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    if attempt >= MAX_ATTEMPTS:
        return None
    base = SCHEDULE[attempt - 1].total_seconds()
    return timedelta(seconds=base * (1 + rng.uniform(-JITTER, JITTER)))


def decide(
    attempt: int,
    status: int | None,
    now: datetime,
    rng: random.Random,
    *,
    error: TransportError | None = None,
    headers: Mapping[str, str] | None = None,
) -> Decision:
    """The full verdict on attempt number `attempt` (1-based): success, disable, retry when, or exhausted."""
    verdict = classify(status, error)
    if verdict.outcome is not Outcome.RETRY:
        return Decision(verdict.outcome, verdict.reason, attempt)
    delay = scheduled_delay(attempt, rng)
    if delay is None:
        return Decision(Outcome.EXHAUSTED, verdict.reason, attempt)
    retry_after_header = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    asked = parse_retry_after(retry_after_header, now)
    if asked is not None and asked > delay:
        delay = min(asked, MAX_RETRY_AFTER)
    return Decision(Outcome.RETRY, verdict.reason, attempt, delay, now + delay)


def sqs_delay(not_before: datetime, now: datetime) -> int:
    """DelaySeconds for the next hop towards `not_before`: at most 900 (the SQS cap), 0 when due."""
    remaining = math.ceil((not_before - now).total_seconds())
    return max(0, min(SQS_MAX_DELAY_SECONDS, remaining))


def sqs_hops(delay: timedelta) -> list[int]:
    """The chain of DelaySeconds values that together wait `delay` (each ≤ 900 s)."""
    remaining = max(0, math.ceil(delay.total_seconds()))
    hops = [SQS_MAX_DELAY_SECONDS] * (remaining // SQS_MAX_DELAY_SECONDS)
    if remaining % SQS_MAX_DELAY_SECONDS or not hops:
        hops.append(remaining % SQS_MAX_DELAY_SECONDS)
    return hops
