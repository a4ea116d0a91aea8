"""Opaque page cursors: base64url of a Query's LastEvaluatedKey, checked on the way back in.

A cursor is only accepted for the exact partition it came from (workspace, index, owner, customer),
so a client cannot forge one that reads another workspace's keys.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from keepwell.errors import InvalidInput

MAX_CURSOR_CHARS = 2048

LastEvaluatedKey = dict[str, dict[str, Any]]


def _bad(reason: str) -> InvalidInput:
    return InvalidInput(f"Invalid cursor: {reason}", [{"field": "cursor", "issue": reason}], code="invalid_cursor")


def encode(last_evaluated_key: Mapping[str, Mapping[str, Any]] | None) -> str | None:
    if not last_evaluated_key:
        return None
    plain = {name: {"S": value["S"]} for name, value in sorted(last_evaluated_key.items())}
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *, expected: Mapping[str, str], prefixes: Mapping[str, str]) -> LastEvaluatedKey | None:
    """The key to resume from. `expected` are attributes that must match exactly (the partition),
    `prefixes` those that must start with a given prefix; the key names must be exactly their union."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise _bad("too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise _bad("not a cursor this API issued") from error
    if not isinstance(data, dict) or set(data) != set(expected) | set(prefixes):
        raise _bad("not a cursor for this list")
    values: dict[str, str] = {}
    for name, wrapped in data.items():
        if not isinstance(wrapped, dict) or set(wrapped) != {"S"} or not isinstance(wrapped["S"], str):
            raise _bad("not a cursor for this list")
        values[name] = wrapped["S"]
    for name, value in expected.items():
        if values[name] != value:
            raise _bad("not a cursor for this list")
    for name, prefix in prefixes.items():
        if not values[name].startswith(prefix):
            raise _bad("not a cursor for this list")
    return {name: {"S": value} for name, value in values.items()}
