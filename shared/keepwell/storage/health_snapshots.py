"""Health snapshots and the scorer's reads and writes, all addressed by key.

* `WS#w#CUST#c / HEALTH#<day>`: one snapshot per customer-day (the whole `HealthSnapshot` as JSON, plus
  the attributes its write condition needs: model version and a digest of the inputs).
* The profile (`WS#w#CUST#c / PROFILE`) carries the latest health, denormalised for lists, segments and
  benchmarks (`health_score`, `health_band`, `health_dimensions`, `health_scored_at`, …), and the small
  scoring state of the last 31 days (`health_state`) that smoothing, hysteresis and alerts continue
  from. Only scoring writes these attributes, with UpdateItem on them alone, so a concurrent customer
  edit is never overwritten (and the customer's `version` is not bumped).

Scoring a customer-day costs one BatchGetItem (profile + signal log + usage history + the workspace's
segment baselines: 4 keys, for a day or a whole history) and one TransactWriteItems (snapshot + profile). See
docs/decisions/0007-scoring-pipeline.md.
"""

from __future__ import annotations

import json
import time as timer
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from keepwell.domain.customers import Customer
from keepwell.domain.health.signals import UsageDay
from keepwell.domain.health.snapshot import HealthSnapshot
from keepwell.domain.segment_baselines import SegmentBaselines
from keepwell.domain.signal_log import SignalLog
from keepwell.domain.usage_history import UsageHistory
from keepwell.storage import keys
from keepwell.storage import segments as segment_store
from keepwell.storage import success_plans as success_store
from keepwell.storage.customers import to_customer
from keepwell.storage.metrics import UsageHistoryItem, batch_write_raw
from keepwell.storage.models import CustomerItem, TableItem, table_connection
from keepwell.storage.signal_logs import SignalLogItem

ENTITY = "health_snapshot"
BATCH_GET_LIMIT = 100


class SnapshotItem(TableItem):
    """Lean on purpose (a recalculation writes 90 per customer): the snapshot is one JSON attribute;
    beside it only what the write condition compares. The customer and day are in the key."""

    model_version = NumberAttribute()
    inputs = UnicodeAttribute()  # digest of what was scored: a redelivered message finds it unchanged
    document = UnicodeAttribute()  # HealthSnapshot as JSON: exact floats, one attribute to read


class ProfileHealthItem(TableItem):
    """The health attributes of a customer profile item; the other profile attributes are untouched.

    `health_score`, `health_band`, `health_scored_at` and `health_dimensions` are what lists, segments
    and benchmarks read; `health_latest` holds the rest of the latest health, `health_state` the
    scoring state; `health_rev` and `health_digest` serve the write conditions."""

    health_score = NumberAttribute(null=True)
    health_band = UnicodeAttribute(null=True)
    health_scored_at = UnicodeAttribute(null=True)
    health_dimensions = MapAttribute[str, Any](null=True)  # {dimension: value or null (N/A)}
    health_latest = UnicodeAttribute(null=True)  # JSON: day, band colour, smoothed score, model version, coverage
    health_state = UnicodeAttribute(null=True)  # JSON: the last days' scores, bands and alert flags
    health_rev = NumberAttribute(null=True)  # bumped by every scoring write (optimistic concurrency)
    health_digest = UnicodeAttribute(null=True)  # what the last write applied (idempotent history writes)


# --- values --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileHealth:
    """The health denormalised on a profile, and the scoring state kept with it."""

    score: float | None = None
    band: str | None = None
    band_color: str | None = None
    smoothed_score: float | None = None
    scored_at: str | None = None
    day: date | None = None
    model_version: int | None = None
    coverage: float | None = None
    dimensions: dict[str, float | None] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    rev: int = 0
    digest: str | None = None


@dataclass(frozen=True)
class LatestHealth:
    """What a scoring write puts on the profile as the customer's current health."""

    score: float | None
    band: str | None
    band_color: str | None
    smoothed_score: float | None
    scored_at: str
    day: date
    model_version: int
    coverage: float
    dimensions: dict[str, float | None]


@dataclass(frozen=True)
class ProfileHealthUpdate:
    state: dict[str, Any]
    digest: str
    latest: LatestHealth | None = None  # None: the day scored is older than the profile's latest


@dataclass
class ScoringInputs:
    customer: Customer | None
    health: ProfileHealth
    usage_days: list[UsageDay]
    usage_version: int  # the usage history's version (0: none yet)
    signal_log: SignalLog | None
    signal_log_version: int
    baselines: SegmentBaselines | None = None  # the workspace's segment tally (misalignment alert)
    # Raw items for success plans (services/success_signals.py): the profile, the plan, the capabilities.
    success_items: dict[str, dict[str, Any]] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _plain_map(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return dict(value.as_dict()) if hasattr(value, "as_dict") else dict(value)


def _profile_health(item: ProfileHealthItem) -> ProfileHealth:
    latest: dict[str, Any] = json.loads(item.health_latest) if item.health_latest else {}
    return ProfileHealth(
        score=_number(item.health_score),
        band=item.health_band,
        band_color=latest.get("band_color"),
        smoothed_score=_number(latest.get("smoothed_score")),
        scored_at=item.health_scored_at,
        day=date.fromisoformat(latest["day"]) if latest.get("day") else None,
        model_version=int(latest["model_version"]) if latest.get("model_version") is not None else None,
        coverage=_number(latest.get("coverage")),
        dimensions={k: _number(v) for k, v in _plain_map(item.health_dimensions).items()},
        state=json.loads(item.health_state) if item.health_state else {},
        rev=int(item.health_rev or 0),
        digest=item.health_digest,
    )


# --- reads ---------------------------------------------------------------------------------------
def batch_get_raw(
    item_keys: Sequence[keys.Key], attributes: Sequence[str] | None = None, consistent: bool = False
) -> list[dict[str, Any]]:
    """Raw items for any mix of keys, in BatchGetItem requests of 100 (unprocessed keys retried)."""
    table = SnapshotItem._get_connection()
    found: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(item_keys))
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        pending: list[Any] = [{"pk": {"S": k.pk}, "sk": {"S": k.sk}} for k in unique[start : start + BATCH_GET_LIMIT]]
        backoff = 0.05
        while pending:
            data = table.batch_get_item(
                pending, consistent_read=consistent or None, attributes_to_get=list(attributes) if attributes else None
            )
            found.extend(data.get("Responses", {}).get(table.table_name, []))
            pending = data.get("UnprocessedKeys", {}).get(table.table_name, {}).get("Keys") or []
            if pending:
                timer.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
    return found


def read_scoring_inputs(workspace_id: str, customer_id: str, first: date, last: date) -> ScoringInputs:
    """The profile, the signal log, the usage of the days from `first` to `last` (from the usage
    history) and the workspace's segment baselines, by key: one BatchGetItem of 4 keys, for a day's
    scoring as for a 90-day history."""
    profile_key = keys.customer(workspace_id, customer_id)
    log_key = keys.signal_log(workspace_id, customer_id)
    usage_key = keys.usage_history(workspace_id, customer_id)
    baselines_key = keys.segment_baselines(workspace_id)
    success_keys = success_store.scoring_keys(workspace_id, customer_id)
    found = batch_get_raw([profile_key, log_key, usage_key, baselines_key, *success_keys])
    inputs = ScoringInputs(None, ProfileHealth(), [], 0, None, 0)
    for raw in found:
        sort_key = raw["sk"]["S"]
        if sort_key == profile_key.sk or any(sort_key == k.sk for k in success_keys):
            inputs.success_items[sort_key] = raw
        if sort_key == baselines_key.sk:
            inputs.baselines = segment_store.baselines_of(raw)
        elif sort_key == profile_key.sk:
            inputs.customer = to_customer(CustomerItem.from_raw_data(raw))
            inputs.health = _profile_health(ProfileHealthItem.from_raw_data(raw))
        elif sort_key == log_key.sk:
            item = SignalLogItem.from_raw_data(raw)
            inputs.signal_log = SignalLog.from_document(json.loads(item.document))
            inputs.signal_log_version = int(item.version)
        elif sort_key == usage_key.sk:
            usage = UsageHistoryItem.from_raw_data(raw)
            inputs.usage_version = int(usage.version or 0)
            inputs.usage_days = UsageHistory.decode(usage.document, inputs.usage_version).usage_days(first, last)
    return inputs


def get_customer_health(workspace_id: str, customer_id: str) -> tuple[Customer, ProfileHealth] | None:
    """A customer and its denormalised health, from one (consistent) GetItem of the profile."""
    key = keys.customer(workspace_id, customer_id)
    found = batch_get_raw([key], consistent=True)
    if not found:
        return None
    raw = found[0]
    return to_customer(CustomerItem.from_raw_data(raw)), _profile_health(ProfileHealthItem.from_raw_data(raw))


def _to_snapshot(item: SnapshotItem) -> HealthSnapshot:
    return HealthSnapshot.model_validate_json(item.document)


def get_snapshot(workspace_id: str, customer_id: str, day: date) -> HealthSnapshot | None:
    key = keys.health_snapshot(workspace_id, customer_id, day)
    try:
        return _to_snapshot(SnapshotItem.get(key.pk, key.sk))
    except SnapshotItem.DoesNotExist:
        return None


def get_snapshots(workspace_id: str, customer_id: str, start: date, end: date) -> list[HealthSnapshot]:
    """A customer's snapshots from `start` to `end` inclusive, oldest first (one Query, pattern 16)."""
    first = keys.health_snapshot(workspace_id, customer_id, start)
    last = keys.health_snapshot(workspace_id, customer_id, end)
    items = SnapshotItem.query(first.pk, SnapshotItem.sk.between(first.sk, last.sk))
    return [_to_snapshot(item) for item in items]


def get_latest_snapshots(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, HealthSnapshot]:
    """Each customer's latest snapshot (customers never scored are missing): the profiles' latest day,
    then those snapshot items, each in BatchGetItem requests of 100."""
    wanted = [keys.customer(workspace_id, c) for c in dict.fromkeys(customer_ids)]
    latest: list[keys.Key] = []
    for raw in batch_get_raw(wanted, ["pk", "sk", "customer_id", "health_latest"]):
        day = json.loads(raw["health_latest"]["S"]).get("day") if "health_latest" in raw else None
        if day and "customer_id" in raw:
            latest.append(keys.health_snapshot(workspace_id, raw["customer_id"]["S"], date.fromisoformat(day)))
    found: dict[str, HealthSnapshot] = {}
    for raw in batch_get_raw(latest, ["pk", "sk", "document"]):
        snapshot = HealthSnapshot.model_validate_json(raw["document"]["S"])
        found[raw["pk"]["S"].rsplit("#CUST#", 1)[1]] = snapshot
    return found


# --- writes --------------------------------------------------------------------------------------
def _snapshot_item(
    workspace_id: str, customer_id: str, snapshot: HealthSnapshot, version: int, inputs: str
) -> SnapshotItem:
    key = keys.health_snapshot(workspace_id, customer_id, snapshot.date)
    return SnapshotItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=workspace_id,
        model_version=version,
        inputs=inputs,
        document=snapshot.model_dump_json(),
    )


def _profile_actions(update: ProfileHealthUpdate, seen_rev: int | None) -> list[Action]:
    state = json.dumps(update.state, separators=(",", ":"), sort_keys=True)
    actions: list[Action] = [
        ProfileHealthItem.health_state.set(state),
        ProfileHealthItem.health_digest.set(update.digest),
        ProfileHealthItem.health_rev.set(seen_rev + 1) if seen_rev is not None else ProfileHealthItem.health_rev.add(1),
    ]
    latest = update.latest
    if latest is not None:
        details = {
            "day": latest.day.isoformat(),
            "band_color": latest.band_color,
            "smoothed_score": latest.smoothed_score,
            "model_version": latest.model_version,
            "coverage": latest.coverage,
        }
        actions += [
            ProfileHealthItem.health_score.remove()
            if latest.score is None
            else ProfileHealthItem.health_score.set(latest.score),
            ProfileHealthItem.health_band.remove()
            if latest.band is None
            else ProfileHealthItem.health_band.set(latest.band),
            ProfileHealthItem.health_scored_at.set(latest.scored_at),
            ProfileHealthItem.health_dimensions.set(dict(latest.dimensions)),
            ProfileHealthItem.health_latest.set(json.dumps(details, separators=(",", ":"))),
        ]
    return actions


DayWrite = Literal["written", "duplicate", "profile_changed", "customer_missing"]


def write_day(
    workspace_id: str,
    customer_id: str,
    snapshot: HealthSnapshot,
    *,
    version: int,
    inputs: str,
    profile: ProfileHealthUpdate,
    seen_rev: int,
) -> DayWrite:
    """One TransactWriteItems: the day's snapshot, unless this model version already scored these
    inputs (or a newer model scored the day), and the profile's health, if nobody wrote it since
    `seen_rev` was read."""
    snapshot_condition: Condition = (
        SnapshotItem.pk.does_not_exist()
        | (SnapshotItem.model_version < version)
        | ((SnapshotItem.model_version == version) & (SnapshotItem.inputs != inputs))
    )
    rev_condition: Condition = (
        ProfileHealthItem.health_rev.does_not_exist() if seen_rev == 0 else ProfileHealthItem.health_rev == seen_rev
    )
    profile_key = keys.customer(workspace_id, customer_id)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(
                _snapshot_item(workspace_id, customer_id, snapshot, version, inputs),
                condition=snapshot_condition,
            )
            tx.update(
                ProfileHealthItem(profile_key.pk, profile_key.sk),
                actions=_profile_actions(profile, seen_rev),
                condition=ProfileHealthItem.pk.exists() & rev_condition,
            )
    except TransactWriteError as error:
        reasons = error.cancellation_reasons or []
        failed = [r is not None and r.code == "ConditionalCheckFailed" for r in reasons]
        if failed and failed[0]:
            return "duplicate"
        if len(failed) > 1 and failed[1]:
            return "profile_changed"
        raise
    return "written"


def write_history(
    workspace_id: str,
    customer_id: str,
    snapshots: Sequence[HealthSnapshot],
    *,
    version: int,
    inputs: str,
) -> None:
    """Put a recomputed history (BatchWriteItem, 25 snapshots a request); same inputs, same items.

    The items are built as attribute maps rather than model instances: a recalculation writes 90 per
    customer, and pynamodb's per-attribute serialisation was a fifth of the scorer's own CPU."""
    entity, workspace = {"S": ENTITY}, {"S": workspace_id}
    model_version, digest = {"N": str(version)}, {"S": inputs}
    items: list[dict[str, Any]] = []
    for snapshot in snapshots:
        key = keys.health_snapshot(workspace_id, customer_id, snapshot.date)
        items.append(
            {
                "pk": {"S": key.pk},
                "sk": {"S": key.sk},
                "entity": entity,
                "workspace_id": workspace,
                "model_version": model_version,
                "inputs": digest,
                "document": {"S": snapshot.model_dump_json()},  # largest last (see storage/metrics.py)
            }
        )
    batch_write_raw(items)


def apply_profile_health(workspace_id: str, customer_id: str, update: ProfileHealthUpdate) -> bool:
    """Put the health of a recomputed history on the profile unless this very update was applied
    before (same digest: a redelivered message) or the customer is gone. Returns whether it applied."""
    key = keys.customer(workspace_id, customer_id)
    condition = ProfileHealthItem.pk.exists() & (
        ProfileHealthItem.health_digest.does_not_exist() | (ProfileHealthItem.health_digest != update.digest)
    )
    try:
        ProfileHealthItem._get_connection().update_item(
            key.pk, range_key=key.sk, actions=_profile_actions(update, None), condition=condition
        )
    except UpdateError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            return False
        raise
    return True
