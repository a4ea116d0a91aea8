"""Custom field definitions of the caller's workspace."""

from __future__ import annotations

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain.custom_fields import CustomFieldDefinition
from keepwell.schemas.custom_fields import CustomFieldIn
from keepwell.storage import audit as audit_store
from keepwell.storage import custom_fields as store


def list_custom_fields(caller: Caller) -> list[CustomFieldDefinition]:
    return store.list_definitions(caller.workspace_id)


def create_custom_field(caller: Caller, body: CustomFieldIn) -> CustomFieldDefinition:
    definition = body.definition(created_at=clock.iso(clock.now()))
    created = store.create_definition(caller.workspace_id, definition, definition.created_at or "")
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "custom_field.created",
        f"custom_field:{created.key}",
        None,
        created.model_dump(mode="json", exclude={"created_at"}),
    )
    return created


def delete_custom_field(caller: Caller, field_key: str) -> None:
    """Existing customers keep their values for the key until they are cleared or overwritten."""
    before = next((d for d in store.list_definitions(caller.workspace_id) if d.key == field_key), None)
    store.delete_definition(caller.workspace_id, field_key)
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "custom_field.deleted",
        f"custom_field:{field_key}",
        before.model_dump(mode="json", exclude={"created_at"}) if before else None,
        None,
    )
