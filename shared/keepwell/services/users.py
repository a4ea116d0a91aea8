"""Users and invitations of a workspace: list, invite, accept, change a role, deactivate, reactivate.

Who may call what is the permission table's business (feature `users`); this module keeps the
workspace's own rules: one-time invitation tokens stored only as a hash (like API keys), never
fewer than one active admin (a count on the workspace item, changed in the user's own transaction:
storage/workspaces.py), and every role change or deactivation in the audit log.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import quote

from keepwell import clock, ids
from keepwell.adapters import identity as identities
from keepwell.adapters.email import EmailNotSent, EmailRejected, EmailUncertain, send_email
from keepwell.auth import Caller, TokenIdentity, verify_bearer
from keepwell.domain import api_keys
from keepwell.errors import Conflict, Forbidden, NotFound, Unauthorized
from keepwell.observability import logger
from keepwell.schemas.users import (
    DeactivateIn,
    HandoverIn,
    HandoverOut,
    InvitationAcceptIn,
    InvitationCreatedOut,
    InvitationIn,
    InvitationOut,
    PersonOut,
    RoleChangeIn,
    UserChangeOut,
    UserOut,
)
from keepwell.services import handover
from keepwell.settings import Settings, get_settings
from keepwell.storage import audit, keys, workspaces
from keepwell.storage.models import UserItem
from keepwell.storage.workspaces import InvitationItem

INVITATION_PREFIX = "kwi"
INVITATION_VALID_FOR = timedelta(days=7)


def user_out(item: UserItem) -> UserOut:
    return UserOut(
        user_id=item.user_id,
        email=item.email,
        name=item.name,
        role=item.role,
        active=bool(item.active),
        created_at=item.created_at,
    )


def invitation_out(item: InvitationItem) -> InvitationOut:
    return InvitationOut(
        invitation_id=item.invitation_id,
        email=item.email,
        name=item.name,
        role=item.role,
        invited_by=item.invited_by,
        created_at=item.created_at,
        valid_until=item.valid_until,
        accepted_at=item.accepted_at,
        accepted_by=item.accepted_by,
    )


def list_users(caller: Caller) -> list[UserOut]:
    return [user_out(u) for u in sorted(workspaces.list_users(caller.workspace_id), key=lambda u: u.user_id)]


def list_people(caller: Caller) -> list[PersonOut]:
    """The workspace's members by name, for every role: the console names owners, co-owners and authors
    with it. No email, role or dates (those stay with `users` / `read`); deactivated members too, as
    their past work still names them."""
    found = sorted(workspaces.list_users(caller.workspace_id), key=lambda u: (u.name.casefold(), u.user_id))
    return [PersonOut(user_id=u.user_id, name=u.name, active=bool(u.active)) for u in found]


def list_invitations(caller: Caller) -> list[InvitationOut]:
    items = workspaces.list_invitations(caller.workspace_id)
    return [invitation_out(i) for i in sorted(items, key=lambda i: (i.created_at, i.invitation_id))]


# --- invitations ---------------------------------------------------------------------------------
def _token(workspace_id: str) -> str:
    # The workspace travels in the token so accepting is one GetItem in that workspace's partition.
    return f"{INVITATION_PREFIX}.{workspace_id}.{secrets.token_urlsafe(32)}"


def _parse_token(token: str) -> tuple[str, str] | None:
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != INVITATION_PREFIX or not parts[1] or len(parts[2]) < 32:
        return None
    return parts[1], api_keys.hash_key(token.strip())


def invite(caller: Caller, body: InvitationIn) -> InvitationCreatedOut:
    """An invitation with its one-time token, shown in this answer only."""
    email = body.email.lower()
    if any(u.email.lower() == email and u.active for u in workspaces.list_users(caller.workspace_id)):
        raise Conflict(f"{email} is already a user of this workspace", [{"field": "email", "issue": "taken"}])
    settings = get_settings()
    # Keepwell's own pool: the invitation creates the person's identity (a temporary password) first,
    # so an address the pool refuses is a 400 with nothing written.
    password = identities.create_identity(settings.user_pool_id, email, body.name) if settings.user_pool_id else None
    token = _token(caller.workspace_id)
    now = clock.now()
    key = keys.invitation(caller.workspace_id, api_keys.hash_key(token))
    item = workspaces.put_invitation(
        InvitationItem(
            key.pk,
            key.sk,
            entity="invitation",
            workspace_id=caller.workspace_id,
            invitation_id=ids.new_id("inv"),
            email=email,
            name=body.name,
            role=body.role,
            invited_by=caller.user_id,
            created_at=clock.iso(now),
            valid_until=clock.iso(now + INVITATION_VALID_FOR),
            # Found by the invitee's verified email at their first sign-in (services/authentication.py).
            gsi2pk=keys.invitee_index(email),
            gsi2sk=f"{caller.workspace_id}#{clock.iso(now)}",
        )
    )
    link = invitation_link(settings, token)
    sent = _send_invitation(settings, caller, item, link, password)
    audit.record_audit(
        caller.workspace_id,
        caller.user_id,
        "user.invited",
        f"invitation:{item.invitation_id}",
        None,
        {"email": email, "role": body.role, "email_sent": sent},
    )
    return InvitationCreatedOut(**invitation_out(item).model_dump(), token=token, console_link=link, email_sent=sent)


def invitation_link(settings: Settings, token: str) -> str:
    """The console page that accepts an invitation (signing in with a verified email also does)."""
    return f"{settings.console_url.rstrip('/')}/invitations/accept?token={quote(token)}"


def _send_invitation(
    settings: Settings, caller: Caller, invitation: InvitationItem, link: str, password: str | None
) -> bool:
    """Email the invitation through SES; False when no sender is configured or SES refused it (the
    admin still has the link in the answer)."""
    if not settings.invitation_sender:
        return False
    workspace = workspaces.get_workspace(caller.workspace_id)
    inviter = workspaces.get_user(caller.workspace_id, caller.user_id)
    team = workspace.name if workspace else caller.workspace_id
    lines = [
        f"Hello {invitation.name},",
        "",
        f"{inviter.name if inviter else 'An admin'} invited you to {team} on Keepwell as {invitation.role}.",
        f"Open {link} to join (the invitation is valid until {invitation.valid_until[:10]}).",
        "",
    ]
    if password is not None:
        lines += [
            f"Sign in with your email ({invitation.email}) and this temporary password: {password}",
            "You will choose your own password at the first sign-in.",
        ]
    else:
        lines.append(f"Sign in as usual with your account ({invitation.email}).")
    try:
        send_email(settings.invitation_sender, invitation.email, f"Join {team} on Keepwell", "\n".join(lines))
    except (EmailNotSent, EmailRejected, EmailUncertain) as error:
        logger.warning(
            "invitation email not sent", extra={"invitation_id": invitation.invitation_id, "error": str(error)}
        )
        return False
    return True


def invitee(authorization: str | None, settings: Settings) -> TokenIdentity:
    """Who is accepting: their bearer token names them, though they belong to no workspace yet (so the
    gateway's authorizer, which needs a membership, is not in front of this route)."""
    return verify_bearer(authorization, settings)


def accept_invitation(identity: TokenIdentity, body: InvitationAcceptIn) -> UserOut:
    """The signed-in invitee presents the one-time token: the user is created with the invited role."""
    parsed = _parse_token(body.token)
    invitation = workspaces.get_invitation(*parsed) if parsed else None
    if invitation is None:
        raise NotFound("No such invitation", [{"field": "token", "issue": "not found"}])
    if identity.email_verified and identity.email and identity.email != invitation.email.lower():
        raise Forbidden("This invitation was sent to another email address", [{"field": "token", "issue": "email"}])
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already used", [{"field": "token", "issue": "used"}])
    if invitation.valid_until <= clock.iso(clock.now()):
        raise Unauthorized("This invitation has expired; ask an admin for a new one")
    return user_out(accept_invitation_item(invitation, identity))


def accept_invitation_item(invitation: InvitationItem, identity: TokenIdentity) -> UserItem:
    """Create the invitee's user record, tied to their identity, with the invited role (once)."""
    workspace_id = invitation.workspace_id
    if any(r.workspace_id == workspace_id for r in workspaces.memberships_of_subject(identity.subject)):
        raise Conflict("You already belong to this workspace", [{"field": "token", "issue": "member"}])
    user_id = ids.new_id("usr")
    user = workspaces.new_user_item(
        workspace_id, user_id, invitation.email, invitation.name, invitation.role, subject=identity.subject
    )
    workspaces.accept_invitation(invitation, user, clock.iso(clock.now()))
    audit.record_audit(
        workspace_id,
        user_id,
        "user.joined",
        f"user:{user_id}",
        None,
        {"role": invitation.role, "invitation_id": invitation.invitation_id},
    )
    return user


# --- role changes and deactivation ------------------------------------------------------------------
def _require_user(caller: Caller, user_id: str) -> UserItem:
    user = workspaces.get_user(caller.workspace_id, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}", [{"field": "user_id", "issue": "not found"}])
    return user


def _changed(user: UserItem, handed: HandoverOut | None = None) -> UserChangeOut:
    return UserChangeOut(**user_out(user).model_dump(), handed_over=handed)


def change_role(caller: Caller, user_id: str, body: RoleChangeIn) -> UserChangeOut:
    """A new role; `transfer_to` first takes over the person's owned customers and open tasks (required
    to make a viewer of a customer owner: 409 owns_customers, nothing changed)."""
    user = _require_user(caller, user_id)
    if body.transfer_to is not None:
        handover.check_receiver(caller.workspace_id, user_id, body.transfer_to)
    if user.role == body.role:
        return _changed(user)  # nothing changes, nothing is audited
    if body.role == "viewer" and body.transfer_to is None:
        handover.refuse_viewer_owner(caller.workspace_id, user_id)
    if body.transfer_to is not None and user.active and user.role == "admin":
        workspaces.check_other_active_admin(caller.workspace_id, user_id)  # before any customer moves
    handed = (
        handover.hand_over(caller.workspace_id, user_id, body.transfer_to, caller.user_id, co_owned=False)
        if body.transfer_to is not None
        else None
    )
    before = user.role
    workspaces.update_user(user, role=body.role)  # 409 last_admin when it would leave no active admin
    audit.record_audit(
        caller.workspace_id,
        caller.user_id,
        "user.role_changed",
        f"user:{user_id}",
        {"role": before},
        {"role": body.role, **({"transfer_to": body.transfer_to} if handed else {})},
    )
    return _changed(user, handed)


def deactivate(caller: Caller, user_id: str, body: DeactivateIn | None = None) -> UserChangeOut:
    """Deactivate; `transfer_to` first takes over everything in the person's book (owned and co-owned
    customers, open tasks) — also for someone already deactivated, to hand over a book left behind."""
    user = _require_user(caller, user_id)
    transfer_to = body.transfer_to if body is not None else None
    if transfer_to is not None:
        handover.check_receiver(caller.workspace_id, user_id, transfer_to)
        if user.active and user.role == "admin":
            workspaces.check_other_active_admin(caller.workspace_id, user_id)  # before any customer moves
    handed = (
        handover.hand_over(caller.workspace_id, user_id, transfer_to, caller.user_id, co_owned=True)
        if transfer_to is not None
        else None
    )
    if not user.active:
        return _changed(user, handed)
    workspaces.update_user(user, active=False)  # 409 last_admin when it would leave no active admin
    _stop_sign_in_if_no_workspace_left(user)
    _audit_access(caller, user, "user.deactivated", {"transfer_to": handed.to} if handed else {})
    return _changed(user, handed)


def hand_over_book(caller: Caller, user_id: str, body: HandoverIn) -> HandoverOut:
    """Everything in an active or deactivated person's book to a colleague, their access unchanged (a
    CSM on leave, a territory that moves): the same hand-over as a deactivation's, audited on the user."""
    _require_user(caller, user_id)
    handover.check_receiver(caller.workspace_id, user_id, body.transfer_to)
    handed = handover.hand_over(caller.workspace_id, user_id, body.transfer_to, caller.user_id, co_owned=True)
    audit.record_audit(
        caller.workspace_id,
        caller.user_id,
        "user.book_handed_over",
        f"user:{user_id}",
        None,
        handed.model_dump(mode="json"),
    )
    return handed


def reactivate(caller: Caller, user_id: str) -> UserOut:
    """Give a deactivated user their access back, with the role they had (an admin counts as an active
    admin again). With Keepwell's own pool the person may sign in again. Reactivating an active user
    changes and records nothing."""
    user = _require_user(caller, user_id)
    if user.active:
        return user_out(user)
    workspaces.update_user(user, active=True)
    settings = get_settings()
    if settings.user_pool_id:
        identities.set_sign_in(settings.user_pool_id, user.email, enabled=True)
    _audit_access(caller, user, "user.reactivated")
    return user_out(user)


def _audit_access(caller: Caller, user: UserItem, action: str, also: dict[str, str] | None = None) -> None:
    """A change of `active` (the user item holds the new value), with the role it left unchanged, and
    `also` in the after (who took the book over)."""
    audit.record_audit(
        caller.workspace_id,
        caller.user_id,
        action,
        f"user:{user.user_id}",
        {"active": not user.active, "role": user.role},
        {"active": bool(user.active), "role": user.role, **(also or {})},
    )


def _stop_sign_in_if_no_workspace_left(user: UserItem) -> None:
    """Keepwell's pool: a person active in no workspace any more cannot sign in at all (their refresh
    tokens are revoked too). The authorizer already refuses them: this stops new sessions at the pool."""
    settings = get_settings()
    if not settings.user_pool_id:
        return
    others = workspaces.memberships_of_subject(user.subject) if user.subject else []
    if not any(r.active and r.workspace_id != user.workspace_id for r in others):
        identities.set_sign_in(settings.user_pool_id, user.email, enabled=False)
