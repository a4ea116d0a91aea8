"""Bodies of the health model configuration routes: the model, its versions, presets and dry runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.health.dry_run import Approximation, BandChange
from keepwell.domain.health.model import (
    AlertThresholds,
    Band,
    DimensionConfig,
    HysteresisConfig,
    NormalisationTargets,
    PresetName,
    SentimentConfig,
)
from keepwell.schemas.health import HealthModelOut, VariableName


class HealthModelPutIn(BaseModel):
    """PUT (and dry-run) body. Fields sent replace the current model's; fields left out keep their
    current value. `preset` replaces the dimensions with the preset's; it cannot come with `dimensions`.

    `smoothing_window` is a plain integer here so the domain's message (allowed windows) is the one
    returned; `expected_version` is an optional precondition (409 if the model moved on)."""

    model_config = ConfigDict(extra="forbid")
    preset: PresetName | None = None
    dimensions: list[DimensionConfig] | None = Field(default=None, min_length=1, max_length=20)
    variables: list[VariableName] | None = Field(default=None, max_length=200)
    targets: NormalisationTargets | None = None
    sentiment: SentimentConfig | None = None
    bands: list[Band] | None = Field(default=None, min_length=1, max_length=10)
    smoothing_window: int | None = None
    hysteresis: HysteresisConfig | None = None
    alerts: AlertThresholds | None = None
    expected_version: int | None = Field(default=None, ge=0)

    def changes(self) -> dict[str, Any]:
        """What the client sent (as plain data), without the precondition."""
        return {
            name: _plain(getattr(self, name))
            for name in self.model_fields_set
            if name != "expected_version" and getattr(self, name) is not None
        }


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class HealthModelSavedOut(HealthModelOut):
    recalculation_job_id: str | None = None  # the 90-day history recomputation started by the change


class HealthModelVersionSummary(BaseModel):
    version: int
    preset: str | None
    weights: dict[str, float]  # enabled dimensions only
    smoothing_window: int
    updated_at: str | None
    updated_by: str | None


class HealthModelVersionListOut(BaseModel):
    items: list[HealthModelVersionSummary]
    next_cursor: str | None


class VersionListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class PresetDimension(BaseModel):
    key: str
    weight: float


class PresetOut(BaseModel):
    name: str
    label: str
    default: bool
    dimensions: list[PresetDimension]


class PresetListOut(BaseModel):
    items: list[PresetOut]


# A dry run's band changes and approximations are the domain's own dataclasses, answered as they are
# (pydantic serialises them): their fields are written once, in domain/health/dry_run.py. The subclasses
# only keep the API's schema names.
@dataclass(frozen=True)
class BandChangeOut(BandChange):
    pass


@dataclass(frozen=True)
class ApproximationOut(Approximation):
    pass


class DryRunOut(BaseModel):
    current_version: int
    customers: int
    unscored: int
    distribution_before: dict[str, int]
    distribution_after: dict[str, int]
    changed_count: int
    changed: list[BandChangeOut]  # at most MAX_CHANGED, lowest score after first
    approximations: list[ApproximationOut]
