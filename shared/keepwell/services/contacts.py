"""Contact use cases. Every route first loads the customer the caller may see (404 otherwise)."""

from __future__ import annotations

from keepwell import clock, ids
from keepwell.auth import Caller
from keepwell.domain.contacts import Contact, apply_patch
from keepwell.errors import NotFound
from keepwell.schemas.contacts import ContactCreateIn, ContactPatchIn
from keepwell.services.customers import visible_customer
from keepwell.storage import contacts as store


def _require_contact(caller: Caller, customer_id: str, contact_id: str) -> Contact:
    customer = visible_customer(caller, customer_id)
    contact = store.get_contact(caller.workspace_id, customer_id, contact_id, customer.champion_contact_id)
    if contact is None:
        raise NotFound(
            f"No contact {contact_id} for customer {customer_id}",
            [{"field": "contact_id", "issue": "not found"}],
        )
    return contact


def list_contacts(caller: Caller, customer_id: str) -> list[Contact]:
    customer = visible_customer(caller, customer_id)
    return store.list_contacts(caller.workspace_id, customer_id, customer.champion_contact_id)


def create_contact(caller: Caller, customer_id: str, body: ContactCreateIn) -> Contact:
    visible_customer(caller, customer_id)
    now = clock.iso(clock.now())
    contact = Contact(
        **body.model_dump(),
        contact_id=ids.new_id("con"),
        customer_id=customer_id,
        workspace_id=caller.workspace_id,
        created_at=now,
        updated_at=now,
    )
    store.save_contact(contact, create=True, champion="set" if body.is_champion else None, now_iso=now)
    return contact


def update_contact(caller: Caller, customer_id: str, contact_id: str, body: ContactPatchIn) -> Contact:
    current = _require_contact(caller, customer_id, contact_id)
    now = clock.iso(clock.now())
    updated = apply_patch(current, body.changes(), now_iso=now)
    champion: store.ChampionChange = None
    if updated.is_champion and not current.is_champion:
        champion = "set"  # replaces the previous champion in the same transaction
    elif current.is_champion and not updated.is_champion:
        champion = "unset"
    store.save_contact(updated, create=False, champion=champion, now_iso=now, previous_title=current.title)
    return updated


def delete_contact(caller: Caller, customer_id: str, contact_id: str) -> None:
    contact = _require_contact(caller, customer_id, contact_id)
    store.delete_contact(contact, now_iso=clock.iso(clock.now()))
