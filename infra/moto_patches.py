"""Make moto cost what a request touches, not what the table or queue holds, nor what its generic
machinery spends per attribute. Each patch keeps moto's semantics (the same results and errors):

- `install_fast_transactions`: moto 5.2 backs up a transaction by deep-copying the whole table once
  per transaction item, so a transaction costs in proportion to the table: the local stack's daily
  scoring and ingestion commits slowed down as the demo grew. This backs up only the items the
  transaction names, and puts them back if it is cancelled.
- `install_fast_queries`: a Query on the table's own key reads that partition, not a sorted table;
  an index Query gets its matches after the page's start key, already in moto's order.
- `install_fast_projections`: moto converts the whole item to plain JSON once per projected
  attribute; top-level attribute names are now copied once each.
- `install_fast_items`: moto re-measures the whole item for every attribute it stores (quadratic in
  the attributes); the 400 KB limit is checked once per item instead.
- `install_fast_attribute_values`: moto's request parser and response serializer walk each of an
  AttributeValue's 10 members (the serializer with their aliases) for every value; only the one type
  it holds is handled (an item's string and number attributes parse to themselves directly).
- `install_fast_item_maps`: an item in a response is serialised in one walk of its values (strings,
  numbers, booleans, nulls, sets, lists and maps are written as they are) instead of a shape dispatch,
  attribute picker and string serializer per value.
- `install_fast_dispatch`: moto lists a response class's functions (`inspect.getmembers`, sorted) for
  every request to find its action among them; the list is kept per class.
- `install_fast_receives`: moto's ReceiveMessage computes every queue attribute, counting the queue's
  messages, for each message it returns, only to read its retention period.
- `install_fast_deletes`: moto's DeleteMessage copies the whole queue to drop one message; it is
  removed in place.
- `install_fast_sends`: moto's SendMessage builds every queue attribute, counting the queue three
  times, to read one setting; it reads that setting.
- `install_condition_cache`: moto lexes and parses a condition expression from scratch twice for every
  conditional write (once to validate the request, once to evaluate it); the same expression with the
  same names and values is parsed once.
- `install_update_expression_cache`: moto parses an update expression's text two or three times per
  write, and checks its clauses and paths once per node of the tree; each text is parsed once, and
  checked once.
- `install_fast_result_conversion`: moto turns every DynamoDB answer into plain types with three type
  tests per string before it is found to be one; dicts, lists and plain values are tested once.
- `install_fast_request_ids`: moto runs a regular expression for an XML `<RequestId>` over every
  response body, JSON ones too; a body without that text is left as it is without it.
- `install_index_cache`: an index Query's partition, found by a pass over the whole table, is
  remembered until the next write to any table.
- `install_bucket_cors`: not for speed: moto's server allowed every origin on every answer (flask-cors)
  and left the bucket's CORS rules off a POST upload; now an upload answers as S3 does, from the
  bucket's rules only (the console's import upload depends on them).
- `install_collector_thresholds`: not moto's code but the process hosting it: moto's tables are Python
  objects that CPython's collector rescans at every full collection; collections are made rarer.

    from infra.moto_patches import install_all
    install_all()  # before handlers run; idempotent

Only for moto in this process (the local stack's ThreadedMotoServer, benchmarks, tests), and only on
the moto version they were written for (`MOTO_VERSION`; anything else is refused). What each one saves
is measured by `python -m bench.moto_patches` (figures in README); that they change no answer, by
tests/integration/test_moto_parity.py; each is written up for upstream in docs/moto-patches/.
"""

from __future__ import annotations

import copy
import gc
import importlib.metadata
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

_INSTALLED = "_keepwell_fast_transactions"
# The moto these patches were written for and checked against (tests/integration/test_moto_parity.py runs
# the storage layer's access patterns on stock and on patched moto). They replace moto internals by
# private name, so any other version must be re-checked before they are installed on it.
MOTO_VERSION = "5.2.5"
_MISSING = object()
# (owner, attribute, what it held before: _MISSING if it had none of its own), in installation order.
_REPLACED: list[tuple[Any, str, Any]] = []


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the one the patches were written for."""


def check_version(installed: str | None = None) -> None:
    """Refuse another moto than `MOTO_VERSION`, saying what to do."""
    installed = installed or importlib.metadata.version("moto")
    if installed == MOTO_VERSION:
        return
    raise MotoVersionMismatch(
        f"infra/moto_patches.py was written for moto {MOTO_VERSION} and replaces its internals by private "
        f"name, but moto {installed} is installed. Either pin moto=={MOTO_VERSION} again in pyproject.toml "
        f"(then `make clean test`), or move to {installed}: drop each patch whose fix moto now ships "
        f"(docs/moto-patches/), port the rest, set MOTO_VERSION = {installed!r} and run "
        f"tests/integration/test_moto_parity.py, which compares stock and patched moto."
    )


def _replace(owner: Any, name: str, value: Any) -> None:
    """Set `owner.name`, remembering what it was so `uninstall_all` can put it back."""
    _REPLACED.append((owner, name, vars(owner).get(name, _MISSING)))
    setattr(owner, name, value)


def uninstall_all() -> None:
    """Put back every moto attribute a patch replaced: stock moto again (the comparison suite's baseline)."""
    if _THRESHOLDS_BEFORE:
        gc.set_threshold(*_THRESHOLDS_BEFORE.pop())
    while _REPLACED:
        owner, name, original = _REPLACED.pop()
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)


@contextmanager
def stock_moto() -> Iterator[None]:
    """Run a block on moto as released, then reinstall the patches that were installed."""
    was_installed = bool(_REPLACED)
    uninstall_all()
    try:
        yield
    finally:
        if was_installed:
            install_all()


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
    _replace(models, "copy", types.SimpleNamespace(deepcopy=deepcopy_but_tables, copy=copy.copy))

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
    _replace(DynamoDBBackend, "transact_write_items", transact_write_items)


_PARTITION = threading.local()


def install_fast_queries() -> None:
    """Make moto's Query on the table's own key read the one partition instead of sorting the table.

    moto 5.2 answers every Query by listing and sorting every item of the table (`Table.all_items`),
    so a two-item Query cost grew with the whole table. For a Query on the
    table's partition key (not an index) the candidates are exactly that partition's items, which
    moto keeps in a dict per hash key: hand those to the unchanged Query code, sorted as
    `all_items` would sort them. An index Query still looks at every item (moto keeps no index), but
    hands moto only the matches after the page's start key, in moto's order (`_index_candidates`): at
    10,000 customers (~30,000 items) the listing that starts a recalculation paid for the whole table
    on every page. Thread-local, so a concurrent request in moto's threaded server still sees the whole
    table.
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
        if not self.range_key_attr:
            return original_query(self, hash_key, *args, **kwargs)
        if index_name:
            start = args[3] if len(args) > 3 else kwargs.get("exclusive_start_key")
            forward = args[4] if len(args) > 4 else kwargs.get("scan_index_forward", True)
            candidates = _index_candidates(self, index_name, kwargs.get("hash_key_conditions") or [], start, forward)
        elif hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        else:
            candidates = sorted(self.items.get(hash_key, {}).values(), key=lambda item: item.range_key)
        _PARTITION.scope = (self, candidates)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _PARTITION.scope = None

    setattr(query, _INSTALLED, True)
    _replace(Table, "all_items", all_items)
    _replace(Table, "query", query)


def _index_candidates(
    table: Any, index_name: str, hash_conditions: list[tuple[str, Any]], start: dict[str, Any] | None, forward: bool
) -> list[Any]:
    """What an index Query has to look at, cheaper than moto's sorted table but in moto's own order.

    moto filters every item of the table on the index's hash key, sorts the matches by index keys then
    table keys (`Table.sorted_items`, a total order) and walks a page's predecessors to find its start
    key, comparing DynamoType objects in Python all the way. Here: only the matching items, already in
    that order (by their cast values), and only those after the start key, so moto's filter, sort and
    walk have nothing left to drop. An index of another shape gets every item, unsorted (moto sorts)."""
    items: Any = _AllItems(table)
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    hash_names = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"] if index else []
    range_names = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"] if index else []
    wanted = dict(hash_conditions)
    if len(hash_names) != 1 or len(range_names) != 1 or set(wanted) != set(hash_names):
        return list(items)
    (hash_name,), (range_name,) = hash_names, range_names
    value = wanted[hash_name]
    order = table._generate_attr_to_sort_by([hash_name, table.hash_key_attr], [range_name, table.range_key_attr])
    keyed = _cached_index_partition(table, (index_name, hash_name, range_name, value.type, value.value))
    if keyed is None:
        version = _TABLE_WRITES.count
        matching = [
            item
            for item in items
            if (found := item.attrs.get(hash_name)) is not None
            and found.type == value.type
            and found.value == value.value
            and item.attrs.get(range_name)
        ]
        keyed = sorted(
            ((tuple(item.attrs[a].cast_value for a in order), item) for item in matching), key=lambda p: p[0]
        )
        _remember_index_partition(table, (index_name, hash_name, range_name, value.type, value.value), version, keyed)
    if start and all(a in start for a in order):
        from moto.dynamodb.models.dynamo_type import DynamoType

        after = tuple(DynamoType(start[a]).cast_value for a in order)
        keyed = [p for p in keyed if (p[0] > after if forward else p[0] < after)]
    return [item for _, item in keyed]


_PLAIN_LEAVES = (str, bool, int, float, type(None))


def install_fast_result_conversion() -> None:
    """Convert a DynamoDB result to plain Python types with one type test per value.

    moto 5.2 wraps every DynamoDB answer in `dynamo_to_dict`, which asks each value of the item JSON
    (strings mostly) whether it is a datetime, a `DynamoType` or has a `to_json` before it is a dict, a list
    or left as it is: three tests per string, recursively, ~10% of a read of a few dozen profiles. Exact
    dicts, lists and plain leaves are handled here as moto handles them; anything else (datetimes,
    DynamoTypes with their binaries, objects with `to_json`, subclasses) goes to moto's function, whose
    recursion comes back here; a DynamoType other than a binary one is expanded as moto expands it."""
    from moto.dynamodb import responses
    from moto.dynamodb.models import utilities

    original = utilities.dynamo_to_dict
    if getattr(original, _INSTALLED, False):
        return

    from moto.dynamodb.models.dynamo_type import DynamoType

    def dynamo_to_dict(obj: Any) -> Any:
        kind = type(obj)
        if kind is dict:
            return {k: dynamo_to_dict(v) for k, v in obj.items()}
        if kind is list:
            return [dynamo_to_dict(item) for item in obj]
        if kind in _PLAIN_LEAVES:
            return obj
        if kind is DynamoType and obj.type != "B" and obj.type != "BS":
            return {obj.type: dynamo_to_dict(obj.value)}
        return original(obj)

    setattr(dynamo_to_dict, _INSTALLED, True)
    _replace(utilities, "dynamo_to_dict", dynamo_to_dict)
    _replace(responses, "dynamo_to_dict", dynamo_to_dict)


def install_fast_request_ids() -> None:
    """Look for `<RequestId>` before running moto's regular expression for it over a response body.

    moto 5.2 puts its request id into every response body with `re.sub` of a look-behind pattern for an
    XML `<RequestId>` element, scanning the whole body at every position, although a JSON body (every
    DynamoDB answer: ~150 KB for a page of profiles) never holds one: ~4 % of a local read. The pattern
    cannot match a body without that text, so such a body is returned as it is; any other goes the
    original way."""
    from moto.core.responses import BaseResponse
    from moto.utilities.aws_headers import gen_amzn_requestid_long

    original = BaseResponse._enrich_response
    if getattr(original, _INSTALLED, False):
        return

    def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str) and "<RequestId>" not in body:
            if "status" in headers:
                headers["status"] = str(headers["status"])
            gen_amzn_requestid_long(headers)  # as the original: it sets the request id header
            return headers, body
        return original(headers, body)

    setattr(enrich_response, _INSTALLED, True)
    _replace(BaseResponse, "_enrich_response", staticmethod(enrich_response))


class _AllItems:
    """The table's items, listed when first iterated (an index partition served from the cache needs none)."""

    def __init__(self, table: Any):
        self.table = table

    def __iter__(self) -> Any:
        return (item for partition in self.table.items.values() for item in partition.values())


class _WriteCount:
    """How many writes moto has started and finished in this process (an index partition or an item size
    remembered at one count is stale at any other), and how many are under way."""

    count = 0
    active = 0


_TABLE_WRITES = _WriteCount()
_INDEX_CACHE = "_keepwell_index_partitions"
_ITEM_SIZE = "_keepwell_size"


def _cached_index_partition(table: Any, key: tuple[Any, ...]) -> list[Any] | None:
    cache = vars(table).get(_INDEX_CACHE)
    if not cache or not _INDEX_CACHE_ON.enabled:
        return None
    version, partitions = cache
    if version != _TABLE_WRITES.count:
        return None
    try:
        return partitions.get(key)
    except TypeError:  # an unhashable key value: not cached
        return None


def _remember_index_partition(table: Any, key: tuple[Any, ...], version: int, keyed: list[Any]) -> None:
    if version != _TABLE_WRITES.count or not _INDEX_CACHE_ON.enabled:
        return  # a write ran meanwhile (moto's threaded server): what was read may already be stale
    cache = vars(table).get(_INDEX_CACHE)
    if not cache or cache[0] != version:
        cache = (version, {})
        setattr(table, _INDEX_CACHE, cache)
    with suppress(TypeError):
        cache[1][key] = keyed


class _IndexCacheSwitch:
    enabled = False


_INDEX_CACHE_ON = _IndexCacheSwitch()

# Every DynamoDBBackend method that changes an item or a table (moto 5.2.5): the index cache is dropped
# when one starts and when it ends, whatever the outcome.
_BACKEND_WRITES = (
    "create_table",
    "delete_table",
    "update_table",
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
    "import_table",
    "restore_table_from_backup",
    "restore_table_to_point_in_time",
    "update_time_to_live",
)


def install_index_cache() -> None:
    """Remember an index Query's partition (its items in moto's order) until the next write.

    An index Query still looks at every item of the table to find its partition's (moto keeps no index;
    `install_fast_queries` only spares it the sort and the walk to the start key): on the demo that is a
    pass over ~20,000 items for a page of a CSM's book or renewals, most of a screen's read. Reads do not
    change items, so the same partition is remembered, keyed by index, hash attribute and value, until
    any write to any table starts or ends (every writing method of moto's DynamoDB backend, and the
    table's own put and delete, which they and batch writes call). A Query reads it with its own start
    key and direction, and moto then applies its conditions, filter, limit and projection as before. An
    item's size (BatchGetItem measures each twice) is remembered the same way, and never during a write."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    if _INDEX_CACHE_ON.enabled:
        return

    def counted(original: Any) -> Any:
        def write(*args: Any, **kwargs: Any) -> Any:
            _TABLE_WRITES.count += 1
            _TABLE_WRITES.active += 1
            try:
                return original(*args, **kwargs)
            finally:
                _TABLE_WRITES.active -= 1
                _TABLE_WRITES.count += 1

        return write

    for name in _BACKEND_WRITES:
        _replace(DynamoDBBackend, name, counted(getattr(DynamoDBBackend, name)))
    for name in ("put_item", "delete_item"):
        _replace(Table, name, counted(getattr(Table, name)))

    original_size = Item.size

    def size(self: Any) -> int:
        # BatchGetItem measures each item twice against its 16 MB answer; an item changes only in a write.
        count = _TABLE_WRITES.count
        remembered = vars(self).get(_ITEM_SIZE)
        if remembered is not None and remembered[0] == count:
            return int(remembered[1])
        measured = original_size(self)
        if not _TABLE_WRITES.active and count == _TABLE_WRITES.count:  # never mid-write: it may change it
            setattr(self, _ITEM_SIZE, (count, measured))
        return int(measured)

    _replace(Item, "size", size)
    _replace(_INDEX_CACHE_ON, "enabled", True)


_MOTO_ITEM_LIMIT = 405000  # moto's LimitedSizeDict limit (between the real 400 KB and 410 KB)


def install_fast_items() -> None:
    """Check an item's size once when moto builds it, instead of once per attribute.

    moto 5.2 stores an item's attributes in a `LimitedSizeDict` whose every insert sums the sizes of all
    the attributes already there (each string re-encoded): quadratic in the attributes. Sizes only add
    up, so one check of the total raises the same `ItemSizeTooLarge` for the same items; later updates
    of an item keep moto's own check.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, _INSTALLED, False):
        return

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(built)
        size = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            size += bytesize(key) + typed.size()
            dict.__setitem__(built, key, typed)
        if size > _MOTO_ITEM_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = built

    setattr(item_init, _INSTALLED, True)
    _replace(Item, "__init__", item_init)


def install_fast_attribute_values() -> None:
    """Parse and serialise a DynamoDB AttributeValue by the one type it holds.

    An AttributeValue is a structure of 10 optional members (S, N, B, SS, NS, BS, M, L, NULL, BOOL) of
    which a value sets exactly one. moto 5.2's generic request parser and response serializer walk
    all 10 for every value (the serializer also tries each member's aliases), which was most of what
    they spent on a BatchWriteItem of 25 snapshots or a BatchGetItem of a few large items. For a dict
    with a single key that is one of the members, no other member (nor any alias of one: lower case,
    or the shape name of a set or list) can match, so handling that member alone, through the same
    code, gives the same result. Anything else, and responses with key-path transformers, go the
    original way.
    """
    from moto.core.parse import BaseJSONParser
    from moto.core.serialize import BaseJSONSerializer

    original_serialize = BaseJSONSerializer._serialize_type_structure
    original_parse = BaseJSONParser._parse_structure
    if getattr(original_serialize, _INSTALLED, False):
        return

    def single_member(shape: Any, value: Any) -> str | None:
        if shape.name != "AttributeValue" or type(value) is not dict or len(value) != 1 or shape.is_document_type:
            return None
        key = next(iter(value))
        member = shape.members.get(key)
        return key if member is not None and member.serialization.get("name", key) == key else None

    def serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        member_key = single_member(shape, value)
        if member_key is None or getattr(self._value_picker, "response_transformers", None):
            original_serialize(self, serialized, value, shape, key)
            return
        wrapper: Any = self.MAP_TYPE() if key else serialized
        member_shape = shape.members[member_key]
        member_shape.parent = shape  # as the original loop does
        self._serialize_structure_member(wrapper, value, member_shape, member_key)
        if key:
            self._default_serialize(serialized, wrapper, shape, key)

    def parse_structure(self: Any, shape: Any, value: Any) -> Any:
        member_key = single_member(shape, value)
        if member_key is None:
            return original_parse(self, shape, value)
        parsed = self.MAP_TYPE()
        raw_value = value[member_key]
        if raw_value is not None:
            parsed[member_key] = self._parse_shape(shape.members[member_key], raw_value)
        return parsed

    original_parse_map = BaseJSONParser._parse_map

    def parse_map(self: Any, shape: Any, value: Any) -> Any:
        # An item's attributes: a string or number value parses to itself (strings are not transformed),
        # so skip the two dispatches per value; any other value goes through parse_structure above.
        value_shape = shape.value
        if value_shape.name != "AttributeValue" or shape.key.type_name != "string" or type(value) is not dict:
            return original_parse_map(self, shape, value)
        parsed = self.MAP_TYPE()
        for key, raw in value.items():
            if type(raw) is dict and len(raw) == 1:
                member, scalar = next(iter(raw.items()))
                if (member == "S" or member == "N") and type(scalar) is str:
                    plain = self.MAP_TYPE()
                    plain[member] = scalar
                    parsed[key] = plain
                    continue
            parsed[key] = self._parse_shape(value_shape, raw)
        return parsed

    setattr(serialize_type_structure, _INSTALLED, True)
    _replace(BaseJSONSerializer, "_serialize_type_structure", serialize_type_structure)
    _replace(BaseJSONParser, "_parse_structure", parse_structure)
    _replace(BaseJSONParser, "_parse_map", parse_map)


class _NotPlain(Exception):
    """An AttributeValue the one-walk serialiser leaves to moto's generic path."""


_SCALAR_MEMBERS = frozenset({"S", "N"})
_SET_MEMBERS = frozenset({"SS", "NS"})


def _plain_attribute_value(value: Any) -> dict[str, Any]:
    """What moto's JSON serializer writes for one AttributeValue, in one walk (raises _NotPlain for
    anything but strings, numbers, booleans, nulls, string and number sets, lists and maps of them)."""
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    member, inner = next(iter(value.items()))
    if member in _SCALAR_MEMBERS:
        if type(inner) is not str:
            raise _NotPlain
        return {member: inner}
    if member == "M":
        if type(inner) is not dict:
            raise _NotPlain
        return {"M": {key: _plain_attribute_value(sub) for key, sub in inner.items()}}
    if member == "L":
        if type(inner) is not list:
            raise _NotPlain
        return {"L": [_plain_attribute_value(sub) for sub in inner]}
    if member == "BOOL" and type(inner) is bool:
        return {"BOOL": inner}
    if member == "NULL" and inner is True:
        return {"NULL": True}
    if member in _SET_MEMBERS and type(inner) is list and all(type(x) is str for x in inner):
        return {member: list(inner)}
    raise _NotPlain


def install_fast_item_maps() -> None:
    """Serialise an item's attributes in one walk instead of a shape dispatch per value and member.

    An item in a response (`Item`, each of `Items`, `Responses`, `Attributes`) is a map of AttributeValues.
    moto 5.2's JSON serializer walks it generically: per attribute a shape lookup, a structure walk
    (one member since `install_fast_attribute_values`), an attribute picker with its aliases and a string
    serializer, recursively for maps and lists: about a quarter of what a read of a few dozen profiles
    cost the local stack. For those members the generic walk writes the value as it is (a string's
    `str()` of a string, a boolean or null as is, a set as its list), so copying them gives the same
    JSON. An attribute holding anything else (binary, which is base64-encoded) goes the original way, as
    do responses with key-path transformers.
    """
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_map
    if getattr(original, _INSTALLED, False):
        return

    def serialize_type_map(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        value_shape = shape.value
        if (
            value_shape.name != "AttributeValue"
            or type(value) is not dict
            or getattr(self._value_picker, "response_transformers", None)
        ):
            original(self, serialized, value, shape, key)
            return
        map_obj = self.MAP_TYPE()
        self._default_serialize(serialized, map_obj, shape, key)
        for sub_key, sub_value in value.items():
            try:
                map_obj[sub_key] = _plain_attribute_value(sub_value)
            except _NotPlain:
                self._serialize(map_obj, sub_value, value_shape, sub_key)

    setattr(serialize_type_map, _INSTALLED, True)
    _replace(BaseJSONSerializer, "_serialize_type_map", serialize_type_map)


def install_fast_dispatch() -> None:
    """Find a response class's method names once, not on every request.

    moto 5.2's `BaseResponse.call_action` lists the handler class's functions with `inspect.getmembers`
    (every attribute of the class and its bases, sorted) for each request, to see whether the action is
    one of them. A class's functions do not change once it is defined, so the list is kept per class.
    """
    from moto.core import responses

    original = responses.method_names_from_class
    if getattr(original, _INSTALLED, False):
        return
    names: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = original(clazz)
        return list(found)

    setattr(method_names_from_class, _INSTALLED, True)
    _replace(responses, "method_names_from_class", method_names_from_class)


def install_fast_receives() -> None:
    """Read a queue's retention period directly when moto checks a received message against it.

    moto 5.2 calls `get_queue_attributes(queue, ["MessageRetentionPeriod"])` for every message a
    ReceiveMessage returns, which builds the queue's whole attribute map three times, counting every
    message in the queue each time: milliseconds per message with a hundred queued, as a recalculation's
    fan-out keeps them. The period is the queue's `message_retention_period`, the attribute that map
    reads.
    """
    from moto.sqs import models

    original = models.SQSBackend.is_message_valid_based_on_retention_period
    if getattr(original, _INSTALLED, False):
        return

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return bool(retention_period + message.sent_timestamp / 1000 > models.unix_time())

    setattr(is_message_valid_based_on_retention_period, _INSTALLED, True)
    _replace(
        models.SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period
    )


def install_fast_deletes() -> None:
    """Delete a message by finding it, instead of copying the queue's other messages to a new list.

    moto 5.2's `Queue.delete_message` scans the queue for the receipt handle, then copies every other
    message into a new list: a DeleteMessageBatch of 10 walks the queue 20 times, so draining the daily
    fan-out of 10,000 customers (all queued at once) was quadratic, minutes on moto. The one message
    with that receipt handle is removed in place, as moto's own move to the dead-letter queue does.
    """
    from moto.sqs import models
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    if getattr(models.Queue.delete_message, _INSTALLED, False):
        return

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # deleted before: moto accepts it again
        for position, message in enumerate(self._messages):
            if message.had_receipt_handle(receipt_handle):
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)
                del self._messages[position]
                return
        raise ReceiptHandleIsInvalid()

    setattr(delete_message, _INSTALLED, True)
    _replace(models.Queue, "delete_message", delete_message)


_SENDING = threading.local()


def install_fast_sends() -> None:
    """Read a queue's content-based deduplication setting directly while moto sends a message.

    moto 5.2's SendMessage reads `queue.attributes["ContentBasedDeduplication"]`, which builds every
    queue attribute, counting the queue's messages three times: sending the daily fan-out of 10,000
    customers (queued at once) took minutes on moto. While a send runs, the queue's `attributes` holds
    just that setting, as moto derives it (FIFO queues only). Thread-local, like the Query patch.
    """
    from moto.sqs import models

    original_send = models.SQSBackend.send_message
    if getattr(original_send, _INSTALLED, False):
        return
    original_attributes = models.Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        sending: Any = getattr(_SENDING, "queue", None)
        if sending is not self:
            return original_attributes.fget(self)  # type: ignore[attr-defined]
        if not self.fifo_queue:
            return {}
        value = self.content_based_deduplication
        return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        _SENDING.queue = self.get_queue(queue_name)
        try:
            return original_send(self, queue_name, *args, **kwargs)
        finally:
            _SENDING.queue = None

    setattr(send_message, _INSTALLED, True)
    _replace(models.Queue, "attributes", property(attributes))
    _replace(models.SQSBackend, "send_message", send_message)


def install_fast_projections() -> None:
    """Project an item on top-level attribute names by copying those attributes.

    moto 5.2's `Item.project` deep-copies and deserialises the whole item once per projected name,
    then serialises the result back: listing 10,000 customers with the 41 attributes a list shows
    converted every profile 41 times (most of the time that starts a 10,000-customer recalculation).
    Nested paths and list elements keep moto's own code."""
    from moto.dynamodb.models.dynamo_type import Item

    if getattr(Item.project, _INSTALLED, False):
        return
    original_project = Item.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        names = [path[0] for path in projection_expressions if len(path) == 1 and "[" not in path[0]]
        if len(names) != len(projection_expressions):
            return original_project(self, projection_expressions)
        kept = {name: self.attrs[name].to_regular_json() for name in dict.fromkeys(names) if name in self.attrs}
        return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=kept)

    setattr(project, _INSTALLED, True)
    _replace(Item, "project", project)


def install_condition_cache() -> None:
    """Parse each distinct condition (expression, names, the values it names) once.

    moto 5.2's `ConditionExpressionParser.parse` lexes and parses the text every time, and a conditional
    write is parsed twice (the request's validation, then the evaluation): an import's transaction of
    100 items with `attribute_not_exists(#0)` spent most of its moto time there. The parsed condition
    (moto's `Op` tree) is never changed by evaluating it, so the same inputs share one; the names and
    values found are given to each parser as moto's own parse would. A parse that fails is not kept
    (it fails again, with moto's error). At most `_PARSE_CACHE_SIZE` are kept (oldest dropped)."""
    import json

    from moto.dynamodb.comparisons import ConditionExpressionParser

    if getattr(ConditionExpressionParser.parse, _INSTALLED, False):
        return
    original_parse = ConditionExpressionParser.parse
    cache: dict[str, tuple[Any, list[str], list[str]]] = {}
    lock = threading.Lock()

    def parse(self: Any) -> Any:
        text, values = self.condition_expression, self.expression_attribute_values
        try:
            # Only the values whose placeholder stands in the text (any the parser can look up does): a
            # write's map also holds its update's values (pynamodb numbers them all together), which differ
            # from one write to the next and never enter the parse.
            named = {k: v for k, v in values.items() if k in text} if text and values else values
            key = json.dumps([text, self.expression_attribute_names, named], sort_keys=True)
        except (TypeError, ValueError, AttributeError):  # a value JSON cannot hold: moto's own way
            return original_parse(self)
        hit = cache.get(key)
        if hit is None:
            op = original_parse(self)
            _remember(cache, lock, key, (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found)))
            return op
        op, names, values = hit
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    setattr(parse, _INSTALLED, True)
    _replace(ConditionExpressionParser, "parse", parse)


_PARSE_CACHE_SIZE = 4096  # parsed conditions, and parsed update expressions, kept in each cache


def _remember(cache: dict[str, Any], lock: threading.Lock, key: str, value: Any) -> None:
    """Keep a parse in a bounded cache (the oldest dropped first) shared by the gateway's threads."""
    with lock:
        if len(cache) >= _PARSE_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = value


def install_update_expression_cache() -> None:
    """Parse each distinct update expression once, and count its clauses once.

    moto 5.2 parses an UpdateExpression's text twice per UpdateItem (the request's check of the names and
    values it uses, then the backend) and once more per Update of a transaction. Its validation then
    counts the SET, REMOVE and ADD clauses of every node of the tree: every node of moto's update AST
    is an `UpdateExpression`, so the count (three walks of the node's subtree) runs once per node,
    quadratic in the actions. The scorer's profile update, ~30 actions, spent more in that count than
    in the update itself.

    - The parsed tree is kept per expression text: moto never changes it (its validator deep-copies it
      before resolving names and values into the copy, and the request check only reads it). A text that
      fails to parse is not kept (it fails again, with moto's error). At most `_PARSE_CACHE_SIZE` texts.
    - Two of the validator's checks, the clause count and the overlapping paths (each a walk of the
      node's subtree), run on the root alone when the root passes: a node's clauses and actions are among
      its root's, so no node would have raised. A tree the root check refuses takes moto's own walk, so
      the error is the one moto gives.
    - Each check asks its own map which node classes it processes, rebuilding a tuple of them for every
      node, and tests every node against it and against `Node` with `isinstance` on abstract classes
      (a Python-level `ABCMeta.__instancecheck__` per test). The walk is moto's, in the same order with
      the same hooks, but the answers are kept per (check class, node class): moto's maps have fixed
      keys and its node classes register no virtual subclasses.
    - The validator deep-copies the parsed tree for each write (it resolves names and values into the
      copy). A parsed tree holds only nodes, their `type` text and children that are nodes, texts or
      numbers, so it is copied node by node, parents pointing at the copies as `deepcopy` leaves them;
      anything else (a subtree, a tree holding other values) is copied by `deepcopy`'s own way."""
    from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
        DepthFirstTraverser,
        Node,
        UpdateExpression,
    )
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator

    if getattr(vars(UpdateExpressionParser)["make"].__func__, _INSTALLED, False):
        return
    original_make = UpdateExpressionParser.make  # bound to the class
    cache: dict[str, Any] = {}
    lock = threading.Lock()
    processed: dict[type, tuple[type, ...]] = {}

    def make(cls: Any, expression_str: Any) -> Any:
        if cls is not UpdateExpressionParser or not isinstance(expression_str, str):
            return original_make.__func__(cls, expression_str)
        tree = cache.get(expression_str)
        if tree is None:
            tree = original_make(expression_str)
            _remember(cache, lock, expression_str, tree)
        return tree

    def root_only(check: Any) -> Any:
        original_traverse = DepthFirstTraverser.traverse

        def traverse(self: Any, node: Any) -> Any:
            if isinstance(node, UpdateExpression) and node.parent is None:
                try:
                    check(self, node)  # reads the tree, raises or gives it back
                except Exception:  # moto's own walk raises what moto raises
                    return original_traverse(self, node)
                return node  # moto's walk would give back this same tree, unchanged
            return original_traverse(self, node)

        return traverse

    def copied(node: Any, parent: Any) -> Any:
        fields = vars(node)
        if fields.keys() - {"children", "parent", "type"} or not isinstance(fields.get("type", ""), (str, type(None))):
            raise _NotPlainTree
        twin = object.__new__(type(node))
        twin.__dict__.update(fields)
        twin.parent = parent
        children = fields.get("children")
        if children is not None:
            if type(children) is not list:
                raise _NotPlainTree
            twin.children = [copied(child, twin) if isinstance(child, Node) else _plain(child) for child in children]
        return twin

    def node_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if self.parent is None:
            with suppress(_NotPlainTree):
                twin = memo[id(self)] = copied(self, None)
                return twin
        twin = copy._reconstruct(self, memo, *self.__reduce_ex__(4))  # type: ignore[attr-defined]
        return twin

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        kinds = processed.get(type(self))
        if kinds is None:
            kinds = processed[type(self)] = tuple(self._processing_map())
        return kinds

    is_node: dict[type, bool] = {}
    handles: dict[tuple[type, type], bool] = {}

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        kind = type(node)
        node_kind = is_node.get(kind)
        if node_kind is None:
            node_kind = is_node[kind] = isinstance(node, Node)
        if node_kind:
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            key = (type(self), kind)
            handled = handles.get(key)
            if handled is None:
                handled = handles[key] = isinstance(node, self.nodes_to_be_processed())
            if handled:
                node = self.process(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    setattr(make, _INSTALLED, True)
    _replace(UpdateExpressionParser, "make", classmethod(make))
    _replace(ActionCountValidator, "traverse", root_only(ActionCountValidator.verify_action_counts))
    _replace(OverlappingPathsValidator, "traverse", root_only(OverlappingPathsValidator.check_for_overlapping_paths))
    _replace(DepthFirstTraverser, "nodes_to_be_processed", nodes_to_be_processed)
    _replace(DepthFirstTraverser, "traverse_node_recursively", traverse_node_recursively)
    _replace(Node, "__deepcopy__", node_deepcopy)


class _NotPlainTree(Exception):
    """A parsed update tree holding something else than nodes, texts and numbers: `deepcopy` copies it."""


def _plain(value: Any) -> Any:
    if type(value) not in (str, int):
        raise _NotPlainTree
    return value


# The process's collector thresholds before `install_collector_thresholds` (restored by `uninstall_all`).
_THRESHOLDS_BEFORE: list[tuple[int, int, int]] = []
# Young collections after 100,000 net allocations instead of 700; a full one after 5,000 of them.
COLLECTOR_THRESHOLDS = (100_000, 50, 100)


def install_collector_thresholds() -> None:
    """Collect garbage less often in a process that hosts the embedded AWS.

    moto keeps every table item and queued message as Python objects in this process, so CPython's
    cyclic collector rescans all of them at every full collection, one each time the long-lived objects
    grow by a quarter. Deployed, the data lives in DynamoDB and SQS and a function's heap holds a request.
    Importing 10,000 customers spent 16 % of its CPU in 10 full collections of 0.3-1.3 M objects; with
    these thresholds, no full collection and 2 %. Answers do not change, and garbage cycles are still
    collected, by young collections that are rarer and larger."""
    if gc.get_threshold() == COLLECTOR_THRESHOLDS:
        return
    _THRESHOLDS_BEFORE.append(gc.get_threshold())
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def install_bucket_cors() -> None:
    """Answer a browser's S3 upload with the bucket's CORS rules, as S3 does, and nothing more.

    Not a speed patch: what the console's Imports screen relies on. moto 5.2's server wraps every service
    in flask-cors, which echoes any `Origin` as allowed on every answer, so a bucket whose CORS rules
    leave the console out would still take its uploads locally and fail only once deployed. Its own
    switch for that (`DISABLE_GLOBAL_CORS`, read from `MOTO_DISABLE_GLOBAL_CORS` when moto is first
    imported) is turned on. moto's S3 answers a preflight from the bucket's rules already, and adds them
    to object requests, but not to a POST to the bucket (the presigned form's upload): that answer gets
    them here, so only an origin the bucket allows reads it, as on S3."""
    from moto.moto_server import werkzeug_app
    from moto.s3.responses import S3Response

    original = S3Response.bucket_response
    if getattr(original, _INSTALLED, False):
        return

    def bucket_response(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        status, response_headers, body = original(self, request, full_url, headers)
        if request.method == "POST":
            for name, value in self._get_cors_headers_other().items():
                response_headers.setdefault(name, value)
        return status, response_headers, body

    setattr(bucket_response, _INSTALLED, True)
    _replace(werkzeug_app, "DISABLE_GLOBAL_CORS", True)
    _replace(S3Response, "bucket_response", bucket_response)


def install_all() -> None:
    """Every patch above (idempotent): what the local stack, the tests and the benchmarks run on.
    Raises `MotoVersionMismatch` on another moto than the patches were written for."""
    check_version()
    install_fast_transactions()
    install_fast_queries()
    install_fast_projections()
    install_fast_items()
    install_fast_attribute_values()
    install_fast_item_maps()
    install_index_cache()
    install_fast_result_conversion()
    install_fast_request_ids()
    install_fast_receives()
    install_fast_deletes()
    install_fast_dispatch()
    install_fast_sends()
    install_condition_cache()
    install_update_expression_cache()
    install_collector_thresholds()
    install_bucket_cors()


if __name__ == "__main__":  # `python -m infra.moto_patches --check`: the version guard alone (make gates)
    try:
        check_version()
    except MotoVersionMismatch as mismatch:
        sys.exit(f"moto patches: {mismatch}")
    print(f"moto patches: moto {MOTO_VERSION}, as written for")
