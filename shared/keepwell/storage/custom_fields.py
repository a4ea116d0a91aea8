"""Custom field definitions: one item per field in the workspace partition (`WS#w / CFIELD#<key>`)."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, PutError

from keepwell.domain.custom_fields import CustomFieldDefinition
from keepwell.errors import Conflict, NotFound
from keepwell.storage import keys
from keepwell.storage.models import CustomFieldItem

ENTITY = "custom_field"


def _to_definition(item: CustomFieldItem) -> CustomFieldDefinition:
    return CustomFieldDefinition(
        key=item.key,
        label=item.label,
        type=item.field_type,  # type: ignore[arg-type]
        options=list(item.options) if item.options is not None else None,
        created_at=item.created_at,
    )


def list_definitions(workspace_id: str) -> list[CustomFieldDefinition]:
    pk = keys.workspace_partition(workspace_id)
    return [
        _to_definition(item)
        for item in CustomFieldItem.query(pk, CustomFieldItem.sk.startswith(keys.CUSTOM_FIELD_PREFIX))
    ]


def create_definition(workspace_id: str, definition: CustomFieldDefinition, created_at: str) -> CustomFieldDefinition:
    key = keys.custom_field(workspace_id, definition.key)
    item = CustomFieldItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=workspace_id,
        key=definition.key,
        label=definition.label,
        field_type=definition.type,
        options=definition.options,
        created_at=created_at,
    )
    try:
        item.save(condition=CustomFieldItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(
                f"Custom field {definition.key} already exists", [{"field": "key", "issue": "already exists"}]
            ) from error
        raise
    return _to_definition(item)


def delete_definition(workspace_id: str, field_key: str) -> None:
    key = keys.custom_field(workspace_id, field_key)
    try:
        CustomFieldItem(key.pk, key.sk).delete(condition=CustomFieldItem.pk.exists())
    except DeleteError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(f"No custom field {field_key}", [{"field": "field_key", "issue": "not found"}]) from error
        raise
