"""Create, list, rotate, revoke and verify workspace API keys (admins manage them; ingestion verifies)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from keepwell import clock, ids
from keepwell.auth import Caller
from keepwell.domain import api_keys as rules
from keepwell.errors import NotFound, Unauthorized
from keepwell.storage import api_keys as store
from keepwell.storage.models import ApiKeyItem

ROTATION_OVERLAP = timedelta(hours=24)


def _summary(item: ApiKeyItem) -> dict[str, str | bool | None]:
    now = clock.iso(clock.now())
    return {
        "key_id": item.key_id,
        "name": item.name,
        "prefix": item.prefix,
        "created_at": item.created_at,
        "created_by": item.created_by,
        "revoked_at": item.revoked_at,
        "active": item.revoked_at is None or item.revoked_at > now,
    }


def _audited(item: ApiKeyItem) -> dict[str, str | bool | None]:
    """What the audit keeps of a key: its display prefix, never the key or its hash."""
    return {k: v for k, v in _summary(item).items() if k in ("name", "prefix", "active", "revoked_at")}


def _record_audit(workspace_id: str, actor_id: str, action: str, target: str, before: Any, after: Any) -> None:
    # The audit log's storage is imported by the admin's changes: ingestion imports this module to verify
    # keys, and a cold start there paid for it (decision 0027).
    from keepwell.storage import audit

    audit.record_audit(workspace_id, actor_id, action, target, before, after)


def create_api_key(workspace_id: str, name: str, created_by: str) -> tuple[dict[str, str | bool | None], str]:
    """Returns the key's summary and its plaintext, which is shown this once and never stored."""
    plaintext = rules.generate(workspace_id)
    item = store.put_api_key(
        workspace_id,
        rules.hash_key(plaintext),
        ids.new_id("key"),
        rules.display_prefix(plaintext),
        name,
        clock.iso(clock.now()),
        created_by,
    )
    _record_audit(workspace_id, created_by, "api_key.created", f"api_key:{item.key_id}", None, _audited(item))
    return _summary(item), plaintext


def list_api_keys(caller: Caller) -> list[dict[str, str | bool | None]]:
    return [_summary(item) for item in store.list_api_keys(caller.workspace_id)]


def _find(workspace_id: str, key_id: str) -> ApiKeyItem:
    for item in store.list_api_keys(workspace_id):
        if item.key_id == key_id:
            return item
    raise NotFound(f"No API key {key_id}")


def revoke_api_key(caller: Caller, key_id: str) -> dict[str, str | bool | None]:
    item = _find(caller.workspace_id, key_id)
    if item.revoked_at is None or item.revoked_at > clock.iso(clock.now()):
        before = _audited(item)
        store.set_revoked_at(item, clock.iso(clock.now()))
        _record_audit(
            caller.workspace_id, caller.user_id, "api_key.revoked", f"api_key:{key_id}", before, _audited(item)
        )
    return _summary(item)


def rotate_api_key(caller: Caller, key_id: str) -> tuple[dict[str, str | bool | None], str]:
    """A new key now; the old one keeps working for ROTATION_OVERLAP so senders can switch."""
    old = _find(caller.workspace_id, key_id)
    before = _audited(old)
    summary, plaintext = create_api_key(caller.workspace_id, f"{old.name} (rotated)", caller.user_id)
    store.set_revoked_at(old, clock.iso(clock.now() + ROTATION_OVERLAP))
    _record_audit(
        caller.workspace_id,
        caller.user_id,
        "api_key.rotated",
        f"api_key:{key_id}",
        before,
        {**_audited(old), "replaced_by": summary["key_id"], "replacement_prefix": summary["prefix"]},
    )
    return summary, plaintext


def verify_api_key(presented: str | None) -> str:
    """The workspace a presented key belongs to; Unauthorized if unknown, malformed or revoked."""
    parsed = rules.parse(presented)
    if parsed is None:
        raise Unauthorized("Missing or malformed X-Api-Key")
    item = store.get_by_hash(parsed.workspace_id, parsed.key_hash)
    if item is None or item.workspace_id != parsed.workspace_id:
        raise Unauthorized("Unknown API key")
    if item.revoked_at is not None and item.revoked_at <= clock.iso(clock.now()):
        raise Unauthorized("API key revoked")
    return parsed.workspace_id
