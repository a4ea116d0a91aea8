"""Request and response bodies of the customer routes.

Bodies are strict (a number sent as a string is a 400 naming the field) and forbid unknown fields,
so a typo or a read-only field (health_score, champion_contact_id, …) is refused, not ignored.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from keepwell.domain.churn import RiskLevel
from keepwell.domain.customers import NPS_MAX, NPS_MIN, Customer, CustomerStatus, normalise_domain

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Money = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
Nps = Annotated[int, Field(ge=NPS_MIN, le=NPS_MAX)]

_BODY = ConfigDict(extra="forbid", strict=True)
CustomerSort = Literal["name", "-name", "health_score", "-health_score", "arr", "-arr", "renewal_date", "-renewal_date"]


def _domain(value: str | None) -> str | None:
    return normalise_domain(value) if value is not None else None


def _unique_sorted(values: list[str] | None) -> list[str] | None:
    return sorted(set(values)) if values is not None else None


class CustomerCreateIn(BaseModel):
    model_config = _BODY

    name: Name
    domain: str | None = Field(default=None, max_length=253)
    external_id: ShortText | None = None
    arr: Money | None = None
    mrr: Money | None = None
    status: CustomerStatus = "active"
    owner_id: UserId | None = None
    co_owner_ids: list[UserId] = Field(default_factory=list, max_length=20)
    tier: ShortText | None = None
    industry: ShortText | None = None
    region: ShortText | None = None
    country: ShortText | None = None
    plan: ShortText | None = None
    employee_count: Count | None = None
    seats: Count | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict, max_length=100)
    renewal_date: date | None = None
    nps: Nps | None = None

    _normalise_domain = field_validator("domain")(_domain)
    _dedupe = field_validator("co_owner_ids", "tags")(_unique_sorted)


class CustomerPatchIn(BaseModel):
    """Partial update: only the sent fields change; an explicit null clears an optional field.
    `version`, when sent, is a precondition: the update is refused (409) if the customer moved on."""

    model_config = _BODY

    name: Name | None = None
    domain: str | None = Field(default=None, max_length=253)
    external_id: ShortText | None = None
    arr: Money | None = None
    mrr: Money | None = None
    status: CustomerStatus | None = None
    owner_id: UserId | None = None
    co_owner_ids: list[UserId] | None = Field(default=None, max_length=20)
    tier: ShortText | None = None
    industry: ShortText | None = None
    region: ShortText | None = None
    country: ShortText | None = None
    plan: ShortText | None = None
    employee_count: Count | None = None
    seats: Count | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = Field(default=None, max_length=100)
    renewal_date: date | None = None
    nps: Nps | None = None
    archived: bool | None = None
    version: int | None = Field(default=None, ge=1)

    _normalise_domain = field_validator("domain")(_domain)
    _dedupe = field_validator("co_owner_ids", "tags")(_unique_sorted)

    def changes(self) -> dict[str, Any]:
        """Only what the client sent (explicit nulls included), without the version precondition."""
        return {name: getattr(self, name) for name in self.model_fields_set if name != "version"}


class CustomerListQuery(BaseModel):
    """Query string of GET /v1/customers (values arrive as text, so not strict)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: CustomerStatus | None = None
    owner_id: str | None = Field(default=None, min_length=1, max_length=128)
    tier: str | None = Field(default=None, min_length=1, max_length=100)
    industry: str | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, min_length=1, max_length=100)
    country: str | None = Field(default=None, min_length=1, max_length=100)
    plan: str | None = Field(default=None, min_length=1, max_length=100)
    renewal_before: date | None = None
    include_archived: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)
    # The console's list: an order (a leading `-` is descending), a band, a saved segment's members
    # and a case-insensitive name prefix, combinable with the filters above (storage/customer_lists.py).
    sort: CustomerSort | None = None
    band: str | None = Field(default=None, min_length=1, max_length=60)
    segment_id: str | None = Field(default=None, min_length=1, max_length=64)
    q: str | None = Field(default=None, min_length=1, max_length=200)


class FlagEvidenceOut(BaseModel):
    text: str
    ref: str | None
    at: str | None


class CustomerFlagOut(BaseModel):
    """A red or green flag stored after the customer's latest score, with its evidence."""

    code: str
    title: str
    evidence: list[FlagEvidenceOut]


class CustomerOut(BaseModel):
    customer_id: str
    name: str
    domain: str | None
    external_id: str | None
    arr: float
    mrr: float
    status: str
    owner_id: str | None
    co_owner_ids: list[str]
    tier: str | None
    industry: str | None
    region: str | None
    country: str | None
    plan: str | None
    employee_count: int | None
    seats: int | None
    tags: list[str]
    custom_fields: dict[str, Any]
    renewal_date: date | None
    nps: int | None
    champion_contact_id: str | None
    archived: bool
    health_score: float | None
    health_band: str | None
    health_scored_at: str | None
    churn_reason: str | None
    created_at: str
    updated_at: str
    version: int
    red_flags: list[CustomerFlagOut] = Field(default_factory=list)  # empty until flags were computed
    green_flags: list[CustomerFlagOut] = Field(default_factory=list)
    flags_scored_on: date | None = None  # the scored day the flags were computed for
    # Churn risk of that same scored day (GET .../scores explains it); null until stored with a score.
    churn_risk_score: float | None = None
    churn_risk_level: RiskLevel | None = None
    # The latest score minus the score 7 days before it; in the customer list only (null elsewhere,
    # and when either day has no score).
    health_change_7d: float | None = None

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        flags = customer.flags
        risk = flags.churn_risk if flags else None
        return cls.model_validate(
            {
                **customer.model_dump(exclude={"workspace_id"}),
                "red_flags": flags.model_dump()["red"] if flags else [],
                "green_flags": flags.model_dump()["green"] if flags else [],
                "flags_scored_on": flags.scored_on if flags else None,
                "churn_risk_score": risk.score if risk else None,
                "churn_risk_level": risk.level if risk else None,
                "health_change_7d": customer.health_change_7d,
            }
        )


class CustomerListOut(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None
