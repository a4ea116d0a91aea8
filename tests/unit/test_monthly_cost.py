"""bench/cost.py's monthly bill is priced from what bench.recalc measures, as DynamoDB bills it: the
profile's index entries, the functions each `health.scored` invokes and the ingestion batches' items."""

from __future__ import annotations

from typing import Any

import pytest

from bench.cost import ALARMS, PRICE, SECRETS, ingestion_units, measured_from, monthly


def recalc_figures(*, profile_index_wru: float = 10.0, other_consumers: int = 2) -> dict[str, Any]:
    """What `bench.recalc.run(customers, daily=True)` returns, for 100 customers and its 20 sampled."""
    steady = {
        "customers": 100,
        "cpu_s": 2.0,
        "dynamodb": 200,
        "read_units_per_customer": 5.0,
        "sqs": 30,
        "event_entries": 103,
        "batches": 10,
        "log_bytes_per_customer": 500.0,
        "sample": 20,
        "scorer_profile_wru": 4.0,
        "scorer_profile_index_wru": profile_index_wru,
        "scorer_month_index_wru": 0.0,
        "consumer_events": 20,
        "consumer_dynamodb": 7.0,
        "consumer_read_units": 20.0,
        "consumer_cpu_ms": 100.0,
        "consumer_profile_wru": 2.0,
        "consumer_profile_index_wru": profile_index_wru,
        "consumer_log_bytes": 550.0,
        "other_consumers": {f"F{n}": (1.0, 0.5, 3.0) for n in range(other_consumers)},
    }
    sizes = {"month_write_kb": {"median": 2.25}, "usage_history": {"median": 4_575}}
    return {"daily": {"steady": steady}, "sizes": sizes}


def test_a_scoring_day_counts_the_month_in_its_transaction_the_profile_in_its_indexes_and_the_stored_flags() -> None:
    m = measured_from(recalc_figures())

    # month 2.25 KB x 2 in the transaction, the scorer's profile 4 + 10 in indexes, the flags' 2 + 10
    assert m.write_units == pytest.approx(4.5 + 14 + 12)
    assert m.index_write_units == 20
    # the scorer's 5 read units, and per health.scored the playbooks function's 20 and two others' 0.5
    assert m.read_units == pytest.approx(5 + 20 + 2 * 0.5)
    # a scorer batch per 10 customers, and the three functions every health.scored invokes
    assert m.invocations == pytest.approx(0.1 + 3)
    # the SQS poller's receive and delete of each batch are billed too
    assert m.sqs == pytest.approx((30 + 2 * 10) / 100)


def test_index_entries_and_more_invoked_functions_raise_the_monthly_bill() -> None:
    plain = monthly(1_000, measured_from(recalc_figures(profile_index_wru=0.0, other_consumers=0)), 50, 2)
    indexed = monthly(1_000, measured_from(recalc_figures(profile_index_wru=10.0, other_consumers=0)), 50, 2)
    invoking = monthly(1_000, measured_from(recalc_figures(profile_index_wru=10.0, other_consumers=2)), 50, 2)

    # 20 index units per customer-day more, and 0.3 profile writes per API request with their 10
    extra_units = 1_000 * 30 * (20 + 2 * 0.3 * 10)
    assert indexed["DynamoDB writes"] - plain["DynamoDB writes"] == pytest.approx(
        extra_units * PRICE["dynamodb_write_unit"]
    )
    assert invoking["Lambda"] > indexed["Lambda"] and invoking["DynamoDB reads"] > indexed["DynamoDB reads"]
    assert invoking["total"] == pytest.approx(sum(v for k, v in invoking.items() if k != "total"))


def test_the_bill_grows_with_customers_above_the_fixed_alarms_and_secrets() -> None:
    m = measured_from(recalc_figures())
    small, large = monthly(100, m, 50, 2), monthly(10_000, m, 50, 2)
    fixed = ALARMS * PRICE["cloudwatch_alarm_month"] + SECRETS * PRICE["secret_month"]

    assert small["total"] > fixed
    assert large["DynamoDB writes"] == pytest.approx(100 * small["DynamoDB writes"])
    assert large["total"] - fixed > 50 * (small["total"] - fixed)


def test_an_ingestion_batch_rewrites_the_customers_usage_history_in_its_transaction() -> None:
    writes, reads = ingestion_units(4_575)

    # day item 1 KB and history 5 KB, twice in the transaction; raw events 3 KB; 0.86 timeline items of 1 KB
    assert writes == pytest.approx(2 + 10 + 3 + 0.86)
    # the day item and the history read by key, eventually consistent: half a unit per started 4 KB
    assert reads == 0.5 + 1.0
    assert ingestion_units(40_000)[0] == pytest.approx(2 + 80 + 3 + 0.86)
