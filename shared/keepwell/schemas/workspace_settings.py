"""The workspace's own settings (admins): name, timezone, scoring hour, currency, fiscal year, competitors."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class WorkspaceSettingsOut(BaseModel):
    workspace_id: str
    name: str
    timezone: str = Field(description="IANA timezone: the workspace's day and its scoring hour are local to it.")
    scoring_hour: int = Field(description="Local hour (0-23) at which the daily scoring runs.")
    currency: str = Field(description="ISO 4217 code amounts are shown in.")
    fiscal_year_start_month: int = Field(description="Month (1-12) the fiscal year starts in.")
    competitor_keywords: list[str] = Field(
        description="Competitor names flagged in customer emails (the health model's sentiment competitors)."
    )


class WorkspaceSettingsPatchIn(BaseModel):
    """Fields sent replace the current ones; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    scoring_hour: int | None = Field(default=None, ge=0, le=23, strict=True)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    fiscal_year_start_month: int | None = Field(default=None, ge=1, le=12, strict=True)
    competitor_keywords: list[Keyword] | None = Field(default=None, max_length=200)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone (e.g. Europe/Madrid)") from None
        return value
