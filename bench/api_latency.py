"""Latency of the reads the console's screens make, on the local stack with the full demo.

    .venv/bin/python -m bench.api_latency [--requests 200] [--customers 320] [--role csm]

Starts the local stack as `make run` does (moto server, every template resource, the demo's 320
customers scored, the gateway with the TOKEN authorizer and its cache), lets the start-up scoring
settle, stops the queue pollers (so only the requests measured talk to DynamoDB), then sends each read
`--requests` times over HTTP as a CSM of the demo would (rotating over 20 of their customers for the
per-customer reads): the portfolio page, Customer 360 (customer, health, flags, timeline), My day, the
renewals pipeline and a customer's benchmark. Prints p50 and p95 in milliseconds and the DynamoDB
requests per call (counted with a botocore hook in this process, where the handlers run; the
authorizer's are included when its cache misses). Goal (issue 23): every read ≤ 3 DynamoDB requests
and p95 ≤ 150 ms on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from bench.recalc import count_aws_requests

GOAL_REQUESTS = 3
GOAL_P95_MS = 150.0


def call(api_url: str, token: str, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(api_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--customers", type=int, default=None, help="demo size (default: the full demo, 320)")
    parser.add_argument("--role", default="csm", help="whose token: csm, director, admin, viewer")
    args = parser.parse_args(argv)

    from infra.gateway import reauthorize_every
    from infra.local import start_stack

    started = time.perf_counter()
    stack = start_stack(port=0, moto_port=0, customers=args.customers, log_level="WARNING")
    try:
        settled = stack.drain(timeout=600)
        for poller in stack.pollers:
            poller.stop()
        # As deployed: API Gateway keeps the authorizer's policy per token for ReauthorizeEvery seconds.
        stack.gateway.authorizer_cache_seconds = reauthorize_every(stack.gateway.template)
        print(f"local stack ready and settled ({settled}) in {time.perf_counter() - started:.0f} s", flush=True)
        token = stack.tokens[args.role]
        status, page = call(stack.api_url, token, "/v1/customers?limit=50")
        assert status == 200, page
        customer_ids = [c["customer_id"] for c in page["items"]][:20]
        print(f"{args.role}: {len(page['items'])} customers on the first portfolio page", flush=True)
        reads: list[tuple[str, str]] = [
            ("portfolio page", "/v1/customers?limit=50"),
            ("customer", "/v1/customers/{id}"),
            ("health", "/v1/customers/{id}/health"),
            ("flags", "/v1/customers/{id}/flags"),
            ("timeline", "/v1/customers/{id}/timeline?limit=20"),
            ("my day", "/v1/my-day"),
            ("renewals pipeline", "/v1/renewals"),
            ("benchmark", "/v1/customers/{id}/benchmark"),
        ]
        rows = []
        for label, template in reads:
            latencies: list[float] = []
            failures: dict[int, int] = {}
            with count_aws_requests() as counter:
                for n in range(args.requests):
                    path = template.replace("{id}", customer_ids[n % len(customer_ids)])
                    begun = time.perf_counter()
                    status, _ = call(stack.api_url, token, path)
                    latencies.append((time.perf_counter() - begun) * 1000)
                    if status != 200:
                        failures[status] = failures.get(status, 0) + 1
            per_call = counter.total("dynamodb") / args.requests
            rows.append((label, template, latencies, per_call, counter.operations("dynamodb"), failures))
    finally:
        stack.stop()

    load = os.getloadavg()
    print(
        f"\n{args.requests} requests per read as {args.role} (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
    )
    print(f"{'read':<18} {'p50 ms':>7} {'p95 ms':>7} {'DynamoDB/call':>14}  operations")
    within = 0
    for label, _template, latencies, per_call, operations, failures in rows:
        p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
        ok = per_call <= GOAL_REQUESTS and p95 <= GOAL_P95_MS and not failures
        within += ok
        ops = ", ".join(f"{op} {n / args.requests:.2f}" for op, n in operations.items())
        failed = f"  FAILED {failures}" if failures else ""
        print(f"{label:<18} {p50:>7.1f} {p95:>7.1f} {per_call:>14.2f}  {ops}{failed}")
    print(f"\n{within} of {len(rows)} reads within the goal (<= {GOAL_REQUESTS} requests, p95 <= {GOAL_P95_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
