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


class RoleChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
