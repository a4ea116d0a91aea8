"""The configurable health model: dimensions and weights, presets, normalisation targets, bands,
smoothing, hysteresis and alert thresholds. Pure pydantic configuration; no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from keepwell.domain.health.expressions import compile_expression, expression_names
from keepwell.domain.health.names import (  # re-exported: the model's own vocabulary
    CONTRACT,
    ENGAGEMENT,
    PAYMENT,
    RELATIONSHIP,
    SENTIMENT,
    STANDARD_DIMENSIONS,
    SUPPORT,
    USAGE,
)
from keepwell.errors import InvalidInput, from_validation_error

SMOOTHING_WINDOWS: tuple[int, ...] = (3, 7, 14, 30)
WEIGHT_TOLERANCE = 1e-9

_STRICT = ConfigDict(extra="forbid")


def _fmt(number: float) -> str:
    return f"{number:g}"


class Target(BaseModel):
    """Linear normalisation of one raw metric: `good` maps to 100, `bad` to 0, clamped in between.

    Works in both directions (good > bad for "more is better", good < bad for "less is better")."""

    model_config = ConfigDict(extra="forbid", frozen=True)  # frozen: defaults are shared safely
    good: float
    bad: float

    @model_validator(mode="after")
    def _distinct(self) -> Target:
        if self.good == self.bad:
            raise ValueError("good and bad must differ")
        return self

    def normalise(self, raw: float) -> float:
        value = (raw - self.bad) / (self.good - self.bad) * 100.0
        return min(100.0, max(0.0, value))


class NormalisationTargets(BaseModel):
    """Per-workspace targets turning raw signals into 0-100 metric scores (defaults documented in
    docs/health-model.md). A workspace overrides any subset; the rest keep their defaults."""

    model_config = _STRICT
    window_days: int = Field(default=30, ge=7, le=90)
    # usage
    logins_per_seat_week: Target = Target(good=5, bad=0)
    distinct_features: Target = Target(good=10, bad=0)
    dau_mau: Target = Target(good=0.4, bad=0)
    new_feature_adoption_pct: Target = Target(good=50, bad=0)
    # engagement
    emails_in_per_week: Target = Target(good=2, bad=0)
    emails_out_per_week: Target = Target(good=2, bad=0)
    meetings: Target = Target(good=2, bad=0)
    meeting_minutes: Target = Target(good=60, bad=0)
    proactive_reply_rate_pct: Target = Target(good=60, bad=0)
    champion_response_hours: Target = Target(good=24, bad=120)
    # support
    open_tickets: Target = Target(good=0, bad=10)
    resolution_hours: Target = Target(good=24, bad=240)
    critical_high_pct: Target = Target(good=0, bad=50)
    escalations: Target = Target(good=0, bad=3)
    # sentiment
    email_tone: Target = Target(good=0.5, bad=-0.5)  # VADER compound, -1..1
    nps: Target = Target(good=10, bad=0)  # latest NPS answer, 0..10
    # payment
    days_to_pay: Target = Target(good=15, bad=60)
    overdue_invoices: Target = Target(good=0, bad=3)
    # relationship
    contacts: Target = Target(good=5, bad=0)
    contact_roles: Target = Target(good=3, bad=0)  # executive, manager and practitioner all covered
    # contract
    renewal_runway_days: Target = Target(good=180, bad=0)
    expansions: Target = Target(good=2, bad=0)
    contractions: Target = Target(good=0, bad=2)


Keyword = Annotated[str, StringConstraints(max_length=100)]  # a competitor or keyword to look for in emails


class SentimentConfig(BaseModel):
    model_config = _STRICT
    competitors: list[Keyword] = Field(default_factory=list, max_length=200)
    critical_keywords: list[Keyword] = Field(default_factory=lambda: ["cancel", "terminate contract"], max_length=200)
    extra_keywords: list[Keyword] = Field(default_factory=list, max_length=200)
    keyword_penalty: float = Field(default=15.0, ge=0, le=100)  # points off the dimension per keyword hit
    keyword_penalty_cap: float = Field(default=45.0, ge=0, le=100)

    def keywords(self) -> list[str]:
        seen: dict[str, None] = {}
        for word in [*self.critical_keywords, *self.extra_keywords, *self.competitors]:
            cleaned = word.strip().lower()
            if cleaned:
                seen.setdefault(cleaned, None)
        return list(seen)


class Band(BaseModel):
    """One score band, inclusive integer bounds as users read them: 50-69 holds every score 50.0-69.9."""

    model_config = _STRICT
    label: str = Field(min_length=1, max_length=40)
    color: str = Field(min_length=1, max_length=20)
    min: int = Field(ge=0, le=100)
    max: int = Field(ge=0, le=100)


def _default_bands() -> list[Band]:
    return [
        Band(label="Healthy", color="green", min=70, max=100),
        Band(label="Neutral", color="yellow", min=50, max=69),
        Band(label="At risk", color="red", min=0, max=49),
    ]


class HysteresisConfig(BaseModel):
    model_config = _STRICT
    enabled: bool = False
    margin_points: float = Field(default=3.0, ge=0, le=50)  # switch at once when this far past the boundary
    min_days: int = Field(default=3, ge=1, le=30)  # ...or after this many consecutive days across it


class AlertThresholds(BaseModel):
    model_config = _STRICT
    sharp_drop_points: float = Field(default=15.0, gt=0, le=100)
    sharp_drop_days: int = Field(default=7, ge=1, le=30)
    misalignment_points: float = Field(default=20.0, gt=0, le=100)
    band_crossing: Literal["both", "down", "off"] = "both"


class DimensionConfig(BaseModel):
    model_config = _STRICT
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    weight: float = Field(ge=0, le=100)
    enabled: bool = True
    label: str | None = Field(default=None, max_length=60)
    expression: str | None = Field(default=None, max_length=2000)  # custom dimensions only

    @property
    def is_custom(self) -> bool:
        return self.key not in STANDARD_DIMENSIONS

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()


PresetName = Literal["balanced", "usage_heavy", "engagement_first", "support_critical", "six_factor"]
PRESETS: dict[str, dict[str, float]] = {
    "balanced": {USAGE: 40, ENGAGEMENT: 30, SUPPORT: 20, SENTIMENT: 10},
    "usage_heavy": {USAGE: 60, ENGAGEMENT: 20, SUPPORT: 15, SENTIMENT: 5},
    "engagement_first": {USAGE: 20, ENGAGEMENT: 50, SUPPORT: 20, SENTIMENT: 10},
    "support_critical": {USAGE: 30, ENGAGEMENT: 20, SUPPORT: 40, SENTIMENT: 10},
    "six_factor": {PAYMENT: 25, ENGAGEMENT: 20, USAGE: 20, SUPPORT: 15, RELATIONSHIP: 10, CONTRACT: 10},
}
DEFAULT_PRESET = "balanced"


class HealthModel(BaseModel):
    model_config = _STRICT
    version: int = Field(default=1, ge=1)
    preset: PresetName | None = None
    dimensions: list[DimensionConfig] = Field(min_length=1, max_length=20)
    variables: list[str] = Field(default_factory=list, max_length=200)  # names custom expressions may use
    targets: NormalisationTargets = Field(default_factory=lambda: NormalisationTargets())
    sentiment: SentimentConfig = Field(default_factory=lambda: SentimentConfig())
    bands: list[Band] = Field(default_factory=_default_bands, min_length=1, max_length=10)
    smoothing_window: int = 7
    hysteresis: HysteresisConfig = Field(default_factory=lambda: HysteresisConfig())
    alerts: AlertThresholds = Field(default_factory=lambda: AlertThresholds())

    @field_validator("smoothing_window")
    @classmethod
    def _window(cls, value: int) -> int:
        if value not in SMOOTHING_WINDOWS:
            allowed = ", ".join(str(w) for w in SMOOTHING_WINDOWS)
            raise ValueError(f"smoothing window must be one of {allowed} days, got {value}")
        return value

    @field_validator("bands")
    @classmethod
    def _bands(cls, bands: list[Band]) -> list[Band]:
        return check_band_table(bands)

    @model_validator(mode="after")
    def _dimensions(self) -> HealthModel:
        keys = [d.key for d in self.dimensions]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"dimension keys must be unique; repeated: {', '.join(duplicates)}")
        enabled = [d for d in self.dimensions if d.enabled]
        if not enabled:
            raise ValueError("at least one dimension must be enabled")
        total = math.fsum(d.weight for d in enabled)
        if abs(total - 100.0) > WEIGHT_TOLERANCE:
            raise ValueError(f"weights sum to {_fmt(total)}, must be 100")
        for dim in self.dimensions:
            if dim.is_custom and not dim.expression:
                raise ValueError(
                    f"dimension '{dim.key}' is not a standard dimension "
                    f"({', '.join(STANDARD_DIMENSIONS)}) so it needs an expression"
                )
            if not dim.is_custom and dim.expression:
                raise ValueError(f"standard dimension '{dim.key}' cannot have an expression")
        if any(d.is_custom for d in self.dimensions):
            allowed = expression_names(self.variables)
            for dim in self.dimensions:
                if dim.expression:
                    try:
                        compile_expression(dim.expression, allowed)
                    except InvalidInput as error:  # pydantic only collects ValueErrors
                        raise ValueError(f"dimension '{dim.key}': {error.message}") from error
        return self

    def enabled_dimensions(self) -> list[DimensionConfig]:
        return [d for d in self.dimensions if d.enabled]

    @classmethod
    def from_preset(cls, name: str = DEFAULT_PRESET, **overrides: Any) -> HealthModel:
        if name not in PRESETS:
            raise InvalidInput(
                f"Unknown preset '{name}'; choose one of {', '.join(PRESETS)}",
                details=[{"field": "preset", "issue": "unknown preset"}],
            )
        dims = [DimensionConfig(key=k, weight=w) for k, w in PRESETS[name].items()]
        return cls(preset=name, dimensions=dims, **overrides)  # type: ignore[arg-type]


def parse_health_model(data: Any) -> HealthModel:
    """Validate a model from JSON-like input; any problem is one InvalidInput naming the fields."""
    try:
        return HealthModel.model_validate(data)
    except ValidationError as error:
        raise from_validation_error(error, "health model") from error


def check_band_table(bands: Sequence[Band]) -> list[Band]:
    """Bands must be contiguous integer ranges covering exactly 0-100; returned highest first."""
    labels = [b.label.strip().lower() for b in bands]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"band labels must be unique; repeated: {', '.join(repeated)}")
    for band in bands:
        if band.min > band.max:
            raise ValueError(f"band '{band.label}' has min {band.min} above max {band.max}")
    ordered = sorted(bands, key=lambda b: b.min)
    if ordered[0].min != 0:
        lowest = ordered[0]
        raise ValueError(f"bands must start at 0; the lowest band '{lowest.label}' starts at {lowest.min}")
    if ordered[-1].max != 100:
        highest = ordered[-1]
        raise ValueError(f"bands must reach 100; the highest band '{highest.label}' ends at {highest.max}")
    for lower, upper in pairwise(ordered):
        if upper.min <= lower.max:
            raise ValueError(
                f"bands '{lower.label}' ({lower.min}-{lower.max}) and '{upper.label}' ({upper.min}-{upper.max}) overlap"
            )
        if upper.min > lower.max + 1:
            raise ValueError(
                f"gap between '{lower.label}' (max {lower.max}) and '{upper.label}' (min {upper.min}): "
                f"scores {lower.max + 1}-{upper.min - 1} have no band"
            )
    return list(reversed(ordered))
