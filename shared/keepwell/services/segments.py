"""Segments: save named conditions, list their members as the data stands now, and benchmark a
customer against the segments it belongs to. Directors and admins write; everyone reads; a CSM sees
only the members in their own book (the customers they own or co-own)."""

from __future__ import annotations

from datetime import date
from typing import Any

from keepwell import clock, ids, permissions
from keepwell.auth import Caller
from keepwell.domain import conditions
from keepwell.domain.conditions import Rule
from keepwell.domain.health.benchmark import benchmark_of_totals
from keepwell.domain.segment_baselines import SegmentBaselines, benchmark_from_tallies
from keepwell.domain.segments import (
    HealthRow,
    SegmentRule,
    is_member,
    profile_snapshot,
    segment_benchmarks,
    stored_rule,
)
from keepwell.errors import Conflict, InvalidInput, NotFound
from keepwell.schemas.customers import CustomerOut
from keepwell.schemas.segments import (
    CustomerBenchmarkOut,
    SegmentBenchmarkOut,
    SegmentIn,
    SegmentMembersOut,
    SegmentOut,
    SegmentPatchIn,
)
from keepwell.services.segment_baselines import condition_fields
from keepwell.storage import audit as audit_store
from keepwell.storage import segments as store

MAX_SEGMENTS = 100
# Members are found by evaluating the condition customer by customer (in name order); one request
# examines at most this many before answering with what it found and a cursor to continue.
MAX_EXAMINED = 2000


def _compile(condition: Any, fields: dict[str, str]) -> Rule:
    return conditions.compile_condition(condition, fields, "condition")


def segment_out(segment: store.Segment) -> SegmentOut:
    return SegmentOut(
        segment_id=segment.segment_id,
        name=segment.name,
        description=segment.description,
        condition=segment.condition,
        condition_text=conditions.to_text(stored_rule(segment.condition, {})),
        created_at=segment.created_at,
        created_by=segment.created_by,
        updated_at=segment.updated_at,
        version=segment.version,
    )


def _audited(segment: store.Segment) -> dict[str, Any]:
    return {"name": segment.name, "description": segment.description, "condition": segment.condition}


def _check_name(workspace_id: str, name: str, segment_id: str | None = None) -> list[store.Segment]:
    existing = store.list_segments(workspace_id)
    if any(s.name.lower() == name.lower() and s.segment_id != segment_id for s in existing):
        raise Conflict(f"A segment named '{name}' already exists", [{"field": "name", "issue": "already used"}])
    return existing


# --- CRUD ----------------------------------------------------------------------------------------
def create_segment(caller: Caller, body: SegmentIn) -> store.Segment:
    rule = _compile(body.condition, condition_fields(caller.workspace_id))
    existing = _check_name(caller.workspace_id, body.name)
    if len(existing) >= MAX_SEGMENTS:
        raise InvalidInput(
            f"A workspace has at most {MAX_SEGMENTS} segments", [{"field": "name", "issue": "too many segments"}]
        )
    now = clock.iso(clock.now())
    segment = store.Segment(
        segment_id=ids.new_id("seg"),
        name=body.name,
        description=body.description or None,
        condition=conditions.to_dict(rule),
        created_at=now,
        created_by=caller.user_id,
        updated_at=now,
        version=1,
    )
    created = store.create_segment(caller.workspace_id, segment)
    audit_store.record_audit(
        caller.workspace_id, caller.user_id, "segment.created", f"segment:{created.segment_id}", None, _audited(created)
    )
    return created


def list_segments(caller: Caller) -> list[store.Segment]:
    return sorted(store.list_segments(caller.workspace_id), key=lambda s: (s.name.lower(), s.segment_id))


def get_segment(caller: Caller, segment_id: str) -> store.Segment:
    return store.get_segment(caller.workspace_id, segment_id)


def update_segment(caller: Caller, segment_id: str, body: SegmentPatchIn) -> store.Segment:
    sent = body.model_fields_set
    for name in ("name", "condition"):
        if name in sent and getattr(body, name) is None:
            raise InvalidInput(f"Invalid body: {name} cannot be null", [{"field": name, "issue": "cannot be null"}])
    current = store.get_segment(caller.workspace_id, segment_id)
    if body.version is not None and body.version != current.version:
        raise Conflict(
            f"Segment is at version {current.version}, not {body.version}",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        )
    condition = current.condition
    if body.condition is not None:
        condition = conditions.to_dict(_compile(body.condition, condition_fields(caller.workspace_id)))
    name = body.name if body.name is not None else current.name
    if name.lower() != current.name.lower():
        _check_name(caller.workspace_id, name, segment_id)
    description = (body.description or None) if "description" in sent else current.description
    after = store.Segment(
        **{
            **current.__dict__,
            "name": name,
            "description": description,
            "condition": condition,
            "updated_at": clock.iso(clock.now()),
        }
    )
    if after.__dict__ | {"updated_at": ""} == current.__dict__ | {"updated_at": ""}:
        return current  # nothing changed
    updated = store.update_segment(caller.workspace_id, current, after)
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "segment.updated",
        f"segment:{segment_id}",
        _audited(current),
        _audited(updated),
    )
    return updated


def delete_segment(caller: Caller, segment_id: str) -> None:
    current = store.get_segment(caller.workspace_id, segment_id)  # 404 first; the entry keeps what it was
    store.delete_segment(caller.workspace_id, segment_id)
    audit_store.record_audit(
        caller.workspace_id, caller.user_id, "segment.deleted", f"segment:{segment_id}", _audited(current), None
    )


# --- members and benchmarks ------------------------------------------------------------------------
def members(caller: Caller, segment_id: str, limit: int, cursor: str | None) -> SegmentMembersOut:
    """The customers matching the segment now, by name. A csm or viewer reads only their book (the
    customers they own or co-own)."""
    segment = store.get_segment(caller.workspace_id, segment_id)
    rule = stored_rule(segment.condition, condition_fields(caller.workspace_id))
    found: list[CustomerOut] = []
    next_cursor: str | None = None
    rows = store.iter_health_rows(caller.workspace_id, portfolio_of=permissions.portfolio_of(caller), cursor=cursor)
    for examined, (row, position) in enumerate(rows, start=1):
        if is_member(rule, row):
            found.append(CustomerOut.of(row.customer))
        if len(found) == limit or examined >= MAX_EXAMINED:
            next_cursor = position
            break
    return SegmentMembersOut(segment_id=segment.segment_id, items=found, next_cursor=next_cursor)


def benchmark(caller: Caller, customer_id: str) -> CustomerBenchmarkOut:
    """The customer's score and dimensions against the average of each segment it belongs to (averages
    over every member of the segment in the workspace, the customer itself left out).

    The averages come from the segment tallies the daily fan-out stores for the scorer
    (`WS#w / SEGMENTBASELINES`, domain/segment_baselines.py): the profile and the tally in one
    BatchGetItem, the segments in one Query, whatever the workspace's size (the tally's field types parse
    the conditions it holds). Only when the tally cannot answer — none yet, older than 7 days, or a
    segment created, edited or deleted since — are the custom field definitions read, and the customers
    walked if the customer is in such a segment."""
    workspace_id = caller.workspace_id
    row, baselines, model = store.get_health_row_and_baselines(workspace_id, customer_id)
    if row is None or not permissions.can_see_customer(caller, row.customer):
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    saved = list_segments(caller)
    labels = {d.key: d.title for d in model.dimensions}
    today = clock.today()
    entries: list[dict[str, Any]] = []
    tallied = _tallied_rules(saved, baselines, today)
    if tallied is not None:  # the tally answers: no custom field definitions read, no customer walked
        rules = [SegmentRule(s.segment_id, s.name, tallied[s.segment_id]) for s in saved]
        conditions_by_id = {s.segment_id: s.condition for s in saved}
        if any(is_member(r.rule, row) for r in rules):
            assert baselines is not None
            entries = _from_tallies(row, rules, conditions_by_id, labels, baselines, today) or []
    else:
        fields = condition_fields(workspace_id)
        rules = [SegmentRule(s.segment_id, s.name, stored_rule(s.condition, fields)) for s in saved]
        if any(is_member(r.rule, row) for r in rules):
            conditions_by_id = {s.segment_id: s.condition for s in saved}
            found = _from_tallies(row, rules, conditions_by_id, labels, baselines, today)
            if found is not None:
                entries = found
            else:
                rows = (r for r, _ in store.iter_health_rows(workspace_id))
                entries = segment_benchmarks(row, rules, rows, today, labels)
    return CustomerBenchmarkOut(
        customer_id=customer_id,
        score=row.customer.health_score,
        band=row.customer.health_band,
        segments=[SegmentBenchmarkOut.model_validate(e) for e in entries],
    )


def _tallied_rules(
    saved: list[store.Segment], baselines: SegmentBaselines | None, today: date
) -> dict[str, Rule] | None:
    """Every saved segment's rule, parsed with the field types the tally was made with, when the tally is
    usable and holds every segment with its condition as saved now; None otherwise (a segment created,
    edited or deleted since the last tally: the current definitions are read)."""
    if baselines is None or not baselines.usable_on(today):
        return None
    tallies = {t.segment_id: t for t in baselines.segments}
    if set(tallies) != {s.segment_id for s in saved}:
        return None
    if any(dict(tallies[s.segment_id].condition) != dict(s.condition) for s in saved):
        return None
    return {s.segment_id: stored_rule(s.condition, baselines.fields) for s in saved}


def _from_tallies(
    row: HealthRow,
    rules: list[SegmentRule],
    saved: dict[str, dict[str, Any]],
    labels: dict[str, str],
    baselines: SegmentBaselines | None,
    today: date,
) -> list[dict[str, Any]] | None:
    """The benchmark entries from the stored segment tallies; None when they cannot answer."""
    if baselines is None or not baselines.usable_on(today):
        return None
    segments = [(r.segment_id, r.name, r.rule, saved[r.segment_id]) for r in rules]
    found = benchmark_from_tallies(row, segments, baselines)
    if found is None:
        return None
    own = profile_snapshot(row, today, labels)
    return [
        {"segment_id": segment_id, **benchmark_of_totals(own, name, score_total, dimension_totals)}
        for segment_id, name, score_total, dimension_totals in found
    ]
