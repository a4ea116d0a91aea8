"""Hourly schedule (EventBridge Scheduler): queue scoring for the workspaces whose local hour has come."""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from keepwell import clock
from keepwell.observability import logger, tracer
from keepwell.services import schedule_runs


def scheduled_time(event: dict[str, Any]) -> datetime:
    """The time the run is for: the event's own time, so a late or retried run scores the right hour.

    A rule-style "Scheduled Event" carries `time`; a Scheduler target given
    `{"scheduled_time": "<aws.scheduler.scheduled-time>"}` carries that; Scheduler's bare `{}` has neither.
    """
    if event.get("scheduled_time"):
        raw = str(event["scheduled_time"])
    elif "detail-type" in event and event.get("time"):
        raw = str(event["time"])  # EventBridge's envelope (what powertools' EventBridgeEvent.time reads)
    else:
        return clock.now()
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValueError(f"scheduled time {raw!r} has no timezone")
    return moment


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    schedule_runs.fan_out_due_workspaces(scheduled_time(event))


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
