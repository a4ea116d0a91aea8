"""Score bands: validating a banding table, classifying a score, and hysteresis between bands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from keepwell.domain.health.model import Band, HysteresisConfig

_TENTH = Decimal("0.1")


def display_round(value: float) -> float:
    """Round half up to one decimal (what users see); floats like 70.25 are nudged by repr, not binary."""
    return float(Decimal(repr(value)).quantize(_TENTH, rounding=ROUND_HALF_UP))


def classify(score: float, bands: Sequence[Band]) -> Band:
    """The band holding the displayed (1-decimal) score: 69.96 shows as 70.0 and is therefore Healthy."""
    shown = display_round(score)
    best: Band | None = None
    for band in bands:
        if band.min <= shown and (best is None or band.min > best.min):
            best = band
    if best is None:  # a validated table starts at 0, so only a negative score lands here
        best = min(bands, key=lambda b: b.min)
    return best


def band_rank(band_label: str, bands: Sequence[Band]) -> int:
    """Higher is healthier: the rank of a band by its lower bound."""
    ordered = sorted(bands, key=lambda b: b.min)
    for rank, band in enumerate(ordered):
        if band.label == band_label:
            return rank
    raise KeyError(band_label)


@dataclass(frozen=True)
class BandState:
    """What hysteresis remembers between days: the band shown and a pending change being waited out."""

    band: str | None = None
    pending_band: str | None = None
    pending_days: int = 0


def apply_hysteresis(
    score: float, bands: Sequence[Band], config: HysteresisConfig, state: BandState | None
) -> tuple[Band, BandState]:
    """Return the band to show today and the state to carry to tomorrow.

    Off (the default) or without a previous band, the band is simply the score's band. On, a change
    happens only when the score is at least `margin_points` past the boundary of the current band, or
    has stayed in another band for `min_days` consecutive days."""
    raw = classify(score, bands)
    current = next((b for b in bands if state is not None and b.label == state.band), None)
    if not config.enabled or current is None or raw.label == current.label:
        return raw, BandState(band=raw.label)
    assert state is not None
    shown = display_round(score)
    boundary_distance = shown - (current.max + 1) if raw.min > current.min else current.min - shown
    days = state.pending_days + 1 if state.pending_band == raw.label else 1
    if boundary_distance >= config.margin_points or days >= config.min_days:
        return raw, BandState(band=raw.label)
    return current, BandState(band=current.label, pending_band=raw.label, pending_days=days)
