"""Contact entity (a person at a customer) and its pure rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


# Contact depth (the Relationship dimension): the levels of a customer's organisation its contacts cover.
ROLE_LEVELS: tuple[str, ...] = ("executive", "manager", "practitioner")
_EXECUTIVE = re.compile(
    r"\b(chief|c[etfoir]o|cxo|vp|svp|evp|vice[- ]president|president|founder|co-founder|owner|partner|"
    r"director|head)\b",
    re.IGNORECASE,
)
_MANAGER = re.compile(r"\b(manager|lead|team lead|supervisor|principal|architect)\b", re.IGNORECASE)


def role_level(title: str | None) -> str | None:
    """The level a job title reads as: executive (C-level, VP, director, head of), manager (manager,
    lead), practitioner (any other title); None without a title (not counted as a level)."""
    if title is None or not title.strip():
        return None
    if _EXECUTIVE.search(title):
        return "executive"
    if _MANAGER.search(title):
        return "manager"
    return "practitioner"


@dataclass(frozen=True)
class ContactDepth:
    """How many contacts a customer has, by the level their titles read as (kept on the profile)."""

    total: int = 0
    executive: int = 0
    manager: int = 0
    practitioner: int = 0

    @property
    def role_levels(self) -> int | None:
        """Levels covered (0-3); None when no contact has a title."""
        counts = (self.executive, self.manager, self.practitioner)
        return sum(1 for n in counts if n > 0) if any(n > 0 for n in counts) else None


def depth_change(
    before: str | None, after: str | None, *, created: bool = False, deleted: bool = False
) -> dict[str, int]:
    """The counters a contact write moves: `total` on create/delete, the level of the title before (-1)
    and after (+1) when it changes. Keys: total, executive, manager, practitioner; zero moves left out."""
    change: dict[str, int] = {}
    if created:
        change["total"] = 1
    if deleted:
        change["total"] = -1
    old = role_level(before) if not created else None
    new = role_level(after) if not deleted else None
    if old != new:
        if old is not None:
            change[old] = change.get(old, 0) - 1
        if new is not None:
            change[new] = change.get(new, 0) + 1
    return {k: v for k, v in change.items() if v}


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
