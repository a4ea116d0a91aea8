"""Renewals: the entity and its pure rules (no AWS).

A renewal is one term of a customer's contract coming up for renewal: the whole account
(`product` is None) or one subscription of an account with several products. Its life is
open → renewed | churned (closed). The rules here place it in the pipeline, colour its days left,
name its proposed delta, check forecast categories and suggest an escalation. docs/renewals.md
explains each rule.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from keepwell.domain.health.signals import ContractSignals
from keepwell.errors import InvalidInput

RenewalStatus = Literal["open", "renewed", "churned"]
CLOSED_STATUSES = frozenset({"renewed", "churned"})
Colour = Literal["red", "amber", "green"]
DeltaKind = Literal["expansion", "flat", "downsell"]
PipelineGroup = Literal["this_month", "next_90_days", "next_180_days", "historical"]
PIPELINE_GROUPS: tuple[PipelineGroup, ...] = ("this_month", "next_90_days", "next_180_days", "historical")
UPCOMING_WINDOWS: tuple[int, ...] = (30, 60, 90, 180)

RED_BELOW_DAYS = 30  # red: fewer than 30 days left, or overdue
AMBER_BELOW_DAYS = 90  # amber: fewer than 90; green from 90 on
HISTORY_DAYS = 365  # the historical group: closed in the last 12 months
FLAT_TOLERANCE = 0.005  # |renewal ARR - current ARR| ≤ 0.5 % of current (or one cent) counts as flat
EARLY_CLOSE_DAYS = 15


# --- forecast categories ---------------------------------------------------------------------
class ForecastCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=60)


class ForecastSettings(BaseModel):
    """A workspace's forecast categories, in display order, and which of them play a role:
    `at_risk_category` is what an escalation suggests (and marking it notifies the director);
    `best_case_category` with the `sales_handoff` tag hands the account to its account executive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: tuple[ForecastCategory, ...] = Field(min_length=1, max_length=12)
    default_category: str
    at_risk_category: str | None = None
    best_case_category: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ForecastSettings:
        known = [c.key for c in self.categories]
        if len(set(known)) != len(known):
            raise ValueError("category keys must be unique")
        for name in ("default_category", "at_risk_category", "best_case_category"):
            value = getattr(self, name)
            if value is not None and value not in known:
                raise ValueError(f"{name} {value!r} is not one of the categories ({', '.join(known)})")
        return self

    def category_keys(self) -> list[str]:
        return [c.key for c in self.categories]

    def label(self, key: str) -> str:
        return next((c.label for c in self.categories if c.key == key), key)


DEFAULT_FORECAST = ForecastSettings(
    categories=(
        ForecastCategory(key="commit", label="Commit"),
        ForecastCategory(key="probable", label="Probable"),
        ForecastCategory(key="best_case", label="Best case"),
        ForecastCategory(key="at_risk", label="At risk"),
    ),
    default_category="probable",
    at_risk_category="at_risk",
    best_case_category="best_case",
)


def check_category(settings: ForecastSettings, category: str, field: str = "forecast_category") -> str:
    if category not in settings.category_keys():
        raise InvalidInput(
            f"Unknown forecast category {category!r}; this workspace uses {', '.join(settings.category_keys())}",
            [{"field": field, "issue": f"must be one of {', '.join(settings.category_keys())}"}],
        )
    return category


def require_reason(reason: str | None) -> str:
    """A forecast change needs a reason (400 naming `reason` otherwise)."""
    if reason is None or not reason.strip():
        raise InvalidInput(
            "A forecast change needs a reason", [{"field": "reason", "issue": "required for a forecast change"}]
        )
    return reason.strip()


# --- the entity --------------------------------------------------------------------------------
class Renewal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    renewal_id: str
    workspace_id: str
    customer_id: str
    product: str | None = None  # None: the whole account; else one subscription
    renewal_date: date
    current_arr: float  # ARR of the term being renewed
    mrr: float
    auto_renew: bool = False
    proposed_arr: float | None = None  # the renewal ARR under negotiation
    expansion_target_arr: float | None = None  # the uplift aimed for (expansion ratio)
    forecast_category: str
    status: RenewalStatus = "open"
    closed_on: date | None = None
    closed_arr: float | None = None  # the ARR actually renewed (0 when churned)
    account_executive_id: str | None = None
    notes: str | None = None
    created_by: str
    created_at: str
    updated_at: str
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status == "open"


def days_left(renewal_date: date, today: date) -> int:
    """Days from today to the renewal date; negative when overdue."""
    return (renewal_date - today).days


def colour(days: int) -> Colour:
    """Red below 30 days (or overdue), amber below 90, green from 90 on."""
    if days < RED_BELOW_DAYS:
        return "red"
    if days < AMBER_BELOW_DAYS:
        return "amber"
    return "green"


@dataclass(frozen=True)
class ProposedDelta:
    renewal_arr: float | None
    delta: float | None
    percent: float | None
    kind: DeltaKind | None  # None: no renewal ARR proposed yet

    def as_dict(self) -> dict[str, Any]:
        return {"renewal_arr": self.renewal_arr, "delta": self.delta, "percent": self.percent, "kind": self.kind}


def proposed_delta(current_arr: float, renewal_arr: float | None) -> ProposedDelta:
    """Renewal ARR against current ARR: expansion (up), downsell (down) or flat (within 0.5 %)."""
    if renewal_arr is None:
        return ProposedDelta(None, None, None, None)
    delta = round(renewal_arr - current_arr, 2)
    percent = round(delta / current_arr * 100, 1) if current_arr else None
    tolerance = max(abs(current_arr) * FLAT_TOLERANCE, 0.01)
    kind: DeltaKind = "flat" if abs(delta) <= tolerance else ("expansion" if delta > 0 else "downsell")
    return ProposedDelta(renewal_arr, delta, percent, kind)


def month_end(today: date) -> date:
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


def pipeline_group(renewal: Renewal, today: date) -> PipelineGroup | None:
    """Where a renewal sits in the pipeline (groups do not overlap):

    - open, renewal date up to the end of this month (overdue ones included: they still need action)
      → this_month;
    - open, after this month and within 90 days → next_90_days; within 180 → next_180_days;
    - closed (renewed or churned) in the last 12 months → historical;
    - anything else (open beyond 180 days, closed longer ago) → None.
    """
    if renewal.status in CLOSED_STATUSES:
        closed = renewal.closed_on or renewal.renewal_date
        return "historical" if today - timedelta(days=HISTORY_DAYS) <= closed <= today else None
    if renewal.renewal_date <= month_end(today):
        return "this_month"
    if renewal.renewal_date <= today + timedelta(days=90):
        return "next_90_days"
    if renewal.renewal_date <= today + timedelta(days=180):
        return "next_180_days"
    return None


def pipeline_window(today: date) -> tuple[date, date]:
    """The renewal-date range the pipeline reads: a year back (historical, overdue) to 180 days ahead."""
    return today - timedelta(days=HISTORY_DAYS + 31), max(today + timedelta(days=180), month_end(today))


def within_window(renewal: Renewal, today: date, days: int) -> bool:
    """For the upcoming table: open and due within `days` (overdue ones included)."""
    return renewal.is_open and renewal.renewal_date <= today + timedelta(days=days)


def closed_early(renewal: Renewal, min_days: int = EARLY_CLOSE_DAYS) -> bool:
    """Renewed at least `min_days` before its renewal date."""
    return (
        renewal.status == "renewed"
        and renewal.closed_on is not None
        and (renewal.renewal_date - renewal.closed_on).days >= min_days
    )


def next_open(renewals: Iterable[Renewal]) -> Renewal | None:
    """The customer's next open renewal (earliest date; the account-level one first on a tie)."""
    candidates = [r for r in renewals if r.is_open]
    if not candidates:
        return None
    return min(candidates, key=lambda r: (r.renewal_date, r.product is not None, r.renewal_id))


# --- escalation -------------------------------------------------------------------------------
ESCALATION_MIN_RED_FLAGS = 2
ESCALATION_DAYS_WITHOUT_CHAMPION = 30


@dataclass(frozen=True)
class EscalationSuggestion:
    suggested: bool
    suggested_category: str | None
    current_category: str | None
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "suggested": self.suggested,
            "suggested_category": self.suggested_category,
            "current_category": self.current_category,
            "reasons": list(self.reasons),
        }


def escalation(
    *,
    red_flags: Sequence[str],
    renewal: Renewal | None,
    today: date,
    champion_aligned: bool,
    competitor_mentions: Sequence[str],
    settings: ForecastSettings = DEFAULT_FORECAST,
) -> EscalationSuggestion:
    """Suggest the at-risk category when any of these holds:

    - 2 or more red flags at the same time;
    - fewer than 30 days left (or overdue) on the next open renewal without an aligned champion
      (no champion, or the champion's email bounced / role changed);
    - a competitor is mentioned in the customer's recent emails.

    Nothing is suggested when the renewal already sits in the at-risk category (or there is no
    open renewal: the reasons are still given, so a CSM sees them on the customer).
    """
    reasons: list[str] = []
    if len(red_flags) >= ESCALATION_MIN_RED_FLAGS:
        reasons.append(f"{len(red_flags)} red flags at the same time: {', '.join(red_flags)}")
    if renewal is not None and not champion_aligned:
        left = days_left(renewal.renewal_date, today)
        if left < ESCALATION_DAYS_WITHOUT_CHAMPION:
            when = f"{left} days left" if left >= 0 else f"overdue by {-left} days"
            reasons.append(f"renewal on {renewal.renewal_date.isoformat()} ({when}) without an aligned champion")
    if competitor_mentions:
        reasons.append(f"competitor mentioned: {', '.join(competitor_mentions)}")
    current = renewal.forecast_category if renewal is not None else None
    target = settings.at_risk_category
    suggested = bool(reasons) and renewal is not None and target is not None and current != target
    return EscalationSuggestion(suggested, target if suggested else None, current, tuple(reasons))


# --- the profile's renewal date and the renewal records ---------------------------------------------
@dataclass(frozen=True)
class ProfileDateFollowUp:
    """What a customer's renewal records need once its profile `renewal_date` is set or changed:
    nothing, a new open account-level renewal (`create`), or the next open one moved (`move`)."""

    create: bool = False
    move: Renewal | None = None

    @property
    def needed(self) -> bool:
        return self.create or self.move is not None


def follow_profile_date(
    renewal_date: date | None, *, tracked: bool, account_renewals: Sequence[Renewal]
) -> ProfileDateFollowUp:
    """A customer with a renewal date has its open account-level renewal on that date:

    - no date, or a customer whose renewals are not tracked (churned, archived) → nothing;
    - an account-level renewal (open or closed) already on that date → nothing (so the date a closed
      renewal left on the profile does not open a new term, and every call is idempotent);
    - an open account-level renewal on another date → the next open one moves to the new date;
    - none open → a new open renewal on that date.
    Subscription renewals (`product` set) are never touched: they have their own dates.
    """
    if renewal_date is None or not tracked:
        return ProfileDateFollowUp()
    account = [r for r in account_renewals if r.product is None]
    if any(r.renewal_date == renewal_date for r in account):
        return ProfileDateFollowUp()
    upcoming = next_open(account)
    if upcoming is not None:
        return ProfileDateFollowUp(move=upcoming)
    return ProfileDateFollowUp(create=True)


def profile_renewal_id(customer_id: str, renewal_date: date) -> str:
    """The id of the renewal opened from a profile's renewal date: derived from the customer and the
    date, so two writers (a redelivered import row, two requests at once) create it once."""
    digest = hashlib.sha256(f"{customer_id}#{renewal_date.isoformat()}".encode()).hexdigest()
    return f"ren_{digest[:16]}"


# --- what the health model's Contract dimension reads -------------------------------------------------
def contract_signals(renewals: Sequence[Renewal]) -> ContractSignals | None:
    """The Contract dimension's inputs from a customer's renewal records (None: no record, so the
    dimension is N/A rather than 0):

    - renewal proximity and auto-renew: of the next open renewal (earliest date, the account before
      subscriptions); no open renewal → no date and no auto-renew;
    - expansion history: renewals closed as renewed above their term's ARR (beyond the flat tolerance
      of `proposed_delta`) are expansions; renewed below it, or a subscription closed as churned, are
      contractions.
    """
    if not renewals:
        return None
    upcoming = next_open(renewals)
    expansions = contractions = 0
    for renewal in renewals:
        if renewal.status == "renewed" and renewal.closed_arr is not None:
            kind = proposed_delta(renewal.current_arr, renewal.closed_arr).kind
            expansions += kind == "expansion"
            contractions += kind == "downsell"
        elif renewal.status == "churned" and renewal.product is not None:
            contractions += 1
    return ContractSignals(
        renewal_date=upcoming.renewal_date if upcoming is not None else None,
        auto_renew=upcoming.auto_renew if upcoming is not None else False,
        expansions=expansions,
        contractions=contractions,
    )


def lost_term(
    customer_id: str,
    workspace_id: str,
    *,
    arr: float,
    mrr: float,
    today: date,
    category: str,
    actor: str,
    now: str,
    renewal_id: str,
) -> Renewal:
    """The term a customer churned with when it had no open account-level renewal: recorded as a
    renewal closed as churned today (its ARR lost), so every churned customer counts in GRR and NRR."""
    return Renewal(
        renewal_id=renewal_id,
        workspace_id=workspace_id,
        customer_id=customer_id,
        renewal_date=today,
        current_arr=arr,
        mrr=mrr,
        forecast_category=category,
        status="churned",
        closed_on=today,
        closed_arr=0.0,
        notes="Recorded when the customer churned without an open renewal",
        created_by=actor,
        created_at=now,
        updated_at=now,
    )


# --- what a pipeline row shows besides the renewal (kept on the renewal item, docs/renewals.md) --------
def is_renewal_playbook(default_key: str | None, name: str) -> bool:
    """A renewal playbook: the seeded `renewal` one, or any whose name says renewal."""
    return default_key == "renewal" or "renewal" in name.lower()


def next_action_of(tasks: Iterable[Any], renewal_playbooks: set[str]) -> dict[str, Any] | None:
    """The first open task from a renewal playbook among a customer's open tasks given in due order
    (`<due date>#<task id>`, as their index lists them): the pipeline row's `next_action`."""
    task = next((t for t in tasks if t.playbook_id in renewal_playbooks), None)
    if task is None:
        return None
    return {
        "task_id": task.task_id,
        "title": task.title,
        "due_date": task.due_date.isoformat(),
        "owner_id": task.owner_id,
        "status": task.status,
    }


def latest_activity(emails: dict[str, Any], meetings: dict[str, Any]) -> dict[str, Any] | None:
    """The latest email (either way) or meeting of a signal log: `at`, `kind`, `ref` (the row adds
    `days_ago` when it is read)."""
    moments = [(r["at"], "email_in" if r.get("dir") == "in" else "email_out", k) for k, r in emails.items()]
    moments += [(r["at"], "meeting", k) for k, r in meetings.items()]
    if not moments:
        return None
    at, kind, ref = max(moments)
    return {"at": at, "kind": kind, "ref": ref}
