"""Two-way HubSpot sync, the pure part: which company property fills which customer field, which side
owns each field, what a company's properties change on a customer, and what is written back.

A customer is linked to a HubSpot company by its `external_id` (the company's id, as the inbound webhooks
already link them). docs/integrations.md, "HubSpot, both ways"; decision 0029.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Owner = Literal["hubspot", "keepwell"]

# Customer fields a company property may fill, and how the property's text becomes the field's value.
FIELD_TYPES: dict[str, str] = {
    "name": "text",
    "domain": "text",
    "arr": "number",
    "renewal_date": "date",
    "owner_email": "email",  # a workspace user's email → owner_id (HubSpot owner by email)
    "tier": "text",
    "industry": "text",
    "region": "text",
    "country": "text",
    "plan": "text",
    "employee_count": "integer",
}
CUSTOM_PREFIX = "custom_fields."
MODIFIED_PROPERTY = "hs_lastmodifieddate"
# The company properties Keepwell writes back after scoring (created by the admin in HubSpot).
WRITEBACK_PROPERTIES = {"score": "keepwell_health_score", "band": "keepwell_health_band", "risk": "keepwell_churn_risk"}


class PropertyMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    hubspot_property: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$")
    field: str = Field(min_length=1, max_length=120)
    owner: Owner = "hubspot"

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value in FIELD_TYPES or (value.startswith(CUSTOM_PREFIX) and len(value) > len(CUSTOM_PREFIX)):
            return value
        raise ValueError(f"{value!r} is not a customer field a HubSpot property can fill")


DEFAULT_MAPPING: tuple[PropertyMapping, ...] = (
    PropertyMapping(hubspot_property="name", field="name"),
    PropertyMapping(hubspot_property="domain", field="domain"),
    PropertyMapping(hubspot_property="annualrevenue", field="arr", owner="keepwell"),
    PropertyMapping(hubspot_property="industry", field="industry"),
    PropertyMapping(hubspot_property="country", field="country"),
    PropertyMapping(hubspot_property="numberofemployees", field="employee_count"),
)


def hubspot_owned(mapping: list[PropertyMapping]) -> set[str]:
    """Customer fields HubSpot owns: read-only in Keepwell's API for linked customers."""
    owned = {m.field for m in mapping if m.owner == "hubspot"}
    return {"owner_id" if f == "owner_email" else f for f in owned}


def properties_to_read(mapping: list[PropertyMapping]) -> list[str]:
    return sorted({m.hubspot_property for m in mapping} | {MODIFIED_PROPERTY, "domain", "name"})


def _value(field_type: str, text: str) -> Any:
    if field_type == "number":
        return float(text)
    if field_type == "integer":
        return int(float(text))
    if field_type == "date":
        # HubSpot date properties are epoch milliseconds at midnight UTC, or ISO dates
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date()
        return date.fromisoformat(text[:10])
    return text


def company_changes(
    properties: dict[str, Any], mapping: list[PropertyMapping], user_by_email: dict[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """(customer changes, problems) from a company's properties, for the HubSpot-owned fields only (a
    Keepwell-owned field is never overwritten by a sync). Empty or unusable values are left out."""
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for item in mapping:
        if item.owner != "hubspot":
            continue
        raw = properties.get(item.hubspot_property)
        if raw is None or str(raw).strip() == "":
            continue
        text = str(raw).strip()
        if item.field.startswith(CUSTOM_PREFIX):
            changes.setdefault("custom_fields", {})[item.field[len(CUSTOM_PREFIX) :]] = text
            continue
        try:
            value = _value(FIELD_TYPES[item.field], text)
        except ValueError:
            problems.append(f"{item.hubspot_property}: {text!r} does not fit {item.field}")
            continue
        if item.field == "owner_email":
            owner = user_by_email.get(text.lower())
            if owner is None:
                problems.append(f"{item.hubspot_property}: {text} is not a user of this workspace")
            else:
                changes["owner_id"] = owner
            continue
        changes[item.field] = value
    return changes, problems


def modified_ms(properties: dict[str, Any]) -> int | None:
    """`hs_lastmodifieddate` as epoch milliseconds (HubSpot sends ISO-8601 in v3 answers)."""
    raw = properties.get(MODIFIED_PROPERTY)
    if raw in (None, ""):
        return None
    text = str(raw)
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class DealMapping(BaseModel):
    """Deals → renewals: an open deal (of `pipeline`, when given) associated with a linked company sets the
    date and ARR of that customer's open account renewal (created when there is none)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = False
    pipeline: str | None = Field(default=None, min_length=1, max_length=100)
    renewal_date_property: str = Field(default="closedate", pattern=r"^[a-z0-9_]+$", max_length=100)
    amount_property: str = Field(default="amount", pattern=r"^[a-z0-9_]+$", max_length=100)
    amount_field: Literal["proposed_arr", "current_arr"] = "proposed_arr"

    def properties(self) -> list[str]:
        return sorted({self.renewal_date_property, self.amount_property, "pipeline", "dealstage", MODIFIED_PROPERTY})


CLOSED_STAGES = frozenset({"closedwon", "closedlost"})


def deal_renewal_changes(properties: dict[str, Any], mapping: DealMapping) -> dict[str, Any] | None:
    """The renewal fields an open deal sets, or None for a deal to leave alone (closed, another pipeline,
    no date)."""
    if mapping.pipeline is not None and properties.get("pipeline") != mapping.pipeline:
        return None
    if str(properties.get("dealstage") or "") in CLOSED_STAGES:
        return None
    raw_date = properties.get(mapping.renewal_date_property)
    if raw_date in (None, ""):
        return None
    try:
        changes: dict[str, Any] = {"renewal_date": _value("date", str(raw_date))}
        amount = properties.get(mapping.amount_property)
        if amount not in (None, ""):
            changes[mapping.amount_field] = float(str(amount))
    except ValueError:
        return None
    return changes


class WrittenBack(BaseModel):
    """The values last written to a company: a score is sent again only when one of them changed."""

    score: float | None = None
    band: str | None = None
    risk: float | None = None

    def properties(self) -> dict[str, str]:
        values = {"score": self.score, "band": self.band, "risk": self.risk}
        return {WRITEBACK_PROPERTIES[k]: "" if v is None else str(v) for k, v in values.items()}


class SyncState(BaseModel):
    connected: bool = False
    connected_at: str | None = None
    connected_by: str | None = None
    mapping: list[PropertyMapping] = Field(default_factory=lambda: list(DEFAULT_MAPPING))
    full_sync_done: bool = False
    full_sync_after: str | None = None  # the next page of the first full sync (resumable)
    full_sync_started_ms: int | None = None  # when its first page was read (the incremental sync starts there)
    cursor_ms: int | None = None  # incremental sync: hs_lastmodifieddate already seen
    last_run_at: str | None = None
    last_error: str | None = None
    companies_synced: int = 0
    deals: DealMapping = Field(default_factory=DealMapping)
    deal_cursor_ms: int | None = None  # deals modified before this were applied already
    renewals_synced: int = 0
    scores_written: int = 0
