"""The hourly schedule: queue the day's scoring of every customer of each workspace whose local scoring
hour has come.

Workspaces are listed from their index partition (Query, never Scan); each due workspace is taken with
a conditional marker per workspace-day, so a retried or duplicated schedule run does not enqueue the
day twice. A run that fails part-way releases its marker for the retry; one that died without a word
(timeout) is taken over once it is older than the function's timeout.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from keepwell import clock
from keepwell.domain.scheduling import WorkspaceClock, is_due, scoring_day
from keepwell.observability import logger
from keepwell.storage import recalculations, workspaces

RUN_TIMEOUT = timedelta(seconds=300)  # template.yaml ScheduleFunction Timeout


def due_workspaces(run_at: datetime) -> list[WorkspaceClock]:
    listed = (
        WorkspaceClock(item.workspace_id, item.timezone, int(item.scoring_hour))
        for item in workspaces.list_workspaces_for_scheduler()
    )
    return [workspace for workspace in listed if is_due(workspace, run_at)]


def fan_out_due_workspaces(run_at: datetime) -> dict[str, int]:
    """For each workspace due at `run_at`, send one ScoringRequest per customer; returns the number
    queued per workspace (0 for one a previous run already queued)."""
    queued: dict[str, int] = {}
    for workspace in due_workspaces(run_at):
        # Imported by the runs that queue a workspace's scoring (one hour a day per workspace), not by the
        # hourly run that finds none due: the queue's messages and the segment tally of the fan-out were
        # most of the schedule function's cold start (decision 0027, fourth pass).
        from keepwell.services import scoring_queue

        day = scoring_day(workspace, run_at).isoformat()
        if not recalculations.claim_scheduled_scoring(workspace.workspace_id, day, clock.now(), RUN_TIMEOUT):
            logger.info(
                "scheduled scoring already queued", extra={"workspace_id": workspace.workspace_id, "scoring_day": day}
            )
            queued[workspace.workspace_id] = 0
            continue
        try:
            sent = scoring_queue.enqueue_workspace(workspace.workspace_id, scoring_day(workspace, run_at), "schedule")
        except Exception:
            recalculations.release_scheduled_scoring(workspace.workspace_id, day)
            raise
        recalculations.finish_scheduled_scoring(workspace.workspace_id, day, sent)
        queued[workspace.workspace_id] = sent
    logger.info("scheduled scoring fan-out", extra={"run_at": clock.iso(run_at), "workspaces": queued})
    return queued
