"""Segments (`WS#w / SEGMENT#<id>`, the rule in its JSON form) and the walk over customer profiles that
segment membership, benchmarks and model dry runs evaluate (Query on gsi1 / gsi2 or a user's portfolio
memberships, never Scan).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from keepwell.domain import capabilities
from keepwell.domain.customer_scoring import ScoringState
from keepwell.domain.health.model import HealthModel
from keepwell.domain.segment_baselines import SegmentBaselines
from keepwell.domain.segments import HealthRow
from keepwell.errors import Conflict, NotFound
from keepwell.storage import cursors, health_models, keys, scoring_state
from keepwell.storage.customers import iter_portfolio, to_customer
from keepwell.storage.metrics import batch_get_raw
from keepwell.storage.models import CustomerItem, TableItem

ENTITY = "segment"
BASELINES_ENTITY = "segment_baselines"
SEGMENT_PREFIX = "SEGMENT#"
PROFILE_PAGE = 200


class SegmentItem(TableItem):
    segment_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    condition = UnicodeAttribute()  # the rule tree's JSON form
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)


@dataclass(frozen=True)
class Segment:
    segment_id: str
    name: str
    description: str | None
    condition: dict[str, Any]
    created_at: str
    created_by: str
    updated_at: str
    version: int


def _to_segment(item: SegmentItem) -> Segment:
    return Segment(
        segment_id=item.segment_id,
        name=item.name,
        description=item.description,
        condition=json.loads(item.condition),
        created_at=item.created_at,
        created_by=item.created_by,
        updated_at=item.updated_at,
        version=int(item.version),
    )


class SegmentBaselinesItem(TableItem):
    """`WS#w / SEGMENTBASELINES`: every segment's tally as of `day` (domain/segment_baselines.py)."""

    day = UnicodeAttribute()
    document = UnicodeAttribute()  # SegmentBaselines as JSON


def _not_found(segment_id: str) -> NotFound:
    return NotFound(f"No segment {segment_id}", [{"field": "segment_id", "issue": "not found"}])


def _text(condition: Mapping[str, Any]) -> str:
    return json.dumps(condition, separators=(",", ":"), sort_keys=True)


# --- segments --------------------------------------------------------------------------------------
def list_segments(workspace_id: str) -> list[Segment]:
    pk = keys.workspace_partition(workspace_id)
    return [_to_segment(item) for item in SegmentItem.query(pk, SegmentItem.sk.startswith(SEGMENT_PREFIX))]


def put_segment_baselines(workspace_id: str, baselines: SegmentBaselines) -> None:
    """Replace the workspace's segment baselines (one PutItem; the latest tally wins)."""
    key = keys.segment_baselines(workspace_id)
    SegmentBaselinesItem(
        key.pk,
        key.sk,
        entity=BASELINES_ENTITY,
        workspace_id=workspace_id,
        day=baselines.day.isoformat(),
        document=json.dumps(baselines.to_document(), separators=(",", ":"), sort_keys=True),
    ).save()


def get_segment_baselines(workspace_id: str) -> SegmentBaselines | None:
    """The workspace's last segment tally (one GetItem); None before the first fan-out."""
    key = keys.segment_baselines(workspace_id)
    try:
        item = SegmentBaselinesItem.get(key.pk, key.sk)
    except DoesNotExist:
        return None
    return SegmentBaselines.from_document(json.loads(item.document))


def baselines_of(raw: dict[str, Any]) -> SegmentBaselines:
    """The baselines in a raw item read with the scorer's BatchGetItem."""
    return SegmentBaselines.from_document(json.loads(SegmentBaselinesItem.from_raw_data(raw).document))


def get_segment(workspace_id: str, segment_id: str) -> Segment:
    key = keys.segment(workspace_id, segment_id)
    try:
        return _to_segment(SegmentItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        raise _not_found(segment_id) from None


def create_segment(workspace_id: str, segment: Segment) -> Segment:
    key = keys.segment(workspace_id, segment.segment_id)
    item = SegmentItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=workspace_id,
        segment_id=segment.segment_id,
        name=segment.name,
        description=segment.description,
        condition=_text(segment.condition),
        created_at=segment.created_at,
        created_by=segment.created_by,
        updated_at=segment.updated_at,
        version=segment.version,
    )
    try:
        item.save(condition=SegmentItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"Segment {segment.segment_id} already exists") from error
        raise
    return segment


def update_segment(workspace_id: str, before: Segment, after: Segment) -> Segment:
    """Write `after` if the segment is still at `before`'s version (409 `version_conflict` otherwise)."""
    key = keys.segment(workspace_id, before.segment_id)
    after = Segment(**{**after.__dict__, "version": before.version + 1})
    description = after.description
    try:
        SegmentItem(key.pk, key.sk).update(
            actions=[
                SegmentItem.name.set(after.name),
                SegmentItem.description.set(description) if description else SegmentItem.description.remove(),
                SegmentItem.condition.set(_text(after.condition)),
                SegmentItem.updated_at.set(after.updated_at),
                SegmentItem.version.set(after.version),
            ],
            condition=(SegmentItem.pk.exists() & (SegmentItem.version == before.version)),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(
                "The segment changed or was deleted meanwhile; read it again and retry",
                [{"field": "version", "issue": "stale"}],
                code="version_conflict",
            ) from error
        raise
    return after


def delete_segment(workspace_id: str, segment_id: str) -> None:
    key = keys.segment(workspace_id, segment_id)
    try:
        SegmentItem(key.pk, key.sk).delete(condition=SegmentItem.pk.exists())
    except DeleteError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise _not_found(segment_id) from error
        raise


# --- customer profiles with their latest health ------------------------------------------------------
# The scorer denormalises the latest dimension values onto the profile (one map, key -> 0-100 or null).
DIMENSIONS_ATTRIBUTE = "health_dimensions"


class CustomerHealthItem(CustomerItem):
    """A customer profile read together with its denormalised dimension values."""

    health_dimensions = MapAttribute[str, Any](null=True, attr_name=DIMENSIONS_ATTRIBUTE)
    capability_usage = UnicodeAttribute(null=True)  # JSON, written by the scorer (storage/success_plans.py)
    # The scorer's last days (storage/scoring_state.py); read only for the customer list's 7-day change
    # (with_state), not by segments, baselines, dry runs and backtests.
    health_state = scoring_state.text_attribute()
    health_state_z = scoring_state.packed_attribute()


_PROJECTION = [
    a.attr_name for a in CustomerHealthItem.get_attributes().values() if a.attr_name not in scoring_state.ATTRIBUTES
]
_WITH_STATE = [*_PROJECTION, *scoring_state.ATTRIBUTES]


def _number(value: Any) -> float | None:
    if isinstance(value, Mapping):  # tolerate {"value": x} entries
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _dimensions(item: CustomerHealthItem) -> dict[str, float | None]:
    raw = item.health_dimensions
    if raw is None:
        return {}
    plain = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw)
    return {str(k): _number(v) for k, v in plain.items()}


def to_row(item: CustomerHealthItem) -> HealthRow:
    usage = capabilities.decode(json.loads(item.capability_usage)) if item.capability_usage else {}
    customer = to_customer(item)
    state = scoring_state.of_item(item)
    customer.health_change_7d = _change(state) if state else None
    return HealthRow(customer=customer, dimensions=_dimensions(item), capability_usage=usage)


def _change(state: dict[str, Any]) -> float | None:
    """The 7-day change of the score, from the scoring state on the profile (no further read)."""
    try:
        return ScoringState.from_json(state).change()
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def iter_health_rows(
    workspace_id: str,
    *,
    owner_id: str | None = None,
    portfolio_of: str | None = None,
    cursor: str | None = None,
    include_archived: bool = False,
    with_state: bool = False,
    page_size: int | None = None,
) -> Iterator[tuple[HealthRow, str]]:
    """Every customer by name (gsi1), what one owner owns (gsi2), or one user's book — owned and
    co-owned — (their portfolio memberships), each with the cursor that resumes right after it.
    Archived customers are left out unless asked for; `with_state` also reads the scoring state (the
    7-day change). `page_size` (a book only) reads the memberships and profiles in pages of that size
    instead of 100."""
    projection = _WITH_STATE if with_state else _PROJECTION
    if portfolio_of:
        paging = {"page_size": page_size} if page_size else {}
        rows = iter_portfolio(
            workspace_id, portfolio_of, cursor, model=CustomerHealthItem, attributes=projection, **paging
        )
        for profile, resume_after in rows:
            if include_archived or not profile.archived:
                yield to_row(profile), resume_after
        return
    if owner_id:
        index, hash_name = CustomerHealthItem.gsi2, "gsi2"
        partition = keys.customers_by_owner(workspace_id, owner_id)
    else:
        index, hash_name = CustomerHealthItem.gsi1, "gsi1"  # type: ignore[assignment]
        partition = keys.customers_listing(workspace_id)
    start = cursors.decode(
        cursor,
        expected={f"{hash_name}pk": partition, "sk": "PROFILE"},
        prefixes={"pk": keys.customer_partition(workspace_id, ""), f"{hash_name}sk": ""},
    )
    condition = None if include_archived else (CustomerHealthItem.archived == False)  # noqa: E712
    results = index.query(
        partition,
        filter_condition=condition,
        page_size=PROFILE_PAGE,
        last_evaluated_key=start,
        attributes_to_get=projection,  # the profile and its latest health (the scorer's state if asked)
    )
    for item in results:
        position = {
            "pk": {"S": item.pk},
            "sk": {"S": item.sk},
            f"{hash_name}pk": {"S": partition},
            f"{hash_name}sk": {"S": getattr(item, f"{hash_name}sk")},
        }
        yield to_row(item), cursors.encode(position) or ""


def get_health_row_and_baselines(
    workspace_id: str, customer_id: str
) -> tuple[HealthRow | None, SegmentBaselines | None, HealthModel]:
    """The customer's health row (as get_health_row), the workspace's segment tally (as
    get_segment_baselines) and its current health model (from this container's cache, else in the same
    request), in one consistent BatchGetItem."""
    profile, tally = keys.customer(workspace_id, customer_id), keys.segment_baselines(workspace_id)
    cached = health_models.cached_current(workspace_id)
    model_key = None if cached is not None else keys.current_health_model(workspace_id)
    row: HealthRow | None = None
    baselines: SegmentBaselines | None = None
    model_raw: dict[str, Any] | None = None
    for raw in batch_get_raw([profile, tally] + ([model_key] if model_key else []), consistent=True):
        key = (raw["pk"]["S"], raw["sk"]["S"])
        if key == (profile.pk, profile.sk):
            row = to_row(CustomerHealthItem.from_raw_data(raw))
        elif key == (tally.pk, tally.sk):
            baselines = baselines_of(raw)
        elif model_key is not None and key == (model_key.pk, model_key.sk):
            model_raw = raw
    model = cached if cached is not None else health_models.remember_current(workspace_id, model_raw)
    return row, baselines, model.model


def get_health_row(workspace_id: str, customer_id: str) -> HealthRow | None:
    key = keys.customer(workspace_id, customer_id)
    try:
        return to_row(CustomerHealthItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None
