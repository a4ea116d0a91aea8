"""Alert detection (pure): sharp drops, band crossings and misalignment with the segment, one alert per
episode. The caller keeps `AlertState` with the customer and passes it back the next day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from keepwell.domain.health.bands import band_rank
from keepwell.domain.health.model import AlertThresholds, Band

AlertKind = Literal["sharp_drop", "band_crossing", "misalignment"]


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: AlertKind
    date: date
    severity: Literal["info", "warning", "critical"]
    message: str
    details: dict[str, Any] = {}


class AlertState(BaseModel):
    """What is remembered between days so an ongoing episode alerts once."""

    model_config = ConfigDict(frozen=True)
    band: str | None = None
    in_drop: bool = False
    misaligned: bool = False


def detect_alerts(
    day: date,
    score: float | None,
    band: str | None,
    recent_scores: Sequence[tuple[date, float | None]],
    thresholds: AlertThresholds,
    bands: Sequence[Band],
    state: AlertState | None = None,
    segment_avg: float | None = None,
    segment: str | None = None,
) -> tuple[list[Alert], AlertState]:
    """New alerts for `day` and the state to keep.

    - sharp drop: today's score is more than `sharp_drop_points` below the highest score of the previous
      `sharp_drop_days` days; the episode ends once that is no longer true.
    - band crossing: the band differs from yesterday's (direction-aware, `band_crossing` = both/down/off).
    - misalignment: more than `misalignment_points` below the segment average; ends when back within it.
    """
    state = state or AlertState()
    alerts: list[Alert] = []
    if score is None:  # no score, nothing to judge; keep the episodes as they were
        return alerts, state

    since = day - timedelta(days=thresholds.sharp_drop_days)
    earlier = [s for d, s in recent_scores if since <= d < day and s is not None]
    peak = max(earlier, default=None)
    dropping = peak is not None and peak - score > thresholds.sharp_drop_points
    if dropping and not state.in_drop:
        assert peak is not None
        alerts.append(
            Alert(
                kind="sharp_drop",
                date=day,
                severity="critical",
                message=(
                    f"Health dropped {peak - score:.1f} points in {thresholds.sharp_drop_days} days "
                    f"(from {peak:.1f} to {score:.1f})"
                ),
                details={"from": round(peak, 1), "to": round(score, 1), "days": thresholds.sharp_drop_days},
            )
        )

    crossed = band is not None and state.band is not None and band != state.band
    if crossed and thresholds.band_crossing != "off":
        assert band is not None and state.band is not None
        try:
            direction = "up" if band_rank(band, bands) > band_rank(state.band, bands) else "down"
        except KeyError:  # the banding table changed since yesterday: compare nothing
            direction = ""
        if direction == "down" or (direction == "up" and thresholds.band_crossing == "both"):
            alerts.append(
                Alert(
                    kind="band_crossing",
                    date=day,
                    severity="warning" if direction == "down" else "info",
                    message=f"Health moved {direction} from {state.band} to {band}",
                    details={"from": state.band, "to": band, "direction": direction},
                )
            )

    misaligned = segment_avg is not None and segment_avg - score > thresholds.misalignment_points
    if misaligned and not state.misaligned:
        assert segment_avg is not None
        where = f"segment {segment}" if segment else "its segment"
        alerts.append(
            Alert(
                kind="misalignment",
                date=day,
                severity="warning",
                message=f"Health {score:.1f} is {segment_avg - score:.1f} points below the {where} average "
                f"({segment_avg:.1f})",
                details={"score": round(score, 1), "segment_avg": round(segment_avg, 1), "segment": segment},
            )
        )
    new_state = AlertState(
        band=band if band is not None else state.band,
        in_drop=dropping,
        misaligned=misaligned if segment_avg is not None else state.misaligned,
    )
    return alerts, new_state
