"""Turn a bearer token into a Caller: the token names the user, the user record gives the role."""

from __future__ import annotations

from keepwell.auth import Caller, verify_bearer
from keepwell.errors import Unauthorized
from keepwell.settings import Settings
from keepwell.storage import workspaces


def authenticate(authorization: str | None, settings: Settings) -> Caller:
    identity = verify_bearer(authorization, settings)
    user = workspaces.get_user(identity.workspace_id, identity.user_id)
    if user is None or not user.active:
        raise Unauthorized("No active user for this token in its workspace")
    return Caller(workspace_id=identity.workspace_id, user_id=identity.user_id, role=user.role)
