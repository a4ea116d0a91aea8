from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MembershipOut(BaseModel):
    workspace_id: str
    workspace_name: str
    role: str


class MeOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    workspace_id: str
    workspace_name: str
    memberships: list[MembershipOut] = Field(
        default_factory=list,
        description="Every workspace the caller may work in (pick one with the X-Keepwell-Workspace header).",
    )


Role = Literal["admin", "director", "csm", "viewer"]


class UserOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    active: bool
    created_at: str


class UserListOut(BaseModel):
    items: list[UserOut]


class PersonOut(BaseModel):
    """A member of the workspace as every role may see them: whose customer, task or note it is."""

    user_id: str
    name: str
    active: bool


class PeopleOut(BaseModel):
    items: list[PersonOut]


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    name: str = Field(min_length=1, max_length=120)
    role: Role


class InvitationOut(BaseModel):
    invitation_id: str
    email: str
    name: str
    role: str
    invited_by: str
    created_at: str
    valid_until: str
    accepted_at: str | None = None
    accepted_by: str | None = None


class InvitationCreatedOut(InvitationOut):
    """Answer to an invitation: the only time the one-time token is shown (only its hash is stored)."""

    token: str
    console_link: str = Field(description="The console page that accepts the invitation (sent in the email).")
    email_sent: bool = Field(description="Whether the invitation email went out (SES; needs InvitationSender).")


class InvitationListOut(BaseModel):
    items: list[InvitationOut]


class InvitationAcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    token: str = Field(min_length=10, max_length=400)


TRANSFER_TO = (
    "An active CSM, director or admin of the workspace who takes over the person's book: the customers they "
    "own (and, when deactivated, co-own) and their open tasks. Each customer's owner change is in the audit log."
)


class RoleChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    transfer_to: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description=TRANSFER_TO + " Required to make a viewer of someone who owns customers (a viewer owns none).",
    )


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transfer_to: str | None = Field(default=None, min_length=1, max_length=128, description=TRANSFER_TO)


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transfer_to: str = Field(min_length=1, max_length=128, description=TRANSFER_TO)


class HandoverOut(BaseModel):
    """What `transfer_to` took over."""

    to: str = Field(description="The user who took the book over.")
    owned: int = Field(description="Customers whose owner became `to`.")
    co_owned: int = Field(description="Customers where `to` became a co-owner in the person's place.")
    tasks: int = Field(description="Open tasks (pending or in progress) now owned by `to`.")
    kept_by_hubspot: list[str] = Field(
        default_factory=list,
        description="Customers left with their owner because HubSpot sets it (change the owner in HubSpot).",
    )


class UserChangeOut(UserOut):
    """The user after a role change or deactivation, and what `transfer_to` took over (null when not given)."""

    handed_over: HandoverOut | None = None
