"""What Keepwell costs per month on AWS at 100, 1,000 and 10,000 customers: what the real code is
measured to do, priced as AWS bills it.

    .venv/bin/python -m bench.cost [--customers 200] [--events-per-customer-day 50] [--api-requests-per-customer-day 2]

Measured, through the real code on moto (`bench.recalc --daily --day-items`, its steady state: the
second day of scheduled scoring, when every profile carries its stored flags; the metric day items
seeded as ingestion leaves them, which the stored flags read), per customer and day:
- DynamoDB write units as bench/billing.py prices them from the items before and after each write:
  the scorer's transaction (the month item, at its billed size averaged over its month, and the
  profile) and the profile's entries in the table's indexes (template.yaml), and the playbooks
  function's write of the stored flags with its index entries;
- read units of the scorer and of every function a template.yaml rule invokes with `health.scored`
  (bench/billing.read_units on what each read answered);
- scorer batches and those functions' invocations, their CPU (moto's own work included: an upper
  bound) and DynamoDB round trips, SQS requests, bus entries, and the INFO log bytes they write;
- the usage history's size, which every ingestion batch rewrites.
Ingestion's other items (the day item, raw events, timeline) are bench.ingest's measured sizes and
request count, priced with the same rules (its items are in no index).

Assumed, and printed with the result: product events per customer-day (`--events-per-customer-day`,
sent in bench.ingest's 1,000-event batches over 50 customers) and API requests per customer-day (the
console and integrations; `--api-requests-per-customer-day`), each reading ~10 read units and writing
a profile 3 times in 10; ~10 ms of Lambda time per DynamoDB round trip; Lambda's own log lines;
which invocations X-Ray samples; storage per customer. docs/cost.md prices the same measurements per
day at 1,000 to 1,000,000 customers.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from bench.billing import item_write_units, key_read_units

# us-east-1 list prices (USD) from the AWS public price pages, as of 2025-10-01 (DynamoDB on-demand
# after the November 2024 reduction). Re-check them for your region before budgeting.
PRICES_AS_OF = "2025-10-01, us-east-1"
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86_64
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,  # point-in-time recovery (enabled in the template)
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "eventbridge_event": 1.00 / 1e6,  # custom events put on the bus, per entry (64 KB chunk)
    "api_gateway_request": 3.50 / 1e6,  # REST API, first 333 million
    "cloudwatch_alarm_month": 0.10,  # standard resolution
    "logs_gb_ingested": 0.50,
    "xray_trace": 5.00 / 1e6,  # after 100,000 free a month
    "secret_month": 0.40,
}
MEMORY_GB = 0.5  # the template's MemorySize (512 MB)
DAYS = 30
SIZES = (100, 1_000, 10_000)
ALARMS = 12  # 3 dead-letter queues + 9 functions (template.yaml)
SECRETS = 3  # integration / webhook / Slack secrets of a typical workspace

# Ingestion, measured by bench.ingest (6 December 2026; README "Scoring performance", docs/cost.md):
# 1,000-event batches over 50 customers, 57 DynamoDB requests and ~150 µs of CPU per event; what each
# customer-batch writes besides its usage history (measured here): its day item (in the transaction
# with the history), a raw events item and 0.86 timeline items, sizes as DynamoDB counts them.
INGEST_EVENTS_PER_BATCH, INGEST_CUSTOMERS_PER_BATCH = 1_000, 50
INGEST_DYNAMODB_PER_BATCH = 57
INGEST_CPU_S_PER_EVENT = 150e-6
INGEST_DAY_ITEM_BYTES, INGEST_RAW_EVENTS_BYTES, INGEST_TIMELINE_BYTES = 939, 2_633, 743
INGEST_TIMELINE_ITEMS = 0.86

# Assumptions (printed with the result).
ROUND_TRIP_S = 0.010  # Lambda time per DynamoDB request, besides the CPU measured on moto
API_READ_UNITS = 10.0  # per API request (docs/cost.md: screens read 1-3 requests, ~10 RRU)
API_PROFILE_WRITES = 0.3  # profile writes per API request (each priced as the stored flags' measured write)
API_SECONDS = 0.1  # Lambda time per API request
AUTHORIZER_CALLS = 0.2  # per API request (its answer is cached 300 s per token)
PLATFORM_LOG_BYTES = 350  # Lambda's START, END and REPORT lines per invocation
XRAY_SAMPLED = 0.05  # share of scoring and ingestion invocations traced (bursts: the default rule's 5%)
STORAGE_GB_PER_CUSTOMER = 0.00115  # ~1.15 MB after a year: histories, snapshots, timeline (docs/cost.md)


@dataclass(frozen=True)
class Measured:
    """Per customer and scheduled scoring day, steady state, through the real code on moto."""

    write_units: float  # the scorer's and the stored flags' writes, index entries included
    index_write_units: float  # of which in the table's indexes
    profile_write_units: float  # one write of the profile (the stored flags'), index entries included
    read_units: float  # the scorer and every function health.scored invokes
    invocations: float  # scorer batches + the functions health.scored invokes
    cpu_seconds: float  # the same (moto's own work included: an upper bound)
    dynamodb_requests: float  # the same functions' DynamoDB round trips
    sqs: float  # sends, and the Lambda poller's receive and delete per batch of 10
    bus_entries: float  # billed per entry
    log_bytes: float  # the INFO lines of the scorer and of the functions health.scored invokes
    usage_history_bytes: float  # median; every ingestion batch rewrites it


def measured_from(figures: dict[str, Any]) -> Measured:
    """Per customer-day figures from `bench.recalc.run(..., daily=True)`: its steady day, and its item
    sizes (the month item's write averaged over its month, the usage history)."""
    day = figures["daily"]["steady"]
    n = max(day["customers"], 1)
    month_kb = figures["sizes"]["month_write_kb"]["median"]
    scorer = (
        month_kb * item_write_units(1024, transaction=True)  # billed KB averaged over the month, in a transaction
        + day["scorer_month_index_wru"]
        + day["scorer_profile_wru"]
        + day["scorer_profile_index_wru"]
    )
    flags = day["consumer_profile_wru"] + day["consumer_profile_index_wru"]
    indexes = day["scorer_month_index_wru"] + day["scorer_profile_index_wru"] + day["consumer_profile_index_wru"]
    scored = day["consumer_events"] / max(day["sample"], 1)  # health.scored per customer scored
    others = day["other_consumers"].values()  # (AWS requests, read units, CPU ms) per event
    return Measured(
        write_units=scorer + flags,
        index_write_units=indexes,
        profile_write_units=flags,
        read_units=day["read_units_per_customer"] + scored * (day["consumer_read_units"] + sum(o[1] for o in others)),
        invocations=day["batches"] / n + scored * (1 + len(day["other_consumers"])),
        cpu_seconds=day["cpu_s"] / n + scored * (day["consumer_cpu_ms"] + sum(o[2] for o in others)) / 1000,
        dynamodb_requests=day["dynamodb"] / n + scored * (day["consumer_dynamodb"] + sum(o[0] for o in others)),
        sqs=(day["sqs"] + 2 * day["batches"]) / n,
        bus_entries=day["event_entries"] / n,
        log_bytes=day["log_bytes_per_customer"] + scored * day["consumer_log_bytes"],
        usage_history_bytes=figures["sizes"]["usage_history"]["median"],
    )


def measure(customers: int) -> Measured:
    from bench.recalc import run

    return measured_from(run(customers, daily=True, day_items=True))


def ingestion_units(usage_history_bytes: float) -> tuple[float, float]:
    """Write and read units of one customer's share of an ingestion batch: its day item and usage
    history read (eventually consistent) and written in one transaction, its raw events item and
    timeline items written (none of them in an index)."""
    writes = (
        item_write_units(INGEST_DAY_ITEM_BYTES, transaction=True)
        + item_write_units(usage_history_bytes, transaction=True)
        + item_write_units(INGEST_RAW_EVENTS_BYTES, transaction=False)
        + INGEST_TIMELINE_ITEMS * item_write_units(INGEST_TIMELINE_BYTES, transaction=False)
    )
    reads = key_read_units(INGEST_DAY_ITEM_BYTES, consistent=False) + key_read_units(
        usage_history_bytes, consistent=False
    )
    return writes, reads


def monthly(customers: int, m: Measured, events_per_day: float, api_per_day: float) -> dict[str, float]:
    customer_days = customers * DAYS
    batches = customer_days * events_per_day / INGEST_EVENTS_PER_BATCH
    customer_batches = batches * INGEST_CUSTOMERS_PER_BATCH
    ingest_writes, ingest_reads = ingestion_units(m.usage_history_bytes)
    api_requests = customer_days * api_per_day
    scoring_invocations = customer_days * m.invocations + 24 * DAYS  # + the hourly schedule
    api_invocations = api_requests * (1 + AUTHORIZER_CALLS)
    invocations = scoring_invocations + batches + api_invocations
    gb_seconds = MEMORY_GB * (
        customer_days * (m.cpu_seconds + m.dynamodb_requests * ROUND_TRIP_S)
        + batches * (INGEST_EVENTS_PER_BATCH * INGEST_CPU_S_PER_EVENT + INGEST_DYNAMODB_PER_BATCH * ROUND_TRIP_S)
        + api_requests * API_SECONDS
    )
    write_units = (
        customer_days * m.write_units
        + customer_batches * ingest_writes
        + api_requests * API_PROFILE_WRITES * m.profile_write_units
    )
    read_units = customer_days * m.read_units + customer_batches * ingest_reads + api_requests * API_READ_UNITS
    storage = customers * STORAGE_GB_PER_CUSTOMER
    log_bytes = customer_days * m.log_bytes + invocations * PLATFORM_LOG_BYTES
    traces = api_requests + XRAY_SAMPLED * (scoring_invocations + batches)
    cost = {
        "Lambda": invocations * PRICE["lambda_request"] + gb_seconds * PRICE["lambda_gb_second"],
        "DynamoDB writes": write_units * PRICE["dynamodb_write_unit"],
        "DynamoDB reads": read_units * PRICE["dynamodb_read_unit"],
        "DynamoDB storage (+PITR)": storage * (PRICE["dynamodb_gb_month"] + PRICE["dynamodb_pitr_gb_month"]),
        "SQS + EventBridge": customer_days * m.sqs * PRICE["sqs_request"]
        + customer_days * m.bus_entries * PRICE["eventbridge_event"],
        "API Gateway": (api_requests + batches) * PRICE["api_gateway_request"],
        "CloudWatch (alarms, logs)": ALARMS * PRICE["cloudwatch_alarm_month"]
        + log_bytes / 1e9 * PRICE["logs_gb_ingested"],
        "X-Ray": max(0.0, traces - 100_000) * PRICE["xray_trace"],
        "Secrets Manager": SECRETS * PRICE["secret_month"],
    }
    cost["total"] = sum(cost.values())
    return cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200, help="customers scored to measure the figures")
    parser.add_argument("--events-per-customer-day", type=float, default=50.0)
    parser.add_argument("--api-requests-per-customer-day", type=float, default=2.0)
    args = parser.parse_args(argv)
    m = measure(args.customers)
    ingest_writes, ingest_reads = ingestion_units(m.usage_history_bytes)
    per_batch = args.events_per_customer_day / (INGEST_EVENTS_PER_BATCH / INGEST_CUSTOMERS_PER_BATCH)
    print()
    print(
        f"measured per customer and scoring day ({args.customers} customers through the real code on moto, "
        f"steady state; bench.recalc --daily --day-items; load average {os.getloadavg()[0]:.1f}):"
    )
    print(
        f"  DynamoDB {m.write_units:.2f} write units ({m.index_write_units:.2f} of them index entries; "
        f"a profile write {m.profile_write_units:.2f}), {m.read_units:.2f} read units, "
        f"{m.dynamodb_requests:.2f} requests"
    )
    print(
        f"  Lambda {m.invocations:.2f} invocations (scorer batches and what health.scored invokes), "
        f"{m.cpu_seconds * 1000:.0f} ms CPU; SQS {m.sqs:.2f} requests, {m.bus_entries:.2f} bus entries, "
        f"logs {m.log_bytes:,.0f} B"
    )
    print(
        f"  ingestion per customer-batch: {ingest_writes:.2f} write units, {ingest_reads:.2f} read units "
        f"(usage history {m.usage_history_bytes:,.0f} B measured here; day, raw events and timeline items "
        f"bench.ingest's); {per_batch:g} customer-batches a customer-day"
    )
    print(
        f"assumed: {args.events_per_customer_day:g} product events and {args.api_requests_per_customer_day:g} "
        f"API requests per customer-day (each {API_READ_UNITS:g} read units, {API_PROFILE_WRITES:g} profile writes, "
        f"{API_SECONDS * 1000:.0f} ms); {ROUND_TRIP_S * 1000:.0f} ms per DynamoDB round trip; "
        f"{PLATFORM_LOG_BYTES} B of Lambda's own log lines per invocation; X-Ray traces every API request and "
        f"{XRAY_SAMPLED:.0%} of the rest; {STORAGE_GB_PER_CUSTOMER * 1000:.2f} MB stored per customer; "
        f"prices {PRICES_AS_OF}; Cognito within its free monthly users"
    )
    print()
    table = {n: monthly(n, m, args.events_per_customer_day, args.api_requests_per_customer_day) for n in SIZES}
    print(f"{'USD per month':<28}" + "".join(f"{n:>12,}" for n in SIZES))
    for item in table[SIZES[0]]:
        print(f"{item:<28}" + "".join(f"{table[n][item]:>12.2f}" for n in SIZES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
