"""Ingestion benchmark: 1,000-event batches over 50 customers through the real ingest handler.

    .venv/bin/python -m bench.ingest [--rounds 5] [--profile]

Builds the table from template.yaml on moto (its server, in a process of its own), seeds one workspace with 50
customers and an API key, then posts batches as API Gateway proxy events to the ingest handler
(`functions/ingest/ingest_app.handler`, exactly as Lambda would call it). For each batch it prints:

- DynamoDB requests, counted with botocore's `before-call.dynamodb.*` event on every client
  (pynamodb makes its own botocore clients; each one created gets the hook);
- CPU per event (`time.process_time` around the handler call), in total and without the time spent
  inside botocore's `_make_api_call` (serialising, signing, the HTTP call to moto, parsing) — what
  is left is the handler's own code: Chalice, powertools, pydantic, the domain, pynamodb.

Goals (issue 4): ≤ 60 DynamoDB requests and ≤ 50 µs of the handler's own CPU per event.
A warm-up batch first makes every client and import (a cold start is not what is measured).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

GOAL_REQUESTS = 60
GOAL_CPU_US = 50.0
CUSTOMERS = 50
EVENTS = 1000
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
WORKSPACE = "ws_bench"
EVENT_NAMES = (
    "user_logged_in",
    "dashboard_viewed",
    "report_exported",
    "user_logged_in",
    "alert_created",
    "feature_forecasting_clicked",
    "page_viewed",
)


def _environment() -> None:
    """Fake credentials and the table name, before keepwell's storage models are imported."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        TABLE_NAME="keepwell-local-KeepwellTable",
        STAGE="bench",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",  # no metric lines on stdout
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_SERVICE_NAME="keepwell",
        POWERTOOLS_METRICS_NAMESPACE="Keepwell",
    )
    from infra.resources import planned_settings

    os.environ.update({**planned_settings(), "STAGE": os.environ["STAGE"]})  # the rest the settings require
    for name in ("AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)


@dataclass
class Meter:
    """DynamoDB requests by operation, and CPU seconds spent inside botocore calls."""

    requests: Counter[str]
    sdk_cpu: float = 0.0

    def reset(self) -> None:
        self.requests.clear()
        self.sdk_cpu = 0.0


@contextmanager
def metered() -> Iterator[Meter]:
    """Hook every botocore client created from now on (`before-call.dynamodb.*`) and time
    `BaseClient._make_api_call`."""
    import botocore.client
    import botocore.session

    meter = Meter(Counter())
    original_create = botocore.session.Session.create_client
    base_client: Any = botocore.client.BaseClient  # `_make_api_call` is private: not in the stubs
    original_call = base_client._make_api_call

    def count(event_name: str, **_: Any) -> None:
        meter.requests[event_name.rsplit(".", 1)[-1]] += 1

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original_create(self, *args, **kwargs)
        client.meta.events.register("before-call.dynamodb.*", count)
        return client

    def make_api_call(self: Any, operation: str, params: Any) -> Any:
        started = time.process_time()
        try:
            return original_call(self, operation, params)
        finally:
            meter.sdk_cpu += time.process_time() - started

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    base_client._make_api_call = make_api_call
    try:
        yield meter
    finally:
        botocore.session.Session.create_client = original_create  # type: ignore[method-assign]
        base_client._make_api_call = original_call


def batch(day: date, tag: str, customers: int = CUSTOMERS, events: int = EVENTS) -> list[dict[str, Any]]:
    """`events` realistic events spread over `customers` customers on `day` (20 each by default)."""
    out = []
    for n in range(events):
        customer = n % customers
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(seconds=(n * 37) % 32_000)
        event: dict[str, Any] = {
            "event_id": f"{tag}-{n:05d}",
            "event": EVENT_NAMES[n % len(EVENT_NAMES)],
            "user_id": f"user-{customer}-{n % 9}",
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "properties": {"plan": "business", "source": "web"} if n % 3 else {},
        }
        if n % 2:
            event["customer_external_id"] = f"crm-{customer:03d}"
        else:
            event["customer_domain"] = f"bench-customer-{customer}.example"
        out.append(event)
    return out


@dataclass
class Figures:
    label: str
    events: int
    requests: Counter[str]
    cpu: float
    sdk_cpu: float
    answer: dict[str, Any]

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def per_event_us(self, seconds: float) -> float:
        return seconds / self.events * 1e6

    @property
    def own_cpu(self) -> float:
        return self.cpu - self.sdk_cpu


Post = Callable[..., Figures]


@contextmanager
def moto_server() -> Iterator[str]:
    """Moto's server in its own process, so its work (and its garbage) is not this process's CPU."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a busy server can ignore SIGTERM: never leave it running
            server.kill()
            server.wait(timeout=10)


@contextmanager
def workspace_on_moto() -> Iterator[tuple[Meter, Post]]:
    """Moto (a server in another process) with the template's table, a workspace of 50 customers and
    an API key; yields the meter and `post(events, label, profiler=None)`, which calls the ingest
    handler with a proxy event."""
    _environment()
    import boto3

    with metered() as meter, moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        from infra.apigw import match_route, proxy_event
        from infra.functions import FakeLambdaContext, load_handler
        from infra.resources import create_stack_resources
        from infra.template import function_environment, load_template
        from keepwell import clock
        from keepwell.domain.customers import Customer
        from keepwell.services.api_keys import create_api_key
        from keepwell.settings import reset_settings
        from keepwell.storage import customers as customer_store
        from keepwell.storage import workspaces

        resolver = create_stack_resources(boto3.Session(region_name="us-east-1"))
        os.environ.update(function_environment(load_template(), "IngestFunction", resolver))
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        reset_settings()
        with clock.frozen(NOW):
            workspaces.create_workspace(WORKSPACE, "Bench")
            customer_store.put_customers_batch(
                WORKSPACE,
                (
                    Customer(
                        customer_id=f"cus_bench{n:04d}",
                        workspace_id=WORKSPACE,
                        name=f"Bench customer {n}",
                        domain=f"bench-customer-{n}.example",
                        external_id=f"crm-{n:03d}",
                        seats=40,
                        created_at="2026-01-01T00:00:00.000Z",
                        updated_at="2026-01-01T00:00:00.000Z",
                    )
                    for n in range(CUSTOMERS)
                ),
            )
            api_key = create_api_key(WORKSPACE, "bench", "bench")[1]
        handler = load_handler("IngestFunction")
        logging.getLogger("keepwell").setLevel(logging.WARNING)  # one INFO line per batch otherwise
        matched = match_route("POST", "/v1/events")
        assert matched is not None
        route = matched[0]
        headers = {"Content-Type": "application/json", "X-Api-Key": api_key}

        def post(events: list[dict[str, Any]], label: str, profiler: cProfile.Profile | None = None) -> Figures:
            event = proxy_event(route, "/v1/events", None, "", headers, json.dumps({"events": events}))
            context = FakeLambdaContext("IngestFunction")
            meter.reset()
            with clock.frozen(NOW):
                started = time.process_time()
                if profiler is not None:
                    profiler.enable()
                result = handler(event, context)
                if profiler is not None:
                    profiler.disable()
                cpu = time.process_time() - started
            assert result["statusCode"] == 200, result["body"]
            return Figures(label, len(events), Counter(meter.requests), cpu, meter.sdk_cpu, json.loads(result["body"]))

        yield meter, post


def print_item_sizes() -> None:
    """Sizes (as DynamoDB counts them) of what a commit writes for one customer: its day items, its raw
    events items (one per customer, day and batch) and its usage history; for docs/cost.md."""
    from bench.recalc import item_size
    from keepwell.storage import keys
    from keepwell.storage.models import TableItem

    table = TableItem._get_connection()  # the handler's own connection (moto server's endpoint)
    sizes: dict[str, list[int]] = {}
    for n in range(CUSTOMERS):
        start: dict[str, Any] | None = None
        while True:
            page = table.query(keys.customer_partition(WORKSPACE, f"cus_bench{n:04d}"), exclusive_start_key=start)
            for item in page.get("Items", []):
                kind = item["sk"]["S"].split("#", 1)[0]
                sizes.setdefault(kind, []).append(item_size(item))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    print()
    print(f"item sizes after the run, bytes as DynamoDB counts them ({CUSTOMERS} customers):")
    for kind, values in sorted(sizes.items()):
        print(f"  {kind:<10} n={len(values):<5} median {statistics.median(values):>8,.0f}  max {max(values):>8,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured batches on new customer-days")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one batch (own code)")
    args = parser.parse_args(argv)

    with workspace_on_moto() as (_meter, post):
        from keepwell.domain.ingestion import validate_events

        today = NOW.date()
        post(batch(today - timedelta(days=60), "warm", events=100), "warm-up")
        rounds = [post(batch(today - timedelta(days=k), f"r{k}"), f"new days #{k}") for k in range(args.rounds)]
        existing = post(batch(today, "more"), "days already counted")
        repeat = post(batch(today, "r0"), "same batch again")

        raw = batch(today - timedelta(days=30), "v")
        started = time.process_time()
        repeats = 5
        for _ in range(repeats):
            validate_events(raw, NOW)
        validation_us = (time.process_time() - started) / repeats / len(raw) * 1e6

        print(f"ingest bench: {EVENTS} events over {CUSTOMERS} customers per batch, ingest handler on moto server")
        print()
        print(f"{'batch':<24}{'accepted':>9}{'dupes':>7}{'DynamoDB req':>14}{'CPU µs/ev':>11}{'own µs/ev':>11}")
        for figures in [*rounds, existing, repeat]:
            print(
                f"{figures.label:<24}{figures.answer['accepted']:>9}{figures.answer['duplicates']:>7}"
                f"{figures.total_requests:>14}{figures.per_event_us(figures.cpu):>11.1f}"
                f"{figures.per_event_us(figures.own_cpu):>11.1f}"
            )
        first = rounds[0]
        print()
        print(
            "requests of one batch on new days: " + ", ".join(f"{op} {n}" for op, n in sorted(first.requests.items()))
        )
        own_all = [f.per_event_us(f.own_cpu) for f in rounds]
        own, own_best = statistics.median(own_all), min(own_all)
        total = statistics.median(f.per_event_us(f.cpu) for f in rounds)
        print(f"per-event validation alone (domain.validate_events): {validation_us:.1f} µs")
        print()
        print(f"events per batch:            {EVENTS}")
        print(
            f"DynamoDB requests per batch: {first.total_requests} "
            f"(goal ≤ {GOAL_REQUESTS}: {'met' if first.total_requests <= GOAL_REQUESTS else 'NOT met'})"
        )
        print(
            f"CPU per event, own code:     {own:.1f} µs median of {len(rounds)}, best {own_best:.1f} "
            f"(goal ≤ {GOAL_CPU_US:.0f} µs: {'met' if own <= GOAL_CPU_US else 'NOT met'})"
        )
        print(f"CPU per event, with botocore (HTTP to moto included): {total:.1f} µs")
        load = os.getloadavg()[0]
        print(
            f"load average while measuring: {load:.2f} on {os.cpu_count()} CPUs (CPU time inflates on a busy machine)"
        )

        print_item_sizes()

        if args.profile:
            profiler = cProfile.Profile()
            post(batch(today - timedelta(days=80), "p"), "profiled", profiler)
            print()
            own_code = r"keepwell|ingest_app|pynamodb|chalice|pydantic|powertools|json|hashlib"
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(own_code, 60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
