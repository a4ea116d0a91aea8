"""Webhook retry schedule, response classification and SQS delay hops."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell.domain.webhooks.retry import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    SCHEDULE,
    SQS_MAX_DELAY_SECONDS,
    Outcome,
    TransportError,
    classify,
    decide,
    parse_retry_after,
    scheduled_delay,
    sqs_delay,
    sqs_hops,
)

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SPEC_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


def test_schedule_is_the_standard_webhooks_one_with_ten_attempts_in_total() -> None:
    assert [int(d.total_seconds()) for d in SCHEDULE] == SPEC_SCHEDULE_SECONDS
    assert MAX_ATTEMPTS == 10


@pytest.mark.parametrize(("attempt", "base"), list(enumerate(SPEC_SCHEDULE_SECONDS, start=1)))
def test_each_retry_waits_its_step_within_ten_percent_jitter(attempt: int, base: int) -> None:
    rng = random.Random(7)
    delays = [scheduled_delay(attempt, rng) for _ in range(200)]
    seconds = [d.total_seconds() for d in delays if d is not None]
    assert len(seconds) == 200
    assert all(base * 0.9 <= s <= base * 1.1 for s in seconds)
    assert min(seconds) < base < max(seconds)  # jitter actually spreads both ways


def test_jitter_is_reproducible_with_a_seeded_random() -> None:
    first = [scheduled_delay(n, random.Random(42)) for n in range(1, MAX_ATTEMPTS)]
    again = [scheduled_delay(n, random.Random(42)) for n in range(1, MAX_ATTEMPTS)]
    other = [scheduled_delay(n, random.Random(43)) for n in range(1, MAX_ATTEMPTS)]
    assert first == again != other


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        scheduled_delay(0, random.Random(1))


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SUCCESS), (201, Outcome.SUCCESS), (204, Outcome.SUCCESS), (299, Outcome.SUCCESS),
        (410, Outcome.DISABLE),
        (429, Outcome.RETRY), (500, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY),
        (301, Outcome.RETRY), (302, Outcome.RETRY), (307, Outcome.RETRY), (308, Outcome.RETRY),
        (400, Outcome.RETRY), (401, Outcome.RETRY), (403, Outcome.RETRY), (404, Outcome.RETRY),
        (413, Outcome.RETRY), (100, Outcome.RETRY), (600, Outcome.RETRY),
    ],
)  # fmt: skip
def test_responses_are_classified(status: int, outcome: Outcome) -> None:
    assert classify(status).outcome is outcome


def test_redirects_are_failures_that_say_they_were_not_followed() -> None:
    assert classify(302).reason == "http_302_redirect_not_followed"


@pytest.mark.parametrize("error", list(TransportError))
def test_timeouts_and_connection_errors_are_retried(error: TransportError) -> None:
    verdict = classify(None, error)
    assert verdict.outcome is Outcome.RETRY
    assert verdict.reason == error.value


def test_a_failed_first_attempt_is_retried_about_five_seconds_later() -> None:
    decision = decide(1, 503, NOW, random.Random(1))
    assert decision.outcome is Outcome.RETRY
    assert decision.delay is not None and 4.5 <= decision.delay.total_seconds() <= 5.5
    assert decision.not_before == NOW + decision.delay


def test_the_last_attempt_failing_exhausts_the_delivery() -> None:
    assert decide(MAX_ATTEMPTS - 1, 500, NOW, random.Random(1)).outcome is Outcome.RETRY
    exhausted = decide(MAX_ATTEMPTS, 500, NOW, random.Random(1))
    assert exhausted.outcome is Outcome.EXHAUSTED
    assert exhausted.delay is None and exhausted.not_before is None


def test_success_and_gone_end_the_delivery_whatever_the_attempt() -> None:
    assert decide(3, 200, NOW, random.Random(1)).outcome is Outcome.SUCCESS
    assert decide(MAX_ATTEMPTS, 200, NOW, random.Random(1)).outcome is Outcome.SUCCESS
    assert decide(2, 410, NOW, random.Random(1)).outcome is Outcome.DISABLE


def test_retry_after_in_seconds_is_honoured_when_longer_than_the_schedule() -> None:
    decision = decide(1, 429, NOW, random.Random(1), headers={"Retry-After": "120"})
    assert decision.delay == timedelta(seconds=120)
    assert decision.not_before == NOW + timedelta(seconds=120)


def test_retry_after_shorter_than_the_schedule_does_not_hurry_the_retry() -> None:
    decision = decide(3, 503, NOW, random.Random(1), headers={"retry-after": "10"})
    assert decision.delay is not None and decision.delay.total_seconds() >= 1800 * 0.9


def test_retry_after_as_an_http_date_is_honoured() -> None:
    decision = decide(2, 503, NOW, random.Random(1), headers={"Retry-After": "Fri, 20 Nov 2026 10:30:00 GMT"})
    assert decision.delay == timedelta(hours=1)


def test_retry_after_cannot_postpone_beyond_a_day() -> None:
    decision = decide(1, 429, NOW, random.Random(1), headers={"Retry-After": str(30 * 86400)})
    assert decision.delay == MAX_RETRY_AFTER


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Fri, 20 Nov 2026 10:30:00 -0000"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_in_the_past_means_no_extra_wait() -> None:
    assert parse_retry_after("Fri, 20 Nov 2026 09:00:00 GMT", NOW) == timedelta(0)


def test_full_delivery_lifecycle_spans_about_three_days() -> None:
    rng = random.Random(2026)
    at = NOW
    attempts = 0
    while True:
        attempts += 1
        decision = decide(attempts, 500, at, rng)
        if decision.outcome is not Outcome.RETRY:
            break
        assert decision.not_before is not None
        at = decision.not_before
    assert decision.outcome is Outcome.EXHAUSTED
    assert attempts == 10
    total = at - NOW
    assert timedelta(days=3) * 0.9 <= total <= timedelta(days=3) * 1.1


# --- SQS hops ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "hops"),
    [(0, [0]), (5, [5]), (900, [900]), (901, [900, 1]), (1800, [900, 900]), (7200, [900] * 8)],
)
def test_long_delays_are_split_into_sqs_hops_of_at_most_900_seconds(seconds: int, hops: list[int]) -> None:
    assert sqs_hops(timedelta(seconds=seconds)) == hops


def test_the_next_hop_counts_down_to_not_before() -> None:
    not_before = NOW + timedelta(hours=2)
    assert sqs_delay(not_before, NOW) == SQS_MAX_DELAY_SECONDS
    assert sqs_delay(not_before, not_before - timedelta(seconds=42.2)) == 43
    assert sqs_delay(not_before, not_before) == 0
    assert sqs_delay(not_before, not_before + timedelta(minutes=1)) == 0


@settings(derandomize=True, max_examples=150)
@given(seconds=st.floats(min_value=0, max_value=3 * 86400, allow_nan=False))
def test_property_hops_sum_to_the_delay_and_respect_the_sqs_cap(seconds: float) -> None:
    delay = timedelta(seconds=seconds)
    hops = sqs_hops(delay)
    assert all(0 <= hop <= SQS_MAX_DELAY_SECONDS for hop in hops)
    assert 0 <= sum(hops) - delay.total_seconds() < 1
    assert all(hop == SQS_MAX_DELAY_SECONDS for hop in hops[:-1])


@settings(derandomize=True, max_examples=150)
@given(attempt=st.integers(min_value=1, max_value=MAX_ATTEMPTS - 1), seed=st.integers(0, 2**32))
def test_property_chained_sqs_hops_reach_not_before_without_overshooting(attempt: int, seed: int) -> None:
    decision = decide(attempt, 500, NOW, random.Random(seed))
    assert decision.not_before is not None
    at, hops = NOW, 0
    while (delay := sqs_delay(decision.not_before, at)) > 0:
        at += timedelta(seconds=delay)
        hops += 1
    assert decision.not_before <= at < decision.not_before + timedelta(seconds=1)
    assert hops == len(sqs_hops(decision.not_before - NOW))
