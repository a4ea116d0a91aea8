"""Schedule events of template.yaml (`Type: Schedule` / `ScheduleV2`), invoked on demand locally.

Nothing fires them on a timer: the local stack invokes each once after seeding, and
`python -m infra.local recalc` asks the running stack to invoke one again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.template import Resolver, resources_of_type

SCHEDULE_TYPES = ("Schedule", "ScheduleV2")


@dataclass(frozen=True)
class ScheduleSource:
    function_id: str
    event_name: str
    event_type: str  # Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler)
    expression: str

    def resource_arn(self, resolver: Resolver) -> str:
        name = f"{resolver.stack_name}-{self.function_id}-{self.event_name}"
        if self.event_type == "ScheduleV2":
            return f"arn:aws:scheduler:{resolver.region}:{resolver.account_id}:schedule/default/{name}"
        return f"arn:aws:events:{resolver.region}:{resolver.account_id}:rule/{name}"


def schedule_sources(template: dict[str, Any]) -> list[ScheduleSource]:
    sources = []
    for function_id, function in resources_of_type(template, "AWS::Serverless::Function").items():
        for event_name, event in (function["Properties"].get("Events") or {}).items():
            if event["Type"] in SCHEDULE_TYPES:
                props = event.get("Properties") or {}
                sources.append(
                    ScheduleSource(function_id, event_name, event["Type"], str(props.get("ScheduleExpression")))
                )
    return sources


def scheduled_event(source: ScheduleSource, resolver: Resolver, at: datetime) -> dict[str, Any]:
    """The event a scheduled invocation carries (EventBridge's "Scheduled Event" shape)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if source.event_type == "ScheduleV2" else "aws.events",
        "account": resolver.account_id,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": resolver.region,
        "resources": [source.resource_arn(resolver)],
        "detail": {},
    }
