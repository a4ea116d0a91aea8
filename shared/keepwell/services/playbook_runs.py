"""Playbooks: start runs when a domain event matches a playbook's trigger, and execute their steps."""

from __future__ import annotations

from keepwell.observability import logger
from keepwell.schemas.messages import DomainEventIn, PlaybookActionMessage


def start_runs_for_event(event: DomainEventIn) -> None:
    """Start a run of every enabled playbook whose trigger matches `event` (once per episode).

    To do: load the workspace's playbooks by key, match triggers (domain.conditions), create the
    run items conditionally (a redelivered event starts nothing twice) and queue the first steps.
    """
    logger.info(
        "not implemented yet",
        extra={
            "use_case": "playbook triggers",
            "detail_type": event.detail_type,
            "workspace_id": event.detail.workspace_id,
        },
    )


def execute_action(message: PlaybookActionMessage) -> None:
    """Execute one step of one run exactly once (a conditional write on run + step guards it).

    To do: claim the step, perform the action (SES email, task, webhook, field update), record the
    outcome on the run and queue the next step. Raising fails only this record (retried, then DLQ).
    """
    logger.info(
        "not implemented yet",
        extra={"use_case": "playbook actions", "run_id": message.run_id, "step_index": message.step_index},
    )
