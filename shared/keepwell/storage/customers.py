"""Customer profiles and their alias items (domain, external id): the only code that writes them.

A profile lives at `WS#w#CUST#c / PROFILE`, listed by name on gsi1 and by owner on gsi2. Each
domain and external id has an alias item whose existence makes it unique within the workspace;
profile and aliases always change together in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from keepwell.domain.customers import Customer, normalise_domain
from keepwell.errors import Conflict, NotFound
from keepwell.storage import cursors, keys
from keepwell.storage.models import CustomerAliasItem, CustomerItem, Gsi1, Gsi2

ENTITY = "customer"
ALIAS_ENTITY = "customer_alias"
_NUMBER_FIELDS = ("arr", "mrr", "employee_count", "seats", "nps", "health_score")
_SET_FIELDS = ("co_owner_ids", "tags")


def _connection() -> Connection:
    return Connection(region=CustomerItem.Meta.region)


# --- mapping between the entity and its items ---------------------------------------------------
def _attribute_values(customer: Customer) -> dict[str, Any]:
    """The profile's attributes (keys and indexes included) as stored."""
    data = customer.model_dump(exclude={"renewal_date"})
    data["renewal_date"] = customer.renewal_date.isoformat() if customer.renewal_date else None
    for name in _SET_FIELDS:
        data[name] = set(data[name]) or None  # DynamoDB has no empty sets
    ws, cid = customer.workspace_id, customer.customer_id
    data["gsi1pk"] = keys.customers_listing(ws)
    data["gsi1sk"] = keys.customer_sort(customer.name, cid)
    data["gsi2pk"] = keys.customers_by_owner(ws, customer.owner_id) if customer.owner_id else None
    data["gsi2sk"] = keys.customer_sort(customer.name, cid) if customer.owner_id else None
    return data


def to_item(customer: Customer) -> CustomerItem:
    key = keys.customer(customer.workspace_id, customer.customer_id)
    return CustomerItem(key.pk, key.sk, entity=ENTITY, **_attribute_values(customer))


def _plain_map(value: Any) -> dict[str, Any]:
    """A raw MapAttribute comes back as a MapAttribute object; callers want a dict."""
    if value is None:
        return {}
    return dict(value.as_dict()) if hasattr(value, "as_dict") else dict(value)


def to_customer(item: CustomerItem) -> Customer:
    def number(value: Any) -> Any:
        return int(value) if isinstance(value, float) and value.is_integer() else value

    return Customer(
        customer_id=item.customer_id,
        workspace_id=item.workspace_id,
        name=item.name,
        domain=item.domain,
        external_id=item.external_id,
        arr=float(item.arr),
        mrr=float(item.mrr),
        status=item.status,  # type: ignore[arg-type]
        owner_id=item.owner_id,
        co_owner_ids=sorted(item.co_owner_ids or ()),
        tier=item.tier,
        industry=item.industry,
        region=item.region,
        country=item.country,
        plan=item.plan,
        employee_count=number(item.employee_count),
        seats=number(item.seats),
        tags=sorted(item.tags or ()),
        custom_fields={k: number(v) for k, v in _plain_map(item.custom_fields).items()},
        renewal_date=date.fromisoformat(item.renewal_date) if item.renewal_date else None,
        nps=number(item.nps),
        champion_contact_id=item.champion_contact_id,
        archived=bool(item.archived),
        health_score=item.health_score,
        health_band=item.health_band,
        health_scored_at=item.health_scored_at,
        churn_reason=item.churn_reason,
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=int(item.version),
    )


def _alias_item(key: keys.Key, customer: Customer) -> CustomerAliasItem:
    return CustomerAliasItem(
        key.pk,
        key.sk,
        entity=ALIAS_ENTITY,
        workspace_id=customer.workspace_id,
        customer_id=customer.customer_id,
    )


def _alias_keys(customer: Customer) -> dict[str, keys.Key]:
    found: dict[str, keys.Key] = {}
    if customer.domain:
        found["domain"] = keys.customer_by_domain(customer.workspace_id, customer.domain)
    if customer.external_id:
        found["external_id"] = keys.customer_by_external_id(customer.workspace_id, customer.external_id)
    return found


# --- reads ------------------------------------------------------------------------------------
def get_customer(workspace_id: str, customer_id: str) -> Customer | None:
    key = keys.customer(workspace_id, customer_id)
    try:
        return to_customer(CustomerItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def require_customer(workspace_id: str, customer_id: str) -> Customer:
    customer = get_customer(workspace_id, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    return customer


def find_customer_id(workspace_id: str, *, domain: str | None = None, external_id: str | None = None) -> str | None:
    """One GetItem on the alias (domain wins when both are given); None when nothing matches."""
    if domain is not None:
        try:
            key = keys.customer_by_domain(workspace_id, normalise_domain(domain))
        except ValueError:
            return None
    elif external_id is not None:
        key = keys.customer_by_external_id(workspace_id, external_id)
    else:
        raise ValueError("give a domain or an external_id")
    try:
        return CustomerAliasItem.get(key.pk, key.sk).customer_id
    except DoesNotExist:
        return None


# --- writes -----------------------------------------------------------------------------------
def put_customers_batch(workspace_id: str, customers: Iterable[Customer]) -> int:
    """Profiles and alias items by batch write, unconditionally (seeding and imports of trusted data)."""
    count = 0
    with CustomerItem.batch_write() as profiles, CustomerAliasItem.batch_write() as aliases:
        for customer in customers:
            if customer.workspace_id != workspace_id:
                raise ValueError(f"customer {customer.customer_id} belongs to {customer.workspace_id}")
            profiles.save(to_item(customer))
            for key in _alias_keys(customer).values():
                aliases.save(_alias_item(key, customer))
            count += 1
    return count


def _raise_conflicts(error: TransactWriteError, labels: list[str], customer: Customer) -> None:
    reasons = error.cancellation_reasons or []
    failed = [
        label
        for label, reason in zip(labels, reasons, strict=False)
        if reason is not None and reason.code == "ConditionalCheckFailed"
    ]
    details = []
    for label in failed:
        if label == "domain":
            details.append({"field": "domain", "issue": f"{customer.domain} is already used by another customer"})
        elif label == "external_id":
            details.append(
                {
                    "field": "external_id",
                    "issue": f"{customer.external_id} is already used by another customer",
                }
            )
    if details:
        raise Conflict("; ".join(f"{d['field']} {d['issue']}" for d in details), details) from error
    if "profile" in failed:
        raise Conflict(
            "The customer changed meanwhile; read it again and retry",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        ) from error
    raise error


def create_customer(customer: Customer) -> Customer:
    """Profile + aliases in one transaction; a taken domain or external id writes nothing (409)."""
    item = to_item(customer)
    aliases = _alias_keys(customer)
    labels = [*aliases, "profile"]  # TransactWrite sends puts in the order they were added
    try:
        with TransactWrite(connection=_connection()) as tx:
            for key in aliases.values():
                tx.save(_alias_item(key, customer), condition=CustomerAliasItem.pk.does_not_exist())
            tx.save(item, condition=CustomerItem.pk.does_not_exist())
    except TransactWriteError as error:
        _raise_conflicts(error, labels, customer)
    return customer


def _update_actions(before: Customer, after: Customer) -> list[Action]:
    old, new = _attribute_values(before), _attribute_values(after)
    actions: list[Action] = []
    for name, value in new.items():
        if name in ("version", "workspace_id", "customer_id") or old.get(name) == value:
            continue
        attribute = getattr(CustomerItem, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    actions.append(CustomerItem.version.set(before.version + 1))
    return actions


def update_customer(before: Customer, after: Customer) -> Customer:
    """Write `after` over `before` if nobody changed it meanwhile (version condition); domain and
    external id aliases move in the same transaction."""
    after = after.model_copy(update={"version": before.version + 1})
    old_aliases, new_aliases = _alias_keys(before), _alias_keys(after)
    deletes = [(label, key) for label, key in old_aliases.items() if new_aliases.get(label) != key]
    puts = [(label, key) for label, key in new_aliases.items() if old_aliases.get(label) != key]
    # Order of the cancellation reasons: deletes, puts, updates (pynamodb's TransactWrite order).
    labels = [f"old_{label}" for label, _ in deletes] + [label for label, _ in puts] + ["profile"]
    profile_key = keys.customer(before.workspace_id, before.customer_id)
    try:
        with TransactWrite(connection=_connection()) as tx:
            for _, key in deletes:
                tx.delete(_alias_item(key, before), condition=CustomerAliasItem.customer_id == before.customer_id)
            for _, key in puts:
                tx.save(_alias_item(key, after), condition=CustomerAliasItem.pk.does_not_exist())
            tx.update(
                CustomerItem(profile_key.pk, profile_key.sk),
                actions=_update_actions(before, after),
                condition=(CustomerItem.version == before.version),
            )
    except TransactWriteError as error:
        _raise_conflicts(error, labels, after)
    return after


# --- listing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CustomerFilters:
    status: str | None = None
    owner_id: str | None = None
    tier: str | None = None
    industry: str | None = None
    region: str | None = None
    country: str | None = None
    plan: str | None = None
    renewal_before: date | None = None
    include_archived: bool = False


@dataclass(frozen=True)
class CustomerPage:
    items: list[Customer]
    next_cursor: str | None


def _filter_condition(filters: CustomerFilters) -> Condition | None:
    conditions: list[Condition] = []
    if not filters.include_archived:
        conditions.append(CustomerItem.archived == False)  # noqa: E712 (a DynamoDB condition, not a bool)
    for name in ("status", "tier", "industry", "region", "country", "plan"):
        value = getattr(filters, name)
        if value is not None:
            conditions.append(getattr(CustomerItem, name) == value)
    if filters.renewal_before is not None:
        conditions.append(CustomerItem.renewal_date < filters.renewal_before.isoformat())
    combined: Condition | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def list_customers(workspace_id: str, filters: CustomerFilters, limit: int, cursor: str | None) -> CustomerPage:
    """Customers sorted by name: gsi1 (whole workspace) or gsi2 (one owner's portfolio), other filters
    as a FilterExpression. Keeps querying until `limit` matches or the index ends (pynamodb's
    result iterator), and resumes exactly after the last returned item."""
    condition = _filter_condition(filters)
    customer_prefix = keys.customer_partition(workspace_id, "")
    index: Gsi1 | Gsi2
    if filters.owner_id:
        index, hash_name = CustomerItem.gsi2, "gsi2"
        partition = keys.customers_by_owner(workspace_id, filters.owner_id)
    else:
        index, hash_name = CustomerItem.gsi1, "gsi1"
        partition = keys.customers_listing(workspace_id)
    start = cursors.decode(
        cursor,
        expected={f"{hash_name}pk": partition, "sk": "PROFILE"},
        prefixes={"pk": customer_prefix, f"{hash_name}sk": ""},
    )
    # Only filters (archived is always one unless included) can make pages short: read ahead then.
    selective = any(v is not None for k, v in vars(filters).items() if k not in ("owner_id", "include_archived"))
    page_size = min(max(limit * 2, 100), 500) if selective else limit + 1
    results = index.query(
        partition, filter_condition=condition, limit=limit, page_size=page_size, last_evaluated_key=start
    )
    items = [to_customer(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return CustomerPage(items=items, next_cursor=cursors.encode(next_key))


def customer_ids(workspace_id: str) -> list[str]:
    """Every customer id of a workspace (keys-only read of gsi1), for fan-out jobs."""
    return [
        item.customer_id
        for item in CustomerItem.gsi1.query(keys.customers_listing(workspace_id), attributes_to_get=["customer_id"])
    ]
