"""Customer profiles and their alias items (domain, external id): the only code that writes them.

A profile lives at `WS#w#CUST#c / PROFILE`, listed by name on gsi1 and by owner on gsi2. Each
domain and external id has an alias item whose existence makes it unique within the workspace;
profile and aliases always change together in one transaction. So do the portfolio memberships:
one small item per user who owns or co-owns the customer (`WS#w#USER#u#PORTFOLIO / <name>#c`),
which is how a csm's or viewer's lists find their whole book with one Query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from keepwell.domain.customers import Customer, CustomerFlags, normalise_domain
from keepwell.errors import Conflict, NotFound
from keepwell.storage import cursors, keys, renewal_rows, stored_flags
from keepwell.storage.audit import AuditItem
from keepwell.storage.models import CustomerAliasItem, CustomerItem, Gsi1, Gsi2, TableItem, table_connection

ENTITY = "customer"
ALIAS_ENTITY = "customer_alias"
MEMBERSHIP_ENTITY = "portfolio_membership"
PORTFOLIO_PAGE = 100  # memberships read per Query page and profiles per BatchGetItem (its maximum)
_NUMBER_FIELDS = ("arr", "mrr", "employee_count", "seats", "nps", "health_score")
_SET_FIELDS = ("co_owner_ids", "tags")


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
    data["gsi3sk"] = keys.customer_health_order(customer.health_score, cid)
    data["gsi4sk"] = keys.customer_arr_order(customer.arr, cid)
    data["gsi5sk"] = keys.customer_renewal_order(customer.renewal_date, cid)
    return data


def to_item(customer: Customer) -> CustomerItem:
    key = keys.customer(customer.workspace_id, customer.customer_id)
    return CustomerItem(key.pk, key.sk, entity=ENTITY, **_attribute_values(customer))


def new_profile_item(customer: Customer) -> CustomerItem:
    """The item of a profile being created: its contact counters start at zero (a new customer has no
    contacts), so a contacts import knows it need not look for existing ones (`contact_targets_batch`)."""
    item = to_item(customer)
    item.contacts_total = 0  # the other counters read as 0 when absent (storage.health_snapshots reads them)
    return item


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
        flags=stored_flags.decode(item.flags_json, item.flags_z),
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


class PortfolioMembershipItem(TableItem):
    """The customer is in the user's book: they own it (`relation` owner) or co-own it."""

    customer_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    relation = UnicodeAttribute()


def portfolio_members(owner_id: str | None, co_owner_ids: Iterable[str]) -> dict[str, str]:
    """user id -> relation (owner, co_owner) of everyone whose book holds the customer."""
    members = {user_id: "co_owner" for user_id in co_owner_ids}
    if owner_id:
        members[owner_id] = "owner"
    return members


def _membership_items(
    workspace_id: str, customer_id: str, name: str, members: dict[str, str]
) -> dict[keys.Key, PortfolioMembershipItem]:
    found: dict[keys.Key, PortfolioMembershipItem] = {}
    for user_id, relation in members.items():
        key = keys.portfolio_membership(workspace_id, user_id, name, customer_id)
        found[key] = PortfolioMembershipItem(
            key.pk,
            key.sk,
            entity=MEMBERSHIP_ENTITY,
            workspace_id=workspace_id,
            customer_id=customer_id,
            user_id=user_id,
            relation=relation,
        )
    return found


def _memberships(customer: Customer) -> dict[keys.Key, PortfolioMembershipItem]:
    members = portfolio_members(customer.owner_id, customer.co_owner_ids)
    return _membership_items(customer.workspace_id, customer.customer_id, customer.name, members)


def _membership_changes(
    before: Customer, after: Customer
) -> tuple[list[PortfolioMembershipItem], list[PortfolioMembershipItem]]:
    """(to delete, to put) so the memberships match `after`: an owner or co-owner removed, added or
    switched, or a rename (the sort key holds the name)."""
    old, new = _memberships(before), _memberships(after)
    deletes = [item for key, item in old.items() if key not in new]
    puts = [item for key, item in new.items() if key not in old or old[key].relation != item.relation]
    return deletes, puts


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
    with (
        CustomerItem.batch_write() as profiles,
        CustomerAliasItem.batch_write() as aliases,
        PortfolioMembershipItem.batch_write() as memberships,
    ):
        for customer in customers:
            if customer.workspace_id != workspace_id:
                raise ValueError(f"customer {customer.customer_id} belongs to {customer.workspace_id}")
            profiles.save(to_item(customer))
            for key in _alias_keys(customer).values():
                aliases.save(_alias_item(key, customer))
            for membership in _memberships(customer).values():
                memberships.save(membership)
            count += 1
    return count


def backfill_portfolio_memberships(workspace_id: str) -> int:
    """Write the membership items of every customer of a workspace (profiles created before they
    existed). Idempotent: run it once per workspace after deploying (docs/operations.md)."""
    attributes = ["pk", "sk", "customer_id", "name", "owner_id", "co_owner_ids"]
    written = 0
    with PortfolioMembershipItem.batch_write() as batch:
        for item in CustomerItem.gsi1.query(keys.customers_listing(workspace_id), attributes_to_get=attributes):
            members = portfolio_members(item.owner_id, item.co_owner_ids or ())
            for membership in _membership_items(workspace_id, item.customer_id, item.name, members).values():
                batch.save(membership)
                written += 1
    return written


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
    item = new_profile_item(customer)
    aliases = _alias_keys(customer)
    labels = [*aliases, "profile"]  # TransactWrite sends puts in the order they were added
    try:
        with TransactWrite(connection=table_connection()) as tx:
            for key in aliases.values():
                tx.save(_alias_item(key, customer), condition=CustomerAliasItem.pk.does_not_exist())
            memberships = list(_memberships(customer).values())
            labels[len(aliases) : len(aliases)] = ["membership"] * len(memberships)
            for membership in memberships:
                tx.save(membership)
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


def update_customer(before: Customer, after: Customer, audit: AuditItem | None = None) -> Customer:
    """Write `after` over `before` if nobody changed it meanwhile (version condition); domain and
    external id aliases and the portfolio memberships move in the same transaction, and so does the
    audit entry when given."""
    after = after.model_copy(update={"version": before.version + 1})
    old_aliases, new_aliases = _alias_keys(before), _alias_keys(after)
    deletes = [(label, key) for label, key in old_aliases.items() if new_aliases.get(label) != key]
    puts = [(label, key) for label, key in new_aliases.items() if old_aliases.get(label) != key]
    left, joined = _membership_changes(before, after)
    # Order of the cancellation reasons: deletes, puts, updates (pynamodb's TransactWrite order).
    audit_labels = ["audit"] if audit is not None else []
    labels = (
        [f"old_{label}" for label, _ in deletes]
        + ["membership"] * len(left)
        + [label for label, _ in puts]
        + ["membership"] * len(joined)
        + audit_labels
        + ["profile"]
    )
    profile_key = keys.customer(before.workspace_id, before.customer_id)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            for _, key in deletes:
                tx.delete(_alias_item(key, before), condition=CustomerAliasItem.customer_id == before.customer_id)
            for membership in left:
                tx.delete(membership)
            for _, key in puts:
                tx.save(_alias_item(key, after), condition=CustomerAliasItem.pk.does_not_exist())
            for membership in joined:
                tx.save(membership)
            if audit is not None:
                tx.save(audit, condition=AuditItem.pk.does_not_exist())
            tx.update(
                CustomerItem(profile_key.pk, profile_key.sk),
                actions=_update_actions(before, after),
                condition=(CustomerItem.version == before.version),
            )
    except TransactWriteError as error:
        _raise_conflicts(error, labels, after)
    follow_rows(before, after)
    return after


ROW_FIELDS = ("name", "owner_id", "co_owner_ids", "archived")


def follow_rows(before: Customer, after: Customer) -> None:
    """The customer's renewal rows (storage/renewal_rows.py) after a write that changed what they
    show: one Query of its renewals and an UpdateItem of each; nothing when those fields did not change."""
    if any(getattr(before, f) != getattr(after, f) for f in ROW_FIELDS):
        renewal_rows.set_profile(after)


def co_owned_ids(workspace_id: str, user_id: str) -> list[str]:
    """The customers a user co-owns (not owns): one strongly consistent Query of their memberships."""
    partition = keys.portfolio_partition(workspace_id, user_id)
    found = PortfolioMembershipItem.query(
        partition, filter_condition=PortfolioMembershipItem.relation == "co_owner", consistent_read=True
    )
    return [m.customer_id for m in found]


def save_flags(workspace_id: str, customer_id: str, flags: CustomerFlags) -> bool:
    """Store the flags, churn risk and CLTV computed for a scored day on the profile (all in `flags_z`,
    compressed by storage/stored_flags.py, so they change together), unless those of a later day are
    there (a late or redelivered event of an older day). The same day is rewritten: a rescoring later
    that day refreshes them, and a redelivery writes the same value. Leaves the profile's version alone
    (derived data, like the health). False when nothing was written (older day or no profile)."""
    key = keys.customer(workspace_id, customer_id)
    day = flags.scored_on.isoformat()
    try:
        CustomerItem(key.pk, key.sk).update(
            actions=[
                CustomerItem.flags_z.set(stored_flags.encode(flags)),
                CustomerItem.flags_json.remove(),  # the text form of profiles stored before (stored_flags.py)
                CustomerItem.flags_scored_on.set(day),
            ],
            condition=CustomerItem.pk.exists()
            & (CustomerItem.flags_scored_on.does_not_exist() | (CustomerItem.flags_scored_on <= day)),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# --- listing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CustomerFilters:
    status: str | None = None
    owner_id: str | None = None
    # Only the customers this user owns or co-owns (their portfolio memberships), not an index filter.
    portfolio_of: str | None = None
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
        if filters.status is None:  # a churned customer's date is its last contract's end: nothing ahead
            conditions.append(CustomerItem.status != "churned")
    combined: Condition | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def matches(customer: Customer, filters: CustomerFilters) -> bool:
    """`_filter_condition` evaluated on a profile already read (the portfolio list reads by key)."""
    if not filters.include_archived and customer.archived:
        return False
    for name in ("status", "owner_id", "tier", "industry", "region", "country", "plan"):
        wanted = getattr(filters, name)
        if wanted is not None and getattr(customer, name) != wanted:
            return False
    if filters.renewal_before is not None:
        if filters.status is None and customer.status == "churned":
            return False
        return customer.renewal_date is not None and customer.renewal_date < filters.renewal_before
    return True


Profile = TypeVar("Profile", bound=CustomerItem)


def iter_portfolio(
    workspace_id: str,
    user_id: str,
    cursor: str | None = None,
    *,
    model: type[Profile],
    attributes: list[str] | None = None,
    page_size: int = PORTFOLIO_PAGE,
) -> Iterator[tuple[Profile, str]]:
    """The profiles of the customers a user owns or co-owns, by name, each with the cursor that
    resumes right after it: a Query of the user's memberships (strongly consistent: written in the
    customer's own transaction), then one BatchGetItem per page of them (`page_size`, at most 100: a
    list page asks for what it shows, not for a hundred profiles)."""
    page_size = max(1, min(page_size, PORTFOLIO_PAGE))
    partition = keys.portfolio_partition(workspace_id, user_id)
    start = cursors.decode(cursor, expected={"pk": partition}, prefixes={"sk": ""})
    results = PortfolioMembershipItem.query(
        partition, consistent_read=True, page_size=page_size, last_evaluated_key=start
    )
    page: list[PortfolioMembershipItem] = []

    def profiles() -> Iterator[tuple[Profile, str]]:
        wanted = [keys.customer(workspace_id, m.customer_id) for m in page]
        found = {
            item.customer_id: item
            for item in model.batch_get(
                [(k.pk, k.sk) for k in wanted], consistent_read=True, attributes_to_get=attributes
            )
        }
        for membership in page:
            profile = found.get(membership.customer_id)
            if profile is not None:
                yield profile, cursors.encode({"pk": {"S": membership.pk}, "sk": {"S": membership.sk}}) or ""

    for membership in results:
        page.append(membership)
        if len(page) == page_size:
            yield from profiles()
            page = []
    if page:
        yield from profiles()


def portfolio_ids(workspace_id: str, user_id: str) -> list[str]:
    """The customers a user owns or co-owns, by name: one strongly consistent Query of their
    memberships (every page)."""
    return [customer_id for customer_id, _ in portfolio_relations(workspace_id, user_id)]


def portfolio_relations(workspace_id: str, user_id: str) -> list[tuple[str, str]]:
    """(customer id, relation: owner or co_owner) of every customer in a user's book, by name: the same
    Query as `portfolio_ids`."""
    partition = keys.portfolio_partition(workspace_id, user_id)
    return [(m.customer_id, m.relation) for m in PortfolioMembershipItem.query(partition, consistent_read=True)]


def _list_portfolio(workspace_id: str, filters: CustomerFilters, limit: int, cursor: str | None) -> CustomerPage:
    assert filters.portfolio_of is not None
    items: list[Customer] = []
    next_cursor: str | None = None
    for item, position in iter_portfolio(workspace_id, filters.portfolio_of, cursor, model=CustomerItem):
        customer = to_customer(item)
        if matches(customer, filters):
            items.append(customer)
            if len(items) == limit:
                next_cursor = position
                break
    return CustomerPage(items=items, next_cursor=next_cursor)


def list_customers(workspace_id: str, filters: CustomerFilters, limit: int, cursor: str | None) -> CustomerPage:
    """Customers sorted by name: a user's portfolio memberships (what they own or co-own), gsi2 (what
    one owner owns) or gsi1 (the whole workspace), other filters as a FilterExpression (on the
    profiles read by key, for a portfolio). Keeps reading until `limit` matches or the list ends,
    and resumes exactly after the last returned item."""
    if filters.portfolio_of is not None:
        return _list_portfolio(workspace_id, filters, limit, cursor)
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
    selective = any(
        v is not None for k, v in vars(filters).items() if k not in ("owner_id", "portfolio_of", "include_archived")
    )
    page_size = min(max(limit * 2, 100), 500) if selective else limit + 1
    results = index.query(
        partition, filter_condition=condition, limit=limit, page_size=page_size, last_evaluated_key=start
    )
    items = [to_customer(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return CustomerPage(items=items, next_cursor=cursors.encode(next_key))


def backfill_list_orders(workspace_id: str) -> int:
    """Write the list-order attributes (gsi3sk..gsi5sk) of every profile of a workspace stored before
    they existed (without them a customer is missing from the lists sorted by health, ARR or renewal
    date). Idempotent; a Query of gsi1 and one UpdateItem per profile (docs/operations.md)."""
    written = 0
    for customer in iter_customers(workspace_id):
        values = _attribute_values(customer)
        key = keys.customer(workspace_id, customer.customer_id)
        CustomerItem(key.pk, key.sk).update(
            actions=[getattr(CustomerItem, name).set(values[name]) for name in ("gsi3sk", "gsi4sk", "gsi5sk")],
            condition=CustomerItem.pk.exists(),
        )
        written += 1
    return written


def iter_customers(workspace_id: str) -> Iterator[Customer]:
    """Every profile of a workspace, by name (a Query of gsi1), for jobs that walk the whole book (backfills,
    HubSpot write-back)."""
    for item in CustomerItem.gsi1.query(keys.customers_listing(workspace_id)):
        yield to_customer(item)


def customer_ids(workspace_id: str) -> list[str]:
    """Every customer id of a workspace (keys-only read of gsi1), for fan-out jobs."""
    return [
        item.customer_id
        for item in CustomerItem.gsi1.query(keys.customers_listing(workspace_id), attributes_to_get=["customer_id"])
    ]


# --- bulk import: lookups and writes of many customers in few requests ------------------------------
BATCH_GET_LIMIT = 100
TRANSACT_LIMIT = 100  # items per TransactWriteItems


def find_customer_ids_batch(
    workspace_id: str, *, external_ids: Iterable[str], domains: Iterable[str]
) -> dict[str, str]:
    """`external_id:<value>` / `domain:<value>` -> customer id of every alias that exists (BatchGetItem
    pages of 100, strongly consistent: an import reads what its previous chunk wrote)."""
    wanted: dict[tuple[str, str], str] = {}
    for value in external_ids:
        key = keys.customer_by_external_id(workspace_id, value)
        wanted[(key.pk, key.sk)] = f"external_id:{value}"
    for value in domains:
        key = keys.customer_by_domain(workspace_id, value)
        wanted[(key.pk, key.sk)] = f"domain:{value}"
    found: dict[str, str] = {}
    pairs = list(wanted)
    for start in range(0, len(pairs), BATCH_GET_LIMIT):
        for item in CustomerAliasItem.batch_get(pairs[start : start + BATCH_GET_LIMIT], consistent_read=True):
            found[wanted[(item.pk, item.sk)]] = item.customer_id
    return found


def get_customers_batch(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, Customer]:
    """Profiles by key (BatchGetItem pages of 100, strongly consistent); unknown ids are left out."""
    wanted = sorted(set(customer_ids))
    found: dict[str, Customer] = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        chunk = [keys.customer(workspace_id, c) for c in wanted[start : start + BATCH_GET_LIMIT]]
        for item in CustomerItem.batch_get([(k.pk, k.sk) for k in chunk], consistent_read=True):
            found[item.customer_id] = to_customer(item)
    return found


@dataclass(frozen=True)
class CustomerWrite:
    """One imported row's write: a new customer (`before` None) or `before` -> `after`."""

    before: Customer | None
    after: Customer

    def size(self) -> int:
        """Items this write puts in a transaction."""
        if self.before is None:
            return 1 + len(_alias_keys(self.after)) + len(_memberships(self.after))
        old, new = _alias_keys(self.before), _alias_keys(self.after)
        moved = sum(1 for label, key in old.items() if new.get(label) != key)
        moved += sum(1 for label, key in new.items() if old.get(label) != key)
        left, joined = _membership_changes(self.before, self.after)
        return 1 + moved + len(left) + len(joined)


def _add_write(tx: TransactWrite, write: CustomerWrite, labels: dict[str, list[int]], index: int) -> None:
    after = write.after
    if write.before is None:
        for key in _alias_keys(after).values():
            tx.save(_alias_item(key, after), condition=CustomerAliasItem.pk.does_not_exist())
            labels["put"].append(index)
        for membership in _memberships(after).values():
            tx.save(membership)
            labels["put"].append(index)
        tx.save(new_profile_item(after), condition=CustomerItem.pk.does_not_exist())
        labels["put"].append(index)
        return
    before = write.before
    old, new = _alias_keys(before), _alias_keys(after)
    for label, key in old.items():
        if new.get(label) != key:
            tx.delete(_alias_item(key, before), condition=CustomerAliasItem.customer_id == before.customer_id)
            labels["delete"].append(index)
    for label, key in new.items():
        if old.get(label) != key:
            tx.save(_alias_item(key, after), condition=CustomerAliasItem.pk.does_not_exist())
            labels["put"].append(index)
    left, joined = _membership_changes(before, after)
    for membership in left:
        tx.delete(membership)
        labels["delete"].append(index)
    for membership in joined:
        tx.save(membership)
        labels["put"].append(index)
    profile = keys.customer(before.workspace_id, before.customer_id)
    tx.update(
        CustomerItem(profile.pk, profile.sk),
        actions=_update_actions(before, after),
        condition=(CustomerItem.version == before.version),
    )
    labels["update"].append(index)


def _transact(writes: list[CustomerWrite], indexes: list[int]) -> set[int]:
    """One TransactWriteItems of the given writes; the indexes of those whose condition failed (an
    alias taken meanwhile, a profile changed meanwhile) when it was cancelled, else nothing."""
    labels: dict[str, list[int]] = {"delete": [], "put": [], "update": []}
    try:
        with TransactWrite(connection=table_connection()) as tx:
            for index in indexes:
                _add_write(tx, writes[index], labels, index)
    except TransactWriteError as error:
        order = labels["delete"] + labels["put"] + labels["update"]  # pynamodb's order of the items
        reasons = error.cancellation_reasons or []
        failed = {
            order[position]
            for position, reason in enumerate(reasons)
            if position < len(order) and reason is not None and reason.code == "ConditionalCheckFailed"
        }
        if not failed:
            raise
        return failed
    return set()


def write_customers_batch(writes: list[CustomerWrite]) -> set[int]:
    """Creates and updates in transactions of up to 100 items, each write's items all or nothing and
    conditional like the API's (alias unused, profile unchanged since read). Returns the indexes of the
    writes refused by a condition; the others are written (a cancelled transaction is sent again without
    the refused writes)."""
    refused: set[int] = set()
    group: list[int] = []
    size = 0

    def flush(indexes: list[int]) -> None:
        while indexes:
            failed = _transact(writes, indexes)
            refused.update(failed)
            if not failed:
                return
            indexes = [i for i in indexes if i not in failed]

    for index, write in enumerate(writes):
        items = write.size()
        if group and size + items > TRANSACT_LIMIT:
            flush(group)
            group, size = [], 0
        group.append(index)
        size += items
    if group:
        flush(group)
    for index, write in enumerate(writes):
        if write.before is not None and index not in refused:
            follow_rows(write.before, write.after)
    return refused
