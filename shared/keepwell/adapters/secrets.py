"""Secrets Manager: get (with a short in-process cache), put, delete and describe secrets by name.

Secret values never reach a log line or an exception message from here. A webhook burst reads a
workspace's secret once per container per CACHE_SECONDS instead of once per request; writes through this
module forget the cached value, and `get_secret(..., max_age=...)` lets a caller insist on a fresher copy.
A caller that knows the secret's current version (`version=`, e.g. the integration secret state item the
webhook reads from the table) never gets a copy cached under another version: a secret rotated or
deleted by another container is re-read at once (decision 0015).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from keepwell.adapters.aws import client

CACHE_SECONDS = 60.0
NOT_FOUND = frozenset({"ResourceNotFoundException"})


@dataclass(frozen=True)
class _Cached:
    value: str | None
    fetched_at: float
    source: Any  # the client it came from: a new client (tests, local stack) means a new cache
    version: str | None = None  # the caller's version token it was read under


@dataclass(frozen=True)
class SecretInfo:
    name: str
    last_changed: datetime | None


_cache: dict[str, _Cached] = {}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def get_secret(name: str, *, max_age: float = CACHE_SECONDS, version: str | None = None) -> str | None:
    """The secret's current string value, or None when there is no such secret. With `version`, a copy
    cached under any other version is never served."""
    secrets = client("secretsmanager")
    cached = _cache.get(name)
    now = time.monotonic()
    if (
        cached is not None
        and cached.source is secrets
        and cached.version == version
        and now - cached.fetched_at < max_age
    ):
        return cached.value
    try:
        value: str | None = secrets.get_secret_value(SecretId=name)["SecretString"]
    except ClientError as error:
        if _code(error) not in NOT_FOUND:
            raise
        value = None
    _cache[name] = _Cached(value, now, secrets, version)
    return value


def put_secret(name: str, value: str, *, description: str = "") -> None:
    """Create the secret, or store a new version of it."""
    secrets = client("secretsmanager")
    _cache.pop(name, None)
    try:
        secrets.create_secret(Name=name, SecretString=value, Description=description)
    except ClientError as error:
        if _code(error) != "ResourceExistsException":
            raise
        secrets.put_secret_value(SecretId=name, SecretString=value)


def delete_secret(name: str) -> bool:
    """Delete now (no recovery window, so the name can be set again at once); False if there was none."""
    _cache.pop(name, None)
    # A forced delete of a missing secret succeeds silently, so ask first.
    if describe_secret(name) is None:
        return False
    try:
        client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except ClientError as error:
        if _code(error) not in NOT_FOUND:
            raise
        return False
    return True


def describe_secret(name: str) -> SecretInfo | None:
    """Whether the secret exists (and when it last changed), without reading its value."""
    try:
        described = client("secretsmanager").describe_secret(SecretId=name)
    except ClientError as error:
        if _code(error) not in NOT_FOUND:
            raise
        return None
    if described.get("DeletedDate"):
        return None
    return SecretInfo(name=name, last_changed=described.get("LastChangedDate") or described.get("CreatedDate"))


def clear_cache() -> None:
    _cache.clear()
