"""Model backtest benchmark: N customers with an outcome and 90 days of stored health, replayed through the
real code under the current model and a proposal.

    .venv/bin/python -m bench.backtest --customers 1000

Seeds a workspace on an in-process moto with the patches the local stack and the tests install (as
bench/recalc.py does): N customers with an outcome in the last year (one in four churned, the rest
renewed), each with the 97 days of stored health before it (the 90-day window and the smoothing
warm-up), written through `health_snapshots.write_history` as the scorer writes a history. Then, timed:
`start_backtest` (what `POST /v1/health/model/backtest` calls, with a proposal) and the scoring queue
drained by invoking the template's scorer handler with SQS batch events of 10. Prints wall seconds,
customers per second, CPU per customer, DynamoDB and SQS requests per customer (a botocore event hook)
and the backtest's headline for both models.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import bench.recalc as recalc  # sets the environment of an in-process stack before boto3 is imported

TODAY = recalc.TODAY
WORKSPACE = recalc.WORKSPACE
DISTINCT_HISTORIES = 40  # generated once, stored under each customer (generating is not what is measured)


def seed_outcomes(customers: int) -> None:
    from infra.demo_outcomes import DECAYS, _level, stored_history
    from keepwell import clock
    from keepwell.domain.customers import Customer
    from keepwell.domain.health.model import HealthModel
    from keepwell.domain.renewals import Renewal
    from keepwell.storage import customers as customer_store
    from keepwell.storage import health_snapshots, keys, workspaces
    from keepwell.storage import renewals as renewal_store

    rng = random.Random(7)
    model = HealthModel.from_preset("balanced")
    stamp = clock.iso(datetime.combine(TODAY, clock_time(6), UTC))
    with clock.frozen(datetime.combine(TODAY, clock_time(6), UTC)):
        workspaces.create_workspace(WORKSPACE, "Backtest bench")
    histories = {}
    for n in range(DISTINCT_HISTORIES):
        churned = n % 4 == 0
        spec = DECAYS[rng.choice(list(DECAYS))] if churned else {}
        base = rng.uniform(55, 85)
        histories[n] = stored_history(
            model, f"H{n}", f"h{n}", TODAY, lambda k, b, s=spec, v=base: _level(s, k, b, v), rng
        )
    people = []
    for n in range(customers):
        churned = n % 4 == 0
        people.append(
            Customer(
                customer_id=f"cus_{n:05d}",
                workspace_id=WORKSPACE,
                name=f"Customer {n:05d}",
                status="churned" if churned else "active",
                arr=20_000,
                created_at=stamp,
                updated_at=stamp,
            )
        )
    customer_store.put_customers_batch(WORKSPACE, people)
    with renewal_store.ChurnRecordItem.batch_write() as churns, renewal_store.RenewalItem.batch_write() as renewals:
        for n, customer in enumerate(people):
            outcome = TODAY - timedelta(days=rng.randint(1, 360))
            history = [
                s.model_copy(update={"date": outcome - timedelta(days=len(histories[0]) - i)})
                for i, s in enumerate(histories[(n // 4) * 4 % DISTINCT_HISTORIES + (0 if n % 4 == 0 else n % 4)])
            ]
            health_snapshots.write_history(WORKSPACE, customer.customer_id, history, version=0, inputs="bench")
            if customer.status == "churned":
                key = keys.churn_record(WORKSPACE, customer.customer_id)
                churns.save(
                    renewal_store.ChurnRecordItem(
                        key.pk,
                        key.sk,
                        entity=renewal_store.CHURN_ENTITY,
                        workspace_id=WORKSPACE,
                        customer_id=customer.customer_id,
                        churn_reason="price",
                        churned_at=f"{outcome.isoformat()}T12:00:00.000Z",
                        churned_by="usr_admin",
                        arr_lost=20_000,
                        previous_status="active",
                    )
                )
            else:
                renewals.save(
                    renewal_store.to_item(
                        Renewal(
                            renewal_id=f"rnw_{n:05d}",
                            workspace_id=WORKSPACE,
                            customer_id=customer.customer_id,
                            renewal_date=outcome,
                            current_arr=20_000,
                            mrr=1_666,
                            forecast_category="commit",
                            status="renewed",
                            closed_on=outcome,
                            closed_arr=20_000,
                            created_by="usr_admin",
                            created_at=stamp,
                            updated_at=stamp,
                        )
                    )
                )


def run(customers: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from infra.moto_patches import install_all
    from infra.resources import create_stack_resources
    from infra.template import function_environment, load_template

    install_all()
    with mock_aws():
        recalc._RESOLVER = create_stack_resources(boto3.Session(region_name="us-east-1"))
        recalc.os.environ.update(function_environment(load_template(), "ScorerFunction", recalc._RESOLVER))
        recalc.os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        recalc.os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        from infra.local import reset_aws_clients
        from keepwell import clock
        from keepwell.auth import Caller
        from keepwell.schemas.backtests import BacktestIn
        from keepwell.services import backtest_jobs

        reset_aws_clients()
        started = time.perf_counter()
        seed_outcomes(customers)
        print(
            f"seeded {customers} customers with an outcome and 97 days of stored health "
            f"in {time.perf_counter() - started:.1f}s"
        )
        caller = Caller(WORKSPACE, "usr_admin", "admin")
        proposal = BacktestIn.model_validate({"preset": "usage_heavy"})
        with clock.frozen(datetime.combine(TODAY, clock_time(9, 30), UTC)), recalc.count_aws_requests() as counter:
            started, cpu_started = time.perf_counter(), time.process_time()
            job = backtest_jobs.start_backtest(caller, proposal)
            batches, failed = recalc.drain_scoring_queue()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            finished = backtest_jobs.get_backtest(caller, job.job_id)
    return {
        "customers": finished.total,
        "status": finished.status,
        "wall_s": wall,
        "cpu_s": cpu,
        "aws_cpu_s": counter.inside_seconds,
        "dynamodb": counter.total("dynamodb"),
        "dynamodb_ops": counter.operations("dynamodb"),
        "sqs": counter.total("sqs"),
        "batches": batches,
        "failed": failed,
        "headlines": [(m.label, m.report.headline if m.report else None) for m in finished.models],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    args = parser.parse_args(argv)
    figures = run(args.customers)
    n = max(figures["customers"], 1)
    print(f"backtested {figures['customers']} customers x 90 days under 2 models: job {figures['status']}")
    print(f"  wall                 {figures['wall_s']:.1f} s")
    print(f"  customers/s          {figures['customers'] / figures['wall_s']:.1f}")
    print(
        f"  CPU per customer     {figures['cpu_s'] / n * 1000:.1f} ms, of which "
        f"{figures['aws_cpu_s'] / n * 1000:.1f} ms inside AWS calls (botocore + the moto backend)"
    )
    print(f"  DynamoDB requests    {figures['dynamodb']} ({figures['dynamodb'] / n:.2f} per customer)")
    print(f"    by operation       {figures['dynamodb_ops']}")
    print(f"  SQS requests         {figures['sqs']} ({figures['sqs'] / n:.3f} per customer)")
    print(f"  scorer batches       {figures['batches']} (failed records {figures['failed']})")
    for label, line in figures["headlines"]:
        print(f"  {label:<9}            {line}")
    return 0 if figures["status"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
