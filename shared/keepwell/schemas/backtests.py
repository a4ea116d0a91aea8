"""Bodies and answers of the model backtest (`POST /v1/health/model/backtest`, `GET …/{backtest_id}`)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from keepwell.schemas.health_model_api import HealthModelPutIn


class BacktestPeriod(BaseModel):
    """Outcomes dated from `from` to `to`, inclusive (`from` is a Python keyword, hence the alias)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> BacktestPeriod:
        if self.start > self.end:
            raise ValueError("period.from must not be after period.to")
        if (self.end - self.start).days > 730:
            raise ValueError("period is at most 730 days")
        return self


class BacktestIn(HealthModelPutIn):
    """The PUT /v1/health/model body (optional: nothing = backtest the model in force alone), plus the
    period whose outcomes are replayed (default: the 365 days up to today)."""

    period: BacktestPeriod | None = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in super().changes().items() if k != "period"}


class BandRowOut(BaseModel):
    band: str
    color: str
    customers: int  # in the band 30 days before their outcome
    churned: int
    churn_rate: float | None
    lead_time: dict[str, float | None]  # share of churners in the band 30/60/90 days before churning


class AtRiskOut(BaseModel):
    band: str
    days_before: int
    flagged: int
    flagged_churned: int
    precision: float | None
    recall: float | None


class CalibrationRowOut(BaseModel):
    scores: str
    customer_days: int
    churn_rate: float | None


class MissedDimensionOut(BaseModel):
    key: str
    value: float | None
    effective_weight: float
    contribution: float


class MissedChurnerOut(BaseModel):
    customer_id: str
    name: str
    churned_on: date
    churn_reason: str | None
    day: date
    score: float | None  # that day's score (null: no dimension had data that day)
    smoothed_score: float  # what the band was taken from
    band: str
    dimensions: list[MissedDimensionOut]
    why: str
    explanation_that_day: str
    concerns_that_day: list[str]
    strengths_that_day: list[str]
    scored_that_day_with_version: int


class UnscoredOut(BaseModel):
    customers: int
    lead_time: dict[str, float | None]


class BacktestReportOut(BaseModel):
    customers: int
    outcomes: dict[str, int]
    customer_days: int
    unscored_customer_days: int
    roc_auc: float | None
    at_risk: AtRiskOut
    bands: list[BandRowOut]
    unscored: UnscoredOut
    calibration: list[CalibrationRowOut]
    missed_count: int
    missed: list[MissedChurnerOut]
    not_stored_days: dict[str, int]
    headline: str


class BacktestModelOut(BaseModel):
    label: Literal["current", "proposed"]
    version: int | None  # the current model's version; null for a proposal
    report: BacktestReportOut | None  # null until the job finishes


class BacktestOut(BaseModel):
    """A backtest job: progress, and once finished the current model's figures beside the proposal's."""

    job_id: str
    status: Literal["running", "finished", "failed"]
    period: dict[str, date]
    total: int  # customers with an outcome in the period
    done: int
    percent: float
    started_at: str
    finished_at: str | None
    requested_by: str
    error: str | None
    models: list[BacktestModelOut]
    proposed_model: dict[str, Any] | None
