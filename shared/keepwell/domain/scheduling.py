"""When each workspace scores: once a day, early morning in the workspace's own timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class WorkspaceClock:
    workspace_id: str
    timezone: str
    scoring_hour: int  # local hour, 0-23


def local_now(workspace: WorkspaceClock, now: datetime) -> datetime:
    try:
        zone = ZoneInfo(workspace.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone)


def is_due(workspace: WorkspaceClock, now: datetime) -> bool:
    """True during the one hour a day when the workspace's local clock shows its scoring hour.

    The hourly schedule runs at minute 0 of every UTC hour; zones with a 30/45-minute offset reach
    their scoring hour mid-way through a UTC hour, so they are picked at the run inside that hour.
    """
    return local_now(workspace, now).hour == workspace.scoring_hour


def scoring_day(workspace: WorkspaceClock, now: datetime) -> date:
    """The workspace's local calendar day: a snapshot belongs to the day the CSM sees it."""
    return local_now(workspace, now).date()
