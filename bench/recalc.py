"""Full recalculation benchmark: N customers with 90 days of history, recomputed through the real code.

    .venv/bin/python -m bench.recalc --customers 1000 [--daily] [--day-items]

Seeds a workspace on an in-process moto (the same backend the local stack's moto server runs, with the
same patches of infra/moto_patches.py that the local stack and the tests install): the demo
generator's customers (infra/seed.py) with 90 days of product usage (their usage histories, what scoring
reads; `--day-items` also writes the day items, ~15 times slower) and their signal logs, bulk-written.
Then, timed: `start_recalculation` (what `POST /v1/health/recalculate` calls), and the scoring queue
drained by invoking the template's scorer handler with SQS batch events of 10, exactly as the local
stack's poller does (fan-out pages included). Prints wall seconds, customers per second, CPU per
customer (and how much of it was inside AWS calls, and in the garbage collector), DynamoDB and SQS
requests per customer (counted with a botocore event hook), and peak memory.
`--daily` then scores the next day of every customer as the hourly schedule queues it, and prints the
DynamoDB requests per customer of that routine scoring (goal ≤ 2), and the sizes of the items scoring
reads and writes; what DynamoDB bills for them (write units with the table's index entries, read units:
bench/billing.py), bus entries and log bytes per customer; and what the `health.scored` events set off in
the functions the template's rules invoke with them (the stored flags' profile write among them). Then
the same for the day after, when the profiles carry their flags: the steady state docs/cost.md prices.
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from bench.billing import item_size, read_units  # item_size: tests and bench.ingest import it from here
from infra.resources import planned_settings  # imports no keepwell

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
os.environ.update(planned_settings())  # the rest the settings require

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
    event_entries: int = 0  # events put on the bus (PutEvents entries; EventBridge bills each)
    event_bytes: int = 0  # their size as EventBridge counts it (billed per 64 KB chunk of an entry)
    keys_read: Counter[str] = field(default_factory=Counter)  # keys asked for by BatchGetItem / GetItem
    read_units: float = 0.0  # DynamoDB read units of the reads (bench/billing.read_units)
    entries: list[dict[str, Any]] = field(default_factory=list)  # the PutEvents entries, as sent

    def scored_events(self, customer_ids: set[str]) -> list[dict[str, Any]]:
        """The `health.scored` entries sent for these customers."""
        import json

        return [
            e
            for e in self.entries
            if e.get("DetailType") == "health.scored" and json.loads(e["Detail"]).get("customer_id") in customer_ids
        ]

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
        if depth[0] == 1:
            if operation_name == "PutEvents":
                counter.event_entries += len(api_params.get("Entries", []))
                counter.entries += api_params.get("Entries", [])
                counter.event_bytes += sum(_entry_size(e) for e in api_params.get("Entries", []))
            elif operation_name == "BatchGetItem":
                counter.keys_read[operation_name] += sum(len(r["Keys"]) for r in api_params["RequestItems"].values())
            elif operation_name == "GetItem":
                counter.keys_read[operation_name] += 1
        try:
            response = original_call(self, operation_name, api_params)
            if depth[0] == 1 and operation_name in ("GetItem", "BatchGetItem", "Query", "Scan"):
                counter.read_units += read_units(operation_name, api_params, response)
            return response
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


def _entry_size(entry: dict[str, Any]) -> int:
    """A PutEvents entry's size as EventBridge counts it (its Source, DetailType, Detail, Resources)."""
    return sum(len(str(entry.get(k, "")).encode()) for k in ("Source", "DetailType", "Detail")) + sum(
        len(r.encode()) for r in entry.get("Resources", [])
    )


@dataclass
class CollectorTime:
    """CPU seconds in the cyclic garbage collector, still counted in the CPU per customer. Its full
    collections rescan every live object: botocore's service models (one copy per pynamodb model
    class), as in Lambda, but here also moto's tables (~10 objects per snapshot written), which a
    Lambda scorer's heap does not hold. A collection runs wherever an allocation triggers it, so this
    overlaps the time inside AWS calls."""

    seconds: float = 0.0


@contextmanager
def time_collector() -> Iterator[CollectorTime]:
    spent = CollectorTime()
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent.seconds += time.process_time() - started[0]

    gc.callbacks.append(callback)
    try:
        yield spent
    finally:
        gc.callbacks.remove(callback)


# --- seeding ------------------------------------------------------------------------------------------
def write_metrics_days(workspace_id: str, days: dict[str, list[Any]], *, day_items: bool = True) -> int:
    """Daily product metrics as an import leaves them (`metrics.put_imported_days`): one item per
    customer-day, bulk-written, and each customer's usage history set to those days. Without
    `day_items`, only the usage histories (all that scoring reads): the benchmark's seed is then
    ~15 times faster and lighter, and scoring costs the same (it reads no day item)."""
    from keepwell.domain.ingestion import DayActivity
    from keepwell.storage import metrics

    activities = {
        customer_id: [
            (
                day.day,
                DayActivity(
                    events=day.logins,
                    logins=day.logins,
                    event_counts={"login": day.logins} if day.logins else {},
                    users=frozenset(day.users),
                    features=frozenset(day.features),
                ),
            )
            for day in usage
        ]
        for customer_id, usage in days.items()
    }
    if not day_items:
        metrics.import_into_histories(workspace_id, activities)
        return sum(len(changes) for changes in activities.values())
    return metrics.put_imported_days(
        workspace_id,
        ((customer_id, day, activity) for customer_id, changes in activities.items() for day, activity in changes),
    )


GENERATED_CUSTOMERS = 1000  # beyond this, the generated customers are cloned (generating is the slow part)


def seed_workspace(customers: int, today: date = TODAY, *, day_items: bool = False) -> list[str]:
    """The demo generator's workspace with `customers` customers: profiles, 90 days of usage (the usage
    histories; the day items too with `day_items`) and the signal logs folded from their timelines
    (the timeline items themselves are not needed to score). Past GENERATED_CUSTOMERS, the generated
    customers are repeated under new ids, names, domains and external ids."""
    from infra.seed import DEMO_USERS, generate_demo
    from keepwell import clock
    from keepwell.domain import signal_log
    from keepwell.storage import customers as customer_store
    from keepwell.storage import signal_logs, workspaces

    data = generate_demo(today, customers=min(customers, GENERATED_CUSTOMERS), other_customers=0)
    demo = data.demo
    with clock.frozen(datetime.combine(today, clock_time(6, 0), UTC)):
        workspaces.create_workspace(demo.workspace_id, demo.name)
        for user_id, role, name in DEMO_USERS:
            workspaces.put_user(demo.workspace_id, user_id, f"{user_id}@demo.test", name, role)
    logs = {}
    for item in demo.customers:
        log = signal_log.SignalLog()
        signal_log.fold(log, item.timeline)
        logs[item.customer.customer_id] = log
    seeded: list[str] = []
    for copy in range((customers + GENERATED_CUSTOMERS - 1) // GENERATED_CUSTOMERS):
        batch = demo.customers[: customers - copy * GENERATED_CUSTOMERS]
        clones = {item.customer.customer_id: _clone(item.customer, copy) for item in batch}
        customer_store.put_customers_batch(demo.workspace_id, clones.values())
        write_metrics_days(
            demo.workspace_id,
            {clones[item.customer.customer_id].customer_id: item.usage for item in batch},
            day_items=day_items,
        )
        signal_logs.put_signal_logs(
            demo.workspace_id,
            {clones[cid].customer_id: logs[cid] for cid in clones},
            clock.iso(datetime.combine(today, clock_time(6, 0), UTC)),
        )
        seeded += [c.customer_id for c in clones.values()]
    return seeded


def _clone(customer: Any, copy: int) -> Any:
    if copy == 0:
        return customer
    return customer.model_copy(
        update={
            "customer_id": f"{customer.customer_id}x{copy}",
            "name": f"{customer.name} ({copy + 1})",
            "domain": f"c{copy}.{customer.domain}" if customer.domain else None,
            "external_id": f"{customer.external_id}-{copy}" if customer.external_id else None,
        }
    )


# --- draining the scoring queue through the real handler ----------------------------------------------
def drain_scoring_queue(max_batches: int = 1_000_000, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Receive batches of up to 10 and invoke the template's scorer with them (as the local poller
    does, without its batching window) until the queue is empty; `progress(batches)` is called every
    100 batches. Returns (batches, failed records)."""
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
        if progress is not None and batches % 100 == 0:
            progress(batches)
    return batches, poller.stats.failed


_RESOLVER: Any = None


def run(customers: int, *, daily: bool = False, day_items: bool = False) -> dict[str, Any]:
    global _RESOLVER
    import boto3
    from moto import mock_aws

    from infra.moto_patches import install_all
    from infra.resources import create_stack_resources
    from infra.template import function_environment, load_template

    install_all()  # what the local stack and the tests run on: moto without its moto-only costs (see the module)
    with mock_aws():
        _RESOLVER = create_stack_resources(boto3.Session(region_name="us-east-1"))
        os.environ.update(function_environment(load_template(), "ScorerFunction", _RESOLVER))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one line per customer would be the benchmark
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # and so would the scorer's metric lines
        from infra.local import reset_aws_clients
        from keepwell import clock

        reset_aws_clients()
        started = time.perf_counter()
        customer_ids = seed_workspace(customers, day_items=day_items)
        seeded = time.perf_counter() - started
        what = "usage histories and day items" if day_items else "usage histories"
        print(f"seeded {len(customer_ids)} customers with 90 days of history ({what}) in {seeded:.1f}s", flush=True)

        from keepwell.services.recalculation import start_recalculation
        from keepwell.storage import health_snapshots, recalculations

        with (
            clock.frozen(datetime.combine(TODAY, clock_time(9, 30), UTC)),
            count_aws_requests() as counter,
            time_collector() as collector,
        ):
            started, cpu_started = time.perf_counter(), time.process_time()
            job = start_recalculation(WORKSPACE, ADMIN, "manual")

            def progress(batches: int) -> None:
                done = recalculations.get_job(WORKSPACE, job["job_id"])
                scored = max(done.done if done is not None else 0, 1)
                print(
                    f"  ... {scored} customers in {time.perf_counter() - started:.0f} s, "
                    f"{(time.process_time() - cpu_started) / scored * 1000:.0f} ms CPU and "
                    f"{counter.total('dynamodb') / scored:.2f} DynamoDB requests per customer so far",
                    flush=True,
                )

            batches, failed = drain_scoring_queue(progress=progress if customers >= 2000 else None)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        finished = recalculations.get_job(WORKSPACE, job["job_id"])
        assert finished is not None
        sample = health_snapshots.get_snapshots(WORKSPACE, customer_ids[0], date(2026, 8, 23), TODAY)
        sizes = measure_item_sizes(customer_ids[:SIZE_SAMPLE])
        daily_figures = score_next_day() if daily else None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "customers": len(customer_ids),
        "wall_s": wall,
        "cpu_s": cpu,
        "aws_cpu_s": counter.inside_seconds,
        "gc_cpu_s": collector.seconds,
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
        "sizes": sizes,
        "peak_rss_mb": peak_mb,
        "daily": daily_figures,
    }


SIZE_SAMPLE = 1000  # customers whose items are measured after the run
MONTH_WRITE_SAMPLE = 200  # full months re-encoded day by day for the billed size of a daily write


def measure_item_sizes(customer_ids: list[str]) -> dict[str, dict[str, float]]:
    """Sizes in bytes (max and median, as DynamoDB counts them) of what scoring reads and writes per
    customer: its snapshot month items (full months only, i.e. every day of the month scored), the
    JSON one day's snapshot would take uncompressed, the profile, the signal log and the usage history.
    `month_write_kb`: what a daily scoring's write of the month item is billed (whole KB), averaged over
    the days of a month (the item grows by a day each time), for the first MONTH_WRITE_SAMPLE months."""
    import math
    import statistics

    from keepwell.storage import health_snapshots, keys, snapshot_dictionary

    found: dict[str, list[float]] = {"month_item": [], "month_json": [], "day_json": [], "month_write_kb": []}
    for customer_id in customer_ids:
        for raw in health_snapshots._query_health(WORKSPACE, customer_id, "HEALTH#", "HEALTH#~"):
            if "days" not in raw:
                continue
            month = health_snapshots.SnapshotMonth.decode(date(2000, 1, 1), 0, raw["days"]["B"])
            first = date.fromisoformat(raw["sk"]["S"][len("HEALTH#") :] + "-01")
            month_days = ((first + timedelta(days=32)).replace(day=1) - first).days
            found["day_json"] += [len(e.document) for e in month.days.values()]
            if len(month.days) == month_days:
                found["month_item"].append(item_size(raw))
                found["month_json"].append(len(snapshot_dictionary.decompress(raw["days"]["B"])))
                if len(found["month_write_kb"]) < MONTH_WRITE_SAMPLE:
                    rest = item_size(raw) - len(raw["days"]["B"])  # keys, version, entity, workspace
                    days = sorted(month.days.items())
                    billed = [
                        math.ceil(
                            (rest + len(health_snapshots.SnapshotMonth(first, 0, dict(days[:k])).encode())) / 1024
                        )
                        for k in range(1, len(days) + 1)
                    ]
                    found["month_write_kb"].append(sum(billed) / len(billed))
    for name, key_of in (
        ("profile", keys.customer),
        ("signal_log", keys.signal_log),
        ("usage_history", keys.usage_history),
    ):
        raws = health_snapshots.batch_get_raw([key_of(WORKSPACE, c) for c in customer_ids])  # type: ignore[operator]
        found[name] = [item_size(raw) for raw in raws]
    found["segment_baselines"] = [
        item_size(raw) for raw in health_snapshots.batch_get_raw([keys.segment_baselines(WORKSPACE)])
    ]
    return {
        name: {"max": max(values), "median": statistics.median(values), "n": len(values)}
        for name, values in found.items()
        if values
    }


BILLING_SAMPLE = 200  # customers whose items are read before and after the daily scoring to price its writes


def score_next_day() -> dict[str, Any]:
    """The next day's scheduled scoring of every customer, as the hourly schedule queues it (one message
    per customer) and the scorer handles it: what a day of routine scoring costs. For the first
    BILLING_SAMPLE customers, their profile and month item are read before and after, to price the
    scorer's writes with their indexes (bench/billing.py); then the `health.scored` events the scorer
    put on the bus for them are handed to the playbooks function as EventBridge invokes it (it stores
    each customer's flags on the profile), with its requests counted and its profile writes priced the
    same way. The scorer's log lines are counted at the level a deployed function logs (INFO).

    Then the day after is scored the same way (`steady`): the first day's profiles carry no flags yet
    (a recalculation stores none), every later day's do, and the scorer's profile write is billed by
    the whole item."""
    first = _score_day(TODAY + timedelta(days=1))
    return {**first, "steady": _score_day(TODAY + timedelta(days=2))}


def _score_day(day: date) -> dict[str, Any]:
    from bench.billing import write_units
    from keepwell import clock
    from keepwell.services import scoring_queue
    from keepwell.storage import health_snapshots, keys
    from keepwell.storage.customers import customer_ids

    tomorrow = day
    sample = list(customer_ids(WORKSPACE))[:BILLING_SAMPLE]
    profile_keys = [keys.customer(WORKSPACE, c) for c in sample]
    month_keys = [keys.health_month(WORKSPACE, c, tomorrow) for c in sample]

    def read(wanted: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(raw["pk"]["S"], raw["sk"]["S"]): raw for raw in health_snapshots.batch_get_raw(wanted)}

    profiles_before, months_before = read(profile_keys), read(month_keys)
    with (
        clock.frozen(datetime.combine(tomorrow, clock_time(9, 30), UTC)),
        count_aws_requests() as counter,
        _info_logs() as log_stream,
    ):
        started, cpu_started = time.perf_counter(), time.process_time()
        queued = scoring_queue.enqueue_workspace(WORKSPACE, tomorrow, "schedule")
        batches, failed = drain_scoring_queue()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    profiles_after, months_after = read(profile_keys), read(month_keys)
    scorer_profile = [
        write_units(profiles_before.get((k.pk, k.sk)), profiles_after.get((k.pk, k.sk)), transaction=True)
        for k in profile_keys
    ]
    scorer_month = [
        write_units(months_before.get((k.pk, k.sk)), months_after.get((k.pk, k.sk)), transaction=True)
        for k in month_keys
    ]
    lines = [line for line in log_stream.getvalue().splitlines() if line.strip()]
    consumers = _health_scored_consumers(counter.scored_events(set(sample)), tomorrow, profile_keys, read)
    n = max(queued, 1)
    return {
        "customers": queued,
        "wall_s": wall,
        "cpu_s": cpu,
        "dynamodb": counter.total("dynamodb"),
        "dynamodb_ops": counter.operations("dynamodb"),
        "dynamodb_keys_read": dict(counter.keys_read),
        "read_units_per_customer": counter.read_units / n,
        "sqs": counter.total("sqs"),  # bench/cost.py prices these too
        "events": counter.total("eventbridge"),
        "event_entries": counter.event_entries,
        "event_bytes": counter.event_bytes,
        "failed_records": failed,
        "batches": batches,
        "log_lines_per_customer": len(lines) / n,
        "log_bytes_per_customer": sum(len(line.encode()) + 1 for line in lines) / n,
        "scorer_log_line": max((line for line in lines if "customer scored" in line), key=len, default=""),
        "sample": len(sample),
        "scorer_profile_wru": _mean([u.table for u in scorer_profile]),
        "scorer_profile_index_wru": _mean([u.indexes for u in scorer_profile]),
        "scorer_profile_index_writes": _mean([u.index_writes for u in scorer_profile]),
        "scorer_month_wru_day": _mean([u.table for u in scorer_month]),
        "scorer_month_index_wru": _mean([u.indexes for u in scorer_month]),
        **consumers,
    }


@contextmanager
def _info_logs() -> Iterator[io.StringIO]:
    """What the functions log meanwhile at the level a deployed function logs (INFO), into a string."""
    from keepwell.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous_stream, previous_level = handler.setStream(stream), logger.log_level
    logger.setLevel("INFO")
    try:
        yield stream
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)


def _mean(values: list[float]) -> float:
    return sum(values) / max(len(values), 1)


def _functions_invoked_by(detail_type: str) -> list[str]:
    """The functions an EventBridge rule of template.yaml invokes with a `keepwell` event of this type."""
    from infra.template import load_template, resources_of_type

    found = []
    for function_id, function in resources_of_type(load_template(), "AWS::Serverless::Function").items():
        for source in (function["Properties"].get("Events") or {}).values():
            if source["Type"] != "EventBridgeRule":
                continue
            pattern = source["Properties"].get("Pattern") or {}
            if "keepwell" in pattern.get("source", ["keepwell"]) and detail_type in pattern.get(
                "detail-type", [detail_type]
            ):
                found.append(function_id)
    return found


def _health_scored_consumers(
    events: list[dict[str, Any]], day: date, profile_keys: list[Any], read: Callable[[list[Any]], dict[Any, Any]]
) -> dict[str, Any]:
    """Every function a rule of template.yaml invokes with `health.scored`, invoked with each such event
    of the sample, one per invocation (as an EventBridge rule invokes a Lambda function): the playbooks
    function's DynamoDB requests and the write units of its profile writes (the stored flags), and the
    others' AWS requests and CPU, per event."""
    import json as json_module

    from bench.billing import item_size, write_units
    from infra.invoker import Invoker
    from infra.local import stack_environment
    from infra.template import load_template
    from keepwell import clock

    if not events:
        return {"consumer_events": 0}
    os.environ.update(stack_environment(load_template(), _RESOLVER))
    totals = RequestCounter(Counter())
    invoker = Invoker()
    others = [f for f in _functions_invoked_by("health.scored") if f != "PlaybooksFunction"]
    others_cpu: dict[str, float] = dict.fromkeys(others, 0.0)
    others_requests: Counter[str] = Counter()
    others_units: dict[str, float] = dict.fromkeys(others, 0.0)
    before = read(profile_keys)
    with clock.frozen(datetime.combine(day, clock_time(9, 31), UTC)), _info_logs() as logs:
        cpu = 0.0
        for n, entry in enumerate(events):
            event = {
                "version": "0",
                "id": f"bench-{n}",
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": "123456789012",
                "time": clock.iso(clock.now()),
                "region": "us-east-1",
                "resources": [],
                "detail": json_module.loads(entry["Detail"]),
            }
            with count_aws_requests() as counter:
                started = time.process_time()
                invoker.invoke("PlaybooksFunction", event)
                cpu += time.process_time() - started
            for function_id in others:  # the other rules' targets, each invoked with the same event
                with count_aws_requests() as other:
                    started = time.process_time()
                    invoker.invoke(function_id, event)
                    others_cpu[function_id] += time.process_time() - started
                others_requests[function_id] += sum(other.calls.values())
                others_units[function_id] += other.read_units
            totals.calls.update(counter.calls)
            totals.keys_read.update(counter.keys_read)
            totals.read_units += counter.read_units
    counter = totals
    after = read(profile_keys)
    units = [write_units(before.get((k.pk, k.sk)), after.get((k.pk, k.sk)), transaction=False) for k in profile_keys]
    profiles = sorted(item_size(raw) for raw in after.values())
    flags = sorted(
        item_size({name: raw[name]}) for raw in after.values() for name in ("flags_json", "flags_z") if name in raw
    )
    n = len(events)
    return {
        "consumer_events": n,
        "other_consumers": {f: (others_requests[f] / n, others_units[f] / n, others_cpu[f] / n * 1000) for f in others},
        "consumer_log_bytes": sum(len(line.encode()) + 1 for line in logs.getvalue().splitlines() if line.strip()) / n,
        "consumer_dynamodb": counter.total("dynamodb") / n,
        "consumer_dynamodb_ops": counter.operations("dynamodb"),
        "consumer_keys_read": sum(counter.keys_read.values()) / n,
        "consumer_read_units": counter.read_units / n,
        "consumer_cpu_ms": cpu / n * 1000,
        "consumer_profile_wru": _mean([u.table for u in units]),
        "consumer_profile_index_wru": _mean([u.indexes for u in units]),
        "consumer_profile_index_writes": _mean([u.index_writes for u in units]),
        "profile_with_flags_median": profiles[len(profiles) // 2] if profiles else 0,
        "profile_with_flags_max": profiles[-1] if profiles else 0,
        "flags_median": flags[len(flags) // 2] if flags else 0,
        "flags_max": flags[-1] if flags else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recalc", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--daily", action="store_true", help="then score the next day of every customer")
    parser.add_argument("--day-items", action="store_true", help="seed the metrics day items too (slow)")
    args = parser.parse_args(argv)
    figures = run(args.customers, daily=args.daily, day_items=args.day_items)
    n = figures["customers"]
    job = figures["job"]
    print(f"recalculated {n} customers x 90 days: job {job.status}, done {job.done}, failed {job.failed}")
    print(f"  wall                 {figures['wall_s']:.1f} s")
    print(f"  customers/s          {figures['customers_per_s']:.1f}")
    print(
        f"  CPU per customer     {figures['cpu_s'] / n * 1000:.0f} ms, of which "
        f"{figures['aws_cpu_s'] / n * 1000:.0f} ms inside AWS calls (botocore + the moto backend)"
    )
    print(f"    garbage collector  {figures['gc_cpu_s'] / n * 1000:.0f} ms (full collections rescan moto's tables too)")
    print(f"  DynamoDB requests    {figures['dynamodb']} ({figures['dynamodb'] / n:.2f} per customer)")
    print(f"    by operation       {figures['dynamodb_ops']}")
    print(f"  SQS requests         {figures['sqs']} ({figures['sqs'] / n:.2f} per customer) {figures['sqs_ops']}")
    print(f"  EventBridge requests {figures['events']}")
    print(f"  scorer batches       {figures['batches']} (failed records {figures['failed_records']})")
    print(f"  history of one customer: {figures['history_days_of_first_customer']} daily snapshots")
    print(f"  peak memory (RSS)    {figures['peak_rss_mb']:.0f} MB")
    print(f"item sizes (bytes, as DynamoDB counts them; {min(n, SIZE_SAMPLE)} customers; limit 409,600):")
    labels = {
        "month_item": "snapshot month item (full months, compressed)",
        "month_json": "  the same month uncompressed (JSON lines)",
        "day_json": "  one day's snapshot as JSON",
        "month_write_kb": "  a daily write of it, KB billed (month average)",
        "profile": "profile (with the health state)",
        "signal_log": "signal log",
        "usage_history": "usage history",
        "segment_baselines": "segment baselines (one per workspace)",
    }
    for name, label in labels.items():
        size = figures["sizes"].get(name)
        if size is not None:
            digits = 2 if name == "month_write_kb" else 0
            print(
                f"  {label:<48} max {size['max']:>7,.{digits}f}  median {size['median']:>7,.{digits}f}  (n={size['n']})"
            )
    daily = figures["daily"]
    if daily is not None:
        _print_day(daily, "daily scoring of the next day (no flags stored yet: a recalculation stores none)")
        _print_day(daily["steady"], "and of the day after (steady state: the profiles carry their flags)")
    return 0 if job.status == "finished" and job.failed == 0 else 1


def _print_day(daily: dict[str, Any], title: str) -> None:
    c = max(daily["customers"], 1)
    print(
        f"{title}: {daily['customers']} customers in {daily['wall_s']:.1f} s "
        f"({daily['cpu_s'] / c * 1000:.0f} ms CPU each)"
    )
    print(
        f"  DynamoDB requests    {daily['dynamodb']} ({daily['dynamodb'] / c:.2f} per customer; goal <= 2) "
        f"{daily['dynamodb_ops']}, keys read {daily['dynamodb_keys_read']}, failed records {daily['failed_records']}"
    )
    print(f"  read units           {daily['read_units_per_customer']:.2f} per customer (bench/billing.read_units)")
    print(
        f"  SQS requests         {daily['sqs']} ({daily['sqs'] / c:.2f} per customer), "
        f"EventBridge requests {daily['events']}"
    )
    print(
        f"  bus events           {daily['event_entries']} entries ({daily['event_entries'] / c:.2f} per customer, "
        f"{daily['event_bytes'] / max(daily['event_entries'], 1):.0f} B each on average)"
    )
    print(
        f"  logs (INFO)          {daily['log_lines_per_customer']:.2f} lines, {daily['log_bytes_per_customer']:.0f} B "
        f"per customer; longest 'customer scored': {len(daily['scorer_log_line'].encode())} B"
    )
    print(f"  write units per customer (bench/billing.py; {daily['sample']} customers):")
    print(
        f"    scorer: month item, this day (transaction)   {daily['scorer_month_wru_day']:.2f}"
        f" (+{daily['scorer_month_index_wru']:.2f} in indexes)"
    )
    print(
        f"    scorer: profile (transaction)                {daily['scorer_profile_wru']:.2f}"
        f" +{daily['scorer_profile_index_wru']:.2f} in indexes"
        f" ({daily['scorer_profile_index_writes']:.2f} index entries written)"
    )
    if daily.get("consumer_events"):
        print(
            f"    playbooks function: profile (stored flags)   {daily['consumer_profile_wru']:.2f}"
            f" +{daily['consumer_profile_index_wru']:.2f} in indexes"
            f" ({daily['consumer_profile_index_writes']:.2f} index entries written)"
        )
        print(
            f"    playbooks function per health.scored event: {daily['consumer_dynamodb']:.2f} DynamoDB requests "
            f"{daily['consumer_dynamodb_ops']} ({daily['consumer_events']} events), "
            f"{daily['consumer_keys_read']:.1f} keys read ({daily['consumer_read_units']:.1f} read units), "
            f"{daily['consumer_cpu_ms']:.0f} ms CPU"
        )
        for function_id, (requests, units, cpu_ms) in daily["other_consumers"].items():
            print(
                f"    {function_id} per health.scored event: {requests:.2f} AWS requests "
                f"({units:.2f} read units), {cpu_ms:.0f} ms CPU"
            )
        print(f"    the three functions' logs (INFO) per health.scored event: {daily['consumer_log_bytes']:.0f} B")
        print(
            f"    profile after it: median {daily['profile_with_flags_median']:,} B, "
            f"max {daily['profile_with_flags_max']:,} B; its flags median {daily['flags_median']:,} B, "
            f"max {daily['flags_max']:,} B"
        )


if __name__ == "__main__":
    sys.exit(main())
