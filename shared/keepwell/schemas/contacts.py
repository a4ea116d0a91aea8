"""Request and response bodies of the contact routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from keepwell.domain.contacts import Contact, normalise_email

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40, pattern=r"^[0-9+()\-. x]+$")
]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]

_BODY = ConfigDict(extra="forbid", strict=True)


def _email(value: str | None) -> str | None:
    return normalise_email(value) if value is not None else None


class ContactCreateIn(BaseModel):
    model_config = _BODY

    name: Name
    email: Email | None = None
    title: Title | None = None
    phone: Phone | None = None
    is_champion: bool = False
    email_bounced: bool = False

    check_email = field_validator("email")(_email)


class ContactPatchIn(BaseModel):
    """Partial update; null clears email, title or phone. A changed title records a role change."""

    model_config = _BODY

    name: Name | None = None
    email: Email | None = None
    title: Title | None = None
    phone: Phone | None = None
    is_champion: bool | None = None
    email_bounced: bool | None = None

    check_email = field_validator("email")(_email)

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class ContactOut(BaseModel):
    contact_id: str
    customer_id: str
    name: str
    email: str | None
    title: str | None
    phone: str | None
    is_champion: bool
    role_change_recorded_at: str | None
    email_bounced: bool
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls.model_validate(contact.model_dump(exclude={"workspace_id"}))


class ContactListOut(BaseModel):
    items: list[ContactOut]
