"""The authorizer function: ID tokens of the template's user pool (on moto, RS256, verified through the
pool's JWKS) in; the person's workspaces and roles from Keepwell's user records out. Tokens of another
pool, expired ones, other audiences and deactivated people are refused (401 at the gateway)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import APIGatewayAuthorizerResponse

from infra.functions import FakeLambdaContext, load_handler
from keepwell import clock
from keepwell.auth import Caller
from keepwell.settings import reset_settings
from keepwell.storage import workspaces
from tests.conftest import ApiClient, PoolSignIn

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/local/GET/v1/customers"


def authorize(token_header: str) -> dict:
    event = {"type": "TOKEN", "authorizationToken": token_header, "methodArn": METHOD_ARN}
    return load_handler("AuthorizerFunction")(event, FakeLambdaContext("authorizer"))


def refused(token_header: str) -> bool:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(token_header)
    return True


def test_a_pool_token_allows_every_route_with_the_role_from_the_user_record(workspace, pool: PoolSignIn):
    token = pool.token(workspace, "csm-1")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["alg"] == "RS256" and claims["token_use"] == "id"
    assert "workspace_id" not in claims  # the workspace comes from Keepwell's data, not from a claim

    policy = authorize(f"Bearer {token}")
    assert policy["principalId"] == claims["sub"]
    context = policy["context"]
    assert (context["workspace_id"], context["user_id"], context["role"]) == (workspace, "csm-1", "csm")
    assert json.loads(context["memberships"]) == [[workspace, "csm-1", "csm"]]
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/local/*/*"]
    # The policy API Gateway reads is the one powertools' response class builds for these parts.
    expected = APIGatewayAuthorizerResponse(
        principal_id=claims["sub"],
        context=context,
        region="us-east-1",
        aws_account_id="123456789012",
        api_id="abc123",
        stage="local",
    )
    expected.allow_all_routes()
    assert policy == expected.asdict()


@pytest.mark.parametrize("header", ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt"])
def test_missing_or_malformed_tokens_are_unauthorized(workspace, pool, header):
    assert refused(header)


def test_a_token_of_another_user_pool_is_unauthorized(workspace, pool: PoolSignIn):
    # Same moto signing keys, another issuer: only the `iss` check tells them apart — and it does.
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    other_pool = cognito.create_user_pool(PoolName="someone-elses", UsernameAttributes=["email"])["UserPool"]["Id"]
    other_client = cognito.create_user_pool_client(UserPoolId=other_pool, ClientName="x")["UserPoolClient"]["ClientId"]
    from infra.identity import create_person, sign_in

    create_person(cognito, other_pool, "csm-1@acme.test", "Same email, other pool")
    pool.enrol(workspace, "csm-1")
    assert refused(f"Bearer {sign_in(cognito, other_client, 'csm-1@acme.test')}")


def test_an_expired_token_is_unauthorized(workspace, pool: PoolSignIn):
    token = pool.token(workspace, "admin-1")
    expires = datetime.fromtimestamp(jwt.decode(token, options={"verify_signature": False})["exp"], UTC)
    with clock.frozen(expires - timedelta(seconds=1)):
        assert authorize(f"Bearer {token}")["context"]["role"] == "admin"
    with clock.frozen(expires + timedelta(seconds=1)):
        assert refused(f"Bearer {token}")


def test_a_token_for_another_audience_is_unauthorized(workspace, pool: PoolSignIn):
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    another_client = cognito.create_user_pool_client(
        UserPoolId=pool.pool_id, ClientName="another-app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    from infra.identity import sign_in

    pool.enrol(workspace, "admin-1")
    assert refused(f"Bearer {sign_in(cognito, another_client, 'admin-1@acme.test')}")


def test_a_deactivated_user_is_unauthorized_and_can_no_longer_sign_in(workspace, pool: PoolSignIn, admin_api):
    token = pool.token(workspace, "viewer-1")
    assert authorize(f"Bearer {token}")["context"]["role"] == "viewer"
    assert admin_api.post("/v1/users/viewer-1/deactivate").status == 200
    assert refused(f"Bearer {token}")  # the token is still unexpired: Keepwell's record refuses it
    with pytest.raises(pool.cognito.exceptions.NotAuthorizedException, match="disabled"):
        pool.token(workspace, "viewer-1")  # and the pool signs them in no more


def test_a_reactivated_user_signs_in_again_with_the_role_they_had(workspace, pool: PoolSignIn, admin_api):
    pool.enrol(workspace, "viewer-1")
    assert admin_api.post("/v1/users/viewer-1/deactivate").status == 200
    with pytest.raises(pool.cognito.exceptions.NotAuthorizedException, match="disabled"):
        pool.token(workspace, "viewer-1")
    answer = admin_api.post("/v1/users/viewer-1/reactivate")
    assert answer.status == 200 and (answer.body["active"], answer.body["role"]) == (True, "viewer")
    assert authorize(f"Bearer {pool.token(workspace, 'viewer-1')}")["context"]["role"] == "viewer"


def test_a_person_unknown_to_keepwell_is_unauthorized(workspace, pool: PoolSignIn):
    from infra.identity import create_person, sign_in

    create_person(pool.cognito, pool.pool_id, "stranger@elsewhere.test", "Stranger")
    assert refused(f"Bearer {sign_in(pool.cognito, pool.client_id, 'stranger@elsewhere.test')}")


def test_without_issuer_or_audience_every_token_is_refused_with_a_clear_log_line(
    workspace, pool: PoolSignIn, monkeypatch, caplog
):
    token = pool.token(workspace, "admin-1")
    monkeypatch.setenv("JWT_AUDIENCE", "")
    reset_settings()
    with caplog.at_level(logging.ERROR):
        assert refused(f"Bearer {token}")
    assert "JWT_AUDIENCE empty; every token is refused" in caplog.text
    monkeypatch.setenv("JWT_ISSUER", "")
    reset_settings()
    assert refused(f"Bearer {token}")


def test_one_person_in_two_workspaces_picks_one_per_request(workspace, other_workspace, pool: PoolSignIn):
    subject = pool.enrol(workspace, "director-1")
    # The same person joins the other workspace as a viewer (their record there carries the same sub).
    record = workspaces.put_user(other_workspace, "dana-9", "director-1@acme.test", "Dana", "viewer")
    workspaces.link_subject(record, subject)

    context = authorize(pool.bearer(workspace, "director-1"))["context"]
    assert sorted(json.loads(context["memberships"])) == sorted(
        [[workspace, "director-1", "director"], [other_workspace, "dana-9", "viewer"]]
    )
    as_gateway_would = Caller.from_authorizer_context(context)
    api = ApiClient(as_gateway_would)
    me = api.get("/v1/me").body
    assert (me["workspace_id"], me["role"]) == (workspace, "director")
    assert sorted((m["workspace_id"], m["workspace_name"], m["role"]) for m in me["memberships"]) == [
        (workspace, "Acme CS", "director"),
        (other_workspace, "Globex CS", "viewer"),
    ]
    switched = api.request("GET", "/v1/me", headers={"X-Keepwell-Workspace": other_workspace}).body
    assert (switched["workspace_id"], switched["user_id"], switched["role"]) == (other_workspace, "dana-9", "viewer")
    # A workspace they do not belong to is refused, whether it exists or not.
    for elsewhere in ("ws_nobody", "ws_acme_x"):
        answer = api.request("GET", "/v1/customers", headers={"X-Keepwell-Workspace": elsewhere})
        assert (answer.status, answer.error_code) == (403, "forbidden")
        assert answer.body["error"]["details"] == [{"field": "X-Keepwell-Workspace", "issue": "not a member"}]


def test_me_answers_for_the_caller(admin_api, workspace):
    response = admin_api.get("/v1/me")
    assert response.status == 200
    assert response.body["workspace_id"] == workspace
    assert response.body["role"] == "admin"
    assert response.body["memberships"] == [{"workspace_id": workspace, "workspace_name": "Acme CS", "role": "admin"}]
