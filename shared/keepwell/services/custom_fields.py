"""Custom field definitions of the caller's workspace."""

from __future__ import annotations

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain.custom_fields import CustomFieldDefinition
from keepwell.schemas.custom_fields import CustomFieldIn
from keepwell.storage import custom_fields as store


def list_custom_fields(caller: Caller) -> list[CustomFieldDefinition]:
    return store.list_definitions(caller.workspace_id)


def create_custom_field(caller: Caller, body: CustomFieldIn) -> CustomFieldDefinition:
    definition = body.definition(created_at=clock.iso(clock.now()))
    return store.create_definition(caller.workspace_id, definition, definition.created_at or "")


def delete_custom_field(caller: Caller, field_key: str) -> None:
    """Existing customers keep their values for the key until they are cleared or overwritten."""
    store.delete_definition(caller.workspace_id, field_key)
