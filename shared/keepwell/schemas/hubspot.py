"""Request and response bodies of the HubSpot connection routes (`/v1/hubspot/connection`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

from keepwell.domain.integrations import hubspot_sync as rules
from keepwell.domain.integrations.hubspot_sync import DealMapping, PropertyMapping, SyncState

TOKEN_LENGTH = (10, 500)  # characters of a private-app token (HubSpot's are ~44, `pat-<region>-<uuid>`)


class HubSpotConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    token: SecretStr | None = None  # None keeps the stored one
    mapping: list[PropertyMapping] | None = Field(default=None, max_length=50)
    deals: DealMapping | None = None  # None keeps the stored deal mapping

    @field_validator("token")
    @classmethod
    def _token_length(cls, token: SecretStr | None) -> SecretStr | None:
        """pydantic's own length check of a SecretStr reads "Value should have at least 10 items after
        validation": said in words an admin pasting a token understands."""
        if token is not None and not TOKEN_LENGTH[0] <= len(token.get_secret_value()) <= TOKEN_LENGTH[1]:
            kind = "string_too_short" if len(token.get_secret_value()) < TOKEN_LENGTH[0] else "string_too_long"
            raise PydanticCustomError(
                kind,
                "A HubSpot private-app token is {low} to {high} characters",
                {"low": TOKEN_LENGTH[0], "high": TOKEN_LENGTH[1]},
            )
        return token


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
