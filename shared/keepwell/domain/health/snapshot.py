"""A day's health snapshot, and the (re)computation of a customer's daily history under a model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.health.bands import BandState, apply_hysteresis
from keepwell.domain.health.dimensions import PreparedModel, SignalIndex, measure
from keepwell.domain.health.explain import TOP_EVIDENCE, RankedEvidence, explain, weigh_parts
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.scoring import DimensionScore, ScoreResult, Weighting, score_values
from keepwell.domain.health.signals import CustomerSignals
from keepwell.domain.health.smoothing import MovingAverage

HISTORY_DAYS = 90


class DimensionSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)
    key: str
    label: str
    value: float | None
    weight: float
    effective_weight: float
    contribution: float
    na: bool


class EvidenceItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    dimension: str
    text: str
    impact: float
    ref: str | None = None


class HealthSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)
    customer_id: str = ""
    date: date
    score: float | None  # exact
    display_score: float | None  # one decimal, what users see
    smoothed_score: float | None
    band: str | None
    band_color: str | None
    dimensions: list[DimensionSnapshot]
    na_dimensions: list[str]
    coverage: float
    model_version: int
    top_positive: list[EvidenceItem] = Field(default_factory=list)
    top_negative: list[EvidenceItem] = Field(default_factory=list)
    explanation: str = ""
    pending_band: str | None = None  # hysteresis: a band change being waited out
    pending_days: int = 0

    def dimension(self, key: str) -> DimensionSnapshot | None:
        return next((d for d in self.dimensions if d.key == key), None)


def _dimension(d: DimensionScore) -> DimensionSnapshot:
    """A breakdown row as a snapshot model: validated from keywords, which pydantic does in about two
    thirds of the time of `model_validate(..., from_attributes=True)` (and `model_construct`, a Python
    loop over the fields, is slower than either); `na` is the DimensionScore's own property."""
    return DimensionSnapshot(
        key=d.key,
        label=d.label,
        value=d.value,
        weight=d.weight,
        effective_weight=d.effective_weight,
        contribution=d.contribution,
        na=d.value is None,
    )


class Scorer:
    """Scores one customer day after day, carrying the smoothing window and hysteresis state.

    Snapshot models are frozen, so the breakdown rows and evidence items of one day are shared by the
    later days that show the same (most dimensions keep their value for days) instead of validated again."""

    def __init__(
        self,
        model: HealthModel | PreparedModel,
        signals: CustomerSignals,
        prior: Sequence[HealthSnapshot] = (),
        top: int = TOP_EVIDENCE,
    ):
        self.prepared = model if isinstance(model, PreparedModel) else PreparedModel.of(model)
        self.model = self.prepared.model
        self.weighting = Weighting(self.model)  # the model's weights, shared out once per set of N/A dimensions
        self.signals = signals
        self.index: SignalIndex = self.prepared.index(signals)
        self.top = top
        self.average = MovingAverage(self.model.smoothing_window)
        self.state: BandState | None = None
        self.last_day: date | None = None
        self._rows: dict[tuple[str, float | None, float], DimensionSnapshot] = {}
        self._items: dict[tuple[str, str, float, str | None], EvidenceItem] = {}
        for snap in sorted(prior, key=lambda s: s.date):
            self.average.add(snap.date, snap.score)
            self.last_day = snap.date
            self.state = BandState(snap.band, snap.pending_band, snap.pending_days) if snap.band else None

    def score(self, day: date) -> HealthSnapshot:
        if self.last_day is not None and day <= self.last_day:
            raise ValueError(f"days must be scored in order; {day} is not after {self.last_day}")
        self.last_day = day
        measurement = measure(self.prepared, self.index, day)
        result = score_values(self.model, measurement.values, self.weighting)
        smoothed = self.average.add(day, result.score)
        band_name: str | None = None
        band_color: str | None = None
        basis = smoothed if smoothed is not None else result.score
        if basis is not None:
            band, self.state = apply_hysteresis(basis, self.model.bands, self.model.hysteresis, self.state)
            band_name, band_color = band.label, band.color
        ranked = weigh_parts(measurement.parts, result)  # = weigh(measurement.evidence, result)
        positives = [r for r in ranked if r.impact > 0][: self.top]
        negatives = [r for r in ranked if r.impact < 0][: self.top]
        name = self.signals.name or "This customer"
        return HealthSnapshot(
            customer_id=self.signals.customer_id,
            date=day,
            score=result.score,
            display_score=result.display_score,
            smoothed_score=smoothed,
            band=band_name,
            band_color=band_color,
            dimensions=self._breakdown(result),
            na_dimensions=result.na_dimensions,
            coverage=result.coverage,
            model_version=self.prepared.version,
            top_positive=self._evidence(positives),
            top_negative=self._evidence(negatives),
            explanation=explain(result, ranked, band_name, name),
            pending_band=self.state.pending_band if self.state and basis is not None else None,
            pending_days=self.state.pending_days if self.state and basis is not None else 0,
        )

    def _breakdown(self, result: ScoreResult) -> list[DimensionSnapshot]:
        """The score's breakdown, a row met before shared (its key, value and effective weight fix the rest)."""
        rows = []
        for d in result.dimensions:
            key = (d.key, d.value, d.effective_weight)
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = _dimension(d)
            rows.append(row)
        return rows

    def _evidence(self, ranked: list[RankedEvidence]) -> list[EvidenceItem]:
        """The ranked evidence as snapshot items, an item met before shared."""
        items = []
        for r in ranked:
            key = (r.dimension, r.text, r.impact, r.ref)
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = EvidenceItem(dimension=r.dimension, text=r.text, impact=r.impact, ref=r.ref)
            items.append(item)
        return items


def compute_snapshot(
    model: HealthModel | PreparedModel, signals: CustomerSignals, day: date, prior: Sequence[HealthSnapshot] = ()
) -> HealthSnapshot:
    """Today's snapshot; `prior` (earlier snapshots, e.g. the last 30 days) feeds smoothing and hysteresis."""
    window_start = day - timedelta(days=31)
    recent = [s for s in prior if window_start <= s.date < day]
    return Scorer(model, signals, recent).score(day)


def compute_history(
    model: HealthModel | PreparedModel,
    signals: CustomerSignals,
    end: date,
    days: int = HISTORY_DAYS,
    prior: Sequence[HealthSnapshot] = (),
) -> list[HealthSnapshot]:
    """Recompute `days` daily snapshots ending on `end`, oldest first (e.g. after the model changed).

    Signals are indexed once and each day is answered by bisects and a sliding window: linear in days."""
    start = end - timedelta(days=days - 1)
    scorer = Scorer(model, signals, [s for s in prior if s.date < start])
    return [scorer.score(start + timedelta(days=offset)) for offset in range(days)]
