"""Dynamic segments: a named condition (domain/conditions.py) over a customer's profile, custom fields,
latest health score and dimension values. Pure: storage supplies the customers and the saved rules.

Membership is never stored: it is the condition evaluated over the customer's current record, so it
follows every change to the customer or its health. See docs/health-model.md ("Segments").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from keepwell.domain import capabilities, conditions
from keepwell.domain.conditions import FieldType, Rule
from keepwell.domain.customers import Customer
from keepwell.domain.health.benchmark import benchmark
from keepwell.domain.health.model import STANDARD_DIMENSIONS
from keepwell.domain.health.snapshot import DimensionSnapshot, HealthSnapshot

# Customer fields a condition may name, with their types (see the customer fields in docs/api.md).
CUSTOMER_FIELDS: dict[str, FieldType] = {
    "customer_id": "string",
    "name": "string",
    "domain": "string",
    "external_id": "string",
    "arr": "number",
    "mrr": "number",
    "status": "string",
    "owner_id": "string",
    "co_owner_ids": "list",
    "tier": "string",
    "industry": "string",
    "region": "string",
    "country": "string",
    "plan": "string",
    "employee_count": "number",
    "seats": "number",
    "tags": "list",
    "renewal_date": "date",
    "nps": "number",
    "champion_contact_id": "string",
    "created_at": "date",
}
# custom field type -> condition field type
CUSTOM_FIELD_TYPES: dict[str, FieldType] = {
    "text": "string",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "select": "string",
}


def segment_fields(
    custom_fields: Mapping[str, str] | Iterable[tuple[str, str]], dimensions: Iterable[str] = ()
) -> dict[str, FieldType]:
    """The field set a segment condition is validated against: customer fields, `custom.<key>` for
    each defined custom field (typed by its definition), health_score / health_band, and
    `dimension.<key>` for every standard dimension plus the model's own (custom) ones."""
    pairs = custom_fields.items() if isinstance(custom_fields, Mapping) else custom_fields
    fields: dict[str, FieldType] = dict(CUSTOMER_FIELDS)
    for key, kind in pairs:
        fields[f"custom.{key}"] = CUSTOM_FIELD_TYPES.get(kind, "any")
    names = dict.fromkeys([*STANDARD_DIMENSIONS, *dimensions])
    fields.update(conditions.health_fields(names))
    fields.update(capabilities.CONDITION_FIELDS)  # capability.<key>, capabilities_adopted / _lapsed
    return fields


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def customer_record(customer: Customer, dimensions: Mapping[str, float | None] | None = None) -> dict[str, Any]:
    """The flat record a condition is evaluated over."""
    record: dict[str, Any] = {
        "customer_id": customer.customer_id,
        "name": customer.name,
        "domain": customer.domain,
        "external_id": customer.external_id,
        "arr": _plain(customer.arr),
        "mrr": _plain(customer.mrr),
        "status": customer.status,
        "owner_id": customer.owner_id,
        "co_owner_ids": list(customer.co_owner_ids),
        "tier": customer.tier,
        "industry": customer.industry,
        "region": customer.region,
        "country": customer.country,
        "plan": customer.plan,
        "employee_count": customer.employee_count,
        "seats": customer.seats,
        "tags": list(customer.tags),
        "renewal_date": customer.renewal_date,
        "nps": customer.nps,
        "champion_contact_id": customer.champion_contact_id,
        "created_at": customer.created_at,
        "health_score": customer.health_score,
        "health_band": customer.health_band,
    }
    for key, value in customer.custom_fields.items():
        record[f"custom.{key}"] = value
    for key, number in (dimensions or {}).items():
        record[f"dimension.{key}"] = number
    return record


def _walk(data: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        if "all" in data or "any" in data:
            for item in data.get("all") or data.get("any") or []:
                yield from _walk(item)
        elif "not" in data:
            yield from _walk(data["not"])
        else:
            yield data


def stored_rule(data: Any, fields: Mapping[str, str]) -> Rule:
    """Rebuild a saved (already validated) rule for evaluation.

    A field the rule names may have gone since it was saved (a deleted custom field, a removed custom
    dimension): it is admitted with a type inferred from the saved comparison, and since no customer
    has a value for it, it matches nothing (but `NOT EXISTS`), like any missing value."""
    known = dict(fields)
    for comparison in _walk(data):
        name = comparison.get("field")
        if isinstance(name, str) and conditions.field_type(name, known) is None:
            value = comparison.get("value")
            first = value[0] if isinstance(value, list) and value else value
            between_dates = comparison.get("op") == "between" and isinstance(first, str)
            known[name] = "date" if between_dates else "any"
    return conditions.parse_rule(data, known)


@dataclass(frozen=True)
class SegmentRule:
    segment_id: str
    name: str
    rule: Rule


@dataclass(frozen=True)
class HealthRow:
    """A customer as benchmarks and dry runs see it: its latest (denormalised) health."""

    customer: Customer
    dimensions: Mapping[str, float | None] = field(default_factory=dict)
    capability_usage: Mapping[str, capabilities.CapabilityUsage] = field(default_factory=dict)

    @property
    def record(self) -> dict[str, Any]:
        return customer_record(self.customer, self.dimensions) | capabilities.condition_record(self.capability_usage)


def is_member(rule: Rule, row: HealthRow) -> bool:
    return conditions.evaluate(rule, row.record)


def profile_snapshot(row: HealthRow, day: date, labels: Mapping[str, str] | None = None) -> HealthSnapshot:
    """A snapshot-shaped view of a customer's latest denormalised health (what benchmarks compare)."""
    dims = [
        DimensionSnapshot(
            key=key,
            label=(labels or {}).get(key, key.replace("_", " ").capitalize()),
            value=value,
            weight=0.0,
            effective_weight=0.0,
            contribution=0.0,
            na=value is None,
        )
        for key, value in row.dimensions.items()
        if value is None or math.isfinite(value)
    ]
    score = row.customer.health_score
    return HealthSnapshot(
        customer_id=row.customer.customer_id,
        date=day,
        score=score,
        display_score=score,
        smoothed_score=score,
        band=row.customer.health_band,
        band_color=None,
        dimensions=dims,
        na_dimensions=[d.key for d in dims if d.na],
        coverage=0.0,
        model_version=0,
    )


def segment_benchmarks(
    customer: HealthRow,
    segments: Sequence[SegmentRule],
    rows: Iterable[HealthRow],
    day: date,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """For each segment the customer belongs to: its score and each dimension against the segment's
    average (the customer itself left out of the average). One pass over the customers."""
    mine = [s for s in segments if is_member(s.rule, customer)]
    peers: dict[str, list[HealthSnapshot]] = {s.segment_id: [] for s in mine}
    for row in rows:
        if row.customer.customer_id == customer.customer.customer_id:
            continue
        record = row.record
        snapshot: HealthSnapshot | None = None
        for segment in mine:
            if conditions.evaluate(segment.rule, record):
                snapshot = snapshot or profile_snapshot(row, day, labels)
                peers[segment.segment_id].append(snapshot)
    own = profile_snapshot(customer, day, labels)
    return [
        {"segment_id": s.segment_id, **benchmark(own, peers[s.segment_id], s.name)}
        for s in sorted(mine, key=lambda s: s.name.lower())
    ]
