"""Playbooks: a trigger, optional conditions and ordered actions that turn health into work.

Pure rules, no AWS: the definition (triggers, actions, re-enrolment), when a customer enters a
playbook (episodes, re-enrolment policy, cooldown), what a run will do (steps with due dates), the
templates of messages, and the five playbooks every workspace starts with. Storage keeps one
enrolment state per (customer, playbook) and one run per (playbook, customer, episode); the run's
conditional put is what makes enrolment exactly-once. See docs/playbooks.md.

Conditions use the one condition language (domain/conditions.py) over the same flat record as
segments (domain/segments.customer_record).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from keepwell.domain import conditions
from keepwell.domain.conditions import Rule
from keepwell.domain.customers import CustomerStatus
from keepwell.errors import InvalidInput

MAX_ACTIONS = 20
MAX_PLAYBOOKS = 100
_BODY = ConfigDict(extra="forbid", strict=True, frozen=True)

# The text form or the JSON tree (stored as the tree); bounded like a segment's condition.
ConditionSpec = (
    Annotated[str, StringConstraints(min_length=1, max_length=2000)] | Annotated[dict[str, Any], Field(max_length=20)]
)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LifecycleFrom = Literal["new", "active", "trial", "churned", "paused"]

# --- triggers -----------------------------------------------------------------------------------


class ConditionTrigger(BaseModel):
    """A condition becomes true for the customer: fires on entering, once per episode."""

    model_config = _BODY
    type: Literal["condition"]
    condition: ConditionSpec


class DateOffsetTrigger(BaseModel):
    """`offset_days` from a date field (renewal_date - 60): fires on the first evaluation within
    [date + offset, date + offset + window_days], once per value of the date."""

    model_config = _BODY
    type: Literal["date_offset"]
    field: str = Field(default="renewal_date", pattern=r"^(renewal_date|created_at|custom\.[a-z][a-z0-9_]{0,39})$")
    offset_days: int = Field(ge=-365, le=365)
    window_days: int = Field(default=30, ge=0, le=365)


class SustainedTrigger(BaseModel):
    """A condition has held for `days` days (e.g. health ≥ 80 for 30 days), optionally with product
    usage of the last 30 days above the 30 days before by `min_usage_growth_pct`."""

    model_config = _BODY
    type: Literal["sustained"]
    condition: ConditionSpec
    days: int = Field(ge=1, le=180)
    usage_growth: bool = False
    min_usage_growth_pct: float = Field(default=0.0, ge=0, le=1000)


class LifecycleTrigger(BaseModel):
    """A status change of the customer (`new` = created), e.g. new or trial → active."""

    model_config = _BODY
    type: Literal["lifecycle"]
    from_status: list[LifecycleFrom] = Field(min_length=1, max_length=5)
    to_status: list[CustomerStatus] = Field(min_length=1, max_length=4)


class DaysAfterTrigger(BaseModel):
    """`days` after the customer's status changed to one of `to_status` (7 days after churn): the
    run is enrolled at the change and its steps wait until then (conditions re-checked)."""

    model_config = _BODY
    type: Literal["days_after"]
    event: Literal["status_changed"] = "status_changed"
    to_status: list[CustomerStatus] = Field(min_length=1, max_length=4)
    days: int = Field(ge=0, le=365)


class EventTrigger(BaseModel):
    """A domain event about the customer: its band changed (optionally into given bands, in a
    direction) or a health alert was raised (optionally of given kinds)."""

    model_config = _BODY
    type: Literal["event"]
    event: Literal["health.band_changed", "health.alert"]
    bands: list[Label] | None = Field(default=None, max_length=20)
    direction: Literal["down", "up", "any"] = "any"
    alert_kinds: list[Label] | None = Field(default=None, max_length=20)


Trigger = Annotated[
    ConditionTrigger | DateOffsetTrigger | SustainedTrigger | LifecycleTrigger | DaysAfterTrigger | EventTrigger,
    Field(discriminator="type"),
]

# --- actions ------------------------------------------------------------------------------------
ASSIGNEE_PATTERN = r"^(owner|co_owner|role:(admin|director|csm)|user:[A-Za-z0-9_.@\-]{1,128})$"


class TaskAction(BaseModel):
    model_config = _BODY
    type: Literal["task"]
    title: Title
    description: Text | None = None
    due_in_days: int = Field(default=0, ge=0, le=365)
    assignee: str = Field(default="owner", pattern=ASSIGNEE_PATTERN)


class SlackAction(BaseModel):
    """A Block Kit message to the workspace's Slack incoming webhook (PUT /v1/settings/slack)."""

    model_config = _BODY
    type: Literal["slack"]
    text: Text


class EmailAction(BaseModel):
    """An email through SES to the customer's owner or its champion, from a template."""

    model_config = _BODY
    type: Literal["email"]
    to: Literal["owner", "champion"]
    subject: Title
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    from_address: str | None = Field(default=None, pattern=r"^[^@\s]{1,64}@[^@\s]{1,253}$")


class WebhookAction(BaseModel):
    """Publish `playbook.triggered` on the bus; outbound webhook subscriptions deliver it."""

    model_config = _BODY
    type: Literal["webhook"]
    event_type: Literal["playbook.triggered"] = "playbook.triggered"


class UpdateFieldAction(BaseModel):
    """Add or remove a tag (`field: tags`), or set a custom field (`field: custom.<key>`)."""

    model_config = _BODY
    type: Literal["update_field"]
    field: str = Field(pattern=r"^(tags|custom\.[a-z][a-z0-9_]{0,39})$")
    operation: Literal["add", "remove", "set"] = "add"
    value: Annotated[str, StringConstraints(max_length=500)] | float | bool | None = None

    @model_validator(mode="after")
    def _fits_field(self) -> UpdateFieldAction:
        if self.field == "tags":
            if self.operation == "set" or not isinstance(self.value, str) or not self.value.strip():
                raise ValueError("tags take operation add or remove with a text value")
        elif self.operation != "set":
            raise ValueError("a custom field takes operation set")
        return self


class NotifyAction(BaseModel):
    """An in-app notification to every active user of a role (the director by default)."""

    model_config = _BODY
    type: Literal["notify"]
    role: Literal["director", "admin"] = "director"
    message: Text


class ApplyBlueprintAction(BaseModel):
    """Give the customer a success plan from the named blueprint, starting `start_in_days` after the
    step runs, unless it already has a plan (docs/success-plans.md)."""

    model_config = _BODY
    type: Literal["apply_blueprint"]
    blueprint: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    start_in_days: int = Field(default=0, ge=0, le=365)


class EngagementAction(BaseModel):
    """Open a journey phase for the customer (closing the current one) or close it if it is current."""

    model_config = _BODY
    type: Literal["engagement"]
    phase: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    operation: Literal["open", "close"] = "open"


Action = Annotated[
    TaskAction
    | SlackAction
    | EmailAction
    | WebhookAction
    | UpdateFieldAction
    | NotifyAction
    | ApplyBlueprintAction
    | EngagementAction,
    Field(discriminator="type"),
]
# Playbook action type -> PlaybookActionMessage.action
MESSAGE_ACTION = {
    "task": "task",
    "slack": "slack",
    "email": "email",
    "webhook": "webhook",
    "update_field": "update_field",
    "notify": "notify",
    "apply_blueprint": "apply_blueprint",
    "engagement": "engagement",
}


class Reenrollment(BaseModel):
    """`on_reentry`: a customer may enter again after leaving (a new episode); `never`: once ever.
    `cooldown_days`: no new enrolment within that many days of the last one."""

    model_config = _BODY
    policy: Literal["never", "on_reentry"] = "on_reentry"
    cooldown_days: int = Field(default=0, ge=0, le=3650)


# --- message templates --------------------------------------------------------------------------
TEMPLATE_NAMES = frozenset(
    {
        "customer.name",
        "customer.health_score",
        "customer.health_band",
        "customer.renewal_date",
        "customer.arr",
        "customer.status",
        "owner.name",
        "champion.name",
        "playbook.name",
        "reason",
        "due_date",
    }
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")


def template_errors(text: str) -> list[str]:
    """Placeholders a template names that do not exist."""
    return sorted({name for name in _PLACEHOLDER.findall(text) if name not in TEMPLATE_NAMES})


def render(text: str, values: Mapping[str, Any], escape: Callable[[str], str] | None = None) -> str:
    """Fill `{customer.name}`-style placeholders; a missing value renders as an em dash. `escape`
    applies to the values only (e.g. Slack mrkdwn), not to the template's own markup."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None or value == "":
            return "—"
        if isinstance(value, float):
            shown = f"{value:.1f}" if not value.is_integer() else str(int(value))
        else:
            shown = str(value)
        return escape(shown) if escape else shown

    return _PLACEHOLDER.sub(fill, text)


def _template_texts(action: BaseModel) -> list[tuple[str, str]]:
    names = {
        "task": ("title", "description"),
        "slack": ("text",),
        "email": ("subject", "body"),
        "notify": ("message",),
    }
    kind = getattr(action, "type", "")
    return [(n, getattr(action, n)) for n in names.get(kind, ()) if getattr(action, n, None)]


# --- the definition -----------------------------------------------------------------------------
class PlaybookDefinition(BaseModel):
    """What a director edits: name, trigger, conditions, ordered actions, re-enrolment."""

    model_config = _BODY

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    enabled: bool = True
    trigger: Trigger
    conditions: ConditionSpec | None = None
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)
    reenrollment: Reenrollment = Field(default_factory=Reenrollment)

    @field_validator("actions")
    @classmethod
    def _templates_name_known_values(cls, actions: list[Any]) -> list[Any]:
        for index, action in enumerate(actions):
            for name, text in _template_texts(action):
                unknown = template_errors(text)
                if unknown:
                    allowed = ", ".join(sorted(TEMPLATE_NAMES))
                    raise ValueError(
                        f"actions.{index}.{name}: unknown placeholder {{{unknown[0]}}}; allowed: {allowed}"
                    )
        return actions


class Playbook(BaseModel):
    """A stored playbook: its definition plus identity and version (every change is a new version)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    playbook_id: str
    workspace_id: str
    definition: PlaybookDefinition
    version: int = 1
    default_key: str | None = None  # one of DEFAULT_KEYS for the seeded ones
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str


# --- compiled form (what evaluation uses) -------------------------------------------------------
@dataclass(frozen=True)
class CompiledPlaybook:
    playbook: Playbook
    trigger_rule: Rule | None  # condition and sustained triggers
    conditions: Rule | None

    @property
    def definition(self) -> PlaybookDefinition:
        return self.playbook.definition


def compile_playbook(playbook: Playbook, rule_of: Any) -> CompiledPlaybook:
    """`rule_of(json_tree) -> Rule` rebuilds a stored condition (domain.segments.stored_rule)."""
    trigger = playbook.definition.trigger
    trigger_rule = rule_of(trigger.condition) if isinstance(trigger, ConditionTrigger | SustainedTrigger) else None
    extra = playbook.definition.conditions
    return CompiledPlaybook(playbook, trigger_rule, rule_of(extra) if extra is not None else None)


# --- evaluation ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Occurrence:
    """What prompted an evaluation: a domain event (its type, the day it is about, its detail), the
    daily score, or a dry run (`kind` = "dry_run")."""

    kind: str
    day: date
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class EnrolmentState:
    """One customer's standing with one playbook, kept between evaluations."""

    active: bool = False  # the trigger holds and was entered (condition / sustained / date episode)
    since: date | None = None  # the trigger's condition has held continuously since
    last_enrolled_on: date | None = None
    enrolments: int = 0
    last_episode: str | None = None


@dataclass(frozen=True)
class History:
    """A customer's past health (sustained triggers): day -> health fields, and product usage of
    the last 30 days and the 30 before (None when unknown)."""

    health: Mapping[date, Mapping[str, Any]]
    usage_recent: float | None = None
    usage_previous: float | None = None


@dataclass(frozen=True)
class Decision:
    enter: bool
    state: EnrolmentState
    reason: str
    code: str  # why, in one word: entered, in_episode, condition_false, cooldown, … (dry runs count them)
    episode: str | None = None
    start_on: date | None = None
    suppressed: str | None = None  # the trigger fired but re-enrolment or cooldown held it back


def episode_key(*parts: object) -> str:
    """An episode id fit for keys and messages (letters, digits, `_`, `-`)."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", "-".join(str(p) for p in parts))[:100]


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _holds(rule: Rule | None, record: Mapping[str, Any]) -> bool:
    return rule is None or conditions.evaluate(rule, record)


def _text(rule: Rule | None) -> str:
    if rule is None:
        return ""
    text = conditions.to_text(rule)
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def _enrol(playbook: Playbook, state: EnrolmentState, episode: str, day: date, start_on: date, reason: str) -> Decision:
    """Apply the re-enrolment policy and cooldown to a trigger that fired."""
    policy = playbook.definition.reenrollment
    if state.last_episode == episode:
        return Decision(False, state, f"already enrolled in episode {episode}", "in_episode")
    if policy.policy == "never" and state.enrolments > 0:
        why = "enrolled before and re-enrolment is off"
        return Decision(False, state, reason, "reenrolment_off", suppressed=why)
    if policy.cooldown_days and state.last_enrolled_on is not None:
        until = state.last_enrolled_on + timedelta(days=policy.cooldown_days)
        if day < until:
            return Decision(False, state, reason, "cooldown", suppressed=f"cooldown until {until.isoformat()}")
    entered = replace(state, last_enrolled_on=day, enrolments=state.enrolments + 1, last_episode=episode)
    return Decision(True, entered, reason, "entered", episode=episode, start_on=start_on)


def _streak_start(rule: Rule, record: Mapping[str, Any], history: Mapping[date, Mapping[str, Any]], day: date) -> date:
    """The first day of the unbroken run of past days (ending today) on which `rule` held; days
    without a snapshot do not break the run."""
    start = day
    for past in sorted((d for d in history if d < day), reverse=True):
        if not conditions.evaluate(rule, {**record, **history[past]}):
            break
        start = past
    return start


def _detail(detail: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = detail.get(name)
        if value is not None and value != "":
            return value
    return None


def status_change(occurrence: Occurrence) -> tuple[str, str] | None:
    """(from, to) of a customer.changed occurrence; `new` for a created customer; None if the status
    did not change."""
    if occurrence.kind != "customer.changed":
        return None
    detail = occurrence.detail
    after = _detail(detail, "after_status", "status")
    if after is None:
        return None
    created = detail.get("change") == "created"
    before = "new" if created else _detail(detail, "before_status", "previous_status")
    if before is None or before == after:
        return None
    return str(before), str(after)


def alert_kind(detail: Mapping[str, Any]) -> str | None:
    """The kind of a health.alert, wherever the producer put it."""
    value = _detail(detail, "alert_kind", "kind", "alert_type", "alert")
    if isinstance(value, Mapping):
        value = _detail(value, "kind", "type")
    return str(value) if value is not None else None


def _band_direction(detail: Mapping[str, Any]) -> str | None:
    given = detail.get("direction")
    if given in ("down", "up"):
        return str(given)
    score, previous = detail.get("score"), detail.get("previous_score")
    if isinstance(score, int | float) and isinstance(previous, int | float) and score != previous:
        return "down" if score < previous else "up"
    return None


def evaluate(
    compiled: CompiledPlaybook,
    record: Mapping[str, Any],
    state: EnrolmentState,
    occurrence: Occurrence,
    history: History | None = None,
) -> Decision:
    """Does this occurrence enrol the customer (a flat record) in the playbook? Also returns the
    state to keep. Pure and deterministic: the same inputs give the same episode, so a redelivered
    event or a repeated daily run addresses the same run item."""
    playbook = compiled.playbook
    trigger = playbook.definition.trigger
    day = occurrence.day
    extra_ok = _holds(compiled.conditions, record)
    extra_text = f" and {_text(compiled.conditions)}" if compiled.conditions is not None else ""

    if isinstance(trigger, ConditionTrigger):
        if not (_holds(compiled.trigger_rule, record) and extra_ok):
            return Decision(
                False, replace(state, active=False, since=None), "condition does not hold", "condition_false"
            )
        if state.active:
            held_since = state.since.isoformat() if state.since else "before"
            return Decision(False, state, f"condition holds since {held_since} (same episode)", "in_episode")
        entered = replace(state, active=True, since=day)
        reason = f"{_text(compiled.trigger_rule)}{extra_text} became true on {day.isoformat()}"
        return _enrol(playbook, entered, episode_key("entered", day.isoformat()), day, day, reason)

    if isinstance(trigger, SustainedTrigger):
        assert compiled.trigger_rule is not None
        if not (_holds(compiled.trigger_rule, record) and extra_ok):
            return Decision(
                False, replace(state, active=False, since=None), "condition does not hold", "condition_false"
            )
        if history is not None and history.health:
            since = _streak_start(compiled.trigger_rule, record, history.health, day)
        else:
            since = state.since or day
        held = (day - since).days
        tracking = replace(state, since=since)
        if held < trigger.days:
            return Decision(False, replace(tracking, active=False), f"held {held} of {trigger.days} days", "not_yet")
        growth = ""
        if trigger.usage_growth:
            recent = history.usage_recent if history else None
            previous = history.usage_previous if history else None
            if recent is None or previous is None or recent <= 0:
                return Decision(False, replace(tracking, active=False), "no usage data to show growth", "no_usage")
            needed = previous * (1 + trigger.min_usage_growth_pct / 100)
            if recent <= needed:
                return Decision(False, replace(tracking, active=False), "usage is not growing", "usage_flat")
            pct = (recent - previous) / previous * 100 if previous else None
            growth = f", usage up {pct:.0f}% on the previous 30 days" if pct is not None else ", usage growing"
        if state.active:
            return Decision(False, tracking, f"sustained since {since.isoformat()} (same episode)", "in_episode")
        reason = f"{_text(compiled.trigger_rule)}{extra_text} for {held} days (since {since.isoformat()}){growth}"
        entered = replace(tracking, active=True)
        return _enrol(playbook, entered, episode_key("sustained", day.isoformat()), day, day, reason)

    if isinstance(trigger, DateOffsetTrigger):
        target = _as_date(record.get(trigger.field))
        if target is None:
            return Decision(False, state, f"no {trigger.field}", "no_date")
        fire_on = target + timedelta(days=trigger.offset_days)
        if day < fire_on:
            return Decision(False, state, f"fires on {fire_on.isoformat()}", "not_yet")
        if (day - fire_on).days > trigger.window_days:
            closed = (fire_on + timedelta(days=trigger.window_days)).isoformat()
            return Decision(False, state, f"window closed {closed}", "window_closed")
        if not extra_ok:
            return Decision(False, state, "conditions do not hold", "conditions_false")
        days_left = (target - day).days
        when = f"{abs(days_left)} days {'before' if days_left >= 0 else 'after'}"
        reason = f"{trigger.field} {target.isoformat()} is {when} ({trigger.offset_days:+d}-day trigger){extra_text}"
        return _enrol(playbook, state, episode_key(trigger.field, target.isoformat()), day, day, reason)

    if isinstance(trigger, LifecycleTrigger | DaysAfterTrigger):
        change = status_change(occurrence)
        if change is None:
            return Decision(False, state, "no status change", "waits_for_event")
        before, after = change
        if isinstance(trigger, LifecycleTrigger):
            if before not in trigger.from_status or after not in trigger.to_status:
                return Decision(False, state, f"status {before} → {after} does not match", "no_match")
            if not extra_ok:
                return Decision(False, state, "conditions do not hold", "conditions_false")
            reason = f"status changed {before} → {after} on {day.isoformat()}{extra_text}"
            return _enrol(playbook, state, episode_key("lifecycle", before, after, day.isoformat()), day, day, reason)
        if after not in trigger.to_status:
            return Decision(False, state, f"status {after} does not match", "no_match")
        if not extra_ok:
            return Decision(False, state, "conditions do not hold", "conditions_false")
        start_on = day + timedelta(days=trigger.days)
        reason = f"status became {after} on {day.isoformat()}; acting {trigger.days} days later, on {start_on}"
        return _enrol(playbook, state, episode_key(after, day.isoformat()), day, start_on, reason)

    assert isinstance(trigger, EventTrigger)
    if occurrence.kind != trigger.event:
        return Decision(False, state, f"waits for {trigger.event}", "waits_for_event")
    detail = occurrence.detail
    if trigger.event == "health.band_changed":
        band = _detail(detail, "band", "health_band")
        previous = _detail(detail, "previous_band")
        if trigger.bands and (band is None or str(band).lower() not in {b.lower() for b in trigger.bands}):
            return Decision(False, state, f"band {band} is not one of {', '.join(trigger.bands)}", "no_match")
        if trigger.direction != "any" and _band_direction(detail) != trigger.direction:
            return Decision(False, state, f"band did not move {trigger.direction}", "no_match")
        subject, what = str(band), f"band changed {previous or '—'} → {band}"
    else:
        kind = alert_kind(detail)
        if trigger.alert_kinds and kind not in trigger.alert_kinds:
            return Decision(False, state, f"alert {kind} is not one of {', '.join(trigger.alert_kinds)}", "no_match")
        subject, what = str(kind), f"{kind or 'health'} alert raised"
    if not extra_ok:
        return Decision(False, state, "conditions do not hold", "conditions_false")
    reason = f"{what} on {day.isoformat()}{extra_text}"
    return _enrol(playbook, state, episode_key(trigger.event, subject, day.isoformat()), day, day, reason)


def still_applies(compiled: CompiledPlaybook, record: Mapping[str, Any]) -> bool:
    """A waiting (days-after) run acts only if the customer still fits when its day comes."""
    trigger = compiled.definition.trigger
    if isinstance(trigger, DaysAfterTrigger) and record.get("status") not in trigger.to_status:
        return False
    return _holds(compiled.conditions, record)


def needs_history(compiled: CompiledPlaybook, record: Mapping[str, Any]) -> bool:
    """Only a sustained trigger whose condition holds today needs the customer's past."""
    trigger = compiled.definition.trigger
    return isinstance(trigger, SustainedTrigger) and _holds(compiled.trigger_rule, record)


def usage_window_days(compiled: CompiledPlaybook) -> int:
    trigger = compiled.definition.trigger
    return trigger.days if isinstance(trigger, SustainedTrigger) else 0


# --- planning a run -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedStep:
    index: int
    action: str  # PlaybookActionMessage.action
    params: dict[str, Any]
    not_before: date | None  # a waiting run's steps act on this day


# --- a run ---------------------------------------------------------------------------------------
# A run's field list is written once: RunSummary is what anyone reads about a run (the API's RunOut adds
# the steps with their outcomes), Run adds what the system keeps to carry it out; storage builds its item
# from Run and reads it back into Run.
class RunSummary(BaseModel):
    """One customer enrolled in one playbook version for one episode: who, which playbook, why, when."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    playbook_id: str
    playbook_name: str
    playbook_version: int
    customer_id: str
    customer_name: str | None
    episode: str
    trigger_type: str
    occurrence: str  # the event type (or daily score) that enrolled the customer
    reason: str
    start_on: date
    enrolled_at: str


class Run(RunSummary):
    """A run as it is carried out: its workspace, when its steps were queued, the steps planned at
    enrolment ([{index, action, params}]) and each step's outcome by index ({status, detail, …})."""

    workspace_id: str
    queued_at: str | None
    steps: list[dict[str, Any]]
    outcomes: dict[str, dict[str, Any]]


def plan_steps(definition: PlaybookDefinition, start_on: date, today: date) -> list[PlannedStep]:
    """The run's steps in order, each with its parameters; tasks get their due date
    (start + due_in_days). Steps of a run that starts later wait for that day."""
    steps = []
    for index, action in enumerate(definition.actions):
        params = action.model_dump(mode="json")
        if isinstance(action, TaskAction):
            params["due_date"] = (start_on + timedelta(days=action.due_in_days)).isoformat()
        waits = start_on if start_on > today else None
        if waits is not None:
            params["not_before"] = waits.isoformat()
        steps.append(PlannedStep(index, MESSAGE_ACTION[action.type], params, waits))
    return steps


def resolve_assignee(
    assignee: str, owner_id: str | None, co_owner_ids: Sequence[str], users: Sequence[tuple[str, str]]
) -> str | None:
    """The user a task goes to. `users` are the workspace's active (user_id, role) pairs. A role
    picks its first user by id; a co-owner or named user who cannot work the task (gone, or a viewer,
    who changes nothing) is passed over; anyone missing falls back to the customer's owner."""
    active = {user_id for user_id, role in users if role != "viewer"}
    chosen: str | None = None
    if assignee == "owner":
        chosen = owner_id
    elif assignee == "co_owner":
        chosen = next((u for u in sorted(co_owner_ids) if u in active), None)
    elif assignee.startswith("role:"):
        role = assignee.removeprefix("role:")
        chosen = next((u for u, r in sorted(users) if r == role), None)
    elif assignee.startswith("user:"):
        candidate = assignee.removeprefix("user:")
        chosen = candidate if candidate in active else None
    if chosen is None or (chosen not in active and chosen != owner_id):
        chosen = owner_id
    return chosen


def step_summary(action: str, params: Mapping[str, Any], assignee: str | None = None) -> str:
    """One line saying what a step does (timeline entries, dry runs, logs)."""
    if action == "task":
        who = f" for {assignee}" if assignee else ""
        return f"task '{params.get('title')}'{who}, due {params.get('due_date')}"
    if action == "slack":
        return "Slack message to the workspace channel"
    if action == "email":
        return f"email '{params.get('subject')}' to the {params.get('to')}"
    if action == "webhook":
        return f"webhook event {params.get('event_type', 'playbook.triggered')}"
    if action == "update_field":
        return f"{params.get('operation')} {params.get('field')} {params.get('value')!r}"
    if action == "notify":
        return f"notify the {params.get('role', 'director')}"
    if action == "apply_blueprint":
        return f"apply the success blueprint '{params.get('blueprint')}'"
    if action == "engagement":
        return f"{params.get('operation', 'open')} the {params.get('phase')} engagement"
    return action


def describe_trigger(definition: PlaybookDefinition, rule_text: str | None = None) -> str:
    """The trigger in a sentence (`rule_text`: the trigger's condition in the text form)."""
    trigger = definition.trigger
    if isinstance(trigger, ConditionTrigger):
        return f"when {rule_text} becomes true"
    if isinstance(trigger, SustainedTrigger):
        growth = " with growing usage" if trigger.usage_growth else ""
        return f"when {rule_text} has held for {trigger.days} days{growth}"
    if isinstance(trigger, DateOffsetTrigger):
        days = abs(trigger.offset_days)
        side = "before" if trigger.offset_days < 0 else "after"
        return f"{days} days {side} {trigger.field}" if days else f"on {trigger.field}"
    if isinstance(trigger, LifecycleTrigger):
        return f"when the status goes from {' or '.join(trigger.from_status)} to {' or '.join(trigger.to_status)}"
    if isinstance(trigger, DaysAfterTrigger):
        return f"{trigger.days} days after the status becomes {' or '.join(trigger.to_status)}"
    filters = []
    if trigger.bands:
        filters.append(f"into {' or '.join(trigger.bands)}")
    if trigger.direction != "any":
        filters.append(trigger.direction)
    if trigger.alert_kinds:
        filters.append(" or ".join(trigger.alert_kinds))
    return f"on {trigger.event}" + (f" ({', '.join(filters)})" if filters else "")


def slack_message(
    text: str, *, customer_name: str, playbook_name: str, reason: str, facts: Sequence[str]
) -> dict[str, Any]:
    """A Block Kit message: the rendered text, then who/what/why as context; `text` is the
    notification fallback."""
    context = " · ".join([f"Playbook *{slack_escape(playbook_name)}*", *(slack_escape(f) for f in facts)])
    return {
        "text": f"{customer_name}: {text}"[:3000],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": customer_name[:150], "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context[:3000]}]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Why: {slack_escape(reason)}"[:3000]}]},
        ],
    }


SLACK_HOSTS = frozenset({"hooks.slack.com"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_slack_webhook_url(url: str, *, allow_loopback: bool = False) -> str:
    """An incoming-webhook URL: https://hooks.slack.com/services/… (or /workflows/…). Only the local
    stack (`allow_loopback`) may name a loopback http stand-in. Fixed hosts: no SSRF surface."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    problem = None
    if parts.username or parts.password or any(c.isspace() for c in url.strip()):
        problem = "must not contain credentials or spaces"
    elif allow_loopback and parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return url.strip()
    elif parts.scheme != "https" or host not in SLACK_HOSTS or parts.port not in (None, 443):
        problem = "must be a https://hooks.slack.com/… incoming webhook URL"
    elif not (parts.path.startswith("/services/") or parts.path.startswith("/workflows/")):
        problem = "must be a Slack incoming webhook path (/services/…)"
    if problem:
        raise InvalidInput(f"Invalid body: webhook_url {problem}", [{"field": "webhook_url", "issue": problem}])
    return url.strip()


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- identities ---------------------------------------------------------------------------------
def _digest(*parts: str, length: int = 16) -> str:
    raw = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return base64.b32encode(raw).decode().lower().rstrip("=")[:length]


def run_id(workspace_id: str, playbook_id: str, customer_id: str, episode: str) -> str:
    """The same (playbook, customer, episode) always names the same run."""
    return f"run_{_digest(workspace_id, playbook_id, customer_id, episode)}"


def step_task_id(run: str, step_index: int) -> str:
    """The task a run's step creates: retrying the step finds the same task."""
    return f"tsk_{_digest(run, str(step_index))}"


def step_item_id(run: str, step_index: int, what: str) -> str:
    return f"{what}_{_digest(run, str(step_index), what)}"


# --- the five playbooks every workspace starts with ---------------------------------------------
DEFAULT_KEYS = ("at_risk", "renewal", "expansion", "onboarding", "win_back")


def _definition(data: dict[str, Any]) -> PlaybookDefinition:
    return PlaybookDefinition.model_validate(data, strict=False)


def default_playbooks() -> list[tuple[str, PlaybookDefinition]]:
    """(default key, definition) of the seeded playbooks; their ids are `pb_default_<key>`."""
    return [
        (
            "at_risk",
            _definition(
                {
                    "name": "At-risk",
                    "description": "Health enters the at-risk band: call the champion today and tell the owner.",
                    "trigger": {"type": "condition", "condition": 'health_band = "At risk"'},
                    "conditions": 'status != "churned"',
                    "actions": [
                        {
                            "type": "task",
                            "title": "Call the champion of {customer.name}",
                            "description": "Health is {customer.health_score} ({customer.health_band}): {reason}.",
                            "due_in_days": 0,
                            "assignee": "owner",
                        },
                        {
                            "type": "slack",
                            "text": "*{customer.name}* entered *{customer.health_band}* (health "
                            "{customer.health_score}). Owner: {owner.name}. Call the champion today.",
                        },
                    ],
                    "reenrollment": {"policy": "on_reentry", "cooldown_days": 14},
                }
            ),
        ),
        (
            "renewal",
            _definition(
                {
                    "name": "Renewal",
                    "description": "60 days before renewal: open the renewal engagement, confirm the champion, "
                    "prepare and send the proposal; target close 15 days before the renewal date.",
                    "trigger": {"type": "date_offset", "field": "renewal_date", "offset_days": -60, "window_days": 45},
                    "conditions": 'status IN ("active", "paused")',
                    "actions": [
                        {"type": "engagement", "phase": "renewal"},
                        {"type": "task", "title": "Confirm the champion at {customer.name}", "due_in_days": 0},
                        {"type": "task", "title": "Prepare the renewal proposal for {customer.name}", "due_in_days": 7},
                        {"type": "task", "title": "Renewal conversation with {customer.name}", "due_in_days": 14},
                        {
                            "type": "task",
                            "title": "Send the renewal proposal to {customer.name}",
                            "description": "Renewal on {customer.renewal_date}; target close 15 days before.",
                            "due_in_days": 30,
                        },
                    ],
                }
            ),
        ),
        (
            "expansion",
            _definition(
                {
                    "name": "Expansion",
                    "description": "Health at 80 or more for 30 days with growing usage: open an expansion.",
                    "trigger": {
                        "type": "sustained",
                        "condition": "health_score >= 80",
                        "days": 30,
                        "usage_growth": True,
                    },
                    "conditions": 'status = "active"',
                    "actions": [
                        {"type": "task", "title": "Identify an additional stakeholder at {customer.name}"},
                        {
                            "type": "task",
                            "title": "Prepare a specific expansion proposal for {customer.name}",
                            "due_in_days": 7,
                        },
                        {"type": "task", "title": "Schedule a demo with {customer.name}", "due_in_days": 14},
                    ],
                    "reenrollment": {"policy": "on_reentry", "cooldown_days": 180},
                }
            ),
        ),
        (
            "onboarding",
            _definition(
                {
                    "name": "Onboarding",
                    "description": "A new paying customer (created active, or trial → active).",
                    "trigger": {"type": "lifecycle", "from_status": ["new", "trial"], "to_status": ["active"]},
                    "actions": [
                        {"type": "engagement", "phase": "onboarding"},
                        {"type": "apply_blueprint", "blueprint": "Onboarding"},
                        {"type": "task", "title": "Kickoff call with {customer.name}", "due_in_days": 0},
                        {
                            "type": "task",
                            "title": "First-value milestone reached at {customer.name}?",
                            "due_in_days": 14,
                        },
                        {"type": "task", "title": "30-day check-in with {customer.name}", "due_in_days": 30},
                    ],
                    "reenrollment": {"policy": "never"},
                }
            ),
        ),
        (
            "win_back",
            _definition(
                {
                    "name": "Win-back",
                    "description": "7 days after a customer churned: reach out.",
                    "trigger": {"type": "days_after", "to_status": ["churned"], "days": 7},
                    "actions": [
                        {"type": "task", "title": "Win-back: reach out to the champion of {customer.name}"},
                        {"type": "task", "title": "Win-back: follow up with {customer.name}", "due_in_days": 14},
                    ],
                }
            ),
        ),
    ]


def default_playbook_id(key: str) -> str:
    return f"pb_default_{key}"
