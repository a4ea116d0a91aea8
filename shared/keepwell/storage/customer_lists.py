"""The customer list (GET /v1/customers): one order, any filters, resumable pages, no Scan.

Where the customers come from:

- **the whole workspace** (admins and directors without `owner_id`): a Query of the index that holds
  the order — gsi1 by name, gsi3 by health score, gsi4 by ARR, gsi5 by renewal date, all on the
  workspace's customer list partition — forward or backward. A name prefix (`q`) sorted by name is a
  key condition (`begins_with`); every other filter is checked on the items read, and one request
  examines at most `MAX_EXAMINED` customers: then it answers what it found with a cursor to continue
  (a short or even empty page with a `next_cursor` means "keep going"), so a rare filter costs at most
  that many item reads per request;
- **one book** (a csm's or viewer's own customers, or `owner_id`): by name, the portfolio memberships
  (or gsi2) read in pages as they are needed; in any other order the whole book is read (a Query of
  memberships and a BatchGetItem per 100 customers) and sorted in memory, so a page costs reads in
  proportion to the book, not to the workspace.

Customers without the ordered value (never scored, no renewal date) come last in both directions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition

from keepwell.domain.conditions import Rule
from keepwell.domain.segments import HealthRow, is_member
from keepwell.storage import cursors, keys
from keepwell.storage.customers import CustomerFilters, CustomerPage, matches
from keepwell.storage.segments import CustomerHealthItem, iter_health_rows, to_row

MAX_EXAMINED = 2000
ORDER_FIELDS = ("name", "health_score", "arr", "renewal_date")
_RANGE_ATTRIBUTE = {"name": "gsi1sk", "health_score": "gsi3sk", "arr": "gsi4sk", "renewal_date": "gsi5sk"}
_INDEX = {
    "name": CustomerHealthItem.gsi1,
    "health_score": CustomerHealthItem.gsi3,
    "arr": CustomerHealthItem.gsi4,
    "renewal_date": CustomerHealthItem.gsi5,
}


@dataclass(frozen=True)
class ListOrder:
    field: str = "name"
    descending: bool = False

    @classmethod
    def parse(cls, value: str | None) -> ListOrder:
        """`name`, `-name`, `health_score`, … (the query parameter; validated by the schema)."""
        if not value:
            return cls()
        return cls(value.removeprefix("-"), value.startswith("-"))

    @property
    def text(self) -> str:
        return f"{'-' if self.descending else ''}{self.field}"


@dataclass(frozen=True)
class ListFilters:
    base: CustomerFilters
    name_prefix: str | None = None  # case-insensitive: compared with the lower-cased name
    band: str | None = None
    segment: Rule | None = None

    def keep(self, row: HealthRow) -> bool:
        customer = row.customer
        if not matches(customer, self.base):
            return False
        if self.name_prefix and not customer.name.strip().lower().startswith(self.name_prefix):
            return False
        if self.band is not None and (customer.health_band or "").lower() != self.band.lower():
            return False
        return self.segment is None or is_member(self.segment, row)


def order_key(row: HealthRow, field: str) -> str:
    """The row's place in an order: the same string its index holds."""
    customer = row.customer
    if field == "health_score":
        return keys.customer_health_order(customer.health_score, customer.customer_id)
    if field == "arr":
        return keys.customer_arr_order(customer.arr, customer.customer_id)
    if field == "renewal_date":
        return keys.customer_renewal_order(customer.renewal_date, customer.customer_id)
    return keys.customer_sort(customer.name, customer.customer_id)


def _no_value(key: str) -> bool:
    return key.startswith(keys.NO_VALUE)


def list_customers(
    workspace_id: str, filters: ListFilters, order: ListOrder, limit: int, cursor: str | None
) -> CustomerPage:
    base = filters.base
    if base.portfolio_of is None and base.owner_id is None:
        rows = _workspace_rows(workspace_id, filters, order, cursor)
    elif order == ListOrder():
        rows = iter_health_rows(
            workspace_id,
            owner_id=None if base.portfolio_of else base.owner_id,
            portfolio_of=base.portfolio_of,
            cursor=cursor,
            include_archived=True,  # `keep` decides, with the other filters
            with_state=True,
            # The page and the one more that says whether another follows: unfiltered, one Query and
            # one BatchGetItem of what the page shows (archived customers in the book cost a page more).
            page_size=None if _filtered(filters) else limit + 1,
        )
    else:
        rows = _book_rows(workspace_id, filters, order, cursor)
    found = []
    next_cursor: str | None = None
    for examined, (row, position) in enumerate(rows, start=1):
        if filters.keep(row):
            found.append(row.customer)
        if len(found) == limit or examined >= MAX_EXAMINED:
            next_cursor = position
            break
    if next_cursor is not None and len(found) == limit and not _more(rows):
        next_cursor = None
    return CustomerPage(items=found, next_cursor=next_cursor)


def _filtered(filters: ListFilters) -> bool:
    """Whether a filter may leave out customers of a book (archived ones aside)."""
    base = filters.base
    return bool(filters.name_prefix or filters.band or filters.segment or (base.owner_id and base.portfolio_of)) or (
        _narrowing(base)
    )


def _more(rows: Iterator[tuple[HealthRow, str]]) -> bool:
    """Whether anything follows (one more item is read), so a full last page gets no cursor."""
    return next(rows, None) is not None


# --- the whole workspace: an index in the order ------------------------------------------------------
def _workspace_rows(
    workspace_id: str, filters: ListFilters, order: ListOrder, cursor: str | None
) -> Iterator[tuple[HealthRow, str]]:
    partition = keys.customers_listing(workspace_id)
    attribute = _RANGE_ATTRIBUTE[order.field]
    start = cursors.decode(
        cursor,
        expected={"gsi1pk": partition, "sk": "PROFILE"},
        prefixes={"pk": keys.customer_partition(workspace_id, ""), attribute: ""},
    )
    index = _INDEX[order.field]
    range_key = getattr(CustomerHealthItem, attribute)
    prefix = filters.name_prefix if order.field == "name" else None
    selective = filters.band or filters.segment or filters.name_prefix or _narrowing(filters.base)
    page = 200 if selective else 100
    after = start[attribute]["S"] if start else None

    def read(condition: Condition | None, forward: bool, resume: dict[str, Any] | None) -> Iterator[Any]:
        return iter(
            index.query(
                partition,
                range_key_condition=condition,
                scan_index_forward=forward,
                page_size=page,
                last_evaluated_key=resume,
            )
        )

    phases: list[tuple[Condition | None, bool, dict[str, Any] | None]]
    if prefix:
        phases = [(range_key.startswith(prefix), not order.descending, start)]
    elif not order.descending or order.field == "name":
        phases = [(None, not order.descending, start)]
    elif after is not None and _no_value(after):  # already among those without a value
        phases = [(range_key.startswith(keys.NO_VALUE), True, start)]
    else:  # values from the highest down, then the customers without one
        phases = [(range_key < keys.NO_VALUE, False, start), (range_key.startswith(keys.NO_VALUE), True, None)]
    for condition, forward, resume in phases:
        for item in read(condition, forward, resume):
            yield to_row(item), _position(item, attribute)


def _narrowing(base: CustomerFilters) -> bool:
    return any(
        v is not None for k, v in vars(base).items() if k not in ("owner_id", "portfolio_of", "include_archived")
    )


def _position(item: CustomerHealthItem, attribute: str) -> str:
    key = {"pk": item.pk, "sk": item.sk, "gsi1pk": item.gsi1pk, attribute: getattr(item, attribute)}
    return cursors.encode({name: {"S": value} for name, value in key.items()}) or ""


# --- one book, sorted in memory ------------------------------------------------------------------------
def _book_rows(
    workspace_id: str, filters: ListFilters, order: ListOrder, cursor: str | None
) -> Iterator[tuple[HealthRow, str]]:
    base = filters.base
    book = f"portfolio:{base.portfolio_of}" if base.portfolio_of else f"owner:{base.owner_id}"
    start = cursors.decode(cursor, expected={"book": book, "order": order.text}, prefixes={"after": ""})
    after = start["after"]["S"] if start else None
    rows = iter_health_rows(
        workspace_id,
        owner_id=None if base.portfolio_of else base.owner_id,
        portfolio_of=base.portfolio_of,
        include_archived=True,
        with_state=True,
    )
    keyed = [(order_key(row, order.field), row) for row, _ in rows if filters.keep(row)]
    for key, row in ordered(keyed, order.descending, after, lambda pair: pair[0]):
        position = {"book": {"S": book}, "order": {"S": order.text}, "after": {"S": key}}
        yield row, cursors.encode(position) or ""


def ordered(items: Sequence[Any], descending: bool, after: str | None, key_of: Callable[[Any], str]) -> list[Any]:
    """Items in an order, those without a value last, resuming after the key `after` — the same
    sequence the index phases of `_workspace_rows` read."""
    valued = sorted((i for i in items if not _no_value(key_of(i))), key=key_of, reverse=descending)
    missing = sorted((i for i in items if _no_value(key_of(i))), key=key_of)
    if after is None:
        return valued + missing
    if _no_value(after):
        return [i for i in missing if key_of(i) > after]
    later = [i for i in valued if (key_of(i) < after if descending else key_of(i) > after)]
    return later + missing
