"""Request and response bodies of the health API (the model, expression checks, snapshots, benchmarks)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keepwell.domain.health.alerts import Alert
from keepwell.domain.health.model import (
    AlertThresholds,
    Band,
    DimensionConfig,
    HysteresisConfig,
    NormalisationTargets,
    PresetName,
    SentimentConfig,
)
from keepwell.domain.health.snapshot import EvidenceItem, HealthSnapshot

# A custom variable an expression may use (a metric name).
VariableName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class HealthModelIn(BaseModel):
    """PUT body for the workspace's model: either a preset name or explicit dimensions (plus options).

    The service merges it into a `HealthModel` (which validates weights, bands, expressions) and bumps
    the version."""

    model_config = ConfigDict(extra="forbid")
    preset: PresetName | None = None
    dimensions: list[DimensionConfig] | None = Field(default=None, min_length=1, max_length=20)
    variables: list[VariableName] | None = Field(default=None, max_length=200)
    targets: NormalisationTargets | None = None
    sentiment: SentimentConfig | None = None
    bands: list[Band] | None = Field(default=None, min_length=1, max_length=10)
    smoothing_window: Literal[3, 7, 14, 30] | None = None
    hysteresis: HysteresisConfig | None = None
    alerts: AlertThresholds | None = None


class HealthModelOut(BaseModel):
    version: int
    preset: str | None
    dimensions: list[DimensionConfig]
    variables: list[str]
    targets: NormalisationTargets
    sentiment: SentimentConfig
    bands: list[Band]
    smoothing_window: int
    hysteresis: HysteresisConfig
    alerts: AlertThresholds
    updated_at: str | None = None
    updated_by: str | None = None


class ExpressionCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(min_length=1, max_length=2000)
    variables: list[VariableName] = Field(default_factory=list, max_length=200)
    sample: dict[str, Any] | None = Field(default=None, max_length=200)  # optional values to try it on


class ExpressionCheckOut(BaseModel):
    valid: bool
    message: str | None = None
    line: int | None = None
    col: int | None = None
    names: list[str] = Field(default_factory=list)
    sample_value: float | None = None  # None = N/A on the sample


class HealthHistoryOut(BaseModel):
    customer_id: str
    start: date
    end: date
    snapshots: list[HealthSnapshot]


class BenchmarkEntry(BaseModel):
    score: float | None
    segment: str
    segment_avg: float | None
    segment_size: int
    position: Literal["above", "below", "at"] | None


class BenchmarkOut(BenchmarkEntry):
    dimensions: dict[str, BenchmarkEntry]


class AlertsOut(BaseModel):
    alerts: list[Alert]


class DimensionDayOut(BaseModel):
    """One day of a dimension: what it measured and what it added to that day's score."""

    date: date
    value: float | None  # one decimal; null: N/A that day (no data)
    effective_weight: float  # its share of the score that day, after N/A dimensions' weight was spread
    contribution: float  # points it added to the day's score


class DimensionBenchmarkOut(BenchmarkEntry):
    """The dimension against the average of one segment the customer is in."""

    segment_id: str


class DimensionDetailOut(BaseModel):
    """One dimension of a customer's health: its daily series (oldest first; a day without a snapshot is
    absent), its latest value and the events behind it, and where it stands in the customer's segments."""

    customer_id: str
    dimension: str
    label: str
    start: date
    end: date
    value: float | None = None  # latest snapshot's value, one decimal; null: N/A or never scored
    scored_day: date | None = None
    series: list[DimensionDayOut]
    top_positive: list[EvidenceItem] = Field(default_factory=list)
    top_negative: list[EvidenceItem] = Field(default_factory=list)
    benchmark: list[DimensionBenchmarkOut] = Field(default_factory=list)  # one per segment, by segment name
