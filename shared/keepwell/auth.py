"""Bearer tokens and the caller they identify.

The bearer is an OIDC **ID token** (RS256) of the configured issuer — this stack's Cognito user pool,
or any standard OIDC issuer — verified against the issuer's JWKS for signature, `iss`, `aud` and
`exp`, locally exactly as deployed (the local stack's pool lives on moto, which serves the JWKS).
The token only names a person (`sub`, and `email`); which workspaces they belong to and with which
role comes from Keepwell's own user records (services/authentication.py), never from a claim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from keepwell import clock
from keepwell.errors import Forbidden, Unauthorized
from keepwell.settings import Settings

if TYPE_CHECKING:
    import jwt

# PyJWT (and `cryptography`, which it loads for RS256) is imported by the functions below, when a token is
# verified: only the authorizer and the invitation routes verify one, and every other function imports
# this module for `Caller` (decision 0027, cold starts).

ROLES = ("admin", "director", "csm", "viewer")
WORKSPACE_HEADER = "X-Keepwell-Workspace"
# The authorizer's context carries the memberships; API Gateway caps the context's size, and nobody
# works in more than a handful of workspaces.
MAX_MEMBERSHIPS_IN_CONTEXT = 25


class NotConfigured(Unauthorized):
    """Token verification lacks its issuer, audience or JWKS: every token is refused."""


@dataclass(frozen=True)
class TokenIdentity:
    """Who a verified ID token names."""

    subject: str
    email: str | None = None
    email_verified: bool = False


@dataclass(frozen=True)
class Membership:
    workspace_id: str
    user_id: str
    role: str


@dataclass(frozen=True)
class Caller:
    """Who is calling, in which workspace, with which role: passed to every domain call."""

    workspace_id: str
    user_id: str
    role: str
    subject: str = ""
    memberships: tuple[Membership, ...] = ()

    def as_authorizer_context(self) -> dict[str, str]:
        """The authorizer's context: the default workspace's membership plus every membership, so one
        cached decision per token serves every workspace the person may pick per request."""
        memberships = self.memberships or (Membership(self.workspace_id, self.user_id, self.role),)
        return {
            "workspace_id": self.workspace_id,
            "user_id": self.user_id,
            "role": self.role,
            "subject": self.subject,
            "memberships": json.dumps(
                [[m.workspace_id, m.user_id, m.role] for m in memberships[:MAX_MEMBERSHIPS_IN_CONTEXT]],
                separators=(",", ":"),
            ),
        }

    @classmethod
    def from_authorizer_context(cls, context: dict[str, Any] | None, workspace_id: str | None = None) -> Caller:
        """The caller in `workspace_id` (the `X-Keepwell-Workspace` header), else in their default one."""
        context = context or {}
        try:
            default = Membership(str(context["workspace_id"]), str(context["user_id"]), str(context["role"]))
        except KeyError as missing:
            raise Unauthorized("Request carries no authorizer context") from missing
        try:
            listed = tuple(Membership(str(w), str(u), str(r)) for w, u, r in json.loads(context["memberships"]))
        except (KeyError, TypeError, ValueError):
            listed = (default,)
        chosen = default
        if workspace_id and workspace_id != default.workspace_id:
            found = next((m for m in listed if m.workspace_id == workspace_id), None)
            if found is None:
                raise Forbidden(
                    f"You are not a member of workspace {workspace_id}",
                    [{"field": WORKSPACE_HEADER, "issue": "not a member"}],
                )
            chosen = found
        if chosen.role not in ROLES:
            raise Unauthorized("Unknown role")
        return cls(chosen.workspace_id, chosen.user_id, chosen.role, str(context.get("subject", "")), listed)


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    import jwt

    # Keys are kept for an hour; a token signed with an unknown `kid` refetches (key rotation).
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def check_configured(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("JWT_ISSUER", settings.jwt_issuer),
            ("JWT_AUDIENCE", settings.jwt_audience),
            ("JWKS_URL", settings.jwks_url),
        )
        if not value
    ]
    if missing:
        raise NotConfigured(f"Token verification is not configured: {', '.join(missing)} empty; every token is refused")


def verify_bearer(authorization: str | None, settings: Settings) -> TokenIdentity:
    """Check the `Authorization: Bearer <ID token>` header; raise Unauthorized with the reason otherwise."""
    import jwt

    check_configured(settings)
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("Missing bearer token")
    token = authorization.removeprefix("Bearer ").strip()
    # Expiry is checked against keepwell.clock (below) so frozen-time tests stay deterministic.
    options: Any = {"require": ["exp", "sub", "iss", "aud"], "verify_exp": False}
    try:
        signing_key = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            options=options,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    except jwt.PyJWKClientConnectionError as error:
        raise Unauthorized(f"Cannot read the issuer's keys: {error}") from error
    except jwt.PyJWTError as error:
        raise Unauthorized(f"Invalid token: {error}") from error
    if float(claims["exp"]) <= clock.now().timestamp():
        raise Unauthorized("Invalid token: Signature has expired")
    if claims.get("token_use", "id") != "id":  # Cognito marks its access tokens; the API takes ID tokens
        raise Unauthorized("Invalid token: an ID token is expected")
    email = claims.get("email")
    verified = claims.get("email_verified") in (True, "true")
    return TokenIdentity(
        subject=str(claims["sub"]), email=str(email).lower() if email else None, email_verified=verified
    )
