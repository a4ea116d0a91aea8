"""Cognito user pool administration (only when the pool is Keepwell's own): create the identity of an
invited person, and stop or restore their sign-in."""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import ClientError

from keepwell.adapters.aws import client
from keepwell.errors import InvalidInput


def _temporary_password() -> str:
    # Satisfies the template's password policy (12+ characters, upper, lower, digit); changed at first sign-in.
    return f"{secrets.token_urlsafe(12)}Kw7"


def add_person(user_pool_id: str, email: str, name: str, password: str | None = None, cognito: Any = None) -> str:
    """The person in the pool, their email verified (Keepwell writes to it); returns their `sub`. With a
    temporary `password`, Cognito's own message is suppressed (Keepwell sends the invitation); without
    one, Cognito emails a temporary password with the pool's invitation template."""
    request: dict[str, Any] = {
        "UserPoolId": user_pool_id,
        "Username": email,
        "UserAttributes": [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": name},
        ],
    }
    if password is not None:
        request |= {"TemporaryPassword": password, "MessageAction": "SUPPRESS"}
    else:
        request["DesiredDeliveryMediums"] = ["EMAIL"]
    created = (cognito or client("cognito-idp")).admin_create_user(**request)
    return _sub(created["User"]["Attributes"])


def subject_of(user_pool_id: str, email: str) -> str:
    """The `sub` of someone already in the pool."""
    return _sub(client("cognito-idp").admin_get_user(UserPoolId=user_pool_id, Username=email)["UserAttributes"])


def _sub(attributes: list[dict[str, str]]) -> str:
    return str(next(a["Value"] for a in attributes if a["Name"] == "sub"))


def create_identity(user_pool_id: str, email: str, name: str) -> str | None:
    """Create an invited person in the pool; Keepwell's invitation carries the temporary password this
    returns. None: they already have an identity (invited to another workspace before) and sign in as usual."""
    password = _temporary_password()
    try:
        add_person(user_pool_id, email, name, password)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "UsernameExistsException":
            return None
        if code == "InvalidParameterException":  # an address the pool refuses as a username
            message = str(error.response.get("Error", {}).get("Message", code))
            raise InvalidInput(
                f"The user pool refuses {email}: {message}", [{"field": "email", "issue": message}]
            ) from error
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
