"""The deployment's first workspace (the FirstWorkspace custom resource) and later ones (the operator
command), on moto: exactly one workspace and one admin however often they run, nothing deleted, and the
admin signs in through the pool and is the workspace's admin."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from infra.functions import FakeLambdaContext, load_handler
from infra.identity import sign_in
from keepwell import admin
from keepwell.services.authentication import authenticate
from keepwell.services.provisioning import provision_workspace
from keepwell.settings import get_settings
from keepwell.storage import workspaces
from tests.conftest import PoolSignIn


def cfn_event(kind: str, physical_id: str | None = None) -> dict[str, Any]:
    event = {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/placeholder",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/keepwell/1",
        "RequestId": f"req-{kind}",
        "LogicalResourceId": "FirstWorkspace",
        "ResourceType": "Custom::FirstWorkspace",
        "ResourceProperties": {"WorkspaceId": "ws_prod", "WorkspaceName": "My team", "AdminEmail": "Ops@Example.com"},
    }
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """What the custom resource tells CloudFormation (kept instead of PUT to the pre-signed URL)."""
    kept: list[tuple[str, str, dict[str, Any]]] = []
    handler = load_handler("ProvisioningFunction")
    module = sys.modules[handler.__module__]
    monkeypatch.setattr(
        module, "respond", lambda e, status, physical, data, reason="": kept.append((status, physical, data))
    )
    return kept


def invoke(event: dict[str, Any]) -> None:
    load_handler("ProvisioningFunction")(event, FakeLambdaContext("ProvisioningFunction"))


def test_create_twice_update_and_delete_leave_one_workspace_with_one_admin(pool: PoolSignIn, answers) -> None:
    invoke(cfn_event("Create"))
    invoke(cfn_event("Create"))  # CloudFormation retries a Create whose answer it did not get
    invoke(cfn_event("Update", "ws_prod"))
    invoke(cfn_event("Delete", "ws_prod"))
    assert [(s, p) for s, p, _ in answers] == [("SUCCESS", "ws_prod")] * 4
    workspace = workspaces.get_workspace("ws_prod")
    assert workspace is not None and workspace.name == "My team"
    (only,) = workspaces.list_users("ws_prod")
    assert (only.email, only.role, only.active) == ("ops@example.com", "admin", True)
    assert answers[0][2] == {"WorkspaceId": "ws_prod", "AdminUserId": only.user_id}
    assert workspaces.admin_count("ws_prod") == 1
    # Cognito invited the admin (its own email, the temporary password); they sign in as the admin.
    person = pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username="ops@example.com")
    assert person["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    pool.cognito.admin_set_user_password(
        UserPoolId=pool.pool_id, Username="ops@example.com", Password="Ops-own-pass-12", Permanent=True
    )
    caller = authenticate(
        f"Bearer {sign_in(pool.cognito, pool.client_id, 'ops@example.com', 'Ops-own-pass-12')}", get_settings()
    )
    assert (caller.workspace_id, caller.user_id, caller.role) == ("ws_prod", only.user_id, "admin")


def test_a_failed_provisioning_tells_cloudformation_why(pool: PoolSignIn, answers) -> None:
    event = cfn_event("Create")
    event["ResourceProperties"]["AdminEmail"] = "not-an-email"
    invoke(event)
    assert answers == [("FAILED", "not-provisioned", {})]
    assert workspaces.get_workspace("ws_prod") is None


def test_with_an_external_issuer_the_admin_is_invited_and_becomes_admin_at_first_sign_in(pool: PoolSignIn) -> None:
    first = provision_workspace("Globex Success", "lead@globex.test", user_pool_id="")
    again = provision_workspace("Globex Success", "lead@globex.test", user_pool_id="")
    assert (first.workspace_id, first.admin_user_id, first.admin_created) == ("ws_globex_success", None, True)
    assert (again.workspace_created, again.admin_created) == (False, False)
    assert len(workspaces.list_invitations("ws_globex_success")) == 1
    # The issuer (here the pool, standing in for any OIDC provider) vouches for the email.
    from infra.identity import create_person

    create_person(pool.cognito, pool.pool_id, "lead@globex.test", "Lead")
    caller = authenticate(f"Bearer {sign_in(pool.cognito, pool.client_id, 'lead@globex.test')}", get_settings())
    assert (caller.workspace_id, caller.role) == ("ws_globex_success", "admin")
    assert [u.email for u in workspaces.list_users("ws_globex_success")] == ["lead@globex.test"]


def test_the_operator_command_creates_a_workspace_once(pool: PoolSignIn, capsys: pytest.CaptureFixture[str]) -> None:
    table = get_settings().table_name
    argv = [
        "create-workspace",
        "--name",
        "Contoso CS",
        "--admin-email",
        "ops@contoso.test",
        "--timezone",
        "Europe/Madrid",
        "--table-name",
        table,
        "--user-pool-id",
        pool.pool_id,
    ]
    assert admin.main(argv) == 0
    created = json.loads(capsys.readouterr().out)
    assert admin.main(argv) == 0
    repeated = json.loads(capsys.readouterr().out)
    assert (created["workspace_id"], created["workspace_created"], created["admin_created"]) == (
        "ws_contoso_cs",
        True,
        True,
    )
    assert (repeated["workspace_created"], repeated["admin_created"]) == (False, False)
    assert repeated["admin_user_id"] == created["admin_user_id"]
    workspace = workspaces.get_workspace("ws_contoso_cs")
    assert workspace is not None and workspace.timezone == "Europe/Madrid"
    assert [(u.email, u.role) for u in workspaces.list_users("ws_contoso_cs")] == [("ops@contoso.test", "admin")]


def test_the_operator_command_refuses_bad_input_and_creates_nothing(pool: PoolSignIn, capsys) -> None:
    table = get_settings().table_name
    code = admin.main(
        ["create-workspace", "--name", "X", "--admin-email", "nope", "--timezone", "Mars/Base", "--table-name", table]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "admin_email" in error and "timezone" in error
    assert workspaces.get_workspace("ws_x") is None
