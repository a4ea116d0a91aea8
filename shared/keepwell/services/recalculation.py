"""Recalculations: recompute every customer's last 90 days with the current model, as a job whose
progress a client can poll (manual `POST /v1/health/recalculate`, or a model change).

Starting a job does the same few requests whatever the workspace's size: it reads the model version
and the workspace's day, writes the job item and queues one listing message. The scorer lists the
customers, FAN_OUT_PAGE (5,000) an invocation, into the job's pages of 100 ids (tallying the segment
baselines on the way, as the daily fan-out does), and expands a page into one `history` message per
customer followed by the message of the next page, or, after the last page listed so far, the
message that lists the next customers. So the queue holds about one page at a time however large
the workspace: the fan-out advances as fast as customers are scored (back-pressure), and no single
request or invocation has to list or enqueue a whole workspace. A poll reads the job item and at most
one BatchGetItem of its pages still open (storage/recalculations.py).
"""

from __future__ import annotations

from typing import Any

from keepwell import clock, ids
from keepwell.adapters import queues
from keepwell.auth import Caller
from keepwell.errors import NotFound
from keepwell.observability import logger
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import scoring_queue
from keepwell.settings import get_settings
from keepwell.storage import audit as audit_store
from keepwell.storage import health_models, recalculations
from keepwell.storage.recalculations import Job


def job_summary(job: Job) -> dict[str, Any]:
    """The job as the API answers it. While the customers are being listed (`listing` "running"),
    `total` counts those listed so far and `percent` is null: how many there are is not known yet."""
    done = min(job.done, job.total)
    failed = min(job.failed, job.total - done)
    if job.listing == "running":
        percent = None
    else:
        percent = 100.0 if job.total == 0 else round((done + failed) * 100.0 / job.total, 1)
    return {
        "job_id": job.job_id,
        "workspace_id": job.workspace_id,
        "status": job.status,
        "listing": job.listing,
        "total": job.total,
        "done": done,
        "failed": failed,
        "percent": percent,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "reason": job.reason,
        "requested_by": job.requested_by,
        "model_version": job.model_version,
    }


def start_recalculation(workspace_id: str, requested_by: str, reason: str = "manual") -> dict[str, Any]:
    """Create a job that recomputes every (not archived) customer, 90-day history included, with the
    current model; returns the job summary (its `job_id` to poll). The customers are listed by the
    scorer, after this returns."""
    _, version = health_models.get_current_model(workspace_id, fresh=True)
    day = scoring_queue.workspace_today(workspace_id)  # one end day for the whole job
    job_id = ids.new_id("rc")
    job = recalculations.create_job(
        workspace_id,
        job_id,
        reason=reason,
        requested_by=requested_by,
        model_version=version,
        started_at=clock.now(),
    )
    first = ScoringRequest(
        workspace_id=workspace_id,
        reason=reason,  # type: ignore[arg-type]  # validated by the model
        scoring_day=day,
        job_id=job_id,
        page=0,
        listing=True,
        history=True,
        model_version=version,
    )
    queues.send_messages(get_settings().scoring_queue_url, [first])
    logger.info(
        "recalculation started",
        extra={
            "workspace_id": workspace_id,
            "job_id": job_id,
            "model_version": version,
            "reason": reason,
            "requested_by": requested_by,
        },
    )
    return job_summary(job)


def get_recalculation(caller: Caller, job_id: str) -> dict[str, Any]:
    job = recalculations.get_job(caller.workspace_id, job_id) if _valid_id(job_id) else None
    if job is None:
        raise NotFound(f"No recalculation {job_id}", [{"field": "job_id", "issue": "not found"}])
    return job_summary(job)


def request_recalculation(caller: Caller) -> dict[str, Any]:
    summary = start_recalculation(caller.workspace_id, caller.user_id, "manual")
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "recalculation.requested",
        f"recalculation:{summary['job_id']}",
        None,
        {k: summary.get(k) for k in ("job_id", "model_version")},  # how many: not known yet (listed later)
    )
    return summary


def _valid_id(job_id: str) -> bool:
    return 0 < len(job_id) <= 128 and all(c.isalnum() or c in "_-" for c in job_id)
