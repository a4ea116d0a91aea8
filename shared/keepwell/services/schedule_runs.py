"""The hourly schedule: queue scoring for every workspace whose local scoring hour has come."""

from __future__ import annotations

from datetime import datetime

from keepwell import clock
from keepwell.observability import logger


def fan_out_due_workspaces(run_at: datetime) -> None:
    """For each workspace due at `run_at` (domain.scheduling.is_due), send one ScoringRequest.

    To do: list workspaces through a key-addressed index (never a Scan), pick the due ones, and
    send `ScoringRequest(reason="schedule", scoring_day=...)` to the scoring queue in batches.
    """
    logger.info("not implemented yet", extra={"use_case": "scheduled scoring fan-out", "run_at": clock.iso(run_at)})
