"""An audit entry: who did what to which target, when, with the values before and after.

The field list is written once, here: storage reads its item back into this model and the API's
AuditEntryOut is this model (less `workspace_id`, which is the partition it lives in, not an answer)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry_id: str
    occurred_at: str
    actor_id: str
    action: str
    target: str
    before: Any
    after: Any
    reason: str | None
    workspace_id: str = Field(exclude=True)  # the tenant: part of the key, never in an answer
