"""Request and response bodies of the HubSpot connection routes (`/v1/hubspot/connection`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from keepwell.domain.integrations import hubspot_sync as rules
from keepwell.domain.integrations.hubspot_sync import DealMapping, PropertyMapping, SyncState


class HubSpotConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    token: SecretStr | None = Field(default=None, min_length=10, max_length=500)  # None keeps the stored one
    mapping: list[PropertyMapping] | None = Field(default=None, max_length=50)
    deals: DealMapping | None = None  # None keeps the stored deal mapping


class HubSpotConnectionOut(BaseModel):
    connected: bool
    connected_at: str | None
    mapping: list[PropertyMapping]
    deals: DealMapping
    renewals_synced: int
    hubspot_owned_fields: list[str]
    full_sync_done: bool
    last_run_at: str | None
    last_error: str | None
    companies_synced: int
    scores_written: int

    @classmethod
    def of(cls, state: SyncState) -> HubSpotConnectionOut:
        return cls.model_validate(
            {**state.model_dump(), "hubspot_owned_fields": sorted(rules.hubspot_owned(state.mapping))}
        )
