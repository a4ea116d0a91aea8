"""Per-customer daily product metrics, their compact usage history, and the raw events behind them.

One item per customer-day (`METRICS#<date>`) holds the day's totals and the digests of the events
counted. Beside them one item per customer (`USAGE`, domain/usage_history.py) holds what scoring
reads of the last 180 days, so scoring a whole history reads one item instead of ~120 days.

Ingestion reads a batch's day items and usage histories in one BatchGetItem, rolls up only events
not counted before, and commits each customer with one TransactWriteItems: its changed days, each
with a version condition, and its usage history set to the days' new totals, conditioned on the
history's version. A concurrent writer cancels the transaction and the service re-reads that
customer, so an event is counted once, in the day and in the history, whatever the retries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection.table import TableConnection
from pynamodb.exceptions import PutError

from keepwell.domain.ingestion import RAW_FIELDS, DayActivity, DayRollup
from keepwell.domain.usage_history import KEPT_DAYS, UsageHistory
from keepwell.retries import conflict_attempts, until_processed
from keepwell.storage import keys
from keepwell.storage.models import TableItem

# A raw-events item holds at most this much JSON (DynamoDB's item limit is 400 KB).
RAW_ITEM_MAX_BYTES = 300_000
BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
_json = json.JSONEncoder(separators=(",", ":")).encode


class DailyMetricsItem(TableItem):
    customer_id = UnicodeAttribute()
    day = UnicodeAttribute()
    events = NumberAttribute(default=0)
    logins = NumberAttribute(default=0)
    event_counts = MapAttribute[str, Any](default=dict)
    active_users = UnicodeSetAttribute(null=True)
    features = UnicodeSetAttribute(null=True)
    event_digests = UnicodeSetAttribute(null=True)
    version = NumberAttribute(default=0)


class UsageHistoryItem(TableItem):
    customer_id = UnicodeAttribute()
    document = UnicodeAttribute()  # UsageHistory as compact JSON: one attribute to read
    version = NumberAttribute(default=0)


class RawEventsItem(TableItem):
    customer_id = UnicodeAttribute()
    day = UnicodeAttribute()
    event_count = NumberAttribute(default=0)
    events_json = UnicodeAttribute()  # a JSON array of RAW_FIELDS rows, serialised once by `put_raw_events`


@dataclass
class DailyMetrics:
    customer_id: str
    day: date
    events: int = 0
    logins: int = 0
    event_counts: dict[str, int] = field(default_factory=dict)
    active_users: set[str] = field(default_factory=set)
    features: set[str] = field(default_factory=set)
    event_digests: set[str] = field(default_factory=set)
    version: int = 0

    def activity(self) -> DayActivity:
        return DayActivity(
            events=self.events,
            logins=self.logins,
            event_counts=self.event_counts,
            users=frozenset(self.active_users),
            features=frozenset(self.features),
        )


class ConcurrentUpdate(Exception):
    """Another writer changed the day since we read it; read again and retry."""


# Ingestion reads and writes day items as DynamoDB attribute maps rather than through model
# instances: it does so for every customer-day of every batch, and building pynamodb models and
# update expressions there costs more CPU than all the per-event work (bench/ingest.py).
def _table() -> TableConnection:
    return DailyMetricsItem._get_connection()


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _strings(raw: dict[str, Any], name: str) -> set[str]:
    return set(raw[name]["SS"]) if name in raw else set()


def metrics_of_raw(raw: dict[str, Any]) -> DailyMetrics:
    """A day item read as a raw attribute map (BatchGetItem of mixed keys)."""
    return DailyMetrics(
        customer_id=raw["customer_id"]["S"],
        day=date.fromisoformat(raw["day"]["S"]),
        events=int(raw["events"]["N"]) if "events" in raw else 0,
        logins=int(raw["logins"]["N"]) if "logins" in raw else 0,
        event_counts={name: int(v["N"]) for name, v in raw.get("event_counts", {}).get("M", {}).items()},
        active_users=_strings(raw, "active_users"),
        features=_strings(raw, "features"),
        event_digests=_strings(raw, "event_digests"),
        version=int(raw["version"]["N"]) if "version" in raw else 0,
    )


def batch_get_raw(
    item_keys: list[keys.Key], *, consistent: bool = False, attributes: list[str] | None = None
) -> list[dict[str, Any]]:
    """Raw items (attribute maps) of any keys of the table, in BatchGetItem pages of 100; unprocessed
    keys are asked again with a backoff. Used on ingestion's hot path (customers, day items)."""
    table = _table()
    found: list[dict[str, Any]] = []
    for start in range(0, len(item_keys), BATCH_GET_LIMIT):
        pending: list[Any] = [
            {"pk": {"S": k.pk}, "sk": {"S": k.sk}} for k in item_keys[start : start + BATCH_GET_LIMIT]
        ]

        def get(batch: list[Any]) -> list[Any]:
            answer = table.batch_get_item(batch, consistent_read=consistent or None, attributes_to_get=attributes)
            found.extend(answer.get("Responses", {}).get(table.table_name, []))
            return answer.get("UnprocessedKeys", {}).get(table.table_name, {}).get("Keys") or []

        until_processed(get, pending, what="keys")
    return found


def get_days(
    workspace_id: str, wanted: Iterable[tuple[str, date]], *, consistent: bool = False
) -> dict[tuple[str, date], DailyMetrics]:
    """Fetch customer-days by key in BatchGetItem pages of 100; absent days are simply missing.

    Eventually consistent by default: a stale read only makes the version-conditioned write fail
    and that day be read again (consistently)."""
    wanted_keys = [keys.daily_metrics(workspace_id, customer_id, day) for customer_id, day in set(wanted)]
    found: dict[tuple[str, date], DailyMetrics] = {}
    for raw in batch_get_raw(wanted_keys, consistent=consistent):
        metrics = metrics_of_raw(raw)
        found[(metrics.customer_id, metrics.day)] = metrics
    return found


def read_for_ingestion(
    workspace_id: str, wanted: Iterable[tuple[str, date]], *, consistent: bool = False
) -> tuple[dict[tuple[str, date], DailyMetrics], dict[str, UsageHistory]]:
    """The customer-days of a batch and their customers' usage histories, in one BatchGetItem (pages
    of 100). Absent days and histories are missing. Eventually consistent by default: a stale read
    only makes the commit's conditions fail and that customer be read again (consistently)."""
    wanted = set(wanted)
    customers = sorted({customer_id for customer_id, _ in wanted})
    item_keys = [keys.daily_metrics(workspace_id, customer_id, day) for customer_id, day in wanted]
    item_keys += [keys.usage_history(workspace_id, customer_id) for customer_id in customers]
    days: dict[tuple[str, date], DailyMetrics] = {}
    histories: dict[str, UsageHistory] = {}
    for raw in batch_get_raw(item_keys, consistent=consistent):
        if raw["sk"]["S"] == USAGE_SORT_KEY:
            histories[raw["customer_id"]["S"]] = _history_from_raw(raw)
        else:
            metrics = metrics_of_raw(raw)
            days[(metrics.customer_id, metrics.day)] = metrics
    return days, histories


USAGE_SORT_KEY = "USAGE"


def _history_from_raw(raw: dict[str, Any]) -> UsageHistory:
    return UsageHistory.decode(raw["document"]["S"], int(raw["version"]["N"]) if "version" in raw else 0)


@dataclass(frozen=True)
class DayChange:
    """What a batch adds to one customer-day, and the day as it was read (None: a new day)."""

    day: date
    rollup: DayRollup
    previous: DailyMetrics | None


def _day_write(workspace_id: str, customer_id: str, change: DayChange, table_name: str) -> dict[str, Any]:
    """A new day is a Put conditioned on `attribute_not_exists`; a day already counted is an Update
    conditioned on its version that adds only what is new (the digests already there are not sent
    again). Both as TransactWriteItems entries."""
    key = keys.daily_metrics(workspace_id, customer_id, change.day)
    rollup, previous = change.rollup, change.previous
    if previous is None:
        item: dict[str, Any] = {
            "pk": {"S": key.pk},
            "sk": {"S": key.sk},
            "entity": {"S": "daily_metrics"},
            "workspace_id": {"S": workspace_id},
            "customer_id": {"S": customer_id},
            "day": {"S": change.day.isoformat()},
            "events": _n(rollup.events),
            "logins": _n(rollup.logins),
            "version": _n(1),
            "event_counts": {"M": {name: _n(count) for name, count in rollup.event_counts.items()}},
        }
        # Largest attributes last: moto (the local stack) re-measures every attribute already set
        # each time it sets one. The order means nothing to DynamoDB.
        if rollup.features:
            item["features"] = {"SS": list(rollup.features)}
        if rollup.users:
            item["active_users"] = {"SS": list(rollup.users)}
        item["event_digests"] = {"SS": list(rollup.digests)}
        return {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    counts = dict(previous.event_counts)
    for name, count in rollup.event_counts.items():
        counts[name] = counts.get(name, 0) + count
    values: dict[str, Any] = {
        # The whole map as an absolute total (one value however many event names): the version
        # condition makes that exact.
        ":counts": {"M": {name: _n(count) for name, count in counts.items()}},
        ":version": _n(previous.version + 1),
        ":seen": _n(previous.version),
        ":events": _n(rollup.events),
        ":logins": _n(rollup.logins),
        ":digests": {"SS": list(rollup.digests)},
    }
    names = {"#c": "event_counts", "#v": "version", "#e": "events", "#l": "logins", "#d": "event_digests"}
    added = ["#e :events", "#l :logins", "#d :digests"]
    for placeholder, name, new in (
        ("#u", "active_users", rollup.users - previous.active_users),
        ("#f", "features", rollup.features - previous.features),
    ):
        if new:
            names[placeholder] = name
            values[f":{name}"] = {"SS": list(new)}
            added.append(f"{placeholder} :{name}")
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"pk": {"S": key.pk}, "sk": {"S": key.sk}},
            "UpdateExpression": "SET #c = :counts, #v = :version ADD " + ", ".join(added),
            "ConditionExpression": "#v = :seen",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _history_write(workspace_id: str, customer_id: str, history: UsageHistory, table_name: str) -> dict[str, Any]:
    """The whole history, conditioned on the version read (absent when `history.version` is 0)."""
    key = keys.usage_history(workspace_id, customer_id)
    item = {
        "pk": {"S": key.pk},
        "sk": {"S": key.sk},
        "entity": {"S": "usage_history"},
        "workspace_id": {"S": workspace_id},
        "customer_id": {"S": customer_id},
        "version": _n(history.version + 1),
        "document": {"S": history.encode()},
    }
    put: dict[str, Any] = {"TableName": table_name, "Item": item}
    if history.version == 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put.update(
            ConditionExpression="#v = :seen",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":seen": _n(history.version)},
        )
    return {"Put": put}


def commit_customer_days(workspace_id: str, customer_id: str, changes: list[DayChange], history: UsageHistory) -> None:
    """Commit a batch's changes to one customer's days and its usage history (already holding the
    days' new totals, `history.version` as read) in one TransactWriteItems: all or nothing. Raises
    ConcurrentUpdate when another writer changed any of them since they were read."""
    table = _table()
    items = [_day_write(workspace_id, customer_id, change, table.table_name) for change in changes]
    items.append(_history_write(workspace_id, customer_id, history, table.table_name))
    try:
        table.connection.dispatch("TransactWriteItems", {"TransactItems": items})
    except ClientError as error:
        if _lost_a_race(error):
            raise ConcurrentUpdate(f"{customer_id} {[c.day.isoformat() for c in changes]}") from error
        raise


_RACE_REASONS = frozenset({"None", "ConditionalCheckFailed", "TransactionConflict"})


def _lost_a_race(error: ClientError) -> bool:
    """A transaction cancelled only because a condition failed or another transaction held an item."""
    response: dict[str, Any] = dict(error.response)
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = [str(r.get("Code", "None")) for r in response.get("CancellationReasons", [])]
    return not reasons or all(code in _RACE_REASONS for code in reasons)


@dataclass(frozen=True)
class RawEvents:
    """The raw events of one batch for one customer-day, as rows of RAW_FIELDS; `name` is stable for
    the same events. `sizes` bounds each row's size as JSON (to split large days over items)."""

    customer_id: str
    day: date
    name: str
    records: list[tuple[Any, ...]]
    sizes: list[int]


def _chunks(raw: RawEvents) -> Iterator[list[tuple[Any, ...]]]:
    """Consecutive runs of rows whose JSON stays under RAW_ITEM_MAX_BYTES."""
    start, size = 0, 2
    for index, record_size in enumerate(raw.sizes):
        if index > start and size + record_size > RAW_ITEM_MAX_BYTES:
            yield raw.records[start:index]
            start, size = index, 2
        size += record_size + 1
    if start < len(raw.records):
        yield raw.records[start:]


def put_raw_events(workspace_id: str, batches: Iterable[RawEvents], retain_days: int, now: datetime) -> None:
    """Keep raw events, one item per customer-day and batch (split when large), expiring after
    `retain_days` (DynamoDB TTL). Writing the same events again overwrites the same items.

    Items are serialised here (one JSON text per item) and sent in BatchWriteItems of 25;
    unprocessed items are sent again with a backoff."""
    expires = {"N": str(int((now + timedelta(days=retain_days)).timestamp()))}
    entity, workspace = {"S": "raw_events"}, {"S": workspace_id}
    items: list[dict[str, Any]] = []
    for raw in batches:
        customer, day = {"S": raw.customer_id}, {"S": raw.day.isoformat()}
        for part, records in enumerate(_chunks(raw)):
            key = keys.raw_events(workspace_id, raw.customer_id, raw.day, f"{raw.name}.{part}")
            items.append(
                {
                    "pk": {"S": key.pk},
                    "sk": {"S": key.sk},
                    "entity": entity,
                    "workspace_id": workspace,
                    "customer_id": customer,
                    "day": day,
                    "event_count": _n(len(records)),
                    "events_json": {"S": _json(records)},
                    "expires_at": expires,
                }
            )
    batch_write_raw(items)


def put_imported_days(workspace_id: str, days: Iterable[tuple[str, date, DayActivity]]) -> int:
    """Write whole day items from an import of past usage (the demo seed's history), unconditionally,
    then set those days in each customer's usage history (`import_into_histories`).

    Imported days carry totals but no event digests (an import has no event identities): events
    sent later for such a day are added to it by `commit_customer_days` like any other."""
    items: list[dict[str, Any]] = []
    entity, workspace = {"S": "daily_metrics"}, {"S": workspace_id}
    by_customer: dict[str, list[tuple[date, DayActivity]]] = {}
    for customer_id, day, activity in days:
        by_customer.setdefault(customer_id, []).append((day, activity))
        key = keys.daily_metrics(workspace_id, customer_id, day)
        item: dict[str, Any] = {
            "pk": {"S": key.pk},
            "sk": {"S": key.sk},
            "entity": entity,
            "workspace_id": workspace,
            "customer_id": {"S": customer_id},
            "day": {"S": day.isoformat()},
            "events": _n(activity.events),
            "logins": _n(activity.logins),
            "version": _n(1),
            "event_counts": {"M": {name: _n(count) for name, count in activity.event_counts.items()}},
        }
        if activity.features:  # largest last (see apply_rollup)
            item["features"] = {"SS": sorted(activity.features)}
        if activity.users:
            item["active_users"] = {"SS": sorted(activity.users)}
        items.append(item)
    batch_write_raw(items)
    import_into_histories(workspace_id, by_customer)
    return len(items)


MAX_IMPORT_ATTEMPTS = 5


def import_into_histories(workspace_id: str, days: dict[str, list[tuple[date, DayActivity]]]) -> None:
    """Set imported days (whole totals) in the customers' usage histories: one BatchGetItem per 100
    customers, then one PutItem per customer conditioned on the version read; a customer whose history
    changed meanwhile (ingestion) is read again and retried. Setting a day twice changes nothing."""
    pending = dict(days)
    table = _table()
    for _attempt in conflict_attempts(MAX_IMPORT_ATTEMPTS):
        if not pending:
            return
        found = batch_get_raw([keys.usage_history(workspace_id, c) for c in pending], consistent=True)
        current = {raw["customer_id"]["S"]: _history_from_raw(raw) for raw in found}
        conflicted: dict[str, list[tuple[date, DayActivity]]] = {}
        for customer_id, changes in pending.items():
            history = current.get(customer_id, UsageHistory()).with_days(changes)
            put = _history_write(workspace_id, customer_id, history, table.table_name)["Put"]
            try:
                table.connection.dispatch("PutItem", put)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                conflicted[customer_id] = changes
        pending = conflicted
    if pending:
        raise PutError(f"usage histories of {sorted(pending)} kept changing during the import")


def rebuild_usage_histories(workspace_id: str, customer_ids: Iterable[str], today: date) -> int:
    """Set the last KEPT_DAYS days of each customer's usage history from its day items (for day items
    written before usage histories existed): BatchGetItems of the day items, then the histories as an
    import sets them. Idempotent. Returns how many customer-days were found."""
    customers = list(dict.fromkeys(customer_ids))
    wanted = [(c, today - timedelta(days=n)) for c in customers for n in range(KEPT_DAYS)]
    found = get_days(workspace_id, wanted)
    by_customer: dict[str, list[tuple[date, DayActivity]]] = {}
    for (customer_id, day), metrics in found.items():
        by_customer.setdefault(customer_id, []).append((day, metrics.activity()))
    import_into_histories(workspace_id, by_customer)
    return len(found)


def batch_write_raw(items: list[dict[str, Any]]) -> None:
    """Put raw items (attribute maps) in BatchWriteItems of 25; unprocessed items are sent again with a
    backoff."""
    table = RawEventsItem._get_connection()
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        until_processed(lambda batch: _put_batch(table, batch), items[start : start + BATCH_WRITE_LIMIT])


def _put_batch(table: TableConnection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One BatchWriteItem of puts; returns the items it left unprocessed."""
    answer = table.batch_write_item(put_items=items)
    return [request["PutRequest"]["Item"] for request in answer.get("UnprocessedItems", {}).get(table.table_name) or []]


def list_raw_events(workspace_id: str, customer_id: str, day: date, now: datetime) -> list[dict[str, Any]]:
    """The raw events kept for a customer-day (RAW_FIELDS by name), oldest first. TTL deletion lags
    expiry by up to days, so expired items are skipped here."""
    records: list[dict[str, Any]] = []
    prefix = keys.raw_events(workspace_id, customer_id, day, "")
    for item in RawEventsItem.query(prefix.pk, RawEventsItem.sk.startswith(prefix.sk)):
        if item.expires_at is None or item.expires_at > now:
            records.extend(dict(zip(RAW_FIELDS, row, strict=True)) for row in json.loads(item.events_json))
    return sorted(records, key=lambda r: (r["timestamp"], r["digest"]))
