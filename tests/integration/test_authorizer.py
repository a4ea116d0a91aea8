"""The authorizer function: bearer tokens in, workspace + role (from the user record) out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.functions import FakeLambdaContext, load_handler
from keepwell.auth import issue_local_token
from keepwell.settings import get_settings

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/local/GET/v1/customers"


def authorize(token_header: str) -> dict:
    event = {"type": "TOKEN", "authorizationToken": token_header, "methodArn": METHOD_ARN}
    return load_handler("AuthorizerFunction")(event, FakeLambdaContext("authorizer"))


def token_for(workspace_id: str, user_id: str, **kwargs) -> str:
    return "Bearer " + issue_local_token(get_settings().local_jwt_secret, workspace_id, user_id, **kwargs)


def test_valid_token_allows_every_route_and_carries_the_role_from_the_user_record(workspace):
    policy = authorize(token_for(workspace, "csm-1"))
    assert policy["principalId"] == "csm-1"
    assert policy["context"] == {"workspace_id": workspace, "user_id": "csm-1", "role": "csm"}
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/local/*/*"]


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt"],
)
def test_missing_or_malformed_tokens_are_unauthorized(workspace, header):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(header)


def test_token_signed_with_another_key_is_unauthorized(workspace):
    forged = "Bearer " + issue_local_token("some-other-secret-0123456789abcdef", workspace, "admin-1")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(forged)


def test_expired_token_is_unauthorized(workspace):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(token_for(workspace, "admin-1", valid_for=timedelta(seconds=-1)))


def test_token_for_a_user_absent_from_the_named_workspace_is_unauthorized(workspace, other_workspace):
    # admin-9 exists only in the other workspace: naming ours in the token must not let them in.
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(token_for(workspace, "admin-9"))


def test_me_answers_for_the_caller(admin_api, workspace):
    response = admin_api.get("/v1/me")
    assert response.status == 200
    assert response.body["workspace_id"] == workspace
    assert response.body["role"] == "admin"
