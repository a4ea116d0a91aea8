"""Full recalculation benchmark: N customers with 90 days of history, recomputed through the real code.

    .venv/bin/python -m bench.recalc --customers 1000

Seeds a workspace on an in-process moto (the same backend the local stack's moto server runs): the demo
generator's customers (infra/seed.py) with 90 days of daily product metrics and their signal logs,
bulk-written. Then, timed: `start_recalculation` (what `POST /v1/health/recalculate` calls), and the
scoring queue drained by invoking the template's scorer handler with SQS batch events of 10, exactly as
the local stack's poller does (fan-out pages included). Prints wall seconds, customers per second,
DynamoDB and SQS requests per customer (counted with a botocore event hook), and peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any

os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    TABLE_NAME="keepwell-local-KeepwellTable",
    STAGE="local",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="Keepwell",
    POWERTOOLS_SERVICE_NAME="keepwell",
    POWERTOOLS_LOG_LEVEL="WARNING",
    POWERTOOLS_METRICS_DISABLED="true",
)
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from botocore.client import BaseClient
from botocore.hooks import HierarchicalEmitter

TODAY = date(2026, 11, 20)
WORKSPACE = "ws_demo"
ADMIN = "usr_admin"


# --- counting AWS requests --------------------------------------------------------------------------
@dataclass
class RequestCounter:
    """AWS API calls by (service, operation), counted on botocore's `before-call` event: once per call
    whatever the retries, for every client (pynamodb's and boto3's alike)."""

    calls: Counter[tuple[str, str]]
    inside_seconds: float = 0.0  # CPU time spent inside AWS calls (signing, moto, parsing)

    def total(self, service: str) -> int:
        return sum(n for (s, _), n in self.calls.items() if s == service)

    def operations(self, service: str) -> dict[str, int]:
        return {op: n for (s, op), n in sorted(self.calls.items()) if s == service}


@contextmanager
def count_aws_requests() -> Iterator[RequestCounter]:
    counter = RequestCounter(Counter())
    original_until = HierarchicalEmitter.emit_until_response

    def emit_until_response(self: HierarchicalEmitter, event_name: str, **kwargs: Any) -> Any:
        if event_name.startswith("before-call."):  # botocore emits it this way, once per API call
            _, service, operation = event_name.split(".", 2)
            counter.calls[(service, operation)] += 1
        return original_until(self, event_name, **kwargs)

    original_call = BaseClient._make_api_call  # type: ignore[attr-defined]
    depth = [0]

    def make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        started = time.process_time()
        depth[0] += 1
        try:
            return original_call(self, operation_name, api_params)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                counter.inside_seconds += time.process_time() - started

    HierarchicalEmitter.emit_until_response = emit_until_response  # type: ignore[method-assign]
    BaseClient._make_api_call = make_api_call  # type: ignore[attr-defined]
    try:
        yield counter
    finally:
        HierarchicalEmitter.emit_until_response = original_until  # type: ignore[method-assign]
        BaseClient._make_api_call = original_call  # type: ignore[attr-defined]


# --- seeding ------------------------------------------------------------------------------------------
def write_metrics_days(workspace_id: str, days: dict[str, list[Any]]) -> int:
    """Daily product metrics items as ingestion leaves them (one per customer-day), bulk-written."""
    from keepwell.storage import keys
    from keepwell.storage.metrics import DailyMetricsItem

    written = 0
    with DailyMetricsItem.batch_write() as batch:
        for customer_id, usage in days.items():
            for day in usage:
                key = keys.daily_metrics(workspace_id, customer_id, day.day)
                batch.save(
                    DailyMetricsItem(
                        key.pk,
                        key.sk,
                        entity="daily_metrics",
                        workspace_id=workspace_id,
                        customer_id=customer_id,
                        day=day.day.isoformat(),
                        events=day.logins,
                        logins=day.logins,
                        event_counts={"login": day.logins} if day.logins else {},
                        active_users=set(day.users) or None,
                        features=set(day.features) or None,
                        version=1,
                    )
                )
                written += 1
    return written


def seed_workspace(customers: int, today: date = TODAY) -> list[str]:
    """The demo generator's workspace with `customers` customers: profiles, 90 days of metrics and the
    signal logs folded from their timelines (the timeline items themselves are not needed to score)."""
    from infra.seed import DEMO_USERS, generate_demo
    from keepwell import clock
    from keepwell.domain import signal_log
    from keepwell.storage import customers as customer_store
    from keepwell.storage import signal_logs, workspaces

    data = generate_demo(today, customers=customers, other_customers=0)
    demo = data.demo
    with clock.frozen(datetime.combine(today, clock_time(6, 0), UTC)):
        workspaces.create_workspace(demo.workspace_id, demo.name)
        for user_id, role, name in DEMO_USERS:
            workspaces.put_user(demo.workspace_id, user_id, f"{user_id}@demo.test", name, role)
    customer_store.put_customers_batch(demo.workspace_id, (c.customer for c in demo.customers))
    write_metrics_days(demo.workspace_id, {c.customer.customer_id: c.usage for c in demo.customers})
    logs = {}
    for item in demo.customers:
        log = signal_log.SignalLog()
        signal_log.fold(log, item.timeline)
        logs[item.customer.customer_id] = log
    signal_logs.put_signal_logs(demo.workspace_id, logs, clock.iso(datetime.combine(today, clock_time(6, 0), UTC)))
    return [c.customer.customer_id for c in demo.customers]


# --- draining the scoring queue through the real handler ----------------------------------------------
def drain_scoring_queue(max_batches: int = 1_000_000) -> tuple[int, int]:
    """Receive batches of up to 10 and invoke the template's scorer with them (as the local poller
    does, without its batching window) until the queue is empty. Returns (batches, failed records)."""
    import boto3

    from infra.invoker import Invoker
    from infra.pollers import QueuePoller, sqs_event_sources
    from infra.template import load_template

    template = load_template()
    resolver = _RESOLVER
    source = next(s for s in sqs_event_sources(template, resolver) if s.function_id == "ScorerFunction")
    poller = QueuePoller(
        replace(source, batching_window_s=0.0), boto3.client("sqs", region_name="us-east-1"), Invoker()
    )
    batches = 0
    while batches < max_batches and poller.poll_once(wait_seconds=0):
        batches += 1
    return batches, poller.stats.failed


_RESOLVER: Any = None


def run(customers: int) -> dict[str, Any]:
    global _RESOLVER
    import boto3
    from moto import mock_aws

    from infra.resources import create_stack_resources
    from infra.template import function_environment, load_template

    with mock_aws():
        _RESOLVER = create_stack_resources(boto3.Session(region_name="us-east-1"))
        os.environ.update(function_environment(load_template(), "ScorerFunction", _RESOLVER))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one line per customer would be the benchmark
        from infra.local import reset_aws_clients
        from keepwell import clock

        reset_aws_clients()
        started = time.perf_counter()
        customer_ids = seed_workspace(customers)
        seeded = time.perf_counter() - started
        print(f"seeded {len(customer_ids)} customers with 90 days of history in {seeded:.1f}s", flush=True)

        from keepwell.services.recalculation import start_recalculation
        from keepwell.storage import health_snapshots, recalculations

        with clock.frozen(datetime.combine(TODAY, clock_time(9, 30), UTC)), count_aws_requests() as counter:
            started, cpu_started = time.perf_counter(), time.process_time()
            job = start_recalculation(WORKSPACE, ADMIN, "manual")
            batches, failed = drain_scoring_queue()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        finished = recalculations.get_job(WORKSPACE, job["job_id"])
        assert finished is not None
        sample = health_snapshots.get_snapshots(WORKSPACE, customer_ids[0], date(2026, 8, 23), TODAY)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "customers": len(customer_ids),
        "wall_s": wall,
        "cpu_s": cpu,
        "aws_cpu_s": counter.inside_seconds,
        "customers_per_s": len(customer_ids) / wall,
        "dynamodb": counter.total("dynamodb"),
        "dynamodb_ops": counter.operations("dynamodb"),
        "sqs": counter.total("sqs"),
        "sqs_ops": counter.operations("sqs"),
        "events": counter.total("eventbridge"),
        "batches": batches,
        "failed_records": failed,
        "job": finished,
        "history_days_of_first_customer": len(sample),
        "peak_rss_mb": peak_mb,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recalc", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    args = parser.parse_args(argv)
    figures = run(args.customers)
    n = figures["customers"]
    job = figures["job"]
    print(f"recalculated {n} customers x 90 days: job {job.status}, done {job.done}, failed {job.failed}")
    print(f"  wall                 {figures['wall_s']:.1f} s")
    print(f"  customers/s          {figures['customers_per_s']:.1f}")
    print(
        f"  CPU per customer     {figures['cpu_s'] / n * 1000:.0f} ms, of which "
        f"{figures['aws_cpu_s'] / n * 1000:.0f} ms inside AWS calls (botocore + the moto backend)"
    )
    print(f"  DynamoDB requests    {figures['dynamodb']} ({figures['dynamodb'] / n:.2f} per customer)")
    print(f"    by operation       {figures['dynamodb_ops']}")
    print(f"  SQS requests         {figures['sqs']} ({figures['sqs'] / n:.2f} per customer) {figures['sqs_ops']}")
    print(f"  EventBridge requests {figures['events']}")
    print(f"  scorer batches       {figures['batches']} (failed records {figures['failed_records']})")
    print(f"  history of one customer: {figures['history_days_of_first_customer']} daily snapshots")
    print(f"  peak memory (RSS)    {figures['peak_rss_mb']:.0f} MB")
    return 0 if job.status == "finished" and job.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
