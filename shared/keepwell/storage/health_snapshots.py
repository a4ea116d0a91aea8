"""Health snapshots and the scorer's reads and writes, all addressed by key.

* `WS#w#CUST#c / HEALTH#<yyyy-mm>`: one item per customer-month holding every scored day of the month
  (decision 0026): `days` is one compressed binary attribute of a line per day (day, model version,
  inputs digest, the whole HealthSnapshot as JSON; a full month of the demo: ~60 KB of text, ~5 KB
  stored); `version` is bumped by every write (optimistic concurrency).
* `WS#w#CUST#c / HEALTH#<yyyy-mm-dd>`: the per-day items written before that change; read (a month
  item's day wins over them) until `migrate_customer` folds them into their months.
* The profile (`WS#w#CUST#c / PROFILE`) carries the latest health, denormalised for lists, segments and
  benchmarks (`health_score`, `health_band`, `health_dimensions`, `health_scored_at`, …), and the small
  scoring state of the last 31 days (`health_state_z`, compressed: storage/scoring_state.py) that
  smoothing, hysteresis and alerts continue from. Only scoring writes these attributes, with UpdateItem
  on them alone, so a concurrent customer edit is never overwritten (and the customer's `version` is not bumped).

Scoring a customer costs one BatchGetItem (profile + signal log + usage history + the workspace's
segment baselines + the months scored: 5 keys for a day, 8 for a 90-day history) and one
TransactWriteItems (the months + the profile), for a day as for a whole history. See
docs/decisions/0007-scoring-pipeline.md and 0026-snapshots-per-customer-month.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, NamedTuple

from pynamodb.attributes import BinaryAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from keepwell.domain.contacts import ContactDepth
from keepwell.domain.customers import Customer
from keepwell.domain.health.signals import ContractSignals, UsageDay
from keepwell.domain.health.snapshot import HealthSnapshot
from keepwell.domain.segment_baselines import SegmentBaselines
from keepwell.domain.signal_log import SignalLog
from keepwell.domain.usage_history import UsageHistory
from keepwell.retries import until_processed
from keepwell.storage import keys, scoring_state, snapshot_dictionary
from keepwell.storage import segments as segment_store
from keepwell.storage.customers import customer_ids, to_customer
from keepwell.storage.metrics import UsageHistoryItem
from keepwell.storage.models import CustomerItem, TableItem, table_connection
from keepwell.storage.signal_logs import SignalLogItem

ENTITY = "health_snapshot"
MONTH_ENTITY = "health_month"
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100  # actions per TransactWriteItems
MIGRATION_ATTEMPTS = 3
COMPRESSION_LEVEL = 6


class SnapshotItem(TableItem):
    """A customer-day's snapshot as stored before decision 0026: read until migrated, never written.
    The snapshot is one JSON attribute; beside it what the old write condition compared."""

    model_version = NumberAttribute()
    inputs = UnicodeAttribute()  # digest of what was scored
    document = UnicodeAttribute()  # HealthSnapshot as JSON


class SnapshotMonthItem(TableItem):
    """Every scored day of a customer-month, in one compressed attribute (see the module docstring)."""

    version = NumberAttribute()  # bumped by every write: a write conditioned on the version it read
    days = BinaryAttribute(legacy_encoding=False)


class ProfileHealthItem(TableItem):
    """The health attributes of a customer profile item; the other profile attributes are untouched.

    `health_score`, `health_band`, `health_scored_at` and `health_dimensions` are what lists, segments
    and benchmarks read; `health_latest` holds the rest of the latest health, `health_state_z` the
    scoring state (`health_state` in profiles scored before it was compressed); `health_rev` and
    `health_digest` serve the write conditions."""

    health_score = NumberAttribute(null=True)
    health_band = UnicodeAttribute(null=True)
    health_scored_at = UnicodeAttribute(null=True)
    health_dimensions = MapAttribute[str, Any](null=True)  # {dimension: value or null (N/A)}
    health_latest = UnicodeAttribute(null=True)  # JSON: day, band colour, smoothed score, model version, coverage
    health_state = scoring_state.text_attribute()  # the scoring state as JSON text (profiles scored before)
    health_state_z = scoring_state.packed_attribute()  # the same, compressed: what scoring writes
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
    contract: ContractSignals | None = None  # from the renewal records (None: the customer has none)
    contract_document: str | None = None  # as stored: part of what a scoring depended on
    months: dict[date, SnapshotMonth] = field(default_factory=dict)  # the months scored (first day: month)
    # Raw items for success plans (services/success_signals.py): the profile, the plan, the capabilities.
    success_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: ContactDepth | None = None  # the profile's contact counters (None: never counted)


def month_of(day: date) -> date:
    return day.replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s to `last`'s, oldest first."""
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


class DayEntry(NamedTuple):
    """A scored day as a month item keeps it."""

    model_version: int
    inputs: str  # digest of what was scored: a redelivered message finds it unchanged
    document: str  # the HealthSnapshot as JSON (exact floats), parsed only when the day is read


@dataclass
class SnapshotMonth:
    """A customer-month's scored days as stored, by ISO day; `version` 0 when not stored yet.

    Stored as zlib-compressed lines `<day>\t<model version>\t<inputs>\t<snapshot JSON>` (JSON never holds
    a raw tab or newline), compressed with a preset dictionary since 6 December 2026
    (storage/snapshot_dictionary.py; items written before read as they are): a write joins the days'
    JSON as pydantic serialised it, a read parses only the days it returns."""

    month: date
    version: int = 0
    days: dict[str, DayEntry] = field(default_factory=dict)

    def snapshot(self, day: date) -> HealthSnapshot | None:
        entry = self.days.get(day.isoformat())
        return None if entry is None else HealthSnapshot.model_validate_json(entry.document)

    def scored(self, day: date, version: int, inputs: str) -> bool:
        """Whether `day` already holds a scoring by this model of these inputs, or by a newer model."""
        entry = self.days.get(day.isoformat())
        return entry is not None and (
            entry.model_version > version or (entry.model_version == version and entry.inputs == inputs)
        )

    def encode(self) -> bytes:
        lines = (f"{day}\t{e.model_version}\t{e.inputs}\t{e.document}" for day, e in sorted(self.days.items()))
        return snapshot_dictionary.compress("\n".join(lines).encode(), COMPRESSION_LEVEL)

    @classmethod
    def decode(cls, month: date, version: int, data: bytes) -> SnapshotMonth:
        days: dict[str, DayEntry] = {}
        text = snapshot_dictionary.decompress(data).decode()
        for line in text.split("\n") if text else ():
            day, model_version, inputs, document = line.split("\t", 3)
            days[day] = DayEntry(int(model_version), inputs, document)
        return cls(month, version, days)


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
        state=scoring_state.of_item(item),
        rev=int(item.health_rev or 0),
        digest=item.health_digest,
    )


# --- reads ---------------------------------------------------------------------------------------
def batch_get_raw(
    item_keys: Sequence[keys.Key], attributes: Sequence[str] | None = None, consistent: bool = False
) -> list[dict[str, Any]]:
    """Raw items for any mix of keys, in BatchGetItem requests of 100 (unprocessed keys sent again, a
    bounded number of times: keepwell.retries)."""
    table = SnapshotItem._get_connection()
    found: list[dict[str, Any]] = []

    def send(batch: list[Any]) -> list[Any]:
        data = table.batch_get_item(
            batch, consistent_read=consistent or None, attributes_to_get=list(attributes) if attributes else None
        )
        found.extend(data.get("Responses", {}).get(table.table_name, []))
        return list(data.get("UnprocessedKeys", {}).get(table.table_name, {}).get("Keys") or [])

    unique = list(dict.fromkeys(item_keys))
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        until_processed(
            send, [{"pk": {"S": k.pk}, "sk": {"S": k.sk}} for k in unique[start : start + BATCH_GET_LIMIT]], what="keys"
        )
    return found


MONTH_SK_LENGTH = len("HEALTH#yyyy-mm")


def _is_month(raw: dict[str, Any]) -> bool:
    return len(raw["sk"]["S"]) == MONTH_SK_LENGTH


def _month_of_raw(raw: dict[str, Any]) -> SnapshotMonth:
    month = date.fromisoformat(raw["sk"]["S"][len(keys.HEALTH_PREFIX) :] + "-01")
    data = raw["days"]["B"]
    return SnapshotMonth.decode(month, int(raw["version"]["N"]), data)


def _legacy_entry(raw: dict[str, Any]) -> DayEntry:
    return DayEntry(int(raw["model_version"]["N"]), raw["inputs"]["S"], raw["document"]["S"])


@dataclass(frozen=True)
class InputsWanted:
    """What one customer's scoring reads: its usage from `first` to `last` and, with `scored_from`, the
    snapshot months from `scored_from` to `last` (what its write merges into)."""

    workspace_id: str
    customer_id: str
    first: date
    last: date
    scored_from: date | None = None

    def item_keys(self) -> list[keys.Key]:
        """The profile, the signal log, the usage history, the workspace's segment baselines, the contract
        summary, the success-plan items and the months."""
        ws, customer = self.workspace_id, self.customer_id
        months = months_between(self.scored_from, self.last) if self.scored_from is not None else []
        return [
            keys.customer(ws, customer),
            keys.signal_log(ws, customer),
            keys.usage_history(ws, customer),
            keys.segment_baselines(ws),
            keys.contract_summary(ws, customer),
            *_success_keys(ws, customer),
            *(keys.health_month(ws, customer, m) for m in months),
        ]


def read_scoring_inputs(
    workspace_id: str,
    customer_id: str,
    first: date,
    last: date,
    *,
    scored_from: date | None = None,
    consistent: bool = False,
) -> ScoringInputs:
    """The profile, the signal log, the usage of the days from `first` to `last` (from the usage
    history), the workspace's segment baselines, the customer's contract summary (what its renewal
    records say for the Contract dimension) and, with `scored_from`, the snapshot months from
    `scored_from` to `last` (what a write merges into), by key: one BatchGetItem of 5 keys plus the
    months, for a day's scoring as for a 90-day history."""
    wanted = InputsWanted(workspace_id, customer_id, first, last, scored_from)
    return _inputs_of(wanted, _by_key(batch_get_raw(wanted.item_keys(), consistent=consistent)))


class ReadTogether:
    """What several customers' scorings read, read in one BatchGetItem per 100 distinct keys (the workspace's
    items once): the scorer reads a batch of messages' inputs before scoring them. Each customer's inputs are
    built when it is scored (`inputs`), so one customer's unreadable item fails its own scoring only."""

    def __init__(self, wanted: Sequence[InputsWanted]):
        self.wanted = set(wanted)
        self._found = _by_key(batch_get_raw([k for w in wanted for k in w.item_keys()])) if wanted else {}

    def inputs(self, wanted: InputsWanted) -> ScoringInputs | None:
        """`read_scoring_inputs(...)` of what was read (eventually consistent, as a first attempt reads),
        once per customer; None when it was not read together."""
        if wanted not in self.wanted:
            return None
        self.wanted.discard(wanted)
        return _inputs_of(wanted, self._found)


def _success_keys(workspace_id: str, customer_id: str) -> list[keys.Key]:
    """What the scorer reads for success plans, in its one BatchGetItem: the plan and the capabilities."""
    return [keys.success_plan(workspace_id, customer_id), keys.capabilities(workspace_id)]


def _depth_of_raw(profile: dict[str, Any] | None) -> ContactDepth | None:
    """The contact counters of a raw profile item (None: written before contacts were counted)."""
    if not profile or "contacts_total" not in profile:
        return None

    def count(name: str) -> int:
        return max(0, int(float(profile.get(name, {}).get("N", "0"))))

    return ContactDepth(
        total=count("contacts_total"),
        executive=count("contacts_executive"),
        manager=count("contacts_manager"),
        practitioner=count("contacts_practitioner"),
    )


def _contract_of(document: str) -> ContractSignals:
    """The contract summary `storage.renewals.contract_json` wrote."""
    data = json.loads(document)
    return ContractSignals(
        renewal_date=date.fromisoformat(data["renewal_date"]) if data.get("renewal_date") else None,
        auto_renew=bool(data.get("auto_renew")),
        expansions=int(data.get("expansions") or 0),
        contractions=int(data.get("contractions") or 0),
    )


def _by_key(found: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(raw["pk"]["S"], raw["sk"]["S"]): raw for raw in found}


def _inputs_of(wanted: InputsWanted, found: Mapping[tuple[str, str], dict[str, Any]]) -> ScoringInputs:
    workspace_id, customer_id, first, last = wanted.workspace_id, wanted.customer_id, wanted.first, wanted.last
    months = months_between(wanted.scored_from, last) if wanted.scored_from is not None else []
    inputs = ScoringInputs(None, ProfileHealth(), [], 0, None, 0, months={m: SnapshotMonth(m) for m in months})

    def raw_of(key: keys.Key) -> dict[str, Any] | None:
        return found.get((key.pk, key.sk))

    profile_key = keys.customer(workspace_id, customer_id)
    for key in (profile_key, *_success_keys(workspace_id, customer_id)):
        raw = raw_of(key)
        if raw is not None:
            inputs.success_items[key.sk] = raw
    baselines = raw_of(keys.segment_baselines(workspace_id))
    if baselines is not None:
        inputs.baselines = segment_store.baselines_of(baselines)
    profile = raw_of(profile_key)
    if profile is not None:
        inputs.customer = to_customer(CustomerItem.from_raw_data(profile))
        inputs.contacts = _depth_of_raw(profile)
        inputs.health = _profile_health(ProfileHealthItem.from_raw_data(profile))
    log = raw_of(keys.signal_log(workspace_id, customer_id))
    if log is not None:
        item = SignalLogItem.from_raw_data(log)
        inputs.signal_log = SignalLog.from_document(json.loads(item.document))
        inputs.signal_log_version = int(item.version)
    contract = raw_of(keys.contract_summary(workspace_id, customer_id))
    if contract is not None:
        inputs.contract_document = contract["document"]["S"]
        inputs.contract = _contract_of(inputs.contract_document)
    usage_raw = raw_of(keys.usage_history(workspace_id, customer_id))
    if usage_raw is not None:
        usage = UsageHistoryItem.from_raw_data(usage_raw)
        inputs.usage_version = int(usage.version or 0)
        inputs.usage_days = UsageHistory.decode(usage.document, inputs.usage_version).usage_days(first, last)
    for month in months:
        raw = raw_of(keys.health_month(workspace_id, customer_id, month))
        if raw is not None:
            inputs.months[month] = _month_of_raw(raw)
    return inputs


def get_customer_health(workspace_id: str, customer_id: str) -> tuple[Customer, ProfileHealth] | None:
    """A customer and its denormalised health, from one (consistent) GetItem of the profile."""
    key = keys.customer(workspace_id, customer_id)
    found = batch_get_raw([key], consistent=True)
    if not found:
        return None
    raw = found[0]
    return to_customer(CustomerItem.from_raw_data(raw)), _profile_health(ProfileHealthItem.from_raw_data(raw))


def get_snapshot(workspace_id: str, customer_id: str, day: date) -> HealthSnapshot | None:
    """A customer-day's snapshot: its month item's day, else a day item not migrated yet (one BatchGetItem)."""
    found = batch_get_raw(
        [keys.health_month(workspace_id, customer_id, day), keys.health_snapshot(workspace_id, customer_id, day)]
    )
    legacy: HealthSnapshot | None = None
    for raw in found:
        if _is_month(raw):
            snapshot = _month_of_raw(raw).snapshot(day)
            if snapshot is not None:
                return snapshot
        else:
            legacy = HealthSnapshot.model_validate_json(raw["document"]["S"])
    return legacy


def _query_health(workspace_id: str, customer_id: str, low: str, high: str) -> list[dict[str, Any]]:
    """Raw health items (months and legacy days) of a customer with `low <= sk <= high`, every page."""
    table = SnapshotItem._get_connection()
    partition = keys.customer_partition(workspace_id, customer_id)
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        data = table.query(partition, range_key_condition=SnapshotItem.sk.between(low, high), exclusive_start_key=start)
        items.extend(data.get("Items", []))
        start = data.get("LastEvaluatedKey")
        if not start:
            return items


def get_snapshots(workspace_id: str, customer_id: str, start: date, end: date) -> list[HealthSnapshot]:
    """A customer's snapshots from `start` to `end` inclusive, oldest first: one Query (pattern 16) over
    the month items and any day items not migrated yet, a month item's day winning."""
    low = keys.health_month(workspace_id, customer_id, start).sk
    high = keys.health_snapshot(workspace_id, customer_id, end).sk
    entries: dict[str, DayEntry] = {}
    legacy: dict[str, dict[str, Any]] = {}
    for raw in _query_health(workspace_id, customer_id, low, high):
        if _is_month(raw):
            entries.update(_month_of_raw(raw).days)
        else:
            legacy[raw["sk"]["S"][len(keys.HEALTH_PREFIX) :]] = raw
    first, last = start.isoformat(), end.isoformat()
    chosen: dict[str, HealthSnapshot] = {}
    for day, raw in legacy.items():
        if first <= day <= last and day not in entries:
            chosen[day] = HealthSnapshot.model_validate_json(raw["document"]["S"])
    for day, entry in entries.items():
        if first <= day <= last:
            chosen[day] = HealthSnapshot.model_validate_json(entry.document)
    return [chosen[day] for day in sorted(chosen)]


def get_latest_snapshots(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, HealthSnapshot]:
    """Each customer's latest snapshot (customers never scored are missing): the profiles' latest day,
    then those days' month items (and day items not migrated yet), each in BatchGetItem requests of 100."""
    wanted = [keys.customer(workspace_id, c) for c in dict.fromkeys(customer_ids)]
    latest: dict[str, date] = {}
    for raw in batch_get_raw(wanted, ["pk", "sk", "customer_id", "health_latest"]):
        day = json.loads(raw["health_latest"]["S"]).get("day") if "health_latest" in raw else None
        if day and "customer_id" in raw:
            latest[raw["customer_id"]["S"]] = date.fromisoformat(day)
    item_keys: list[keys.Key] = []
    for customer_id, day in latest.items():
        item_keys += [
            keys.health_month(workspace_id, customer_id, day),
            keys.health_snapshot(workspace_id, customer_id, day),
        ]
    found: dict[str, HealthSnapshot] = {}
    legacy: dict[str, HealthSnapshot] = {}
    for raw in batch_get_raw(item_keys, ["pk", "sk", "document", "version", "days"]):
        customer_id = raw["pk"]["S"].rsplit("#CUST#", 1)[1]
        if _is_month(raw):
            snapshot = _month_of_raw(raw).snapshot(latest[customer_id])
            if snapshot is not None:
                found[customer_id] = snapshot
        else:
            legacy[customer_id] = HealthSnapshot.model_validate_json(raw["document"]["S"])
    return {**legacy, **found}


# --- writes --------------------------------------------------------------------------------------
def _profile_actions(update: ProfileHealthUpdate, seen_rev: int | None, customer_id: str) -> list[Action]:
    actions: list[Action] = [
        ProfileHealthItem.health_state_z.set(scoring_state.encode(update.state)),
        ProfileHealthItem.health_state.remove(),
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
            ProfileHealthItem.gsi3sk.set(keys.customer_health_order(latest.score, customer_id)),
        ]
    return actions


ScoresWrite = Literal["written", "conflict"]


def _month_item(workspace_id: str, customer_id: str, month: SnapshotMonth) -> SnapshotMonthItem:
    key = keys.health_month(workspace_id, customer_id, month.month)
    return SnapshotMonthItem(
        key.pk,
        key.sk,
        entity=MONTH_ENTITY,
        workspace_id=workspace_id,
        version=month.version + 1,
        days=month.encode(),
    )


def _month_condition(month: SnapshotMonth) -> Any:
    return SnapshotMonthItem.pk.does_not_exist() if month.version == 0 else SnapshotMonthItem.version == month.version


def with_snapshots(
    months: Mapping[date, SnapshotMonth], snapshots: Sequence[HealthSnapshot], *, version: int, inputs: str
) -> list[SnapshotMonth]:
    """The months touched by `snapshots`, as read (`months`) with those days set: what a write puts."""
    changed: dict[date, SnapshotMonth] = {}
    for snapshot in snapshots:
        month = month_of(snapshot.date)
        if month not in changed:
            read = months.get(month) or SnapshotMonth(month)
            changed[month] = SnapshotMonth(month, read.version, dict(read.days))
        changed[month].days[snapshot.date.isoformat()] = DayEntry(version, inputs, snapshot.model_dump_json())
    return list(changed.values())


def write_scores(
    workspace_id: str,
    customer_id: str,
    snapshots: Sequence[HealthSnapshot],
    *,
    version: int,
    inputs: str,
    months: Mapping[date, SnapshotMonth],
    profile: ProfileHealthUpdate,
    seen_rev: int,
) -> ScoresWrite:
    """One TransactWriteItems, for a day as for a whole history: every month the snapshots fall in (the
    month as read, with those days set, conditioned on its version as read) and the profile's health
    (conditioned on `health_rev` as read). "conflict": someone wrote either meanwhile, or the
    customer is gone: read again."""
    rev_condition = (
        ProfileHealthItem.health_rev.does_not_exist() if seen_rev == 0 else ProfileHealthItem.health_rev == seen_rev
    )
    profile_key = keys.customer(workspace_id, customer_id)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            for month in with_snapshots(months, snapshots, version=version, inputs=inputs):
                tx.save(_month_item(workspace_id, customer_id, month), condition=_month_condition(month))
            tx.update(
                ProfileHealthItem(profile_key.pk, profile_key.sk),
                actions=_profile_actions(profile, seen_rev, customer_id),
                condition=ProfileHealthItem.pk.exists() & rev_condition,
            )
    except TransactWriteError as error:
        reasons = error.cancellation_reasons or []
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            return "conflict"
        raise
    return "written"


def write_history(
    workspace_id: str, customer_id: str, snapshots: Sequence[HealthSnapshot], *, version: int, inputs: str
) -> None:
    """Put a history's days into their month items without touching the profile (the demo's past
    outcomes, backtest fixtures): one BatchGetItem of the months it spans, one TransactWriteItems."""
    if not snapshots:
        return
    days = sorted(snapshot.date for snapshot in snapshots)
    spanned = months_between(days[0], days[-1])
    read = {
        month.month: month
        for month in map(
            _month_of_raw,
            batch_get_raw([keys.health_month(workspace_id, customer_id, m) for m in spanned], consistent=True),
        )
    }
    with TransactWrite(connection=table_connection()) as tx:
        for month in with_snapshots(read, snapshots, version=version, inputs=inputs):
            tx.save(_month_item(workspace_id, customer_id, month), condition=_month_condition(month))


# --- migration of the per-day items (decision 0026) ------------------------------------------------
def migrate_customer(workspace_id: str, customer_id: str) -> int:
    """Fold a customer's per-day snapshot items into their month items and delete them: per month, one
    TransactWriteItems (the month, conditioned on its version as read, and the month's day items).
    A day the month item already holds keeps the month's (newer) entry. Idempotent: a second run finds
    no day item and writes nothing; a run racing a scoring reads again. Returns the day items folded.
    Costs one Query of the customer's health items, plus one transaction per month that had day items."""
    folded = 0
    for attempt in range(MIGRATION_ATTEMPTS):
        raws = _query_health(workspace_id, customer_id, keys.HEALTH_PREFIX, keys.HEALTH_PREFIX + "~")
        months: dict[date, SnapshotMonth] = {}
        legacy: dict[date, list[dict[str, Any]]] = {}
        for raw in raws:
            if _is_month(raw):
                month = _month_of_raw(raw)
                months[month.month] = month
            else:
                day = date.fromisoformat(raw["sk"]["S"][len(keys.HEALTH_PREFIX) :])
                legacy.setdefault(month_of(day), []).append(raw)
        try:
            for month_start, day_items in sorted(legacy.items()):
                read = months.get(month_start) or SnapshotMonth(month_start)
                merged = SnapshotMonth(month_start, read.version, dict(read.days))
                for raw in day_items:
                    merged.days.setdefault(raw["sk"]["S"][len(keys.HEALTH_PREFIX) :], _legacy_entry(raw))
                with TransactWrite(connection=table_connection()) as tx:
                    tx.save(_month_item(workspace_id, customer_id, merged), condition=_month_condition(read))
                    for raw in day_items:
                        tx.delete(SnapshotItem(raw["pk"]["S"], raw["sk"]["S"]))
                folded += len(day_items)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            conflict = any(
                r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons
            )
            if not conflict or attempt == MIGRATION_ATTEMPTS - 1:
                raise
            continue  # a scoring wrote the month meanwhile: read again (months done stay done)
        return folded
    return folded


def apply_profile_health(workspace_id: str, customer_id: str, update: ProfileHealthUpdate) -> bool:
    """Put the health of a recomputed history on the profile unless this very update was applied
    before (same digest: a redelivered message) or the customer is gone. Returns whether it applied."""
    key = keys.customer(workspace_id, customer_id)
    condition = ProfileHealthItem.pk.exists() & (
        ProfileHealthItem.health_digest.does_not_exist() | (ProfileHealthItem.health_digest != update.digest)
    )
    try:
        ProfileHealthItem._get_connection().update_item(
            key.pk, range_key=key.sk, actions=_profile_actions(update, None, customer_id), condition=condition
        )
    except UpdateError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def migrate_workspace(workspace_id: str) -> tuple[int, int]:
    """Migrate every customer of a workspace (archived ones too), listed by one Query of gsi1 (no Scan).
    Returns (customers, day items folded)."""
    customers = customer_ids(workspace_id)
    return len(customers), sum(migrate_customer(workspace_id, c) for c in customers)
