"""Model backtests as background jobs: would this model have warned us, and how early?

`start_backtest` (POST /v1/health/model/backtest) validates the proposal exactly as PUT /v1/health/model
does (nothing saved), lists the customers with an outcome in the period, writes the job with its pages
of outcomes and queues page 0 on the scoring queue. The scorer runs the pages one after another
(`backtest_runs.run_page`): each reads its customers' stored days (one snapshot read per customer), replays them
under the current model and the proposal (domain/health/backtest.py), keeps the replays on the page and
queues the next page; the last page aggregates every page and writes the result on the job. The job
and its pages expire after 30 days; nothing else is written (docs/decisions/0025-model-backtest.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from keepwell import clock, ids
from keepwell.adapters import queues
from keepwell.auth import Caller
from keepwell.errors import NotFound
from keepwell.observability import logger
from keepwell.schemas.backtests import BacktestIn, BacktestOut
from keepwell.schemas.messages import BacktestRequest
from keepwell.services import backtest_runs
from keepwell.services.health_models import propose
from keepwell.settings import get_settings
from keepwell.storage import backtests as store
from keepwell.storage import health_models

DEFAULT_PERIOD_DAYS = 365


def out(job: store.Backtest) -> BacktestOut:
    result = job.result or {}
    models: list[dict[str, Any]] = [
        {"label": "current", "version": job.models["current"]["version"], "report": result.get("current")}
    ]
    if job.models.get("proposed") is not None:
        models.append({"label": "proposed", "version": None, "report": result.get("proposed")})
    settled = min(job.done, job.total)
    return BacktestOut.model_validate(
        {
            "job_id": job.job_id,
            "status": job.status,
            "period": {"from": job.period_from, "to": job.period_to},
            "total": job.total,
            "done": settled,
            "percent": 100.0 if job.total == 0 or job.status != "running" else round(settled * 100.0 / job.total, 1),
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "requested_by": job.requested_by,
            "error": job.error,
            "models": models,
            "proposed_model": job.models.get("proposed"),
        }
    )


# --- the API --------------------------------------------------------------------------------------
def start_backtest(caller: Caller, body: BacktestIn) -> BacktestOut:
    current = health_models.get_current(caller.workspace_id)
    proposed = propose(current.model, body) if body.changes() else None  # a 400 here writes nothing
    today = clock.today()
    start, end = (
        (body.period.start, body.period.end) if body.period else (today - timedelta(DEFAULT_PERIOD_DAYS), today)
    )
    outcomes = store.list_outcomes(caller.workspace_id, start, end)
    job_id = ids.new_id("bt")
    models = {
        "current": {"version": current.version, "model": current.model.model_dump(mode="json")},
        "proposed": proposed.model_dump(mode="json") if proposed is not None else None,
    }
    job = store.create_backtest(
        caller.workspace_id,
        job_id,
        requested_by=caller.user_id,
        period=(start, end),
        models=models,
        outcomes=outcomes,
        started_at=clock.now(),
    )
    if job.pages:
        queues.send_messages(
            get_settings().scoring_queue_url,
            [BacktestRequest(workspace_id=caller.workspace_id, backtest_id=job_id, page=0)],
        )
    else:
        store.finish(caller.workspace_id, job_id, result=backtest_runs.result_of(job, []))
        job = store.get_backtest(caller.workspace_id, job_id) or job
    logger.info(
        "backtest started",
        extra={
            "workspace_id": caller.workspace_id,
            "job_id": job_id,
            "customers": job.total,
            "proposed": bool(proposed),
        },
    )
    return out(job)


def get_backtest(caller: Caller, job_id: str) -> BacktestOut:
    valid = 0 < len(job_id) <= 128 and all(c.isalnum() or c in "_-" for c in job_id)
    job = store.get_backtest(caller.workspace_id, job_id) if valid else None
    if job is None:
        raise NotFound(f"No backtest {job_id}", [{"field": "backtest_id", "issue": "not found"}])
    return out(job)
