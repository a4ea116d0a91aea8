"""Make moto's TransactWriteItems cost what the transaction touches, not what the table holds.

moto 5.2 backs up a transaction by deep-copying the whole table once per transaction item, so a
two-item transaction costs ~230 ms on a 5,000-item table and over a second on 20,000 items: the
local stack's daily scoring and ingestion commits slowed down as the demo grew. This keeps moto's
semantics (all or nothing, the same errors) but backs up only the items the transaction names, and
puts them back if it is cancelled.

    from infra.moto_patches import install_fast_transactions
    install_fast_transactions()  # before handlers run; idempotent

Only for moto in this process (the local stack's ThreadedMotoServer, benchmarks, tests).
"""

from __future__ import annotations

import copy
import threading
import types
from typing import Any

_INSTALLED = "_keepwell_fast_transactions"


def install_fast_transactions() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, _INSTALLED, False):
        return
    original = DynamoDBBackend.transact_write_items

    def deepcopy_but_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
        # The whole-table backups become the table itself; the items are backed up below instead.
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    # moto's module calls `copy.deepcopy`: give it a `copy` whose deepcopy skips tables.
    models.copy = types.SimpleNamespace(deepcopy=deepcopy_but_tables, copy=copy.copy)  # type: ignore[assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            key = op.get("Key") or {
                name: op.get("Item", {}).get(name) for name in (table.hash_key_attr, table.range_key_attr) if name
            }
            if table.hash_key_attr not in key or key[table.hash_key_attr] is None:
                continue  # moto rejects it itself
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            current = table.get_item(hash_value, range_value) if (range_value or not table.range_key_attr) else None
            saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                if item is None:
                    table.delete_item(hash_value, range_value)
                elif range_value is not None:
                    table.items[hash_value][range_value] = item
                else:
                    table.items[hash_value] = item
            raise

    setattr(transact_write_items, _INSTALLED, True)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_PARTITION = threading.local()


def install_fast_queries() -> None:
    """Make moto's Query on the table's own key read the one partition instead of sorting the table.

    moto 5.2 answers every Query by listing and sorting every item of the table (`Table.all_items`),
    so a two-item Query cost ~90 ms at 40 demo customers and ~0.5 s at 320. For a Query on the
    table's partition key (not an index) the candidates are exactly that partition's items, which
    moto keeps in a dict per hash key: hand those to the unchanged Query code, sorted as
    `all_items` would sort them. Index queries are left as they are. Thread-local, so a concurrent
    request in moto's threaded server still sees the whole table.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, _INSTALLED, False):
        return
    original_query = Table.query
    original_all_items = Table.all_items

    def all_items(self: Any) -> Any:
        scoped = getattr(_PARTITION, "scope", None)
        if scoped is not None and scoped[0] is self:
            return scoped[1]
        return original_all_items(self)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name") if len(args) < 7 else args[6]
        if index_name or not self.range_key_attr or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key, {})
        _PARTITION.scope = (self, sorted(partition.values(), key=lambda item: item.range_key))
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _PARTITION.scope = None

    setattr(query, _INSTALLED, True)
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
