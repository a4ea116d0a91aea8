"""What DynamoDB bills for a write, from the item before and after it and the table's indexes in template.yaml.

DynamoDB's published rules (developer guide: "Read/write capacity mode", "Global secondary indexes —
writes", "Transactions — capacity"):
- a write of an item costs 1 write unit per KB (rounded up) of the larger of the item before and after
  it; inside TransactWriteItems, twice that;
- every global secondary index the item is in, before or after, costs more writes of the index entry
  (its projected attributes: with `ProjectionType: ALL`, the whole item): 1 when the entry is added or
  removed, or when a projected attribute changes; 2 (a delete and a put) when the index's key changes;
  none when the item is in neither or nothing projected changed. We price these at the standard rate
  even inside a transaction, since indexes are updated after it commits (an assumption: a lower bound
  if AWS bills them twice too).
The ~100 bytes DynamoDB adds per index entry for storage are not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

Raw = dict[str, Any]  # an item in DynamoDB's JSON form ({"name": {"S": "…"}, …})


def item_size(raw: Raw) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (strings and binaries by
    their bytes, numbers ~ their digits), without the ~100 bytes of index overhead."""

    def value_size(value: dict[str, Any]) -> int:
        (kind, data), *_ = value.items()
        if kind == "S":
            return len(data.encode())
        if kind == "B":
            return len(data)
        if kind == "N":
            return len(data.lstrip("-").replace(".", "")) // 2 + 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in data.items())
        if kind in ("L",):
            return 3 + sum(1 + value_size(v) for v in data)
        if kind in ("SS", "NS", "BS"):
            return sum(len(str(v)) for v in data)
        return 1

    return sum(len(name.encode()) + value_size(value) for name, value in raw.items())


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]  # the index's key attributes
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    def entry(self, raw: Raw, table_keys: tuple[str, ...]) -> Raw | None:
        """The item's entry in this index (None when the item lacks a key attribute: not in it)."""
        if not raw or any(k not in raw for k in self.keys):
            return None
        if self.projection == "ALL":
            return raw
        names = {*self.keys, *table_keys, *(self.included if self.projection == "INCLUDE" else ())}
        return {n: v for n, v in raw.items() if n in names}


@cache
def table_indexes() -> tuple[tuple[str, ...], tuple[Index, ...]]:
    """The table's key attributes and global secondary indexes, as template.yaml declares them."""
    from infra.template import load_template, resources_of_type

    (table,) = resources_of_type(load_template(), "AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    table_keys = tuple(k["AttributeName"] for k in properties["KeySchema"])
    indexes = tuple(
        Index(
            name=gsi["IndexName"],
            keys=tuple(k["AttributeName"] for k in gsi["KeySchema"]),
            projection=gsi["Projection"]["ProjectionType"],
            included=tuple(gsi["Projection"].get("NonKeyAttributes", ())),
        )
        for gsi in properties.get("GlobalSecondaryIndexes", [])
    )
    return table_keys, indexes


def _kb(raw: Raw | None) -> int:
    return math.ceil(item_size(raw) / 1024) if raw else 0


def item_write_units(size: float, *, transaction: bool) -> int:
    """The write units of one write of an item of `size` bytes in no index (the larger of before and
    after, for an update): 1 per started KB, twice inside a transaction."""
    return math.ceil(size / 1024) * (2 if transaction else 1) if size > 0 else 0


def key_read_units(size: float | None, *, consistent: bool) -> float:
    """The read units of one item read by key (GetItem, a key of BatchGetItem) of `size` bytes (None:
    not found, still the minimum): 0.5 per started 4 KB eventually consistent, 1 strongly."""
    return (1.0 if consistent else 0.5) * max(math.ceil(size / 4096) if size else 1, 1)


@dataclass(frozen=True)
class WriteUnits:
    table: int
    indexes: int
    index_writes: int  # index entries added, removed or rewritten (a key change counts 2)

    @property
    def total(self) -> int:
        return self.table + self.indexes


def write_units(before: Raw | None, after: Raw | None, *, transaction: bool) -> WriteUnits:
    """The write units of one write of an item that was `before` and is `after` (None: absent)."""
    if not before and not after:
        return WriteUnits(0, 0, 0)
    table = item_write_units(max(item_size(before or {}), item_size(after or {})), transaction=transaction)
    table_keys, indexes = table_indexes()
    units = writes = 0
    for index in indexes:
        old, new = index.entry(before or {}, table_keys), index.entry(after or {}, table_keys)
        if old is None and new is None:
            continue
        if old is not None and new is not None and all(old[k] == new[k] for k in index.keys):
            if old != new:
                units, writes = units + max(_kb(old), _kb(new)), writes + 1
            continue
        units += _kb(old) + _kb(new)  # a delete of the old entry and a put of the new one (or either)
        writes += (old is not None) + (new is not None)
    return WriteUnits(table, units, writes)


def read_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> float:
    """The read units of one read request, from what it asked and answered: GetItem and BatchGetItem
    per key (0.5 per started 4 KB of the item eventually consistent, 1 strongly consistent; a key not
    found still costs the minimum), Query and Scan by the total size of the items read, rounded up to
    4 KB. A read with a projection is counted by the attributes it returned (DynamoDB bills the whole
    item): a lower bound for those."""
    if operation == "GetItem":
        item = response.get("Item")
        return key_read_units(item_size(item) if item else None, consistent=bool(params.get("ConsistentRead")))
    if operation == "BatchGetItem":
        units = 0.0
        for table, request in params.get("RequestItems", {}).items():
            consistent = bool(request.get("ConsistentRead"))
            found = response.get("Responses", {}).get(table, [])
            unprocessed = len(response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
            missing = len(request.get("Keys", [])) - len(found) - unprocessed
            units += sum(key_read_units(item_size(i), consistent=consistent) for i in found)
            units += max(missing, 0) * key_read_units(None, consistent=consistent)
        return units
    if operation in ("Query", "Scan"):
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        return factor * max(math.ceil(sum(item_size(i) for i in response.get("Items", [])) / 4096), 1)
    return 0.0
