"""The workspace's health model: every saved version, plus a pointer item holding the one in force.

`WS#w / HEALTHMODEL#v000007` keeps each version forever (readable through the API); `WS#w /
HEALTHMODEL#CURRENT` is a copy of the newest one, so the hot path (`get_current_model`, read by the
scorer for every customer) is a single GetItem. A save writes both in one transaction, conditioned on
the pointer still being at the version the caller started from: two concurrent saves cannot both win.

A workspace that never saved a model scores with the default (Balanced) at version 0.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from keepwell.domain.health.model import HealthModel
from keepwell.errors import Conflict
from keepwell.settings import Settings, get_settings
from keepwell.storage import cursors, keys
from keepwell.storage.audit import AuditItem
from keepwell.storage.models import TableItem, table_connection

ENTITY = "health_model"
POINTER_ENTITY = "health_model_current"
VERSION_PREFIX = "HEALTHMODEL#v"
DEFAULT_VERSION = 0  # "never saved": the default model is in force
CACHE_SECONDS = 5.0


class HealthModelItem(TableItem):
    """One version (or the CURRENT pointer, same shape). The model is stored as its JSON text: exact
    floats, no Decimal round trips, and one attribute to read."""

    version = NumberAttribute()
    model = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class StoredModel:
    model: HealthModel
    version: int
    created_at: str | None
    created_by: str | None
    reason: str | None = None


def default_model() -> HealthModel:
    return HealthModel.from_preset()


def _to_stored(item: HealthModelItem) -> StoredModel:
    model = HealthModel.model_validate(json.loads(item.model))
    return StoredModel(model, int(item.version), item.created_at, item.created_by, item.reason)


# --- a small per-container cache of the current model ------------------------------------------
# The scorer reads the model once per customer; a few seconds of staleness in *other* containers is
# acceptable (a save in this container replaces the entry at once). Entries remember the settings
# object they were read under: when the environment is reset (tests, local stack) they are not reused.


@dataclass(frozen=True)
class _Entry:
    stored: StoredModel
    expires: float
    settings: Settings


_cache: dict[str, _Entry] = {}


def reset_cache() -> None:
    _cache.clear()


def _remember(workspace_id: str, stored: StoredModel) -> None:
    _cache[workspace_id] = _Entry(stored, time.monotonic() + CACHE_SECONDS, get_settings())


def _cached(workspace_id: str) -> StoredModel | None:
    entry = _cache.get(workspace_id)
    if entry is None or entry.settings is not get_settings() or entry.expires <= time.monotonic():
        return None
    return entry.stored


def cached_current(workspace_id: str) -> StoredModel | None:
    """The current model if this container's cache holds it. A caller reading other items by key adds
    the model's key to its BatchGetItem when it does not, and hands the item to `remember_current`, so a
    cold container does not pay a GetItem more; it then uses the model it got, not the cache again
    (entries live CACHE_SECONDS)."""
    return _cached(workspace_id)


def remember_current(workspace_id: str, raw: dict[str, Any] | None) -> StoredModel:
    """Cache and return the current model read as a raw item (None: never saved, the default model)."""
    if raw is None:
        stored = StoredModel(default_model(), DEFAULT_VERSION, None, None)
    else:
        stored = _to_stored(HealthModelItem.from_raw_data(raw))
    _remember(workspace_id, stored)
    return stored


# --- reads ---------------------------------------------------------------------------------------
def get_current(workspace_id: str, *, fresh: bool = False) -> StoredModel:
    """The model in force and its metadata (one GetItem, or the cache unless `fresh`)."""
    if not fresh:
        cached = _cached(workspace_id)
        if cached is not None:
            return cached
    key = keys.current_health_model(workspace_id)
    try:
        stored = _to_stored(HealthModelItem.get(key.pk, key.sk, consistent_read=fresh))
    except DoesNotExist:
        stored = StoredModel(default_model(), DEFAULT_VERSION, None, None)
    _remember(workspace_id, stored)
    return stored


def get_current_model(workspace_id: str, *, fresh: bool = False) -> tuple[HealthModel, int]:
    """(model, version) in force; (Balanced, 0) when the workspace never saved one.

    `fresh=True` skips the per-container cache with a consistent read (e.g. a recalculation started
    right after a save in another container)."""
    stored = get_current(workspace_id, fresh=fresh)
    return stored.model, stored.version


def get_version(workspace_id: str, version: int) -> StoredModel | None:
    key = keys.health_model(workspace_id, version)
    try:
        return _to_stored(HealthModelItem.get(key.pk, key.sk))
    except DoesNotExist:
        return None


def list_versions(
    workspace_id: str, limit: int = 50, cursor: str | None = None
) -> tuple[list[StoredModel], str | None]:
    """Saved versions, newest first (Query on the workspace partition), and the cursor of the next page."""
    pk = keys.workspace_partition(workspace_id)
    start = cursors.decode(cursor, expected={"pk": pk}, prefixes={"sk": VERSION_PREFIX})
    results = HealthModelItem.query(
        pk,
        HealthModelItem.sk.startswith(VERSION_PREFIX),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start,
    )
    items = [_to_stored(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return items, cursors.encode(next_key)


# --- writes --------------------------------------------------------------------------------------
def _item(key: keys.Key, entity: str, workspace_id: str, stored: StoredModel) -> HealthModelItem:
    payload: dict[str, Any] = stored.model.model_dump(mode="json")
    return HealthModelItem(
        key.pk,
        key.sk,
        entity=entity,
        workspace_id=workspace_id,
        version=stored.version,
        model=json.dumps(payload, separators=(",", ":"), sort_keys=True),
        created_at=stored.created_at or "",
        created_by=stored.created_by or "",
        reason=stored.reason,
    )


def save_version(
    workspace_id: str,
    model: HealthModel,
    *,
    previous_version: int,
    created_at: str,
    created_by: str,
    reason: str,
    audit: AuditItem | None = None,
) -> StoredModel:
    """Store `model` as version previous_version + 1 and make it current, in one transaction (with
    its audit entry, when given: no entry without the change, no change without the entry).

    409 `version_conflict` if someone saved meanwhile (the pointer moved, or the version exists)."""
    version = previous_version + 1
    stored = StoredModel(model.model_copy(update={"version": version}), version, created_at, created_by, reason)
    version_key = keys.health_model(workspace_id, version)
    pointer_key = keys.current_health_model(workspace_id)
    pointer_condition = (
        HealthModelItem.pk.does_not_exist()
        if previous_version == DEFAULT_VERSION
        else HealthModelItem.version == previous_version
    )
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(_item(version_key, ENTITY, workspace_id, stored), condition=HealthModelItem.pk.does_not_exist())
            tx.save(_item(pointer_key, POINTER_ENTITY, workspace_id, stored), condition=pointer_condition)
            if audit is not None:
                tx.save(audit, condition=AuditItem.pk.does_not_exist())
    except TransactWriteError as error:
        reasons = error.cancellation_reasons or []
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            _cache.pop(workspace_id, None)
            raise Conflict(
                f"The health model changed meanwhile (it is no longer version {previous_version}); read it and retry",
                [{"field": "version", "issue": "stale"}],
                code="version_conflict",
            ) from error
        raise
    _remember(workspace_id, stored)
    return stored
