"""Bulk imports (`WS#w#IMPORTS / IMPORT#<id>`): the import as one JSON body, its status beside it.

Every change is conditional on the version read, so the API (mapping, dry run, commit) and the job
(progress) never overwrite each other's state.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError

from keepwell.domain.imports import BulkImport
from keepwell.errors import Conflict, NotFound
from keepwell.storage import keys
from keepwell.storage.models import TableItem

ENTITY = "bulk_import"


class ImportItem(TableItem):
    import_id = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    body_json = UnicodeAttribute()
    version = NumberAttribute()


def _item(bulk: BulkImport) -> ImportItem:
    key = keys.bulk_import(bulk.workspace_id, bulk.import_id)
    return ImportItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=bulk.workspace_id,
        import_id=bulk.import_id,
        status=bulk.status,
        created_at=bulk.created_at,
        body_json=bulk.model_dump_json(),
        version=bulk.version,
    )


def _bulk(item: ImportItem) -> BulkImport:
    return BulkImport.model_validate_json(item.body_json)


def create_import(bulk: BulkImport) -> BulkImport:
    _item(bulk).save(condition=ImportItem.pk.does_not_exist())
    return bulk


def get_import(workspace_id: str, import_id: str) -> BulkImport | None:
    key = keys.bulk_import(workspace_id, import_id)
    try:
        return _bulk(ImportItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def require_import(workspace_id: str, import_id: str) -> BulkImport:
    bulk = get_import(workspace_id, import_id)
    if bulk is None:
        raise NotFound(f"No import {import_id}", [{"field": "import_id", "issue": "not found"}])
    return bulk


def save_import(before: BulkImport, after: BulkImport) -> BulkImport:
    """Write `after` if the import is still at `before`'s version (409 `version_conflict` otherwise)."""
    after = after.model_copy(update={"version": before.version + 1})
    try:
        _item(after).save(condition=ImportItem.version == before.version)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(
                "The import changed meanwhile; read it again",
                [{"field": "import_id", "issue": "changed meanwhile"}],
                code="version_conflict",
            ) from error
        raise
    return after


def list_imports(workspace_id: str, limit: int = 50) -> list[BulkImport]:
    """The workspace's imports, newest first."""
    items = ImportItem.query(keys.imports_partition(workspace_id), ImportItem.sk.startswith("IMPORT#"))
    found = sorted((_bulk(item) for item in items), key=lambda b: (b.created_at, b.import_id), reverse=True)
    return found[:limit]
