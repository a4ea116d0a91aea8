"""Ingestion API keys: one item per key in the workspace partition, keyed by the key's hash."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from keepwell.storage import keys
from keepwell.storage.models import ApiKeyItem


def put_api_key(
    workspace_id: str, key_hash: str, key_id: str, prefix: str, name: str, created_at: str, created_by: str
) -> ApiKeyItem:
    key = keys.api_key(workspace_id, key_hash)
    item = ApiKeyItem(
        key.pk,
        key.sk,
        entity="api_key",
        workspace_id=workspace_id,
        key_id=key_id,
        prefix=prefix,
        name=name,
        created_at=created_at,
        created_by=created_by,
    )
    item.save(condition=ApiKeyItem.pk.does_not_exist())
    return item


def get_by_hash(workspace_id: str, key_hash: str) -> ApiKeyItem | None:
    key = keys.api_key(workspace_id, key_hash)
    try:
        return ApiKeyItem.get(key.pk, key.sk)
    except DoesNotExist:
        return None


def list_api_keys(workspace_id: str) -> list[ApiKeyItem]:
    return list(ApiKeyItem.query(keys.workspace_partition(workspace_id), ApiKeyItem.sk.startswith(keys.APIKEY_PREFIX)))


def set_revoked_at(item: ApiKeyItem, revoked_at: str) -> None:
    item.update(actions=[ApiKeyItem.revoked_at.set(revoked_at)])
