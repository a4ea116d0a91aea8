"""Workspace API keys for ingestion: `kwk.<workspace_id>.<secret>`, stored only as a SHA-256 hash.

The workspace id travels in the key so verification is one GetItem in that workspace's partition;
the 256-bit secret makes the key unguessable, and only its hash is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "kwk"
VISIBLE_PREFIX_CHARS = 8


@dataclass(frozen=True)
class ParsedApiKey:
    workspace_id: str
    key_hash: str
    display_prefix: str


def generate(workspace_id: str) -> str:
    return f"{KEY_PREFIX}.{workspace_id}.{secrets.token_urlsafe(32)}"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def display_prefix(plaintext: str) -> str:
    """What admins see in listings: enough to recognise a key, useless to use it."""
    secret = plaintext.rsplit(".", 1)[-1]
    return f"{KEY_PREFIX}.…{secret[:VISIBLE_PREFIX_CHARS]}"


def parse(plaintext: str | None) -> ParsedApiKey | None:
    if not plaintext:
        return None
    parts = plaintext.strip().split(".")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or len(parts[2]) < 32:
        return None
    return ParsedApiKey(parts[1], hash_key(plaintext.strip()), display_prefix(plaintext.strip()))


def hashes_match(stored_hash: str, presented_hash: str) -> bool:
    return hmac.compare_digest(stored_hash, presented_hash)
