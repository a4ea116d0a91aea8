"""Identifiers: a short type prefix plus 16 random base32 characters (80 bits)."""

from __future__ import annotations

import base64
import random
import secrets

# What an id in a path, a body or a message may look like (ours and callers' own).
ENTITY_ID = r"^[A-Za-z0-9_\-]{1,128}$"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_rng: random.Random | None = None


def new_id(prefix: str) -> str:
    if _rng is not None:
        body = "".join(_rng.choice(_ALPHABET) for _ in range(16))
    else:
        body = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return f"{prefix}_{body}"


def new_secret(nbytes: int) -> str:
    """A URL-safe secret of `nbytes` random bytes (share links): the system's randomness, except while
    ids are seeded (the demo seed, tests), when it is as deterministic as the ids."""
    if _rng is not None:
        return base64.urlsafe_b64encode(_rng.randbytes(nbytes)).rstrip(b"=").decode()
    return secrets.token_urlsafe(nbytes)


def seed(value: int | None) -> None:
    """Make ids deterministic (demo seed, tests); `None` goes back to the system's randomness."""
    global _rng
    _rng = random.Random(value) if value is not None else None
