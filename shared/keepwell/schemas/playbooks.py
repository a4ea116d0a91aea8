"""Bodies of the playbook routes (CRUD, versions, runs, dry run) and of the Slack setting."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.playbooks import (
    Action,
    ConditionSpec,
    PlaybookDefinition,
    Reenrollment,
    Run,
    RunSummary,
    Trigger,
)


class PlaybookIn(PlaybookDefinition):
    """POST /v1/playbooks: a whole definition (strict; unknown fields refused)."""


class PlaybookPatchIn(BaseModel):
    """Partial update: the sent parts replace the stored ones (`conditions: null` clears them).
    `version` (optional) is a precondition. Every change makes a new version."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    enabled: bool | None = None
    trigger: Trigger | None = None
    conditions: ConditionSpec | None = None
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=20)
    reenrollment: Reenrollment | None = None
    version: int | None = Field(default=None, ge=1)

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set if name != "version"}


class PlaybookOut(BaseModel):
    playbook_id: str
    name: str
    description: str | None
    enabled: bool
    trigger: dict[str, Any]
    trigger_text: str  # the trigger in a sentence
    conditions: dict[str, Any] | None  # JSON form, as stored
    conditions_text: str | None  # the same in the text form
    actions: list[dict[str, Any]]
    reenrollment: dict[str, Any]
    default_key: str | None
    version: int
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str


class PlaybookListOut(BaseModel):
    items: list[PlaybookOut]


class RunStepOut(BaseModel):
    index: int
    action: str
    params: dict[str, Any]
    outcome: dict[str, Any] | None  # null until the step ran


# The domain's RunSummary (its fields are written there, once) and the planned steps with their outcomes.
# Comments, not docstrings, so the OpenAPI document stays as it was.
class RunOut(RunSummary):
    steps: list[RunStepOut]

    @classmethod
    def of(cls, run: Run) -> RunOut:
        steps = [
            RunStepOut(
                index=int(step["index"]),
                action=str(step["action"]),
                params=dict(step.get("params") or {}),
                outcome=run.outcomes.get(str(step["index"])),
            )
            for step in run.steps
        ]
        return cls.model_validate({**run.model_dump(include=set(RunSummary.model_fields)), "steps": steps})


class RunListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    customer_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{1,128}$")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)


class RunListOut(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class DryRunQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    limit: int = Field(default=100, ge=1, le=500)


class PlannedStepOut(BaseModel):
    index: int
    action: str
    summary: str  # e.g. "task 'Call the champion of Acme' for csm-1, due 2026-11-20"
    due_date: date | None = None
    assignee: str | None = None
    not_before: date | None = None


class DryRunEntryOut(BaseModel):
    customer_id: str
    name: str
    owner_id: str | None
    reason: str
    episode: str
    start_on: date
    steps: list[PlannedStepOut]


class DryRunOut(BaseModel):
    """Who would enter the playbook now and what it would do. Nothing is written or sent."""

    playbook_id: str
    version: int
    enabled: bool
    as_of: date
    evaluated: int
    entering_count: int
    entering: list[DryRunEntryOut]  # at most `limit`
    not_entering: dict[str, int]  # why the others would not enter, counted
    note: str | None = None


class SlackSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    webhook_url: str = Field(min_length=10, max_length=500)


class SlackSettingsOut(BaseModel):
    configured: bool
    configured_by: str | None = None
    configured_at: str | None = None
