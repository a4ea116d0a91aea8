"""Hourly schedule (EventBridge Scheduler): queue scoring for the workspaces whose local hour has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
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
        raw = EventBridgeEvent(event).time
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
