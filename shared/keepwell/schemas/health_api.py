"""Bodies of the recalculation and customer-health routes (functions/api/health_routes.py)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.health.snapshot import DimensionSnapshot, EvidenceItem


class RecalculationOut(BaseModel):
    """A recalculation job's progress: `done` + `failed` of `total` customers. While `listing` is
    "running" the scorer is still listing the customers: `total` counts those listed so far and
    `percent` is null. "failed": the listing stopped for good, the customers after `total` were left
    out (the job finishes with the ones listed)."""

    job_id: str
    status: Literal["running", "finished"]
    listing: Literal["running", "done", "failed"]
    total: int
    done: int
    failed: int
    percent: float | None
    started_at: str
    finished_at: str | None
    reason: str
    requested_by: str
    model_version: int


class CustomerHealthOut(BaseModel):
    """A customer's current health with its breakdown; `score` is null until it was first scored."""

    customer_id: str
    name: str
    score: float | None = None  # the day's score, one decimal
    smoothed_score: float | None = None
    band: str | None = None
    band_color: str | None = None
    scored_day: date | None = None
    scored_at: str | None = None  # when it was last (re)calculated
    model_version: int | None = None
    coverage: float | None = None  # share of the model's weight that had data
    dimensions: list[DimensionSnapshot] = Field(default_factory=list)
    na_dimensions: list[str] = Field(default_factory=list)
    top_positive: list[EvidenceItem] = Field(default_factory=list)
    top_negative: list[EvidenceItem] = Field(default_factory=list)
    explanation: str | None = None
    pending_band: str | None = None


class HealthHistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(default=90, ge=1, le=90)


class ScorePoint(BaseModel):
    date: date
    score: float | None
    smoothed_score: float | None
    band: str | None


class DimensionPoint(BaseModel):
    date: date
    value: float | None  # null: N/A that day


class DimensionSeries(BaseModel):
    label: str
    points: list[DimensionPoint]


class CustomerHealthHistoryOut(BaseModel):
    """Daily series, oldest first; a day without a snapshot is absent (not zero)."""

    customer_id: str
    start: date
    end: date
    overall: list[ScorePoint]
    dimensions: dict[str, DimensionSeries]
