"""Cognito user pool administration (only when the pool is Keepwell's own): create the identity of an
invited person, and stop or restore their sign-in."""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import ClientError

from keepwell.adapters.aws import client


def _temporary_password() -> str:
    # Satisfies the template's password policy (12+ characters, upper, lower, digit); changed at first sign-in.
    return f"{secrets.token_urlsafe(12)}Kw7"


def add_person(user_pool_id: str, email: str, name: str, password: str, cognito: Any = None) -> str:
    """The person in the pool with a temporary `password`, their email verified (Keepwell writes to it),
    Cognito's own message suppressed; returns their `sub`."""
    created = (cognito or client("cognito-idp")).admin_create_user(
        UserPoolId=user_pool_id,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": name},
        ],
        TemporaryPassword=password,
        MessageAction="SUPPRESS",
    )
    return str(next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub"))


def create_identity(user_pool_id: str, email: str, name: str) -> str | None:
    """Create an invited person in the pool; Keepwell's invitation carries the temporary password this
    returns. None: they already have an identity (invited to another workspace before) and sign in as usual."""
    password = _temporary_password()
    try:
        add_person(user_pool_id, email, name, password)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "UsernameExistsException":
            return None
        raise
    return password


def set_sign_in(user_pool_id: str, email: str, enabled: bool) -> None:
    """Enable or disable the person's sign-in; disabling also revokes their refresh tokens."""
    cognito = client("cognito-idp")
    try:
        if enabled:
            cognito.admin_enable_user(UserPoolId=user_pool_id, Username=email)
        else:
            cognito.admin_disable_user(UserPoolId=user_pool_id, Username=email)
            cognito.admin_user_global_sign_out(UserPoolId=user_pool_id, Username=email)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "UserNotFoundException":
            raise
        # Not in the pool (a seeded or externally managed user): Keepwell's own record still blocks them.
