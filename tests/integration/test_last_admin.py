"""A workspace always keeps one active admin, even under concurrency: the workspace item counts its
active admins and every demotion or deactivation changes the count in the user's own transaction,
conditioned on another admin remaining. Through the real API handler on moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from keepwell.auth import Caller
from keepwell.storage import keys, workspaces
from keepwell.storage.workspaces import CountedWorkspaceItem
from tests.conftest import ApiClient, ApiResponse, PoolSignIn


def admin(workspace: str, user_id: str) -> ApiClient:
    return ApiClient(Caller(workspace, user_id, "admin"))


def demote(api: ApiClient, user_id: str) -> ApiResponse:
    return api.request("PUT", f"/v1/users/{user_id}/role", body={"role": "csm"})


def deactivate(api: ApiClient, user_id: str) -> ApiResponse:
    return api.post(f"/v1/users/{user_id}/deactivate")


def active_admins(workspace: str) -> list[str]:
    return sorted(u.user_id for u in workspaces.list_users(workspace) if u.role == "admin" and u.active)


@pytest.fixture
def two_admins(workspace: str) -> str:
    workspaces.put_user(workspace, "admin-2", "admin-2@acme.test", "Admin 2", "admin")
    return workspace


def after_the_first_read(monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], Any]) -> list[Any]:
    """Run `meanwhile` to completion once the next request has read all it reads (the user, and with
    the old list-then-update guard the user list) and is about to write: the interleaving in which
    two checks-then-writes could both pass."""
    original = workspaces.update_user
    results: list[Any] = []

    def let_the_other_commit_first(item: Any, **changes: Any) -> Any:
        monkeypatch.setattr(workspaces, "update_user", original)  # once
        results.append(meanwhile())
        return original(item, **changes)

    monkeypatch.setattr(workspaces, "update_user", let_the_other_commit_first)
    return results


def test_the_count_follows_users_created_promoted_demoted_and_deactivated(admin_api: ApiClient, workspace: str) -> None:
    assert workspaces.admin_count(workspace) == 1  # admin-1 of the fixture
    assert admin_api.request("PUT", "/v1/users/director-1/role", body={"role": "admin"}).status == 200
    assert workspaces.admin_count(workspace) == 2
    assert deactivate(admin_api, "director-1").status == 200
    assert workspaces.admin_count(workspace) == 1
    assert demote(admin_api, "admin-1").error_code == "last_admin"
    assert workspaces.admin_count(workspace) == 1 and active_admins(workspace) == ["admin-1"]


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    two_admins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = two_admins
    # admin-1 demotes admin-2; right after admin-1's request read admin-2, admin-2 demotes admin-1.
    meanwhile = after_the_first_read(monkeypatch, lambda: demote(admin(workspace, "admin-2"), "admin-1"))

    first = demote(admin(workspace, "admin-1"), "admin-2")

    (second,) = meanwhile
    assert (second.status, first.status, first.error_code) == (200, 409, "last_admin")
    assert active_admins(workspace) == ["admin-2"]
    assert workspaces.admin_count(workspace) == 1


def test_a_deactivation_racing_a_demotion_leaves_one_admin(two_admins: str, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = two_admins
    meanwhile = after_the_first_read(monkeypatch, lambda: deactivate(admin(workspace, "admin-2"), "admin-1"))

    first = demote(admin(workspace, "admin-1"), "admin-2")

    (second,) = meanwhile
    assert (second.status, first.status, first.error_code) == (200, 409, "last_admin")
    assert active_admins(workspace) == ["admin-2"]
    user = workspaces.get_user(workspace, "admin-1")
    assert user is not None and (user.role, user.active) == ("admin", False)


def test_a_workspace_counted_before_the_count_existed_is_counted_on_first_change(two_admins: str) -> None:
    workspace = two_admins
    key = keys.workspace(workspace)
    CountedWorkspaceItem(key.pk, key.sk).update(actions=[CountedWorkspaceItem.active_admins.remove()])
    assert workspaces.admin_count(workspace) is None

    assert demote(admin(workspace, "admin-1"), "admin-2").status == 200
    assert workspaces.admin_count(workspace) == 1
    assert demote(admin(workspace, "admin-1"), "admin-1").error_code == "last_admin"
    assert active_admins(workspace) == ["admin-1"]


def test_an_invitee_joining_as_admin_is_counted(admin_api: ApiClient, workspace: str, pool: PoolSignIn) -> None:
    invited = admin_api.post("/v1/invitations", {"email": "ada@acme.test", "name": "Ada", "role": "admin"})
    assert invited.status == 201, invited.body
    from infra.identity import sign_in

    pool.cognito.admin_set_user_password(
        UserPoolId=pool.pool_id, Username="ada@acme.test", Password="Adas-own-pass-1", Permanent=True
    )
    token = sign_in(pool.cognito, pool.client_id, "ada@acme.test", "Adas-own-pass-1")
    joined = ApiClient(None, {"Authorization": f"Bearer {token}"}).post(
        "/v1/invitations/accept", {"token": invited.body["token"]}
    )
    assert joined.status == 201, joined.body
    ada = joined.body["user_id"]

    assert workspaces.admin_count(workspace) == 2
    assert demote(admin_api, "admin-1").status == 200  # Ada remains
    assert demote(admin(workspace, ada), ada).error_code == "last_admin"


def test_a_user_changed_meanwhile_is_a_version_conflict_not_a_last_admin(
    two_admins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = two_admins
    meanwhile = after_the_first_read(
        monkeypatch,
        lambda: admin(workspace, "admin-1").request("PUT", "/v1/users/admin-2/role", body={"role": "viewer"}),
    )

    first = demote(admin(workspace, "admin-1"), "admin-2")

    assert meanwhile[0].status == 200
    assert (first.status, first.error_code) == (409, "version_conflict")
    user = workspaces.get_user(workspace, "admin-2")
    assert user is not None and user.role == "viewer"
    assert workspaces.admin_count(workspace) == 1
