"""Upsell recommendations: rules an admin writes, and how a customer is scored against them. Pure.

A rule recommends one product. It applies to a customer when it is active, the customer has every
prerequisite product, none of the excluded products and not the product itself, and its company size
and industry match (when the rule sets them; an unknown size does not match a size range). The
composite score is the rule's base score plus the weight of every trigger signal that holds, capped at
100. A customer sees its top 3 (highest score first, then rule name) with a sentence per point.

Triggers
- `renewal_within_days` (days): the next open renewal is within that many days.
- `revenue_growth_percent` (percent): ARR grew at least that much at the last renewal
  (closed ARR against the term's ARR).
- `usage_metric_above` (metric, threshold): the metric over the last 30 days is above the threshold;
  metrics: `events`, `logins`, `active_users` (distinct), `features` (distinct), or any product event
  name (its count).
- `subscription_expired` (product): a subscription of that product churned, or is past its renewal
  date without auto-renew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from keepwell.domain.flags import ActivityDay
from keepwell.domain.renewals import Renewal

TOP = 3
USAGE_WINDOW_DAYS = 30
Product = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Weight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class RenewalWithinDays(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["renewal_within_days"]
    days: int = Field(ge=1, le=730)
    weight: Weight = 10


class RevenueGrowthPercent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["revenue_growth_percent"]
    percent: float = Field(ge=0, le=10_000, allow_inf_nan=False)
    weight: Weight = 10


class UsageMetricAbove(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["usage_metric_above"]
    metric: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    threshold: float = Field(ge=0, allow_inf_nan=False)
    weight: Weight = 10


class SubscriptionExpired(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["subscription_expired"]
    product: Product
    weight: Weight = 10


Trigger = Annotated[
    RenewalWithinDays | RevenueGrowthPercent | UsageMetricAbove | SubscriptionExpired, Field(discriminator="type")
]


class RuleBody(BaseModel):
    """What an admin sends (create) and what a rule holds besides its id and times."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    product: Product
    prerequisites: list[Product] = Field(default_factory=list, max_length=20)
    exclusions: list[Product] = Field(default_factory=list, max_length=20)
    min_employees: int | None = Field(default=None, ge=0)
    max_employees: int | None = Field(default=None, ge=0)
    industries: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    base_score: float = Field(ge=0, le=100, allow_inf_nan=False)
    active: bool = True
    triggers: list[Trigger] = Field(default_factory=list, max_length=20)
    description: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _range(self) -> RuleBody:
        if (
            self.min_employees is not None
            and self.max_employees is not None
            and self.min_employees > self.max_employees
        ):
            raise ValueError("min_employees must not exceed max_employees")
        return self


class UpsellRule(RuleBody):
    model_config = ConfigDict(extra="forbid")

    rule_id: str
    workspace_id: str
    created_by: str
    created_at: str
    updated_at: str
    version: int = 1


@dataclass(frozen=True)
class AccountFacts:
    """What the rules read about one customer."""

    today: date
    products: frozenset[str]  # held now (lower case)
    expired_products: frozenset[str]  # lower case
    employee_count: int | None
    industry: str | None
    next_renewal_date: date | None
    revenue_growth_percent: float | None
    usage_30d: Mapping[str, float] = field(default_factory=dict)


def _norm(value: str) -> str:
    return value.strip().lower()


def usage_totals(days: Iterable[ActivityDay], today: date, window: int = USAGE_WINDOW_DAYS) -> dict[str, float]:
    """Metrics of the last `window` complete days: events, logins, distinct active users and
    features, and each product event's count."""
    start, end = today - timedelta(days=window), today - timedelta(days=1)
    recent = [d for d in days if start <= d.day <= end]
    totals: dict[str, float] = {}
    for day in recent:
        for name, count in day.event_counts.items():
            totals[name] = totals.get(name, 0) + count
    totals["events"] = sum(d.events for d in recent)
    totals["logins"] = sum(d.logins for d in recent)
    totals["active_users"] = len({u for d in recent for u in d.users})
    totals["features"] = len({f for d in recent for f in d.features})
    return totals


def account_facts(
    *,
    today: date,
    renewals: Iterable[Renewal],
    employee_count: int | None,
    industry: str | None,
    plan: str | None,
    usage: Iterable[ActivityDay] = (),
) -> AccountFacts:
    """Products held: the customer's plan and every subscription renewal still open or renewed.
    Expired: subscriptions churned, or open past their date without auto-renew (and not held otherwise)."""
    items = list(renewals)
    held = {_norm(plan)} if plan else set()
    expired: set[str] = set()
    for renewal in items:
        if renewal.product is None:
            continue
        product = _norm(renewal.product)
        lapsed = renewal.is_open and renewal.renewal_date < today and not renewal.auto_renew
        if renewal.status == "churned" or lapsed:
            expired.add(product)
        else:
            held.add(product)
    open_dates = [r.renewal_date for r in items if r.is_open]
    closed = sorted(
        (r for r in items if r.status == "renewed" and r.closed_arr is not None and r.current_arr > 0),
        key=lambda r: (r.closed_on or r.renewal_date, r.renewal_id),
    )
    growth = round((closed[-1].closed_arr or 0) / closed[-1].current_arr * 100 - 100, 1) if closed else None
    return AccountFacts(
        today=today,
        products=frozenset(held),
        expired_products=frozenset(expired - held),
        employee_count=employee_count,
        industry=industry,
        next_renewal_date=min(open_dates) if open_dates else None,
        revenue_growth_percent=growth,
        usage_30d=usage_totals(usage, today),
    )


@dataclass(frozen=True)
class Recommendation:
    rule_id: str
    rule_name: str
    product: str
    score: float
    base_score: float
    why: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "product": self.product,
            "score": self.score,
            "base_score": self.base_score,
            "why": list(self.why),
        }


def ineligibility(rule: RuleBody, facts: AccountFacts) -> str | None:
    """Why the rule does not apply to the account, or None when it does."""
    if not rule.active:
        return "the rule is inactive"
    if _norm(rule.product) in facts.products:
        return f"already has {rule.product}"
    missing = [p for p in rule.prerequisites if _norm(p) not in facts.products]
    if missing:
        return f"lacks the prerequisite {', '.join(missing)}"
    excluded = [p for p in rule.exclusions if _norm(p) in facts.products]
    if excluded:
        return f"has the excluded {', '.join(excluded)}"
    if rule.min_employees is not None or rule.max_employees is not None:
        size = facts.employee_count
        low, high = rule.min_employees, rule.max_employees
        if size is None or (low is not None and size < low) or (high is not None and size > high):
            return f"company size {size if size is not None else 'unknown'} is outside {low or 0}-{high or '∞'}"
    if rule.industries and (facts.industry is None or _norm(facts.industry) not in {_norm(i) for i in rule.industries}):
        return f"industry {facts.industry or 'unknown'} is not one of {', '.join(rule.industries)}"
    return None


def _trigger_reason(trigger: Any, facts: AccountFacts) -> str | None:
    if isinstance(trigger, RenewalWithinDays):
        if facts.next_renewal_date is None:
            return None
        left = (facts.next_renewal_date - facts.today).days
        return f"renewal in {left} days (within {trigger.days})" if left <= trigger.days else None
    if isinstance(trigger, RevenueGrowthPercent):
        growth = facts.revenue_growth_percent
        if growth is None or growth < trigger.percent:
            return None
        return f"ARR grew {growth:g}% at the last renewal (≥ {trigger.percent:g}%)"
    if isinstance(trigger, UsageMetricAbove):
        value = facts.usage_30d.get(trigger.metric)
        if value is None or value <= trigger.threshold:
            return None
        return f"{trigger.metric} {value:g} in the last {USAGE_WINDOW_DAYS} days (above {trigger.threshold:g})"
    if isinstance(trigger, SubscriptionExpired):
        return (
            f"the {trigger.product} subscription expired" if _norm(trigger.product) in facts.expired_products else None
        )
    return None


def score(rule: UpsellRule, facts: AccountFacts) -> Recommendation | None:
    """The rule's recommendation for the account, or None when it does not apply."""
    if ineligibility(rule, facts) is not None:
        return None
    why = [f"base score {rule.base_score:g} for {rule.product}"]
    total = rule.base_score
    for trigger in rule.triggers:
        reason = _trigger_reason(trigger, facts)
        if reason is not None:
            total += trigger.weight
            why.append(f"+{trigger.weight:g}: {reason}")
    capped = min(total, 100.0)
    if capped < total:
        why.append("capped at 100")
    return Recommendation(rule.rule_id, rule.name, rule.product, round(capped, 1), rule.base_score, tuple(why))


def recommend(rules: Iterable[UpsellRule], facts: AccountFacts, top: int = TOP) -> list[Recommendation]:
    found = [r for r in (score(rule, facts) for rule in rules) if r is not None]
    found.sort(key=lambda r: (-r.score, r.rule_name.lower(), r.rule_id))
    return found[:top]
