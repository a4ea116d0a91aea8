"""Bulk import benchmark: N customers then 2N contacts imported through the real code on in-process moto.

    .venv/bin/python -m bench.imports [--sizes 1000 10000]

For each size, on a fresh embedded AWS built from template.yaml (table, import queue, import bucket;
the moto patches of the local stack and the tests): `POST /v1/imports` through the API handler, the
file uploaded with the presigned POST form it answers (moto's S3), the header read by `GET`, then the
dry run and the commit, each queued by the API and run by the template's ImportFunction handler with
the SQS event Lambda would send. Prints, per phase, rows per second (wall, and per CPU second of this
process, which moto shares: the figure a loaded machine does not distort) and DynamoDB requests per
row: write requests (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) and all
requests; then a re-import of the same customers file (every row unchanged).

Goals (issue 20): ≥ 500 rows/s, ≤ 1.2 DynamoDB write requests per row, flat from 1,000 to 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from bench.recalc import RequestCounter, count_aws_requests  # sets the environment first

GOAL_ROWS_PER_SECOND = 500
GOAL_WRITES_PER_ROW = 1.2
WORKSPACE = "ws_bench"
ADMIN = "usr_admin"
OWNERS = ("usr_csm1", "usr_csm2", "usr_csm3", "usr_csm4")
WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def customers_csv(count: int) -> bytes:
    lines = ["Company Name,External ID,Website,ARR,Owner Email,Tier,Industry,Region,Renewal Date,Tags"]
    for n in range(count):
        owner = OWNERS[n % len(OWNERS)]
        lines.append(
            f'"Bench Customer {n:05d}, Inc",crm-{n:05d},bench-{n:05d}.example,{12_000 + (n % 97) * 1_200},'
            f"{owner}@bench.test,{('Gold', 'Silver', 'Bronze')[n % 3]},{('Retail', 'SaaS', 'Finance')[n % 3]},"
            f"{('EMEA', 'NA', 'APAC')[n % 3]},2027-{1 + n % 12:02d}-{1 + n % 28:02d},bench|tier-{n % 3}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def contacts_csv(customers: int) -> bytes:
    lines = ["Account ID,Full Name,Email,Job Title,Phone"]
    for n in range(customers):
        for k in range(2):
            lines.append(
                f"crm-{n:05d},Person {k} of {n},person{k}@bench-{n:05d}.example,"
                f"{('VP Ops', 'Admin')[k]},+1 555 0{k}{n:05d}"
            )
    return ("\r\n".join(lines) + "\r\n").encode()


class Api:
    """Calls the API handler with API Gateway proxy events built from the template's routes (as an admin)."""

    def __init__(self) -> None:
        from infra.functions import load_handler

        self.handler = load_handler("ApiFunction")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        from infra.apigw import match_route, proxy_event
        from infra.functions import FakeLambdaContext

        matched = match_route(method, path)
        assert matched is not None, path
        route, params = matched
        event = proxy_event(
            route,
            path,
            params,
            urlencode({}),
            {"Content-Type": "application/json"},
            json.dumps(body) if body is not None else None,
            authorizer={"workspace_id": WORKSPACE, "user_id": ADMIN, "role": "admin"},
        )
        result = self.handler(event, FakeLambdaContext("ApiFunction"))
        return result["statusCode"], json.loads(result.get("body") or "null")


def run_queue() -> int:
    """Deliver the import queue's messages to the ImportFunction handler until it is empty."""
    import boto3

    from infra.functions import FakeLambdaContext, load_handler

    sqs = boto3.client("sqs", region_name="us-east-1")
    handler = load_handler("ImportFunction")
    url = os.environ["IMPORT_QUEUE_URL"]
    handled = 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return handled
        message = messages[0]
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:keepwell-local-ImportQueue",
            "awsRegion": "us-east-1",
        }
        result = handler({"Records": [record]}, FakeLambdaContext("ImportFunction", timeout_ms=900_000))
        assert result == {"batchItemFailures": []}, result
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        handled += 1


@contextmanager
def embedded_aws() -> Iterator[None]:
    import boto3
    from moto import mock_aws

    from infra.moto_patches import install_all
    from infra.resources import create_stack_resources
    from infra.template import function_environment, load_template
    from keepwell.adapters.aws import reset_clients
    from keepwell.settings import reset_settings
    from keepwell.storage import workspaces

    install_all()
    with mock_aws():
        resolver = create_stack_resources(boto3.Session(region_name="us-east-1"))
        os.environ.update(function_environment(load_template(), "ImportFunction", resolver))
        reset_settings()
        reset_clients()
        workspaces.create_workspace(WORKSPACE, "Bench")
        workspaces.put_user(WORKSPACE, ADMIN, f"{ADMIN}@bench.test", "Admin", "admin")
        for owner in OWNERS:
            workspaces.put_user(WORKSPACE, owner, f"{owner}@bench.test", owner, "csm")
        yield


def phase_line(label: str, rows: int, seconds: float, cpu: float, counter: RequestCounter) -> tuple[float, float]:
    ops = counter.operations("dynamodb")
    writes = sum(ops.get(op, 0) for op in WRITE_OPERATIONS)
    total = counter.total("dynamodb")
    rate = rows / seconds if seconds else float("inf")
    print(
        f"  {label:<24} {rows:>7,} rows {seconds:7.2f} s {rate:6.0f} rows/s "
        f"(CPU {cpu:6.2f} s: {rows / cpu:5.0f} rows/s)  "
        f"writes/row {writes / rows:5.3f}   dynamodb/row {total / rows:5.3f}   "
        f"({', '.join(f'{op} {n}' for op, n in ops.items())})"
    )
    return rate, writes / rows


def import_file(api: Api, kind: str, content: bytes, label: str, rows: int) -> list[tuple[str, float, float]]:
    import requests

    status, created = api.call("POST", "/v1/imports", {"kind": kind, "filename": f"{kind}.csv"})
    assert status == 201, created
    form = created["upload"]
    uploaded = requests.post(form["url"], data=form["fields"], files={"file": (f"{kind}.csv", content)}, timeout=60)
    assert uploaded.status_code in (200, 204), uploaded.text
    import_id = created["import_id"]
    status, seen = api.call("GET", f"/v1/imports/{import_id}")
    assert seen["status"] == "uploaded", seen
    figures = []
    for phase, path in (("dry run", "dry-run"), ("commit", "commit")):
        status, answer = api.call("POST", f"/v1/imports/{import_id}/{path}")
        assert status == 202, answer
        with count_aws_requests() as counter:
            started, started_cpu = time.perf_counter(), time.process_time()
            run_queue()
            seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        status, done = api.call("GET", f"/v1/imports/{import_id}")
        report = done["dry_run"] if phase == "dry run" else done["progress"]
        assert report["rows_done"] == rows and report["failed"] == 0, report
        rate, writes = phase_line(f"{label} {phase}", rows, seconds, cpu, counter)
        figures.append((f"{label} {phase}", rate, writes))
        if phase == "commit":
            counts = {k: report[k] for k in ("created", "updated", "unchanged")}
            print(f"  {'':<24} {counts}")
    return figures


def run(sizes: list[int]) -> None:
    print(
        f"Bulk import on in-process moto (goals: ≥ {GOAL_ROWS_PER_SECOND} rows/s, ≤ {GOAL_WRITES_PER_ROW} writes/row)"
    )
    commits: list[tuple[str, float, float]] = []
    for size in sizes:
        print(f"{size:,} customers + {2 * size:,} contacts")
        with embedded_aws():
            api = Api()
            for kind, content, rows in (
                ("customers", customers_csv(size), size),
                ("contacts", contacts_csv(size), 2 * size),
                ("customers", customers_csv(size), size),
            ):
                label = (
                    "customers again"
                    if commits and kind == "customers" and commits[-1][0].startswith("contacts")
                    else kind
                )
                figures = import_file(api, kind, content, label, rows)
                commits.extend(f for f in figures if f[0].endswith("commit"))
    worst_rate = min(rate for _, rate, _ in commits)
    worst_writes = max(writes for _, _, writes in commits)
    print(
        f"Commits: slowest {worst_rate:.0f} rows/s (goal ≥ {GOAL_ROWS_PER_SECOND}: "
        f"{'met' if worst_rate >= GOAL_ROWS_PER_SECOND else 'MISSED'}), most writes {worst_writes:.3f}/row "
        f"(goal ≤ {GOAL_WRITES_PER_ROW}: {'met' if worst_writes <= GOAL_WRITES_PER_ROW else 'MISSED'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    run(parser.parse_args().sizes)


if __name__ == "__main__":
    main()
