"""Create a workspace and its first admin: the deployment's own first workspace (a CloudFormation custom
resource, functions/provisioning) and every later one (`python -m keepwell.admin create-workspace`).

Idempotent: the workspace is a conditional put and the admin is created only when the workspace has no
user with that email, so a retried or repeated run leaves one workspace and one admin. Nothing here
ever deletes.

With Keepwell's own user pool, the admin's identity is created there and Cognito emails them a
temporary password (the pool's invitation message names the console); their user record is tied to
that identity at once. With an external issuer, the admin gets an invitation instead: their first
sign-in with that (verified) email makes them the admin.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from keepwell import clock, ids
from keepwell.adapters import identity as identities
from keepwell.domain import api_keys
from keepwell.errors import InvalidInput
from keepwell.observability import logger
from keepwell.permissions import WORKSPACE_ADMIN
from keepwell.storage import audit, keys, workspaces
from keepwell.storage.workspaces import InvitationItem

WORKSPACE_ID = re.compile(r"^ws_[a-z0-9_]{1,40}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ADMIN_INVITATION_VALID_FOR = timedelta(days=30)  # the deployer may take a while to sign in the first time
PROVISIONER = "provisioning"  # the audit log's actor for what the deployment itself created


@dataclass(frozen=True)
class Provisioned:
    workspace_id: str
    admin_user_id: str | None  # None while an external issuer's admin has not signed in yet
    workspace_created: bool
    admin_created: bool


def workspace_id_for(name: str) -> str:
    """A readable id from the name (`Acme CS` → `ws_acme_cs`)."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40] or "workspace"
    return f"ws_{slug}"


def _check(workspace_id: str, name: str, admin_email: str, timezone: str) -> None:
    problems = []
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append({"field": "timezone", "issue": "not an IANA timezone"})
    if not WORKSPACE_ID.match(workspace_id):
        problems.append({"field": "workspace_id", "issue": "ws_ then up to 40 of a-z, 0-9, _"})
    if not name.strip() or len(name) > 120:
        problems.append({"field": "name", "issue": "1 to 120 characters"})
    if not EMAIL.match(admin_email):
        problems.append({"field": "admin_email", "issue": "not an email address"})
    if problems:
        raise InvalidInput("Cannot provision: " + ", ".join(p["field"] for p in problems), problems)


def provision_workspace(
    name: str,
    admin_email: str,
    *,
    workspace_id: str | None = None,
    admin_name: str | None = None,
    timezone: str = "UTC",
    user_pool_id: str = "",
) -> Provisioned:
    """The workspace and its first admin, once (see the module)."""
    workspace_id = workspace_id or workspace_id_for(name)
    email = admin_email.strip().lower()
    _check(workspace_id, name, email, timezone)
    try:
        workspaces.create_workspace(workspace_id, name.strip(), timezone=timezone)
        workspace_created = True
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        workspace_created = False  # a re-run: the workspace (and whatever it holds) stays as it is
    existing = next((u for u in workspaces.list_users(workspace_id) if u.email.lower() == email), None)
    if existing is not None:
        return Provisioned(workspace_id, existing.user_id, workspace_created, admin_created=False)
    display_name = admin_name or email.split("@")[0]
    if not user_pool_id:
        if any(i.email == email and i.accepted_at is None for i in workspaces.list_invitations(workspace_id)):
            return Provisioned(workspace_id, None, workspace_created, admin_created=False)
        _invite_admin(workspace_id, email, display_name)
        return Provisioned(workspace_id, None, workspace_created, admin_created=True)
    subject = _pool_identity(user_pool_id, email, display_name)
    user_id = "usr_" + hashlib.sha256(f"{workspace_id}/{email}".encode()).hexdigest()[:16]
    user = workspaces.new_user_item(workspace_id, user_id, email, display_name, WORKSPACE_ADMIN, subject=subject)
    workspaces.add_user(user)
    audit.record_audit(workspace_id, PROVISIONER, "user.provisioned", f"user:{user_id}", None, {"role": "admin"})
    logger.info("workspace provisioned", extra={"workspace_id": workspace_id, "admin_user_id": user_id})
    return Provisioned(workspace_id, user_id, workspace_created, admin_created=True)


def _pool_identity(user_pool_id: str, email: str, name: str) -> str:
    """The admin's `sub` in Keepwell's pool; a new identity gets Cognito's own invitation email (the
    temporary password and the console address, from the pool's invitation template)."""
    try:
        return identities.add_person(user_pool_id, email, name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "UsernameExistsException":
            raise
        return identities.subject_of(user_pool_id, email)


def _invite_admin(workspace_id: str, email: str, name: str) -> None:
    # Accepted by the admin's first sign-in with this (verified) email; the token itself is never shown.
    token = f"kwi.{workspace_id}.{secrets.token_urlsafe(32)}"
    now = clock.now()
    key = keys.invitation(workspace_id, api_keys.hash_key(token))
    workspaces.put_invitation(
        InvitationItem(
            key.pk,
            key.sk,
            entity="invitation",
            workspace_id=workspace_id,
            invitation_id=ids.new_id("inv"),
            email=email,
            name=name,
            role=WORKSPACE_ADMIN,
            invited_by=PROVISIONER,
            created_at=clock.iso(now),
            valid_until=clock.iso(now + ADMIN_INVITATION_VALID_FOR),
            gsi2pk=keys.invitee_index(email),
            gsi2sk=f"{workspace_id}#{clock.iso(now)}",
        )
    )
