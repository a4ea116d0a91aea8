"""Sign-in for the local stack and the tests: the template's Cognito user pool on moto, the demo people
in it, and what the web console needs to sign in (`console_auth_config`).

Locally the console posts Cognito's own API calls (AWS JSON 1.1, `X-Amz-Target:
AWSCognitoIdentityProviderService.InitiateAuth`, …) to the gateway's `/local/cognito-idp`, which
forwards them to moto (infra/gateway.py); the ID tokens it gets back are RS256, signed with the keys
moto serves as the pool's JWKS, and verified by the authorizer exactly as deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COGNITO_PROXY_PATH = "/local/cognito-idp"
# What a browser may ask the local pool through the gateway: signing in and out, never administration.
BROWSER_TARGETS = frozenset(
    {
        "InitiateAuth",
        "RespondToAuthChallenge",
        "GetUser",
        "ChangePassword",
        "GlobalSignOut",
        "RevokeToken",
        "ForgotPassword",
        "ConfirmForgotPassword",
    }
)
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
# Every demo person signs in locally with this password (local only: the pool lives on moto).
DEMO_PASSWORD = "Keepwell-demo-2026"
OIDC_SCOPES = ["openid", "email", "profile"]
REDIRECT_PATH = "/callback"


@dataclass(frozen=True)
class DemoPerson:
    username: str  # their email: the pool signs in by email
    password: str
    role: str
    label: str
    workspace_id: str
    user_id: str
    subject: str = ""

    def as_console_entry(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self.password,
            "role": self.role,
            "label": self.label,
            "workspace_id": self.workspace_id,
        }


def pool_ids(resolver: Any) -> tuple[str, str]:
    """(user pool id, console app client id) the stack created from template.yaml."""
    return resolver.physical["UserPool"]["Ref"], resolver.physical["ConsoleClient"]["Ref"]


def create_person(cognito: Any, pool_id: str, email: str, name: str, password: str = DEMO_PASSWORD) -> str:
    """A confirmed person with a known password (no temporary one to change); returns their `sub`."""
    from keepwell.adapters.identity import add_person

    subject = add_person(pool_id, email, name, password, cognito)
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    return subject


def sign_in(cognito: Any, client_id: str, username: str, password: str = DEMO_PASSWORD) -> str:
    """USER_PASSWORD_AUTH against the pool (the local app client allows it); returns the ID token."""
    answer = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(answer["AuthenticationResult"]["IdToken"])


def enrol_user(cognito: Any, pool_id: str, workspace_id: str, user_id: str, password: str = DEMO_PASSWORD) -> str:
    """Give an existing Keepwell user an identity in the pool and tie their record to it; returns the `sub`."""
    from keepwell.storage import workspaces

    user = workspaces.get_user(workspace_id, user_id)
    if user is None:
        raise KeyError(f"{workspace_id}/{user_id}")
    subject = create_person(cognito, pool_id, user.email, user.name, password)
    workspaces.link_subject(user, subject)
    return subject


def console_auth_config(stack: Any) -> dict[str, Any]:
    """What the console needs to sign in.

    `stack` is the running local stack (`infra.local.LocalStack`): the local pool through the gateway's
    Cognito proxy, with the demo people and their passwords. Or a deployed stack's CloudFormation
    outputs (a mapping of output key → value): the OIDC authorization code flow with PKCE.
    """
    if isinstance(stack, Mapping):
        return {
            "mode": "oidc",
            "issuer": stack["OidcIssuer"],
            "client_id": stack["ConsoleClientId"],
            "authorize_url": stack["OidcAuthorizeUrl"],
            "token_url": stack["OidcTokenUrl"],
            "scopes": list(OIDC_SCOPES),
            "redirect_path": REDIRECT_PATH,
        }
    return {
        "mode": "local",
        "client_id": stack.console_client_id,
        "cognito_endpoint": COGNITO_PROXY_PATH,
        "demo_users": [person.as_console_entry() for person in stack.demo_people],
    }
