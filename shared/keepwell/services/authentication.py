"""Turn a bearer ID token into a Caller: the token names a person, Keepwell's user records say in which
workspaces they work and with which role.

A person's user records (one per workspace) carry the issuer's `sub` once linked. The first time an
invited person signs in, nothing carries their `sub` yet: when the issuer vouches for their email
(`email_verified`), their pending invitations to that address are accepted there and then, each
creating the user record with the invited role — so "accepting" an invitation is signing in. Issuers
that do not verify emails go through POST /v1/invitations/accept with the one-time token instead.
"""

from __future__ import annotations

from keepwell import clock
from keepwell.auth import Caller, Membership, TokenIdentity, verify_bearer
from keepwell.errors import Conflict, Unauthorized
from keepwell.observability import logger
from keepwell.settings import Settings
from keepwell.storage import workspaces
from keepwell.storage.models import UserItem


def authenticate(authorization: str | None, settings: Settings) -> Caller:
    """The caller in their default workspace, with every active membership (the authorizer's answer)."""
    identity = verify_bearer(authorization, settings)
    records = workspaces.memberships_of_subject(identity.subject)
    if not records and identity.email and identity.email_verified:
        records = accept_pending_invitations(identity)
    active = sorted((r for r in records if r.active), key=lambda r: (r.created_at, r.workspace_id))
    if not active:
        raise Unauthorized("No active user for this identity in any workspace")
    memberships = tuple(Membership(r.workspace_id, r.user_id, r.role) for r in active)
    default = memberships[0]
    return Caller(default.workspace_id, default.user_id, default.role, identity.subject, memberships)


def accept_pending_invitations(identity: TokenIdentity) -> list[UserItem]:
    """First sign-in of an invited person: accept every open invitation to their verified email."""
    # The users service owns accepting. Imported here: it brings email, identity-pool and audit modules that
    # the authorizer's every other sign-in never uses (cold starts, decision 0027).
    from keepwell.services.users import accept_invitation_item

    assert identity.email is not None
    now = clock.iso(clock.now())
    joined: list[UserItem] = []
    for invitation in workspaces.invitations_for_email(identity.email):
        if invitation.accepted_at is not None or invitation.valid_until <= now:
            continue
        try:
            joined.append(accept_invitation_item(invitation, identity))
        except Conflict:
            logger.info("invitation accepted meanwhile", extra={"invitation_id": invitation.invitation_id})
    return joined or workspaces.memberships_of_subject(identity.subject)
