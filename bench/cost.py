"""What Keepwell costs per month on AWS at 100, 1,000 and 10,000 customers: measured request counts times
published prices.

    .venv/bin/python -m bench.cost [--customers 200] [--events-per-customer-day 50] [--api-requests-per-customer-day 2]

Measures, through the real code on moto (bench.recalc): a day of scheduled scoring — DynamoDB, SQS and
EventBridge requests, scorer invocations and CPU per customer. Ingestion is priced from bench.ingest's
measured 57 DynamoDB requests per 1,000-event batch (README). Usage that depends on the team is an
assumption, printed with the result: product events per customer-day (`--events-per-customer-day`)
and API requests per customer-day (the console and integrations; `--api-requests-per-customer-day`).

Request units: a DynamoDB read request is priced at 4 read units (items up to 4 KB, several per batch,
an upper bound) and a write request at 8 write units (a transaction writes two items of ~2 KB at twice
the price); snapshots and histories make ~1 MB of storage per customer (90 days). These are stated
upper bounds, not measurements: the request *counts* are measured.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

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
    "eventbridge_event": 1.00 / 1e6,  # custom events put on the bus
    "api_gateway_request": 3.50 / 1e6,  # REST API, first 333 million
    "cloudwatch_alarm_month": 0.10,  # standard resolution
    "logs_gb_ingested": 0.50,
    "xray_trace": 5.00 / 1e6,  # after 100,000 free a month
    "secret_month": 0.40,
}
MEMORY_GB = 0.5  # the template's MemorySize (512 MB)
DAYS = 30
SIZES = (100, 1_000, 10_000)
INGEST_DYNAMODB_PER_BATCH = 57  # bench.ingest: 1,000-event batches (README, "Scoring performance")
ALARMS = 12  # 3 dead-letter queues + 9 functions (template.yaml)
SECRETS = 3  # integration / webhook / Slack secrets of a typical workspace
LOG_BYTES_PER_INVOCATION = 1_500  # START/END/REPORT lines plus one structured line
READ_UNITS_PER_REQUEST, WRITE_UNITS_PER_REQUEST = 4, 8
STORAGE_GB_PER_CUSTOMER = 0.001
READ_OPERATIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


@dataclass(frozen=True)
class Measured:
    """Per customer and scheduled scoring day, through the real scorer on moto."""

    dynamodb_reads: float
    dynamodb_writes: float
    sqs: float
    events: float
    invocations: float
    cpu_seconds: float


def measure(customers: int) -> Measured:
    from bench.recalc import run

    figures = run(customers, daily=True)["daily"]
    n = figures["customers"]
    reads = sum(c for op, c in figures["dynamodb_ops"].items() if op in READ_OPERATIONS)
    writes = figures["dynamodb"] - reads
    # Lambda's SQS poller receives and deletes each batch of 10 (2 requests a batch), billed as SQS requests.
    sqs = figures["sqs"] + 2 * figures["batches"]
    return Measured(reads / n, writes / n, sqs / n, figures["events"] / n, figures["batches"] / n, figures["cpu_s"] / n)


def monthly(customers: int, m: Measured, events_per_day: float, api_per_day: float) -> dict[str, float]:
    scoring_invocations = customers * m.invocations * DAYS + 24 * DAYS  # scorer batches + the hourly schedule
    batches = customers * events_per_day * DAYS / 1_000
    api_requests = customers * api_per_day * DAYS
    invocations = scoring_invocations + batches + api_requests * 1.2  # + authorizer calls (cached 300 s)
    gb_seconds = (customers * m.cpu_seconds * DAYS + batches * 1.0 + api_requests * 0.1) * MEMORY_GB
    reads = customers * m.dynamodb_reads * DAYS + api_requests * 3
    writes = customers * m.dynamodb_writes * DAYS + batches * INGEST_DYNAMODB_PER_BATCH + api_requests * 0.3
    storage = customers * STORAGE_GB_PER_CUSTOMER
    cost = {
        "Lambda": invocations * PRICE["lambda_request"] + gb_seconds * PRICE["lambda_gb_second"],
        "DynamoDB": reads * READ_UNITS_PER_REQUEST * PRICE["dynamodb_read_unit"]
        + writes * WRITE_UNITS_PER_REQUEST * PRICE["dynamodb_write_unit"]
        + storage * (PRICE["dynamodb_gb_month"] + PRICE["dynamodb_pitr_gb_month"]),
        "SQS + EventBridge": customers * DAYS * (m.sqs * PRICE["sqs_request"] + m.events * PRICE["eventbridge_event"]),
        "API Gateway": (api_requests + batches) * PRICE["api_gateway_request"],
        "CloudWatch (alarms, logs)": ALARMS * PRICE["cloudwatch_alarm_month"]
        + invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb_ingested"],
        "X-Ray": max(0.0, invocations - 100_000) * PRICE["xray_trace"],
        "Secrets Manager": SECRETS * PRICE["secret_month"],
    }
    cost["total"] = sum(cost.values())
    return cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200, help="customers scored to measure the counts")
    parser.add_argument("--events-per-customer-day", type=float, default=50.0)
    parser.add_argument("--api-requests-per-customer-day", type=float, default=2.0)
    args = parser.parse_args(argv)
    m = measure(args.customers)
    print()
    print(f"measured per customer and scoring day ({args.customers} customers through the real scorer on moto):")
    print(
        f"  DynamoDB {m.dynamodb_reads:.2f} reads + {m.dynamodb_writes:.2f} writes, SQS {m.sqs:.2f}, "
        f"EventBridge {m.events:.2f}, scorer invocations {m.invocations:.2f}, CPU {m.cpu_seconds * 1000:.0f} ms"
    )
    print(
        f"assumed: {args.events_per_customer_day:g} product events and {args.api_requests_per_customer_day:g} "
        f"API requests per customer-day; prices {PRICES_AS_OF}; Cognito within its free monthly users"
    )
    print()
    table = {n: monthly(n, m, args.events_per_customer_day, args.api_requests_per_customer_day) for n in SIZES}
    print(f"{'USD per month':<28}" + "".join(f"{n:>12,}" for n in SIZES))
    for item in table[SIZES[0]]:
        print(f"{item:<28}" + "".join(f"{table[n][item]:>12.2f}" for n in SIZES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
