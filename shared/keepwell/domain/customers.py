"""Customer entity and its pure rules: domain normalisation, ARR/MRR derivation, patch merge.

No AWS here: storage turns `Customer` into items, services call these rules before writing.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.churn import Cltv, RiskLevel
from keepwell.domain.domain_names import normalise_domain as normalise_domain  # re-exported for its callers
from keepwell.errors import InvalidInput

CustomerStatus = Literal["active", "trial", "churned", "paused"]
STATUSES: tuple[str, ...] = ("active", "trial", "churned", "paused")

# Account-level NPS (promoters % minus detractors %), not a single respondent's 0..10 answer.
NPS_MIN, NPS_MAX = -100, 100

CENT = Decimal("0.01")
MONTHS = Decimal(12)

# Fields a PATCH may null out; the others (name, status, revenue, flags) always have a value.
CLEARABLE_FIELDS = frozenset(
    {
        "domain",
        "external_id",
        "owner_id",
        "co_owner_ids",
        "tier",
        "industry",
        "region",
        "country",
        "plan",
        "employee_count",
        "seats",
        "tags",
        "custom_fields",
        "renewal_date",
        "nps",
    }
)


class FlagNote(BaseModel):
    """One piece of evidence behind a stored flag (domain/flags.Evidence as stored)."""

    text: str
    ref: str | None = None
    at: str | None = None


class StoredFlag(BaseModel):
    code: str
    title: str
    evidence: list[FlagNote] = Field(default_factory=list)


class RiskPart(BaseModel):
    """One part of a stored churn risk (domain/churn.Part as stored)."""

    factor: str
    points: float
    detail: str


class StoredChurnRisk(BaseModel):
    score: float
    level: RiskLevel
    parts: list[RiskPart] = Field(default_factory=list)


class CustomerFlags(BaseModel):
    """The red and green flags, churn risk and CLTV computed after the customer's latest daily score
    (services/customer_flags). Items stored before churn risk and CLTV were kept read them as None."""

    scored_on: date
    red: list[StoredFlag] = Field(default_factory=list)
    green: list[StoredFlag] = Field(default_factory=list)
    churn_risk: StoredChurnRisk | None = None
    cltv: Cltv | None = None


class Customer(BaseModel):
    """One paying account of a workspace, as the API and the other modules see it."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str
    workspace_id: str
    name: str
    domain: str | None = None
    external_id: str | None = None
    arr: float = 0.0
    mrr: float = 0.0
    status: CustomerStatus = "active"
    owner_id: str | None = None
    co_owner_ids: list[str] = Field(default_factory=list)
    tier: str | None = None
    industry: str | None = None
    region: str | None = None
    country: str | None = None
    plan: str | None = None
    employee_count: int | None = None
    seats: int | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    renewal_date: date | None = None
    nps: int | None = None
    champion_contact_id: str | None = None
    archived: bool = False
    health_score: float | None = None
    health_band: str | None = None
    health_scored_at: str | None = None
    churn_reason: str | None = None
    created_at: str
    updated_at: str
    version: int = 1
    # Derived, written only by storage.customers.save_flags: left out of dumps, so profile writes
    # (create, PATCH diffs, webhooks) never carry or overwrite it.
    flags: CustomerFlags | None = Field(default=None, exclude=True)
    # Derived from the scoring state when a list reads it (storage.segments.to_row): never written.
    health_change_7d: float | None = Field(default=None, exclude=True)


def _money(value: float | int | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def derive_revenue(arr: float | None, mrr: float | None) -> tuple[float, float]:
    """Complete (arr, mrr) from either one. Both given must agree: |arr / 12 - mrr| ≤ one cent.

    The check is on the monthly figure, so an ARR that does not divide by 12 still accepts its
    rounded MRR (100000 and 8333.33).
    """
    if arr is not None and arr < 0:
        raise InvalidInput("arr must not be negative", [{"field": "arr", "issue": "negative"}])
    if mrr is not None and mrr < 0:
        raise InvalidInput("mrr must not be negative", [{"field": "mrr", "issue": "negative"}])
    if arr is None and mrr is None:
        return 0.0, 0.0
    if arr is not None and mrr is not None:
        if abs(Decimal(str(arr)) / MONTHS - Decimal(str(mrr))) > CENT:
            raise InvalidInput(
                f"arr {arr} and mrr {mrr} disagree: arr must be 12 x mrr (within a cent per month)",
                [{"field": "mrr", "issue": "does not match arr / 12"}],
            )
        return float(_money(arr)), float(_money(mrr))
    if arr is not None:
        return float(_money(arr)), float(_money(Decimal(str(arr)) / MONTHS))
    assert mrr is not None
    return float(_money(Decimal(str(mrr)) * MONTHS)), float(_money(mrr))


def apply_patch(current: Customer, changes: dict[str, Any], *, now_iso: str) -> Customer:
    """The customer after a PATCH. `changes` holds only the fields the client sent.

    An explicit null clears a clearable field (and is refused for the others); `custom_fields` is
    merged key by key, a null value removing that key; giving only arr or mrr re-derives the other.
    """
    data = current.model_dump()
    for field, value in changes.items():
        if value is None and field not in CLEARABLE_FIELDS:
            raise InvalidInput(f"{field} cannot be null", [{"field": field, "issue": "cannot be cleared"}])
    revenue_sent = {k: changes[k] for k in ("arr", "mrr") if k in changes}
    for field, value in changes.items():
        if field in ("arr", "mrr"):
            continue
        if field == "custom_fields":
            data[field] = merge_custom_fields(current.custom_fields, value)
        elif field in ("co_owner_ids", "tags"):
            data[field] = sorted(set(value or []))
        else:
            data[field] = value
    if revenue_sent:
        data["arr"], data["mrr"] = derive_revenue(revenue_sent.get("arr"), revenue_sent.get("mrr"))
    data["updated_at"] = now_iso
    data["flags"] = current.flags  # not in the dump (derived); the answer still shows them
    return Customer.model_validate(data)


def merge_custom_fields(current: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """`null` for the whole map clears it; a null value removes that one key."""
    if changes is None:
        return {}
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def changed_fields(before: Customer, after: Customer) -> dict[str, Any]:
    """Fields whose value differs (what an UpdateItem has to touch)."""
    old, new = before.model_dump(), after.model_dump()
    return {name: new[name] for name in new if old[name] != new[name]}
