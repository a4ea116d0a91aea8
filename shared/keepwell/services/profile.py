"""The caller's own profile, with the workspaces they may switch to."""

from __future__ import annotations

from keepwell.auth import Caller
from keepwell.errors import NotFound
from keepwell.schemas.users import MembershipOut, MeOut
from keepwell.storage import workspaces


def who_am_i(caller: Caller) -> MeOut:
    user = workspaces.get_user(caller.workspace_id, caller.user_id)
    workspace = workspaces.get_workspace(caller.workspace_id)
    if user is None or workspace is None:
        raise NotFound("User not found")
    memberships = []
    for membership in caller.memberships or ():
        named = workspace if membership.workspace_id == workspace.workspace_id else None
        named = named or workspaces.get_workspace(membership.workspace_id)
        if named is not None:
            memberships.append(
                MembershipOut(workspace_id=named.workspace_id, workspace_name=named.name, role=membership.role)
            )
    if not memberships:
        memberships = [
            MembershipOut(workspace_id=workspace.workspace_id, workspace_name=workspace.name, role=user.role)
        ]
    return MeOut(
        user_id=user.user_id,
        email=user.email,
        name=user.name,
        role=user.role,
        workspace_id=workspace.workspace_id,
        workspace_name=workspace.name,
        memberships=memberships,
    )
