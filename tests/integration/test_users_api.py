"""Users and invitations through the real API handler on moto: admins invite (a one-time token shown
once, stored hashed), the invitee accepts with their own bearer token, admins change roles and
deactivate (never the last admin), every change is audited, and other roles cannot."""

from __future__ import annotations

from typing import Any

import pytest

from infra.identity import create_person, sign_in
from keepwell.auth import Caller
from keepwell.domain import api_keys
from keepwell.storage import audit, keys, workspaces
from tests.conftest import ApiClient, PoolSignIn

INVITE = {"email": "Nora@Acme.test", "name": "Nora", "role": "csm"}


@pytest.fixture(autouse=True)
def _pool(pool: PoolSignIn) -> PoolSignIn:
    return pool


def person_token(pool: PoolSignIn, email: str) -> str:
    """An ID token of someone Keepwell does not know yet (created straight in the pool)."""
    try:
        create_person(pool.cognito, pool.pool_id, email, email.split("@")[0])
    except pool.cognito.exceptions.UsernameExistsException:
        pool.cognito.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=email, Password="Keepwell-demo-2026", Permanent=True
        )
    return sign_in(pool.cognito, pool.client_id, email)


def accept(pool: PoolSignIn, email: str, token: str) -> Any:
    bearer = {"Authorization": f"Bearer {person_token(pool, email)}"}
    return ApiClient(None, bearer).post("/v1/invitations/accept", {"token": token})


def test_an_invited_user_accepts_once_and_gets_the_invited_role(
    admin_api: ApiClient, workspace: str, pool: PoolSignIn
) -> None:
    invited = admin_api.post("/v1/invitations", INVITE)
    assert invited.status == 201, invited.body
    token = invited.body["token"]
    assert invited.body["email"] == "nora@acme.test" and invited.body["role"] == "csm"
    assert invited.body["valid_until"] == "2026-11-27T09:30:00.000Z"  # 7 days
    # Only the hash is stored, and listings never show the token.
    stored = workspaces.get_invitation(workspace, api_keys.hash_key(token))
    assert stored is not None and token not in str(stored.attribute_values)
    assert "token" not in admin_api.get("/v1/invitations").body["items"][0]

    assert invited.body["console_link"].startswith("http://localhost:3000/invitations/accept?token=kwi.ws_acme.")

    joined = accept(pool, "nora@acme.test", token)
    assert joined.status == 201, joined.body
    nora = joined.body["user_id"]
    assert joined.body == {
        "user_id": nora,
        "email": "nora@acme.test",
        "name": "Nora",
        "role": "csm",
        "active": True,
        "created_at": "2026-11-20T09:30:00.000Z",
    }
    assert ApiClient(Caller(workspace, nora, "csm")).get("/v1/me").body["role"] == "csm"
    again = accept(pool, "nora@acme.test", token)
    assert (again.status, again.error_code) == (409, "conflict")
    assert [u.email for u in workspaces.list_users(workspace)].count("nora@acme.test") == 1
    listed = admin_api.get("/v1/invitations").body["items"]
    assert [(i["accepted_by"], i["accepted_at"]) for i in listed] == [(nora, "2026-11-20T09:30:00.000Z")]


def test_accepting_needs_a_bearer_token_of_the_invited_email_and_the_exact_invitation(
    admin_api: ApiClient, workspace: str, pool: PoolSignIn
) -> None:
    token = admin_api.post("/v1/invitations", INVITE).body["token"]
    before = {u.user_id for u in workspaces.list_users(workspace)}
    assert ApiClient(None).post("/v1/invitations/accept", {"token": token}).status == 401
    assert accept(pool, "nora@acme.test", token[:-4] + "AAAA").status == 404
    # Someone else with the link: their issuer vouches for another email.
    wrong = accept(pool, "mallory@evil.test", token)
    assert (wrong.status, wrong.error_code) == (403, "forbidden")
    assert {u.user_id for u in workspaces.list_users(workspace)} == before


def test_an_invitation_creates_the_identity_in_the_pool_and_the_first_sign_in_accepts_it(
    admin_api: ApiClient, workspace: str, pool: PoolSignIn
) -> None:
    from keepwell.services.authentication import authenticate
    from keepwell.settings import get_settings

    invited = admin_api.post("/v1/invitations", {**INVITE, "role": "director"})
    assert invited.status == 201 and invited.body["email_sent"] is False  # no InvitationSender configured
    created = pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username="nora@acme.test")
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    # Nora signs in (choosing her own password): her verified email finds the invitation.
    pool.cognito.admin_set_user_password(
        UserPoolId=pool.pool_id, Username="nora@acme.test", Password="Noras-own-pass-1", Permanent=True
    )
    token = sign_in(pool.cognito, pool.client_id, "nora@acme.test", "Noras-own-pass-1")
    caller = authenticate(f"Bearer {token}", get_settings())
    assert (caller.workspace_id, caller.role) == (workspace, "director")
    assert admin_api.get("/v1/invitations").body["items"][0]["accepted_by"] == caller.user_id
    # Signing in again finds the same user, not a second one.
    assert authenticate(f"Bearer {token}", get_settings()).user_id == caller.user_id
    assert [u.email for u in workspaces.list_users(workspace)].count("nora@acme.test") == 1


def test_an_invitation_is_emailed_with_the_console_link_and_temporary_password(
    admin_api: ApiClient, workspace: str, pool: PoolSignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    from keepwell.settings import reset_settings

    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress="team@acme.test")
    monkeypatch.setenv("INVITATION_SENDER", "team@acme.test")
    reset_settings()
    invited = admin_api.post("/v1/invitations", INVITE)
    assert invited.status == 201 and invited.body["email_sent"] is True
    (message,) = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert message.destinations["ToAddresses"] == ["nora@acme.test"]
    assert invited.body["console_link"] in message.body
    assert "temporary password" in message.body and "as csm" in message.body


def test_an_email_already_in_the_workspace_is_not_invited_again(admin_api: ApiClient) -> None:
    response = admin_api.post("/v1/invitations", {**INVITE, "email": "csm-1@acme.test"})
    assert (response.status, response.error_code) == (409, "conflict")
    assert admin_api.post("/v1/invitations", {**INVITE, "role": "owner"}).status == 400


def test_a_role_change_is_audited_with_before_and_after(admin_api: ApiClient, workspace: str) -> None:
    response = admin_api.request("PUT", "/v1/users/csm-2/role", body={"role": "director"})
    assert response.status == 200 and response.body["role"] == "director"
    user = workspaces.get_user(workspace, "csm-2")
    assert user is not None and user.role == "director"
    entries = audit.list_by_target(workspace, "user:csm-2")
    assert [(e.action, e.actor_id, e.before, e.after) for e in entries] == [
        ("user.role_changed", "admin-1", {"role": "csm"}, {"role": "director"})
    ]
    # The same role again changes nothing and records nothing.
    assert admin_api.request("PUT", "/v1/users/csm-2/role", body={"role": "director"}).status == 200
    assert len(audit.list_by_target(workspace, "user:csm-2")) == 1
    assert admin_api.request("PUT", "/v1/users/ghost/role", body={"role": "csm"}).status == 404


def test_a_deactivated_user_can_no_longer_sign_in_and_it_is_audited(
    admin_api: ApiClient, workspace: str, pool: PoolSignIn
) -> None:
    from keepwell.errors import Unauthorized
    from keepwell.services.authentication import authenticate
    from keepwell.settings import get_settings

    bearer = pool.bearer(workspace, "viewer-1")
    response = admin_api.post("/v1/users/viewer-1/deactivate")
    assert response.status == 200 and response.body["active"] is False
    with pytest.raises(Unauthorized):
        authenticate(bearer, get_settings())
    entries = audit.list_by_target(workspace, "user:viewer-1")
    assert [(e.action, e.before["active"], e.after["active"]) for e in entries] == [("user.deactivated", True, False)]
    listed = {u["user_id"]: u["active"] for u in admin_api.get("/v1/users").body["items"]}
    assert listed["viewer-1"] is False and listed["admin-1"] is True


def test_a_deactivated_user_is_reactivated_with_their_role_audited_once(admin_api: ApiClient, workspace: str) -> None:
    assert admin_api.request("PUT", "/v1/users/director-1/role", body={"role": "admin"}).status == 200
    assert admin_api.post("/v1/users/director-1/deactivate").status == 200
    # The only active admin again: it cannot be taken away until the reactivated one counts.
    assert admin_api.post("/v1/users/admin-1/deactivate").error_code == "last_admin"
    first, again = admin_api.post("/v1/users/director-1/reactivate"), admin_api.post("/v1/users/director-1/reactivate")
    assert [(r.status, r.body["active"], r.body["role"]) for r in (first, again)] == [(200, True, "admin")] * 2
    entries = [e for e in audit.list_by_target(workspace, "user:director-1") if e.action == "user.reactivated"]
    assert [(e.before["active"], e.after["active"]) for e in entries] == [(False, True)]  # the repeat changed nothing
    assert admin_api.post("/v1/users/admin-1/deactivate").status == 200  # two active admins again
    assert admin_api.post("/v1/users/nobody-9/reactivate").status == 404


def test_the_last_admin_cannot_be_demoted_or_deactivated(admin_api: ApiClient, workspace: str) -> None:
    demote = admin_api.request("PUT", "/v1/users/admin-1/role", body={"role": "csm"})
    deactivate = admin_api.post("/v1/users/admin-1/deactivate")
    assert [(r.status, r.error_code) for r in (demote, deactivate)] == [(409, "last_admin"), (409, "last_admin")]
    user = workspaces.get_user(workspace, "admin-1")
    assert user is not None and (user.role, user.active) == ("admin", True)
    assert audit.list_by_target(workspace, "user:admin-1") == []
    # With a second admin, the first may step down.
    assert admin_api.request("PUT", "/v1/users/director-1/role", body={"role": "admin"}).status == 200
    assert admin_api.request("PUT", "/v1/users/admin-1/role", body={"role": "csm"}).status == 200


@pytest.mark.parametrize(("user_id", "role"), [("director-1", "director"), ("csm-1", "csm"), ("viewer-1", "viewer")])
def test_only_admins_manage_users_and_directors_may_read_them(user_id: str, role: str, workspace: str) -> None:
    api = ApiClient(Caller(workspace, user_id, role))
    writes = [
        api.post("/v1/invitations", INVITE),
        api.request("PUT", "/v1/users/csm-2/role", body={"role": "admin"}),
        api.post("/v1/users/csm-2/deactivate"),
        api.post("/v1/users/csm-2/reactivate"),
    ]
    assert [w.status for w in writes] == [403, 403, 403, 403]
    user = workspaces.get_user(workspace, "csm-2")
    assert user is not None and (user.role, user.active) == ("csm", True)
    assert workspaces.list_invitations(workspace) == []
    reads = [api.get("/v1/users").status, api.get("/v1/invitations").status]
    assert reads == ([200, 200] if role == "director" else [403, 403])


def test_invitation_tokens_are_kept_under_their_hash_in_the_workspace_partition(admin_api: ApiClient) -> None:
    token = admin_api.post("/v1/invitations", INVITE).body["token"]
    key = keys.invitation("ws_acme", api_keys.hash_key(token))
    assert key.pk == "WS#ws_acme" and key.sk.startswith(keys.INVITATION_PREFIX)
    assert token.startswith("kwi.ws_acme.")


def test_an_address_the_user_pool_refuses_is_a_400_naming_the_email_and_nothing_is_written(
    admin_api: ApiClient, workspace: str
) -> None:
    answer = admin_api.post("/v1/invitations", {**INVITE, "email": "0@0.0"})
    assert (answer.status, answer.error_code) == (400, "validation_error")
    assert [d["field"] for d in answer.body["error"]["details"]] == ["email"]
    assert workspaces.list_invitations(workspace) == []
    assert audit.list_by_target(workspace, "invitation:") == []


@pytest.mark.parametrize(("user_id", "role"), [("viewer-1", "viewer"), ("csm-1", "csm"), ("director-1", "director")])
def test_every_role_reads_the_workspaces_people_by_name_and_nothing_more(
    user_id: str, role: str, workspace: str, other_workspace: str, admin_api: ApiClient
) -> None:
    """The console names owners and authors with `GET /v1/people`: names of this workspace's members,
    deactivated ones too, never an email, a role or another workspace's member."""
    assert admin_api.post("/v1/users/csm-2/deactivate").status == 200

    answer = ApiClient(Caller(workspace, user_id, role)).get("/v1/people")

    assert answer.status == 200
    people = {p["user_id"]: p for p in answer.body["items"]}
    assert set(people) == {"admin-1", "director-1", "csm-1", "csm-2", "viewer-1"}
    assert people["csm-1"] == {"user_id": "csm-1", "name": "Csm-1", "active": True}
    assert people["csm-2"]["active"] is False
    assert "admin-9" not in people and "Globex Admin" not in str(answer.body)
    assert all(set(p) == {"user_id", "name", "active"} for p in answer.body["items"])


def test_a_query_parameter_a_route_does_not_take_is_refused_not_ignored(admin_api: ApiClient) -> None:
    """`GET /v1/people?role=admin` answered every member with a 200, as if it had filtered by role; a route
    without a query schema now refuses what it would ignore, as one with a schema refuses an unknown name."""
    answer = admin_api.get("/v1/people", role="admin", active="true")
    assert (answer.status, answer.body) == (
        400,
        {
            "error": {
                "code": "validation_error",
                "message": "Invalid query: check active, role",
                "details": [
                    {"field": "active", "issue": "this route takes no query parameters"},
                    {"field": "role", "issue": "this route takes no query parameters"},
                ],
            }
        },
    )
    assert admin_api.get("/v1/people").status == 200
    assert admin_api.get("/v1/customers", foo="1").body["error"]["message"] == "Invalid query: check foo"  # as before


def test_a_write_sent_query_parameters_is_refused_before_it_writes(admin_api: ApiClient, workspace: str) -> None:
    """`POST /v1/customers?dry_run=true` created the customer: a write's input is its body, and a query
    it would ignore (here one that sounds like it changes what happens) is refused, nothing written."""
    from tests.rbac_routes import table_items

    before = table_items()
    created = admin_api.post("/v1/customers", {"name": "Initech"}, query={"dry_run": "true"})
    assert (created.status, created.body["error"]["message"]) == (400, "Invalid query: check dry_run")
    assert created.body["error"]["details"] == [{"field": "dry_run", "issue": "this route takes no query parameters"}]
    left = admin_api.post("/v1/users/csm-2/deactivate", query={"transfer_to": "csm-1"})
    assert (left.status, left.body["error"]["details"][0]["field"]) == (400, "transfer_to")
    assert table_items() == before
    assert admin_api.post("/v1/customers", {"name": "Initech"}).status == 201


def test_every_write_that_reads_its_query_is_one_the_contract_gives_a_query() -> None:
    """`reads_query` on a route is what the OpenAPI document promises: a write with a query schema reads it."""
    from infra.functions import chalice_app
    from keepwell import api_contract
    from keepwell.http import READS_QUERY_ATTRIBUTE

    with_query = {op.key for op in api_contract.OPERATIONS if op.query is not None and op.method != "GET"}
    reading = {
        (method, path)
        for path, entries in chalice_app("ApiFunction").routes.items()
        for method, entry in entries.items()
        if method != "GET" and getattr(entry.view_function, READS_QUERY_ATTRIBUTE, False)
    }
    assert reading == with_query == {("POST", "/v1/playbooks/{playbook_id}/dry-run")}
