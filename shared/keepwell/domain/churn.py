"""Churn: the fixed list of reasons, the churn-risk score (0-100) and CLTV, each explained. Pure.

Churn risk (docs/renewals.md) is a sum of points, clamped to 0-100; each part is reported:

    health        (100 - health score) x 0.5                 0..50  (no score yet: 25)
    red flags     +10 per red flag, at most +30
    green flags   -5 per green flag, at most -15
    renewal       next open renewal in < 30 days: +10; in < 90 days: +5
    forecast      the renewal sits in the at-risk category: +10
    downsell      a downsell is proposed on it: +5
    churned       an already churned customer is 100, whatever the rest

Level: low below 30, medium from 30, high from 60 (a customer with no score, nothing else: 25, low).

CLTV (customer lifetime value, expected from today):

    annual churn probability p = max(risk / 100, 0.05)       (floor: a lifetime of at most 20 years)
    expected lifetime (years)  = 1 / p
    CLTV = ARR x gross margin x expected lifetime             (gross margin 0.8, a parameter of cltv())

A churned customer's CLTV is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from keepwell.errors import InvalidInput

ChurnReason = Literal["price", "competition", "strategy_shift", "product", "executive_churn", "other"]
CHURN_REASONS: tuple[str, ...] = ("price", "competition", "strategy_shift", "product", "executive_churn", "other")
CHURN_NOTE_MAX = 2000

HEALTH_WEIGHT = 0.5
NO_SCORE_POINTS = 25.0
RED_FLAG_POINTS, RED_FLAG_CAP = 10.0, 30.0
GREEN_FLAG_POINTS, GREEN_FLAG_CAP = 5.0, 15.0
RENEWAL_SOON_DAYS, RENEWAL_SOON_POINTS = 30, 10.0
RENEWAL_NEAR_DAYS, RENEWAL_NEAR_POINTS = 90, 5.0
AT_RISK_POINTS = 10.0
DOWNSELL_POINTS = 5.0
DEFAULT_GROSS_MARGIN = 0.8
MIN_ANNUAL_CHURN = 0.05

RiskLevel = Literal["low", "medium", "high"]
MEDIUM_FROM, HIGH_FROM = 30.0, 60.0


def check_reason(reason: str, note: str | None) -> tuple[str, str | None]:
    """The reason must be one of the list; `other` needs a free-text note."""
    if reason not in CHURN_REASONS:
        raise InvalidInput(
            f"Unknown churn reason {reason!r}",
            [{"field": "churn_reason", "issue": f"must be one of {', '.join(CHURN_REASONS)}"}],
        )
    cleaned = note.strip() if note and note.strip() else None
    if reason == "other" and cleaned is None:
        raise InvalidInput(
            "Churn reason 'other' needs a note",
            [{"field": "churn_note", "issue": "required when churn_reason is other"}],
        )
    return reason, cleaned


@dataclass(frozen=True)
class Part:
    factor: str
    points: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "points": self.points, "detail": self.detail}


@dataclass(frozen=True)
class RiskInputs:
    status: str
    health_score: float | None
    red_flags: tuple[str, ...] = ()
    green_flags: tuple[str, ...] = ()
    renewal_date: date | None = None  # of the next open renewal
    renewal_at_risk: bool = False
    downsell_proposed: bool = False
    today: date | None = None


def risk_level(score: float) -> RiskLevel:
    return "high" if score >= HIGH_FROM else "medium" if score >= MEDIUM_FROM else "low"


@dataclass(frozen=True)
class ChurnRisk:
    score: float
    parts: tuple[Part, ...]

    @property
    def level(self) -> RiskLevel:
        return risk_level(self.score)

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "level": self.level, "parts": [p.as_dict() for p in self.parts]}


def churn_risk(inputs: RiskInputs) -> ChurnRisk:
    if inputs.status == "churned":
        return ChurnRisk(100.0, (Part("churned", 100.0, "the customer has churned"),))
    parts: list[Part] = []
    if inputs.health_score is None:
        parts.append(Part("health", NO_SCORE_POINTS, "no health score yet: neutral"))
    else:
        points = round((100 - max(0.0, min(100.0, inputs.health_score))) * HEALTH_WEIGHT, 1)
        parts.append(Part("health", points, f"health {inputs.health_score:g}: (100 - {inputs.health_score:g}) x 0.5"))
    if inputs.red_flags:
        points = min(RED_FLAG_POINTS * len(inputs.red_flags), RED_FLAG_CAP)
        parts.append(Part("red_flags", points, f"{len(inputs.red_flags)} red flags: {', '.join(inputs.red_flags)}"))
    if inputs.green_flags:
        points = -min(GREEN_FLAG_POINTS * len(inputs.green_flags), GREEN_FLAG_CAP)
        parts.append(
            Part("green_flags", points, f"{len(inputs.green_flags)} green flags: {', '.join(inputs.green_flags)}")
        )
    if inputs.renewal_date is not None and inputs.today is not None:
        left = (inputs.renewal_date - inputs.today).days
        if left < RENEWAL_SOON_DAYS:
            parts.append(Part("renewal", RENEWAL_SOON_POINTS, f"renewal in {left} days (< {RENEWAL_SOON_DAYS})"))
        elif left < RENEWAL_NEAR_DAYS:
            parts.append(Part("renewal", RENEWAL_NEAR_POINTS, f"renewal in {left} days (< {RENEWAL_NEAR_DAYS})"))
    if inputs.renewal_at_risk:
        parts.append(Part("forecast", AT_RISK_POINTS, "the renewal is forecast at risk"))
    if inputs.downsell_proposed:
        parts.append(Part("downsell", DOWNSELL_POINTS, "a downsell is proposed at renewal"))
    total = sum(p.points for p in parts)
    return ChurnRisk(round(max(0.0, min(100.0, total)), 1), tuple(parts))


class Cltv(BaseModel):
    """A CLTV and how it was reached; stored as it is with each score (domain/customers.CustomerFlags)."""

    model_config = ConfigDict(frozen=True)

    value: float
    arr: float
    gross_margin: float
    annual_churn_probability: float
    expected_lifetime_years: float
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()


def cltv(arr: float, risk: ChurnRisk, status: str, gross_margin: float = DEFAULT_GROSS_MARGIN) -> Cltv:
    if status == "churned":
        return Cltv(
            value=0.0,
            arr=arr,
            gross_margin=gross_margin,
            annual_churn_probability=1.0,
            expected_lifetime_years=0.0,
            explanation="a churned customer has no future value",
        )
    probability = max(risk.score / 100, MIN_ANNUAL_CHURN)
    lifetime = 1 / probability
    value = round(arr * gross_margin * lifetime, 2)
    explanation = (
        f"ARR {arr:,.2f} x gross margin {gross_margin:g} x expected lifetime {lifetime:.2f} years "
        f"(1 / annual churn probability {probability:.2f}, from churn risk {risk.score:g}) = {value:,.2f}"
    )
    return Cltv(
        value=value,
        arr=arr,
        gross_margin=gross_margin,
        annual_churn_probability=round(probability, 4),
        expected_lifetime_years=round(lifetime, 2),
        explanation=explanation,
    )
