"""Backtest a health model against what customers actually did. Pure: no AWS.

The inputs are what Keepwell stored each day it scored a customer — the day's dimension values (the
engine's inputs to `score_values`), with that day's explanation and evidence — and each customer's
outcome (churned, renewed, expanded, contracted) with its date. `replay` runs one customer's stored
days through a model exactly as the scorer does from dimension values on (weighted score with N/A
redistribution, smoothing, hysteresis, bands); `summarise` turns many replays into the figures an
admin judges a model by (docs/health-model.md, "How good is my model?"):

- per band: customers and churn rate (band 30 days before the outcome), and the share of churned
  customers that were in it 30, 60 and 90 days before they churned (lead time);
- ROC AUC of the daily score (lower = riskier) for churn within 90 days, over customer-days;
- precision and recall of "at risk" (the lowest band, 30 days before the outcome) for churn;
- calibration: observed churn rate of the customer-days in each tenth of the score scale;
- the churned customers the model missed (not at risk 30 days before), with why, that day.

A dimension the model enables but that was not stored on a day (the model then in force did not
score it, or a custom expression changed since) is N/A that day, its weight redistributed as the
scorer would, and counted per dimension in `not_stored_days`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from keepwell.domain.health.bands import BandState, apply_hysteresis, display_round
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.scoring import ScoreResult, score_values
from keepwell.domain.health.smoothing import MovingAverage

OutcomeKind = Literal["churned", "renewed", "expanded", "contracted"]
OUTCOME_KINDS: tuple[str, ...] = ("churned", "renewed", "expanded", "contracted")
HORIZONS: tuple[int, ...] = (30, 60, 90)  # lead times, in days before the outcome
FLAG_HORIZON = 30  # "at risk" is judged this many days before the outcome
CHURN_WINDOW = 90  # the AUC's question: does the customer churn within this many days?
WARM_UP_DAYS = 30  # stored days read before the window so smoothing and hysteresis start warm
CALIBRATION_BINS = 10
MAX_MISSED = 50  # missed churners listed (greenest first; the result stays one item); the count is exact
EXPLANATION_CHARS = 1000  # of the stored explanation quoted for a missed churner


@dataclass(frozen=True)
class Outcome:
    customer_id: str
    name: str
    kind: OutcomeKind
    day: date  # churned on / renewal closed on
    reason: str | None = None  # churn reason


@dataclass(frozen=True)
class StoredDay:
    """What was stored for one customer-day: dimension values (a key absent = not stored that day;
    present with None = N/A that day), and that day's explanation and top evidence."""

    day: date
    dimensions: Mapping[str, float | None]
    model_version: int = 0
    explanation: str = ""
    concerns: tuple[str, ...] = ()  # the day's top negative evidence, as written then
    strengths: tuple[str, ...] = ()  # the day's top positive evidence


def window_start(outcome_day: date) -> date:
    """First stored day a replay reads: the 90-day window plus the warm-up before it."""
    return outcome_day - timedelta(days=CHURN_WINDOW + WARM_UP_DAYS)


def window_end(outcome_day: date) -> date:
    return outcome_day - timedelta(days=1)


# --- one customer ------------------------------------------------------------------------------
@dataclass
class CustomerReplay:
    """One customer under one model: the daily score and band index of the 90 days before the
    outcome (index 0 = 90 days before, -1 = the day before; None = no score that day)."""

    customer_id: str
    kind: str
    outcome_day: date
    scores: list[float | None]
    bands: list[int | None]  # index into the model's bands
    not_stored: dict[str, int] = field(default_factory=dict)  # dimension -> days in the window
    missed: dict[str, Any] | None = None  # for a churner not at risk FLAG_HORIZON days before

    def band_at(self, days_before: int) -> int | None:
        return self.bands[CHURN_WINDOW - days_before]

    def to_json(self) -> dict[str, Any]:
        return {
            "c": self.customer_id,
            "k": self.kind,
            "d": self.outcome_day.isoformat(),
            "s": [None if s is None else round(s, 6) for s in self.scores],
            "b": self.bands,
            "n": self.not_stored,
            "m": self.missed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomerReplay:
        return cls(
            customer_id=data["c"],
            kind=data["k"],
            outcome_day=date.fromisoformat(data["d"]),
            scores=list(data["s"]),
            bands=list(data["b"]),
            not_stored=dict(data.get("n") or {}),
            missed=data.get("m"),
        )


def at_risk_index(model: HealthModel) -> int:
    """The model's "at risk" band: the lowest one (the band that holds a score of 0)."""
    return min(range(len(model.bands)), key=lambda i: model.bands[i].min)


def _values(
    model: HealthModel, stored: StoredDay, changed_custom: frozenset[str], not_stored: dict[str, int] | None
) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    for dim in model.enabled_dimensions():
        if dim.key in stored.dimensions and dim.key not in changed_custom:
            values[dim.key] = stored.dimensions[dim.key]
        else:
            values[dim.key] = None
            if not_stored is not None:
                not_stored[dim.key] = not_stored.get(dim.key, 0) + 1
    return values


def changed_custom_dimensions(model: HealthModel, reference: HealthModel | None) -> frozenset[str]:
    """Custom dimensions whose expression differs from the reference (the model in force): their stored
    values were computed by another formula, and the raw metrics to recompute them are not kept."""
    before = {d.key: d.expression for d in (reference or model).dimensions if d.expression}
    return frozenset(d.key for d in model.dimensions if d.expression and before.get(d.key) != d.expression)


def _why(model: HealthModel, result: ScoreResult, band: str, score: float, days_before: int, name: str) -> str:
    ranked = sorted((d for d in result.dimensions if not d.na), key=lambda d: d.contribution, reverse=True)
    strong = [f"{d.label.lower()} {d.value:.0f}" for d in ranked if (d.value or 0) >= 50][:3]
    weak = [f"{d.label.lower()} {d.value:.0f}" for d in ranked if (d.value or 0) < 50][-3:]
    text = f"{name} scored {display_round(score):g} ({band}) {days_before} days before churning"
    if strong:
        text += f"; held up by {', '.join(strong)}"
    if weak:
        text += f"; pulled down by {', '.join(weak)}"
    na = result.na_dimensions
    if na:
        text += f"; no data for {', '.join(na)}"
    return text + "."


def replay(
    model: HealthModel,
    outcome: Outcome,
    days: Iterable[StoredDay],
    changed_custom: frozenset[str] = frozenset(),
) -> CustomerReplay:
    """Replay one customer's stored days (any order, any range) through `model` as the scorer would:
    score, smoothing over the model's window, hysteresis, band. Only the 90 days before the outcome are
    kept; earlier days warm the smoothing up."""
    first, last = outcome.day - timedelta(days=CHURN_WINDOW), window_end(outcome.day)
    by_day = {d.day: d for d in days if window_start(outcome.day) <= d.day <= last}
    average = MovingAverage(model.smoothing_window)
    state: BandState | None = None
    scores: list[float | None] = [None] * CHURN_WINDOW
    bands: list[int | None] = [None] * CHURN_WINDOW
    index_of = {b.label: i for i, b in enumerate(model.bands)}
    not_stored: dict[str, int] = {}
    flag_day = outcome.day - timedelta(days=FLAG_HORIZON)
    missed: dict[str, Any] | None = None
    for day in sorted(by_day):
        stored = by_day[day]
        in_window = day >= first
        result = score_values(model, _values(model, stored, changed_custom, not_stored if in_window else None))
        smoothed = average.add(day, result.score)
        basis = smoothed if smoothed is not None else result.score
        band_index: int | None = None
        if basis is not None:
            band, state = apply_hysteresis(basis, model.bands, model.hysteresis, state)
            band_index = index_of[band.label]
        if not in_window:
            continue
        slot = (day - first).days
        scores[slot], bands[slot] = result.score, band_index
        if day == flag_day and outcome.kind == "churned" and band_index not in (None, at_risk_index(model)):
            assert basis is not None and band_index is not None
            label = model.bands[band_index].label
            missed = {
                "customer_id": outcome.customer_id,
                "name": outcome.name,
                "churned_on": outcome.day.isoformat(),
                "churn_reason": outcome.reason,
                "day": day.isoformat(),
                "score": None if result.score is None else display_round(result.score),
                "smoothed_score": display_round(basis),
                "band": label,
                "dimensions": [
                    {
                        "key": d.key,
                        "value": None if d.value is None else round(d.value, 1),
                        "effective_weight": round(d.effective_weight, 2),
                        "contribution": round(d.contribution, 2),
                    }
                    for d in result.dimensions
                ],
                "why": _why(model, result, label, basis, FLAG_HORIZON, outcome.name),
                "explanation_that_day": stored.explanation[:EXPLANATION_CHARS],
                "concerns_that_day": list(stored.concerns),
                "strengths_that_day": list(stored.strengths),
                "scored_that_day_with_version": stored.model_version,
            }
    return CustomerReplay(outcome.customer_id, outcome.kind, outcome.day, scores, bands, not_stored, missed)


# --- many customers ----------------------------------------------------------------------------
def roc_auc(risky: Sequence[float], safe: Sequence[float]) -> float | None:
    """P(a churner's customer-day scores below a non-churner's), ties counting half (Mann-Whitney U),
    by ranking once: O(n log n). None when either side is empty."""
    if not risky or not safe:
        return None
    labelled = sorted([(s, 1) for s in risky] + [(s, 0) for s in safe])
    rank_sum_safe = 0.0
    position = 0
    while position < len(labelled):
        end = position
        while end < len(labelled) and labelled[end][0] == labelled[position][0]:
            end += 1
        average_rank = (position + 1 + end) / 2  # ranks position+1 .. end share their mean
        rank_sum_safe += average_rank * sum(1 for _, label in labelled[position:end] if label == 0)
        position = end
    n_safe, n_risky = len(safe), len(risky)
    u = rank_sum_safe - n_safe * (n_safe + 1) / 2  # pairs where the non-churner scored higher
    return u / (n_safe * n_risky)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def summarise(model: HealthModel, replays: Sequence[CustomerReplay]) -> dict[str, Any]:
    """The backtest figures of one model over every customer replayed (see the module doc)."""
    churners = [r for r in replays if r.kind == "churned"]
    risky_index = at_risk_index(model)
    outcomes = {kind: sum(1 for r in replays if r.kind == kind) for kind in OUTCOME_KINDS}
    bands: list[dict[str, Any]] = []
    for index, band in enumerate(model.bands):
        members = [r for r in replays if r.band_at(FLAG_HORIZON) == index]
        churned = sum(1 for r in members if r.kind == "churned")
        bands.append(
            {
                "band": band.label,
                "color": band.color,
                "customers": len(members),
                "churned": churned,
                "churn_rate": _share(churned, len(members)),
                "lead_time": {
                    f"{h}d": _share(sum(1 for r in churners if r.band_at(h) == index), len(churners)) for h in HORIZONS
                },
            }
        )
    unscored = {
        "customers": sum(1 for r in replays if r.band_at(FLAG_HORIZON) is None),
        "lead_time": {
            f"{h}d": _share(sum(1 for r in churners if r.band_at(h) is None), len(churners)) for h in HORIZONS
        },
    }
    risky_scores = [s for r in churners for s in r.scores if s is not None]
    safe_scores = [s for r in replays if r.kind != "churned" for s in r.scores if s is not None]
    flagged = [r for r in replays if r.band_at(FLAG_HORIZON) == risky_index]
    flagged_churners = sum(1 for r in flagged if r.kind == "churned")
    calibration = []
    for bin_index in range(CALIBRATION_BINS):
        low = bin_index * 100 / CALIBRATION_BINS
        high = low + 100 / CALIBRATION_BINS
        last = bin_index == CALIBRATION_BINS - 1

        def inside(score: float, low: float = low, high: float = high, last: bool = last) -> bool:
            return low <= score < high or (last and score == high)

        positive = sum(1 for s in risky_scores if inside(s))
        total = positive + sum(1 for s in safe_scores if inside(s))
        calibration.append(
            {"scores": f"{low:g}-{high:g}", "customer_days": total, "churn_rate": _share(positive, total)}
        )
    missed_all = [r.missed for r in churners if r.missed is not None]
    missed_all.sort(key=lambda m: (-m["smoothed_score"], m["name"], m["customer_id"]))
    not_stored: dict[str, int] = {}
    for r in replays:
        for key, count in r.not_stored.items():
            not_stored[key] = not_stored.get(key, 0) + count
    scored_days = len(risky_scores) + len(safe_scores)
    return {
        "customers": len(replays),
        "outcomes": outcomes,
        "customer_days": scored_days,
        "unscored_customer_days": len(replays) * CHURN_WINDOW - scored_days,
        "roc_auc": roc_auc(risky_scores, safe_scores),
        "at_risk": {
            "band": model.bands[risky_index].label,
            "days_before": FLAG_HORIZON,
            "flagged": len(flagged),
            "flagged_churned": flagged_churners,
            "precision": _share(flagged_churners, len(flagged)),
            "recall": _share(flagged_churners, len(churners)),
        },
        "bands": bands,
        "unscored": unscored,
        "calibration": calibration,
        "missed_count": len(missed_all),
        "missed": missed_all[:MAX_MISSED],
        "not_stored_days": dict(sorted(not_stored.items())),
    }


def headline(summary: Mapping[str, Any]) -> str:
    """One line: AUC and the share of churners flagged at risk at least 30 days ahead."""
    auc = summary.get("roc_auc")
    recall = summary["at_risk"]["recall"]
    churned = summary["outcomes"]["churned"]
    auc_text = "n/a" if auc is None else f"{auc:.2f}"
    recall_text = "n/a" if recall is None else f"{recall * 100:.0f}%"
    return (
        f"AUC {auc_text}; {recall_text} of {churned} churned customers flagged "
        f"'{summary['at_risk']['band']}' >= {FLAG_HORIZON} days ahead ({summary['customers']} outcomes)"
    )
