"""Success blueprints and success plans. Pure: no AWS.

A **blueprint** is a reusable template: objectives, each with initiatives, each with success tasks,
every due date relative to the plan's start (`due_days`). A customer's **plan** (one per customer) is
applied from a blueprint or written by hand: objectives are measurable (metric, baseline, target, due
date), initiatives carry a status, owner and due date and link the ids of their success tasks (the
ordinary tasks, created when the blueprint is applied). **Outcomes** record a realised result against
an objective; an objective is achieved when an outcome or the metric read at scoring time meets its
target, or by hand with a reason. See docs/success-plans.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
# A metric an objective measures: a customer field, `custom.<key>`, `health_score`, `dimension.<key>`,
# `capabilities_adopted` — any number of the condition record (domain/segments.customer_record).
Metric = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[a-z_][a-z0-9_.]*$")
]
DueDays = Annotated[int, Field(ge=0, le=3650)]

MAX_OBJECTIVES = 20
MAX_INITIATIVES = 20  # per objective
MAX_TASKS = 20  # per initiative
MAX_BLUEPRINT_TASKS = 60
MAX_OUTCOMES = 50  # per objective (the oldest are dropped beyond)

ObjectiveStatus = Literal["open", "achieved"]
InitiativeStatus = Literal["not_started", "in_progress", "done", "blocked"]
Visibility = Literal["internal", "shared"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- blueprints ----------------------------------------------------------------------------------
class BlueprintTask(_Strict):
    title: Title
    due_days: DueDays = 0


class BlueprintInitiative(_Strict):
    title: Title
    due_days: DueDays = 0
    shared: bool = False  # a milestone the customer sees through a shared plan link
    tasks: list[BlueprintTask] = Field(default_factory=list, max_length=MAX_TASKS)


class BlueprintObjective(_Strict):
    title: Title
    metric: Metric | None = None
    baseline: float | None = None
    target: float | None = None
    due_days: DueDays = 90
    shared: bool = False
    initiatives: list[BlueprintInitiative] = Field(default_factory=list, max_length=MAX_INITIATIVES)

    @model_validator(mode="after")
    def _measurable(self) -> BlueprintObjective:
        check_measure(self.metric, self.target, self.baseline)
        return self


def check_measure(metric: str | None, target: float | None, baseline: float | None) -> None:
    if (metric is None) != (target is None):
        raise ValueError("metric and target go together")
    for value in (target, baseline):
        if value is not None and not math.isfinite(value):
            raise ValueError("numbers must be finite")


class BlueprintDefinition(_Strict):
    """What a blueprint holds (the body of a create, and each stored version)."""

    name: Title
    description: Text | None = None
    journey_phase: str | None = Field(default=None, max_length=40)
    objectives: list[BlueprintObjective] = Field(min_length=1, max_length=MAX_OBJECTIVES)

    @model_validator(mode="after")
    def _bounded(self) -> BlueprintDefinition:
        # Applying writes the plan and its tasks in one transaction (at most 100 items).
        tasks = sum(len(i.tasks) for o in self.objectives for i in o.initiatives)
        if tasks > MAX_BLUEPRINT_TASKS:
            raise ValueError(f"a blueprint creates at most {MAX_BLUEPRINT_TASKS} tasks, not {tasks}")
        return self


# --- plans -----------------------------------------------------------------------------------------
class Outcome(_Strict):
    outcome_id: str
    recorded_on: date
    value: float | None = None
    note: str | None = None
    source: Literal["manual", "scoring"] = "manual"
    recorded_by: str | None = None


class Initiative(_Strict):
    initiative_id: str
    title: Title
    status: InitiativeStatus = "not_started"
    owner_id: str | None = None
    due_date: date
    shared: bool = False
    task_ids: list[str] = Field(default_factory=list, max_length=MAX_TASKS)


class Objective(_Strict):
    objective_id: str
    title: Title
    metric: Metric | None = None
    baseline: float | None = None
    target: float | None = None
    due_date: date
    shared: bool = False
    status: ObjectiveStatus = "open"
    achieved_on: date | None = None
    achieved_reason: str | None = None
    initiatives: list[Initiative] = Field(default_factory=list, max_length=MAX_INITIATIVES)
    outcomes: list[Outcome] = Field(default_factory=list)


class Plan(_Strict):
    customer_id: str
    name: str
    blueprint_id: str | None = None
    blueprint_version: int | None = None
    start_date: date
    objectives: list[Objective] = Field(default_factory=list, max_length=MAX_OBJECTIVES)


@dataclass(frozen=True)
class TaskDraft:
    """A success task the application of a blueprint creates (as an ordinary task)."""

    task_id: str
    initiative_id: str
    title: str
    due_date: date


def apply_blueprint(
    blueprint: BlueprintDefinition,
    *,
    customer_id: str,
    start: date,
    owner_id: str | None,
    new_id: Any,
    blueprint_id: str | None = None,
    blueprint_version: int | None = None,
) -> tuple[Plan, list[TaskDraft]]:
    """The plan a blueprint gives a customer starting on `start`, and the success tasks to create.
    `new_id(prefix)` names every objective, initiative and task."""
    objectives: list[Objective] = []
    drafts: list[TaskDraft] = []
    for o in blueprint.objectives:
        initiatives = []
        for i in o.initiatives:
            initiative_id = new_id("ini")
            task_ids = []
            for t in i.tasks:
                draft = TaskDraft(new_id("tsk"), initiative_id, t.title, start + timedelta(days=t.due_days))
                drafts.append(draft)
                task_ids.append(draft.task_id)
            initiatives.append(
                Initiative(
                    initiative_id=initiative_id,
                    title=i.title,
                    owner_id=owner_id,
                    due_date=start + timedelta(days=i.due_days),
                    shared=i.shared,
                    task_ids=task_ids,
                )
            )
        objectives.append(
            Objective(
                objective_id=new_id("obj"),
                title=o.title,
                metric=o.metric,
                baseline=o.baseline,
                target=o.target,
                due_date=start + timedelta(days=o.due_days),
                shared=o.shared,
                initiatives=initiatives,
            )
        )
    plan = Plan(
        customer_id=customer_id,
        name=blueprint.name,
        blueprint_id=blueprint_id,
        blueprint_version=blueprint_version,
        start_date=start,
        objectives=objectives,
    )
    return plan, drafts


# --- measuring ---------------------------------------------------------------------------------------
def meets_target(objective: Objective, value: float | None) -> bool:
    """Whether `value` reaches the objective's target. A target below the baseline is a reduction
    ("reduce tickets to 5"): met at or under it; otherwise at or over it."""
    if value is None or objective.target is None or not math.isfinite(value):
        return False
    if objective.baseline is not None and objective.target < objective.baseline:
        return value <= objective.target
    return value >= objective.target


def metric_value(record: Mapping[str, Any], metric: str) -> float | None:
    value = record.get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class Achievement:
    objective_id: str
    title: str
    value: float


def achieve_from_record(
    plan: Plan, record: Mapping[str, Any], day: date, new_id: Any
) -> tuple[Plan, list[Achievement]]:
    """Scoring time: every open objective whose metric now meets its target becomes achieved, with an
    outcome recording the value read (source `scoring`)."""
    achieved: list[Achievement] = []
    objectives = []
    for o in plan.objectives:
        value = metric_value(record, o.metric) if o.metric else None
        if o.status == "open" and meets_target(o, value):
            assert value is not None
            outcome = Outcome(outcome_id=new_id("out"), recorded_on=day, value=value, source="scoring")
            o = o.model_copy(
                update={
                    "status": "achieved",
                    "achieved_on": day,
                    "achieved_reason": f"{o.metric} reached {_number(value)} (target {_number(o.target)})",
                    "outcomes": [*o.outcomes, outcome][-MAX_OUTCOMES:],
                }
            )
            achieved.append(Achievement(o.objective_id, o.title, value))
        objectives.append(o)
    return plan.model_copy(update={"objectives": objectives}), achieved


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def record_outcome(objective: Objective, outcome: Outcome) -> Objective:
    """An outcome added; one whose value meets the target achieves the objective."""
    update: dict[str, Any] = {"outcomes": [*objective.outcomes, outcome][-MAX_OUTCOMES:]}
    if objective.status == "open" and meets_target(objective, outcome.value):
        update |= {
            "status": "achieved",
            "achieved_on": outcome.recorded_on,
            "achieved_reason": f"outcome {outcome.outcome_id}: {objective.metric} = {_number(outcome.value)}",
        }
    return objective.model_copy(update=update)


# --- milestones --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Milestone:
    """An objective or initiative past its due date and not achieved / done: a risk signal."""

    kind: Literal["objective", "initiative"]
    milestone_id: str
    title: str
    due_date: date
    days_overdue: int


def overdue_milestones(plan: Plan, today: date) -> list[Milestone]:
    found: list[Milestone] = []
    for o in plan.objectives:
        if o.status != "achieved" and o.due_date < today:
            found.append(Milestone("objective", o.objective_id, o.title, o.due_date, (today - o.due_date).days))
        for i in o.initiatives:
            if i.status != "done" and i.due_date < today:
                found.append(Milestone("initiative", i.initiative_id, i.title, i.due_date, (today - i.due_date).days))
    return found


def find_objective(plan: Plan, objective_id: str) -> Objective | None:
    return next((o for o in plan.objectives if o.objective_id == objective_id), None)


def replace_objective(plan: Plan, objective: Objective) -> Plan:
    return plan.model_copy(
        update={"objectives": [objective if o.objective_id == objective.objective_id else o for o in plan.objectives]}
    )


def task_ids(plan: Plan) -> set[str]:
    return {t for o in plan.objectives for i in o.initiatives for t in i.task_ids}


def shared_view(plan: Plan) -> dict[str, Any]:
    """What a customer sees through a shared link: only the objectives and initiatives marked shared,
    their titles, due dates and status — no ids of people, tasks, metrics' internals or notes."""
    objectives = []
    for o in plan.objectives:
        initiatives = [
            {"title": i.title, "due_date": i.due_date.isoformat(), "status": i.status}
            for i in o.initiatives
            if i.shared
        ]
        if not o.shared and not initiatives:
            continue
        item: dict[str, Any] = {"initiatives": initiatives}
        if o.shared:
            item |= {"title": o.title, "due_date": o.due_date.isoformat(), "status": o.status}
        objectives.append(item)
    return {"name": plan.name, "start_date": plan.start_date.isoformat(), "objectives": objectives}


def check_plan_limits(plan: Plan) -> None:
    """Bounds beyond the schema: ids unique within the plan."""
    seen: set[str] = set()
    for o in plan.objectives:
        for ident in [o.objective_id, *(i.initiative_id for i in o.initiatives)]:
            if ident in seen:
                raise ValueError(f"duplicate id {ident}")
            seen.add(ident)


def initiative_statuses(objectives: Sequence[Objective]) -> dict[str, str]:
    return {i.initiative_id: i.status for o in objectives for i in o.initiatives}


# --- the blueprint every workspace starts with ----------------------------------------------------------
ONBOARDING = BlueprintDefinition.model_validate(
    {
        "name": "Onboarding",
        "description": "The first 90 days of a new customer: kick-off, go-live, first value.",
        "journey_phase": "onboarding",
        "objectives": [
            {
                "title": "Live on the product",
                "metric": "capabilities_adopted",
                "baseline": 0,
                "target": 1,
                "due_days": 45,
                "shared": True,
                "initiatives": [
                    {
                        "title": "Kick-off held",
                        "due_days": 7,
                        "shared": True,
                        "tasks": [
                            {"title": "Send the kick-off agenda", "due_days": 1},
                            {"title": "Hold the kick-off call", "due_days": 7},
                        ],
                    },
                    {
                        "title": "Technical set-up done",
                        "due_days": 30,
                        "shared": True,
                        "tasks": [{"title": "Confirm integrations and SSO are live", "due_days": 30}],
                    },
                ],
            },
            {
                "title": "First value proven",
                "metric": "health_score",
                "baseline": 50,
                "target": 70,
                "due_days": 90,
                "shared": True,
                "initiatives": [
                    {
                        "title": "Success criteria agreed with the champion",
                        "due_days": 21,
                        "tasks": [{"title": "Write down the customer's success criteria", "due_days": 21}],
                    },
                    {
                        "title": "90-day review",
                        "due_days": 90,
                        "shared": True,
                        "tasks": [{"title": "Run the 90-day value review", "due_days": 90}],
                    },
                ],
            },
        ],
    }
)
DEFAULT_BLUEPRINTS: dict[str, BlueprintDefinition] = {ONBOARDING.name.lower(): ONBOARDING}


# --- engagements: the customer's current journey phase -----------------------------------------------------
STANDARD_PHASES: tuple[str, ...] = ("onboarding", "adoption", "renewal", "expansion")
PHASE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"  # a standard phase or the workspace's own
MAX_ENGAGEMENT_HISTORY = 50


class Engagement(_Strict):
    phase: Annotated[str, StringConstraints(pattern=PHASE_PATTERN)]
    started_on: date
    ended_on: date | None = None
    products: list[Annotated[str, StringConstraints(max_length=100)]] = Field(default_factory=list, max_length=20)
    plan_name: str | None = None  # the success plan it tracks, when there is one
    opened_by: str  # a user id, or `playbook:<id>`


class Engagements(_Strict):
    current: Engagement | None = None
    history: list[Engagement] = Field(default_factory=list)  # closed ones, newest first


def open_engagement(engagements: Engagements, opened: Engagement) -> Engagements:
    """`opened` becomes current; the current one (if any) closes the day before… or the same day. Opening
    the phase already current changes nothing (a playbook step delivered twice)."""
    current = engagements.current
    if current is not None and current.phase == opened.phase:
        return engagements
    history = engagements.history
    if current is not None:
        history = [current.model_copy(update={"ended_on": opened.started_on}), *history][:MAX_ENGAGEMENT_HISTORY]
    return Engagements(current=opened, history=history)


def close_engagement(engagements: Engagements, phase: str | None, day: date) -> Engagements:
    """Close the current engagement (only if it is `phase`, when named); nothing current: unchanged."""
    current = engagements.current
    if current is None or (phase is not None and current.phase != phase):
        return engagements
    closed = current.model_copy(update={"ended_on": day})
    return Engagements(current=None, history=[closed, *engagements.history][:MAX_ENGAGEMENT_HISTORY])
