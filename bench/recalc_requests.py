"""What starting and following a recalculation costs in requests, by workspace size (issue 23).

    PYTHONPATH=. .venv/bin/python -m bench.recalc_requests --customers 1000 10000

For each size: a workspace of that many customers (profiles only: nothing is scored here) on an
in-process moto, then the AWS requests of `POST /v1/health/recalculate`'s service (the request), of
the scorer's listing invocations (each lists FAN_OUT_PAGE customers into pages of 100; only the
listing, the customers' messages are dropped), and of a poll (`GET /v1/health/recalculations/{id}`'s
service) with half the pages complete and one half done. Before the listing moved to the scorer (no
`list_job_customers`), the request listed and wrote every page itself and there is no listing step.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any

from bench.recalc import ADMIN, GENERATED_CUSTOMERS, TODAY, WORKSPACE, _clone, count_aws_requests


def seed_profiles(customers: int) -> None:
    from infra.seed import DEMO_USERS, generate_demo
    from keepwell import clock
    from keepwell.storage import customers as customer_store
    from keepwell.storage import workspaces

    demo = generate_demo(TODAY, customers=min(customers, GENERATED_CUSTOMERS), other_customers=0).demo
    with clock.frozen(datetime.combine(TODAY, clock_time(6, 0), UTC)):
        workspaces.create_workspace(demo.workspace_id, demo.name)
        for user_id, role, name in DEMO_USERS:
            workspaces.put_user(demo.workspace_id, user_id, f"{user_id}@demo.test", name, role)
    for copy in range((customers + GENERATED_CUSTOMERS - 1) // GENERATED_CUSTOMERS):
        batch = demo.customers[: customers - copy * GENERATED_CUSTOMERS]
        customer_store.put_customers_batch(demo.workspace_id, [_clone(item.customer, copy) for item in batch])


def _requests(counter: Any) -> str:
    ops = {**counter.operations("dynamodb"), **counter.operations("sqs")}
    return f"{sum(ops.values())} ({', '.join(f'{op} {n}' for op, n in ops.items())})"


def measure(customers: int) -> None:
    from bench.embedded import embedded_stack

    with embedded_stack("ApiFunction"):
        from keepwell import clock
        from keepwell.auth import Caller
        from keepwell.schemas.messages import ScoringRequest
        from keepwell.services import recalculation, scoring_queue
        from keepwell.storage import recalculations

        seed_profiles(customers)
        caller = Caller(WORKSPACE, ADMIN, "admin")
        with clock.frozen(datetime.combine(TODAY, clock_time(9, 30), UTC)):
            recalculation.start_recalculation(WORKSPACE, ADMIN)  # warm the container's caches
            started = time.perf_counter()
            with count_aws_requests() as start:
                job = recalculation.request_recalculation(caller)
            start_s = time.perf_counter() - started
            print(f"{customers:>7} customers: start        {_requests(start)}, {start_s * 1000:.0f} ms")
            lister = getattr(scoring_queue, "list_job_customers", None)
            if lister is not None:
                listings, started = 0, time.perf_counter()
                with count_aws_requests() as listing:
                    while True:
                        state = recalculations.get_listing(WORKSPACE, job["job_id"])
                        assert state is not None
                        if state.state != "running":
                            break
                        request = ScoringRequest(
                            workspace_id=WORKSPACE,
                            reason="manual",
                            scoring_day=TODAY,
                            job_id=job["job_id"],
                            page=state.pages,
                            listing=True,
                            history=True,
                        )
                        lister(request)
                        listings += 1
                listing_s = time.perf_counter() - started
                print(
                    f"{'':>18}listing      {listings} scorer invocations, {_requests(listing)}, "
                    f"{listing_s / max(listings, 1):.1f} s each"
                )
            pages = recalculations.page_count(WORKSPACE, job["job_id"])
            for page in range(pages // 2):  # half the pages complete, as if scored
                ids, _ = recalculations.get_page(WORKSPACE, job["job_id"], page)
                recalculations.record_progress(WORKSPACE, job["job_id"], page, ids or [])
            ids, _ = recalculations.get_page(WORKSPACE, job["job_id"], pages // 2)
            recalculations.record_progress(WORKSPACE, job["job_id"], pages // 2, (ids or [])[:50])
            with count_aws_requests() as poll:
                polled = recalculation.get_recalculation(caller, job["job_id"])
            print(
                f"{'':>18}poll         {_requests(poll)}; keys read {dict(poll.keys_read)}; "
                f"answer total {polled['total']} done {polled['done']} status {polled['status']}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recalc_requests", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args(argv)
    for customers in args.customers:
        measure(customers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
