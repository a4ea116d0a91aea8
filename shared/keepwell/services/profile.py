"""The caller's own profile."""

from __future__ import annotations

from keepwell.auth import Caller
from keepwell.errors import NotFound
from keepwell.schemas.users import MeOut
from keepwell.storage import workspaces


def who_am_i(caller: Caller) -> MeOut:
    user = workspaces.get_user(caller.workspace_id, caller.user_id)
    workspace = workspaces.get_workspace(caller.workspace_id)
    if user is None or workspace is None:
        raise NotFound("User not found")
    return MeOut(
        user_id=user.user_id,
        email=user.email,
        name=user.name,
        role=user.role,
        workspace_id=workspace.workspace_id,
        workspace_name=workspace.name,
    )
