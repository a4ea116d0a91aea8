"""Contacts, stored in their customer's item collection (`WS#w#CUST#c / CONTACT#<id>`).

The champion is not a contact attribute: it is the profile's `champion_contact_id`, so there is
at most one, and switching it is one transaction with the contact write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from keepwell.domain.contacts import Contact, depth_change, role_level
from keepwell.errors import NotFound
from keepwell.storage import keys
from keepwell.storage.customers import BATCH_GET_LIMIT, customer_ids
from keepwell.storage.models import ContactItem, CustomerItem, table_connection

ENTITY = "contact"
ChampionChange = Literal["set", "unset"] | None


def to_item(contact: Contact) -> ContactItem:
    key = keys.contact(contact.workspace_id, contact.customer_id, contact.contact_id)
    return ContactItem(key.pk, key.sk, entity=ENTITY, **contact.model_dump(exclude={"is_champion"}))


def to_contact(item: ContactItem, champion_contact_id: str | None) -> Contact:
    return Contact(
        contact_id=item.contact_id,
        customer_id=item.customer_id,
        workspace_id=item.workspace_id,
        name=item.name,
        email=item.email,
        title=item.title,
        phone=item.phone,
        is_champion=item.contact_id == champion_contact_id,
        role_change_recorded_at=item.role_change_recorded_at,
        email_bounced=bool(item.email_bounced),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def get_contact(
    workspace_id: str, customer_id: str, contact_id: str, champion_contact_id: str | None
) -> Contact | None:
    key = keys.contact(workspace_id, customer_id, contact_id)
    try:
        return to_contact(ContactItem.get(key.pk, key.sk, consistent_read=True), champion_contact_id)
    except DoesNotExist:
        return None


def list_contacts(workspace_id: str, customer_id: str, champion_contact_id: str | None) -> list[Contact]:
    pk = keys.customer_partition(workspace_id, customer_id)
    return [
        to_contact(item, champion_contact_id)
        for item in ContactItem.query(pk, ContactItem.sk.startswith(keys.CONTACT_PREFIX))
    ]


def put_contacts_batch(workspace_id: str, contacts: Iterable[Contact]) -> int:
    """Contacts by batch write, unconditionally (seeding). A contact with `is_champion` becomes its
    customer's champion (one UpdateItem per such customer; the last one given wins)."""
    champions: dict[str, str] = {}
    depth: dict[str, dict[str, int]] = {}
    count = 0
    with ContactItem.batch_write() as batch:
        for contact in contacts:
            if contact.workspace_id != workspace_id:
                raise ValueError(f"contact {contact.contact_id} belongs to {contact.workspace_id}")
            batch.save(to_item(contact))
            if contact.is_champion:
                champions[contact.customer_id] = contact.contact_id
            _merge(depth.setdefault(contact.customer_id, {}), depth_change(None, contact.title, created=True))
            count += 1
    for customer_id in sorted(set(champions) | set(depth)):
        key = keys.customer(workspace_id, customer_id)
        actions = _depth_actions(depth.get(customer_id, {}))
        if customer_id in champions:
            actions.append(CustomerItem.champion_contact_id.set(champions[customer_id]))
        CustomerItem(key.pk, key.sk).update(actions=actions, condition=CustomerItem.pk.exists())
    return count


def _depth_actions(change: dict[str, int]) -> list[Action]:
    attributes = {
        "total": CustomerItem.contacts_total,
        "executive": CustomerItem.contacts_executive,
        "manager": CustomerItem.contacts_manager,
        "practitioner": CustomerItem.contacts_practitioner,
    }
    return [attributes[name].add(n) for name, n in sorted(change.items()) if n]


def _merge(total: dict[str, int], change: dict[str, int]) -> None:
    for name, n in change.items():
        total[name] = total.get(name, 0) + n


def _champion_actions(change: ChampionChange, contact_id: str, now_iso: str) -> list[Action]:
    if change == "set":
        target = CustomerItem.champion_contact_id.set(contact_id)
    else:
        target = CustomerItem.champion_contact_id.remove()
    return [target, CustomerItem.version.add(1), CustomerItem.updated_at.set(now_iso)]


def save_contact(
    contact: Contact,
    *,
    create: bool,
    champion: ChampionChange,
    now_iso: str,
    previous_title: str | None = None,
) -> None:
    """Write the contact; with `champion`, point (or stop pointing) the profile at it in the same
    transaction, which also moves the profile's contact counters (a new contact, a title that reads as
    another level than `previous_title`). The profile must exist, so a contact never outlives a deleted
    customer silently."""
    item = to_item(contact)
    profile = keys.customer(contact.workspace_id, contact.customer_id)
    exists = ContactItem.pk.exists() if not create else ContactItem.pk.does_not_exist()
    depth = _depth_actions(depth_change(None if create else previous_title, contact.title, created=create))
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(item, condition=exists)
            if champion is None and not depth:
                tx.condition_check(CustomerItem, profile.pk, profile.sk, condition=CustomerItem.pk.exists())
            else:
                condition = CustomerItem.pk.exists()
                if champion == "unset":
                    condition &= CustomerItem.champion_contact_id == contact.contact_id
                champion_actions = _champion_actions(champion, contact.contact_id, now_iso) if champion else []
                tx.update(CustomerItem(profile.pk, profile.sk), actions=champion_actions + depth, condition=condition)
    except TransactWriteError as error:
        reasons = error.cancellation_reasons or []
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            raise NotFound(
                f"No contact {contact.contact_id} for customer {contact.customer_id}",
                [{"field": "contact_id", "issue": "not found"}],
            ) from error
        raise


def delete_contact(contact: Contact, *, now_iso: str) -> None:
    """Delete the contact; if it was the champion, the customer has none afterwards (same transaction)."""
    item = to_item(contact)
    profile = keys.customer(contact.workspace_id, contact.customer_id)
    depth = _depth_actions(depth_change(contact.title, None, deleted=True))
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.delete(item, condition=ContactItem.pk.exists())
            if contact.is_champion:
                tx.update(
                    CustomerItem(profile.pk, profile.sk),
                    actions=_champion_actions("unset", contact.contact_id, now_iso) + depth,
                    condition=CustomerItem.champion_contact_id == contact.contact_id,
                )
            else:  # the counters only: a profile deleted meanwhile is not recreated
                tx.update(CustomerItem(profile.pk, profile.sk), actions=depth, condition=CustomerItem.pk.exists())
    except TransactWriteError as error:
        raise NotFound(f"No contact {contact.contact_id}", [{"field": "contact_id", "issue": "not found"}]) from error


# --- bulk import ------------------------------------------------------------------------------------
TRANSACT_LIMIT = 100  # items per TransactWriteItems


@dataclass(frozen=True)
class ContactWrite:
    """One imported row's write: a new contact (`create`) or a changed one; `champion` makes it its
    customer's champion (the profile moves in the same transaction)."""

    contact: Contact
    create: bool
    champion: bool = False
    previous_title: str | None = None  # a changed contact's title before (moves the contact counters)


def write_contacts_batch(writes: list[ContactWrite], *, now_iso: str) -> set[int]:
    """Contacts in transactions of up to 100 items: each contact conditional like the API's (a new one
    not there yet, a changed one still there) and its customer's profile checked to exist — or pointed
    at its new champion — once per customer and transaction. Returns the indexes of refused writes."""
    refused: set[int] = set()
    group: list[int] = []
    customers: set[str] = set()

    def flush(indexes: list[int]) -> None:
        while indexes:
            failed = _transact_contacts(writes, indexes, now_iso)
            refused.update(failed)
            if not failed:
                return
            indexes = [i for i in indexes if i not in failed]

    for index, write in enumerate(writes):
        extra = 1 + (write.contact.customer_id not in customers)
        if group and len(group) + len(customers) + extra > TRANSACT_LIMIT:
            flush(group)
            group, customers = [], set()
        group.append(index)
        customers.add(write.contact.customer_id)
    if group:
        flush(group)
    return refused


def _transact_contacts(writes: list[ContactWrite], indexes: list[int], now_iso: str) -> set[int]:
    champions: dict[str, int] = {}  # customer -> index of the write that makes its champion (last wins)
    members: dict[str, list[int]] = {}
    depth: dict[str, dict[str, int]] = {}
    for index in indexes:
        write = writes[index]
        members.setdefault(write.contact.customer_id, []).append(index)
        if write.champion:
            champions[write.contact.customer_id] = index
        before = None if write.create else write.previous_title
        change = depth_change(before, write.contact.title, created=write.create)
        _merge(depth.setdefault(write.contact.customer_id, {}), change)
    order: list[list[int]] = []  # per item sent, the writes it decides
    checks: list[list[int]] = []
    puts: list[list[int]] = []
    updates: list[list[int]] = []
    try:
        with TransactWrite(connection=table_connection()) as tx:
            for index in indexes:
                write = writes[index]
                condition = ContactItem.pk.does_not_exist() if write.create else ContactItem.pk.exists()
                tx.save(to_item(write.contact), condition=condition)
                puts.append([index])
            for customer_id, member_indexes in members.items():
                workspace_id = writes[member_indexes[0]].contact.workspace_id
                profile = keys.customer(workspace_id, customer_id)
                counters = _depth_actions(depth.get(customer_id, {}))
                if customer_id in champions or counters:
                    actions = counters
                    if customer_id in champions:
                        contact_id = writes[champions[customer_id]].contact.contact_id
                        actions = _champion_actions("set", contact_id, now_iso) + counters
                    tx.update(CustomerItem(profile.pk, profile.sk), actions=actions, condition=CustomerItem.pk.exists())
                    updates.append(member_indexes)
                else:
                    tx.condition_check(CustomerItem, profile.pk, profile.sk, condition=CustomerItem.pk.exists())
                    checks.append(member_indexes)
    except TransactWriteError as error:
        order = checks + puts + updates  # pynamodb's order: condition checks, deletes, puts, updates
        reasons = error.cancellation_reasons or []
        failed = {
            index
            for position, reason in enumerate(reasons)
            if position < len(order) and reason is not None and reason.code == "ConditionalCheckFailed"
            for index in order[position]
        }
        if not failed:
            raise
        return failed
    return set()


@dataclass(frozen=True)
class ContactTarget:
    """What a contacts import needs of a customer's profile: its champion, and whether it may have
    contacts (False only when its counters say none: a profile written before them may have some)."""

    champion_contact_id: str | None
    may_have_contacts: bool


def contact_targets_batch(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, ContactTarget]:
    """The profiles that exist among `customer_ids`, reduced to what a contacts import needs (BatchGetItem
    pages of 100, strongly consistent, three attributes projected instead of the ~3 KB profile)."""
    wanted = sorted(set(customer_ids))
    found: dict[str, ContactTarget] = {}
    projected = ["customer_id", "champion_contact_id", "contacts_total"]
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        chunk = [keys.customer(workspace_id, c) for c in wanted[start : start + BATCH_GET_LIMIT]]
        pairs = [(k.pk, k.sk) for k in chunk]
        for item in CustomerItem.batch_get(pairs, consistent_read=True, attributes_to_get=projected):
            found[item.customer_id] = ContactTarget(item.champion_contact_id, item.contacts_total != 0)
    return found


def list_contacts_of(workspace_id: str, targets: dict[str, ContactTarget]) -> dict[str, list[Contact]]:
    """The contacts of each customer that may have some (one Query each; `is_champion` is not set
    here); a customer whose counters say it has none is not queried."""
    return {
        customer_id: list_contacts(workspace_id, customer_id, None) if target.may_have_contacts else []
        for customer_id, target in targets.items()
    }


# --- contact counters of profiles written before they existed ---------------------------------------------
def backfill_contact_counters(workspace_id: str) -> int:
    """Set every profile's contact counters from its contacts (one Query and one UpdateItem per
    customer); idempotent. For workspaces whose contacts predate the counters (issue 21): run it once,
    at a quiet time — a contact written during the run may be counted from before it."""
    written = 0
    for customer_id in customer_ids(workspace_id):
        levels = [role_level(c.title) for c in list_contacts(workspace_id, customer_id, None)]
        key = keys.customer(workspace_id, customer_id)
        CustomerItem(key.pk, key.sk).update(
            actions=[
                CustomerItem.contacts_total.set(len(levels)),
                CustomerItem.contacts_executive.set(levels.count("executive")),
                CustomerItem.contacts_manager.set(levels.count("manager")),
                CustomerItem.contacts_practitioner.set(levels.count("practitioner")),
            ],
            condition=CustomerItem.pk.exists(),
        )
        written += 1
    return written
