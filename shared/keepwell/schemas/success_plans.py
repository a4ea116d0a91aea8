"""Bodies of the capability, blueprint and success-plan routes (docs/success-plans.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from keepwell.domain.capabilities import KEY_PATTERN, MAX_WINDOW_DAYS
from keepwell.domain.success_plans import (
    MAX_OBJECTIVES,
    PHASE_PATTERN,
    BlueprintDefinition,
    BlueprintObjective,
    Engagement,
    InitiativeStatus,
    Metric,
    Objective,
    Text,
    Title,
)

Feature = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Version = Annotated[int, Field(ge=1)]


# --- capabilities -----------------------------------------------------------------------------------
class CapabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=40, description="the name conditions use: capability.<key> (lower case, digits, _)")
    name: Title
    product: Title
    features: list[Feature] = Field(min_length=1, max_length=50, description="product events that show use")
    threshold_days: int = Field(default=3, ge=1, le=MAX_WINDOW_DAYS)
    window_days: int = Field(default=30, ge=1, le=MAX_WINDOW_DAYS)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError("lower case letters, digits and _, starting with a letter (at most 40)")
        return value


class CapabilityPatchIn(BaseModel):
    """Partial update; `version` (optional) is a precondition (409 when stale)."""

    model_config = ConfigDict(extra="forbid")
    name: Title | None = None
    product: Title | None = None
    features: list[Feature] | None = Field(default=None, min_length=1, max_length=50)
    threshold_days: int | None = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)
    window_days: int | None = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)
    version: Version | None = None


class CapabilityOut(BaseModel):
    capability_id: str
    key: str
    name: str
    product: str
    features: list[str]
    threshold_days: int
    window_days: int
    updated_at: str
    version: int


class CapabilityListOut(BaseModel):
    items: list[CapabilityOut]


class CapabilityUsageOut(BaseModel):
    key: str
    name: str | None  # None: a capability deleted since
    product: str | None
    state: Literal["adopted", "not_yet", "lapsed"]
    since: date | None
    used_days: int


class CustomerCapabilitiesOut(BaseModel):
    customer_id: str
    items: list[CapabilityUsageOut]


# --- blueprints -------------------------------------------------------------------------------------
class BlueprintIn(BlueprintDefinition):
    pass


class BlueprintPatchIn(BaseModel):
    """Partial update of a blueprint; saving makes a new version. `version` is a precondition."""

    model_config = ConfigDict(extra="forbid")
    name: Title | None = None
    description: Text | None = None
    journey_phase: str | None = Field(default=None, max_length=40)
    objectives: list[BlueprintObjective] | None = Field(default=None, min_length=1, max_length=MAX_OBJECTIVES)
    version: Version | None = None


class BlueprintOut(BlueprintDefinition):
    blueprint_id: str
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    version: int


class BlueprintListOut(BaseModel):
    items: list[BlueprintOut]


class BlueprintVersionsOut(BaseModel):
    items: list[BlueprintOut]


# --- plans ------------------------------------------------------------------------------------------
class InitiativeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    initiative_id: str | None = Field(default=None, max_length=60, description="omit for a new initiative")
    title: Title
    status: InitiativeStatus = "not_started"
    owner_id: str | None = Field(default=None, max_length=100)
    due_date: date
    shared: bool = False
    task_ids: list[Annotated[str, StringConstraints(max_length=60)]] = Field(default_factory=list, max_length=20)


class ObjectiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objective_id: str | None = Field(default=None, max_length=60, description="omit for a new objective")
    title: Title
    metric: Metric | None = None
    baseline: float | None = None
    target: float | None = None
    due_date: date
    shared: bool = False
    initiatives: list[InitiativeIn] = Field(default_factory=list, max_length=20)


class PlanIn(BaseModel):
    """A plan written by hand (or an edit of the whole plan). `version` is required to replace an
    existing plan (409 when stale) and must be left out to create one."""

    model_config = ConfigDict(extra="forbid")
    name: Title
    start_date: date
    objectives: list[ObjectiveIn] = Field(default_factory=list, max_length=MAX_OBJECTIVES)
    version: Version | None = None


class ApplyBlueprintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    blueprint_id: str = Field(min_length=1, max_length=60)
    start_date: date | None = None  # default: today
    version: Version | None = Field(default=None, description="the plan's version, to replace an existing plan")


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recorded_on: date | None = None  # default: today
    value: float | None = Field(default=None, allow_inf_nan=False)
    note: Text | None = None
    version: Version | None = None


class AchieveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    version: Version | None = None


class PlanOut(BaseModel):
    customer_id: str
    name: str
    blueprint_id: str | None
    blueprint_version: int | None
    start_date: date
    objectives: list[Objective]
    overdue: list[str] = Field(description="ids of objectives and initiatives past due and not done")
    updated_at: str
    updated_by: str
    version: int


# --- share links --------------------------------------------------------------------------------------
class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_in_days: int = Field(default=30, ge=1, le=90)


class ShareOut(BaseModel):
    share_id: str
    created_at: str
    created_by: str
    valid_until: str


class ShareCreatedOut(ShareOut):
    token: str = Field(description="shown once; only its hash is stored")
    path: str = Field(description="the read-only page of the shared plan: GET <api>/v1/shared/plans/<token>")


class ShareListOut(BaseModel):
    items: list[ShareOut]


class SharedItemOut(BaseModel):
    title: str
    due_date: date
    status: str


class SharedObjectiveOut(BaseModel):
    title: str | None = None  # None: the objective is internal, only some of its initiatives are shared
    due_date: date | None = None
    status: str | None = None
    initiatives: list[SharedItemOut]


class SharedPlanOut(BaseModel):
    """What a customer sees through a share link: only the milestones marked shared."""

    customer_name: str
    name: str
    start_date: date
    objectives: list[SharedObjectiveOut]
    valid_until: str


# --- engagements -------------------------------------------------------------------------------------------
class EngagementOpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phase: Annotated[str, StringConstraints(strip_whitespace=True, pattern=PHASE_PATTERN)]
    started_on: date | None = None  # default: today
    products: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    version: Version | None = None


class EngagementCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Version | None = None


class EngagementsOut(BaseModel):
    customer_id: str
    current: Engagement | None
    history: list[Engagement]
    version: int
