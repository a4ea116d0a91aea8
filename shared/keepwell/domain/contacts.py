"""Contact entity (a person at a customer) and its pure rules."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from keepwell.errors import InvalidInput

CLEARABLE_FIELDS = frozenset({"email", "title", "phone"})


class Contact(BaseModel):
    """A person at a customer. `is_champion` mirrors the customer's `champion_contact_id`."""

    model_config = ConfigDict(extra="forbid")

    contact_id: str
    customer_id: str
    workspace_id: str
    name: str
    email: str | None = None
    title: str | None = None
    phone: str | None = None
    is_champion: bool = False
    role_change_recorded_at: str | None = None
    email_bounced: bool = False
    created_at: str
    updated_at: str


def normalise_email(raw: str) -> str:
    """Trim and lower-case the domain part (the local part is case-sensitive by the RFC)."""
    value = raw.strip()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or "." not in domain or " " in value:
        raise ValueError(f"{raw!r} is not an email address")
    return f"{local}@{domain.lower()}"


def apply_patch(current: Contact, changes: dict[str, Any], *, now_iso: str) -> Contact:
    """The contact after a PATCH (only the sent fields). A new title records a role change,
    which the health model reads as a champion-risk signal."""
    data = current.model_dump()
    for field, value in changes.items():
        if value is None and field not in CLEARABLE_FIELDS:
            raise InvalidInput(f"{field} cannot be null", [{"field": field, "issue": "cannot be cleared"}])
        data[field] = value
    if "title" in changes and changes["title"] != current.title and current.title is not None:
        data["role_change_recorded_at"] = now_iso
    data["updated_at"] = now_iso
    return Contact.model_validate(data)
