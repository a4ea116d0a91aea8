"""The console's reads on the demo workspace: GET /v1/customers in each order and filter, and the
customer benchmark from the segment tallies against the old walk over every customer.

    .venv/bin/python -m bench.customer_lists [--customers 320] [--samples 40]

Embedded moto (as the tests and the local stack run it), the demo seed (320 customers by default), a
score and dimension values on every customer (what the scorer writes), the daily segment tally, then
the API handler driven with API Gateway events for each request. Prints per request the wall time
(median and p95 over `--samples` customers or repeats) and the DynamoDB requests it made.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.recalc import TODAY, count_aws_requests  # sets the environment before any keepwell import


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms"


def run(customers: int, samples: int) -> None:
    from bench.embedded import embedded_stack

    with embedded_stack("ApiFunction"):
        from infra.seed import seed_demo
        from keepwell import clock
        from keepwell.auth import Caller
        from keepwell.services import segment_baselines
        from keepwell.storage import customers as customer_store
        from keepwell.storage import health_snapshots as snapshots
        from keepwell.storage import segments as segment_store
        from tests.conftest import ApiClient

        now = datetime.combine(TODAY, datetime.min.time(), UTC).replace(hour=9)
        with clock.frozen(now):
            started = time.perf_counter()
            seed_demo(TODAY, customers=customers, other_customers=2)
            rng = random.Random(7)
            ids = customer_store.customer_ids("ws_demo")
            for customer_id in ids:
                score = round(rng.uniform(15, 95), 1)
                dims = {k: round(rng.uniform(0, 100), 1) for k in ("usage", "engagement", "support", "sentiment")}
                latest = snapshots.LatestHealth(
                    score,
                    "Healthy" if score >= 70 else "Neutral" if score >= 50 else "At risk",
                    None,
                    score,
                    clock.iso(now),
                    TODAY,
                    1,
                    1.0,
                    dims,
                )
                snapshots.apply_profile_health(
                    "ws_demo", customer_id, snapshots.ProfileHealthUpdate(state={}, digest=customer_id, latest=latest)
                )
            segment_baselines.refresh("ws_demo", TODAY)
            print(f"seeded and scored {len(ids)} customers in {time.perf_counter() - started:.1f} s", flush=True)

            admin = ApiClient(Caller("ws_demo", "usr_admin", "admin"))
            csm = ApiClient(Caller("ws_demo", "usr_csm_priya", "csm"))

            def measure(label: str, call: Any, times: int) -> None:
                walls: list[float] = []
                with count_aws_requests() as counter:
                    for n in range(times):
                        began = time.perf_counter()
                        response = call(n)
                        walls.append(time.perf_counter() - began)
                        assert response.status == 200, response.body
                ops = counter.operations("dynamodb")
                print(f"{label:52s} {_percentiles(walls)}; DynamoDB {sum(ops.values()) / times:.1f}/request {ops}")

            sample = ids[:samples]
            measure(
                "benchmark, from the segment tallies",
                lambda n: admin.get(f"/v1/customers/{sample[n]}/benchmark"),
                len(sample),
            )
            real = segment_store.get_segment_baselines
            segment_store.get_segment_baselines = lambda workspace_id: None  # type: ignore[assignment]
            measure(
                "benchmark, walking every customer (before)",
                lambda n: admin.get(f"/v1/customers/{sample[n]}/benchmark"),
                len(sample),
            )
            segment_store.get_segment_baselines = real  # type: ignore[assignment]
            for label, query in (
                ("list, by name (default), 50", {}),
                ("list, -health_score, 50", {"sort": "-health_score"}),
                ("list, arr, band=At risk, 50", {"sort": "arr", "band": "At risk"}),
                ("list, renewal_date, q=a, 50", {"sort": "renewal_date", "q": "a"}),
                ("list, -arr, segment_id=seg_enterprise, 50", {"sort": "-arr", "segment_id": "seg_enterprise"}),
            ):
                measure(f"admin {label}", lambda n, q=query: admin.get("/v1/customers", limit=50, **q), 10)
            measure(
                "csm (own book) -health_score, 50",
                lambda n: csm.get("/v1/customers", sort="-health_score", limit=50),
                10,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.customer_lists", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=320)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args(argv)
    run(args.customers, args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
