"""Bearer tokens and the caller they identify.

Deployed: RS256 tokens from an OIDC issuer (Cognito or any other), verified against its JWKS.
Local stack only: HS256 tokens signed with LOCAL_JWT_SECRET, which `infra.local` prints.
The token names the user and workspace; the user's record in that workspace decides the role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt

from keepwell import clock
from keepwell.errors import Unauthorized
from keepwell.settings import Settings

ROLES = ("admin", "director", "csm", "viewer")
WORKSPACE_CLAIMS = ("workspace_id", "custom:workspace_id")


@dataclass(frozen=True)
class TokenIdentity:
    workspace_id: str
    user_id: str


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer resolved it: passed to every domain call."""

    workspace_id: str
    user_id: str
    role: str

    def as_authorizer_context(self) -> dict[str, str]:
        return {"workspace_id": self.workspace_id, "user_id": self.user_id, "role": self.role}

    @classmethod
    def from_authorizer_context(cls, context: dict[str, Any] | None) -> Caller:
        context = context or {}
        try:
            caller = cls(str(context["workspace_id"]), str(context["user_id"]), str(context["role"]))
        except KeyError as missing:
            raise Unauthorized("Request carries no authorizer context") from missing
        if caller.role not in ROLES:
            raise Unauthorized("Unknown role")
        return caller


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


def verify_bearer(authorization: str | None, settings: Settings) -> TokenIdentity:
    """Check the `Authorization: Bearer …` header; raise Unauthorized with the reason otherwise."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("Missing bearer token")
    token = authorization.removeprefix("Bearer ").strip()
    # Expiry is checked against keepwell.clock (below) so frozen-time tests stay deterministic.
    options: Any = {"require": ["exp", "sub"], "verify_aud": bool(settings.jwt_audience), "verify_exp": False}
    try:
        if settings.is_local and settings.local_jwt_secret:
            claims = jwt.decode(
                token,
                settings.local_jwt_secret,
                algorithms=["HS256"],
                options=options,
                audience=settings.jwt_audience or None,
                issuer=settings.jwt_issuer or None,
            )
        else:
            if not settings.jwks_url:
                raise Unauthorized("Token verification is not configured (JwksUrl)")
            signing_key = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                options=options,
                audience=settings.jwt_audience or None,
                issuer=settings.jwt_issuer or None,
            )
    except jwt.PyJWTError as error:
        raise Unauthorized(f"Invalid token: {error}") from error
    if float(claims["exp"]) <= clock.now().timestamp():
        raise Unauthorized("Invalid token: Signature has expired")
    workspace_id = next((str(claims[c]) for c in WORKSPACE_CLAIMS if claims.get(c)), None)
    if not workspace_id:
        raise Unauthorized("Token names no workspace")
    return TokenIdentity(workspace_id=workspace_id, user_id=str(claims["sub"]))


def issue_local_token(
    secret: str,
    workspace_id: str,
    user_id: str,
    valid_for: timedelta = timedelta(days=30),
    issuer: str = "",
    audience: str = "",
) -> str:
    """An HS256 token for the local stack and tests (never used when deployed)."""
    issued = clock.now()
    claims: dict[str, Any] = {
        "sub": user_id,
        "workspace_id": workspace_id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + valid_for).timestamp()),
    }
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")
