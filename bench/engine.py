"""Health engine benchmark: the CPU of scoring one customer's 90-day history, and one day, without I/O.

    .venv/bin/python -m bench.engine [--customers 200] [--repeat 5] [--profile]

Seeds bench.recalc's workspace (the demo generator's customers with 90 days of usage and their signal
logs) on an in-process moto, runs one real recalculation (`start_recalculation`, the scoring queue
drained through the scorer handler) and keeps the arguments the scorer passed to
`customer_scoring.score_history` for each customer: the prepared model, the signals built from storage,
the days, the scoring state and the segment baseline. Then, timed on those inputs alone (no AWS call,
no storage): `score_history` over the 90 days (what a recalculation's scorer computes per customer:
snapshots, explanations, alert replay, the state to keep), `compute_history` (the health engine alone)
and `score_day` of the last day continuing from the state (what the daily scoring computes per
customer). Prints CPU milliseconds per customer (process time), the median and the fastest of
`--repeat` runs, and the number of customers; `--profile` then prints cProfile's top functions of one
`score_history` run. The recalculation's whole CPU per customer (AWS calls included) is bench.recalc's.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any

import bench.recalc as recalc  # sets the environment of an in-process stack before boto3 is imported


def capture(customers: int) -> list[tuple[Any, ...]]:
    """score_history's arguments for every customer of a real recalculation of a seeded workspace."""
    from bench.embedded import embedded_stack

    with embedded_stack("ScorerFunction") as resolver:
        recalc._RESOLVER = resolver  # drain_scoring_queue's queues
        from keepwell import clock
        from keepwell.domain import customer_scoring
        from keepwell.services.recalculation import start_recalculation

        recalc.seed_workspace(customers)
        captured: list[tuple[Any, ...]] = []
        original = customer_scoring.score_history

        def spy(*args: Any) -> Any:
            captured.append(args)
            return original(*args)

        customer_scoring.score_history = spy  # type: ignore[assignment]
        try:
            with clock.frozen(datetime.combine(recalc.TODAY, clock_time(9, 30), UTC)):
                start_recalculation(recalc.WORKSPACE, recalc.ADMIN, "manual")
                recalc.drain_scoring_queue()
        finally:
            customer_scoring.score_history = original  # type: ignore[assignment]
    return captured


def timed(work: Callable[[], object], repeat: int) -> list[float]:
    """CPU seconds of each of `repeat` runs of `work`, each after a full collection."""
    runs = []
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        work()
        runs.append(time.process_time() - started)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="then cProfile one score_history run")
    args = parser.parse_args(argv)

    captured = capture(args.customers)
    from keepwell.domain.customer_scoring import score_day, score_history
    from keepwell.domain.health.snapshot import compute_history

    n = len(captured)
    if not n:
        print("no customer was scored")
        return 1
    days = [(end - first).days + 1 for _, _, first, end, _, _ in captured]
    states = [score_history(*inputs).state for inputs in captured]  # the state a daily scoring continues from

    def histories() -> None:
        for inputs in captured:
            score_history(*inputs)

    def engine() -> None:
        for prepared, signals, first, end, _, _ in captured:
            compute_history(prepared, signals, end, (end - first).days + 1)

    def one_day() -> None:
        for (prepared, signals, _, end, _, baseline), state in zip(captured, states, strict=True):
            score_day(prepared, signals, end, state, baseline)

    print(
        f"health engine: {n} customers, {min(days)}-{max(days)} days each, CPU per customer, median (fastest) "
        f"of {args.repeat} runs; load average {os.getloadavg()[0]:.1f}"
    )
    mean_days = statistics.mean(days)
    for label, work, spread in (
        ("score_history, 90 days", histories, mean_days),
        ("  compute_history alone", engine, mean_days),
        ("score_day, one day", one_day, 1),
    ):
        runs = [seconds / n * 1000 for seconds in timed(work, args.repeat)]
        median = statistics.median(runs)
        print(f"  {label:<24} {median:7.2f} ms ({min(runs):.2f})   {median * 1000 / spread:4.0f} µs a customer-day")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(histories)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
