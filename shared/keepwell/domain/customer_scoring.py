"""Scoring one customer, without I/O: signals from what storage read, the health engine's snapshot(s),
the scoring state carried on the profile, the digest that makes a write idempotent, and the domain
events a write publishes. `scoring_jobs` does the reading, writing and publishing around it.

The scoring state (`health_state` on the profile) keeps, for each of the last 31 scored days, the
exact score, the band with its hysteresis state, and the alert episode flags and alerts raised, so a
daily scoring continues smoothing, hysteresis and alert episodes from yesterday without reading old
snapshots — and re-scoring the same day (a late signal) neither restarts an episode nor re-alerts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from keepwell.domain import signal_log as logs
from keepwell.domain.contacts import ContactDepth
from keepwell.domain.customers import Customer
from keepwell.domain.events import DomainEvent
from keepwell.domain.health.alerts import Alert, AlertState, detect_alerts
from keepwell.domain.health.bands import band_rank
from keepwell.domain.health.dimensions import PreparedModel
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.signals import (
    ContractSignals,
    CustomerSignals,
    PaymentSignals,
    RelationshipSignals,
    UsageDay,
    UsageSignals,
)
from keepwell.domain.health.snapshot import HISTORY_DAYS, HealthSnapshot, compute_history, compute_snapshot
from keepwell.domain.segment_baselines import PeerAverage, SegmentBaselines
from keepwell.domain.segments import HealthRow
from keepwell.domain.signal_log import SignalLog

STATE_DAYS = 31  # the longest smoothing window (30) plus one day
CHANGE_DAYS = 7  # the portfolio's "7-day change" of the health score
MAU_DAYS = 30  # DAU/MAU always looks 30 days back, whatever the model's window
STATE_VERSION = 1
EXPRESSION_FIELDS = ("arr", "mrr", "seats", "employee_count", "nps", "status", "tier", "plan", "industry", "region")


# --- which days to read -----------------------------------------------------------------------------
def lookback_days(model: HealthModel) -> int:
    """Days of metrics the usage dimension reads for one scored day (that day included)."""
    return max(model.targets.window_days, MAU_DAYS)


def metric_days(model: HealthModel, first: date, last: date) -> list[date]:
    """The days of usage needed to score every day from `first` to `last` (read from the usage history)."""
    start = first - timedelta(days=lookback_days(model) - 1)
    return [start + timedelta(days=n) for n in range((last - start).days + 1)]


def history_start(end: date, recompute_from: date | None = None) -> date:
    """First day of a recomputed history: 90 days back, or from a late event's day (at most 90 back)."""
    earliest = end - timedelta(days=HISTORY_DAYS - 1)
    if recompute_from is None:
        return earliest
    return min(end, max(earliest, recompute_from))


# --- signals --------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def relationship_signals(
    customer: Customer, depth: ContactDepth | None, qbr_days: Sequence[date]
) -> RelationshipSignals | None:
    """Contact depth, champion and QBRs; None (N/A) when the customer has no contact, no champion and
    no QBR on record. A champion is a contact, so it counts as one where the counters are older than it."""
    total = max(0, depth.total) if depth is not None else 0
    champion = customer.champion_contact_id is not None
    if not total and not champion and not qbr_days:
        return None
    return RelationshipSignals(
        contacts=max(total, int(champion)),
        champion_identified=champion,
        role_levels=depth.role_levels if depth is not None else None,
        qbr_days=tuple(qbr_days),
    )


def build_signals(
    customer: Customer,
    usage_days: Sequence[UsageDay],
    log: SignalLog | None,
    *,
    usage_connected: bool,
    contract: ContractSignals | None = None,
    capabilities: Mapping[str, float] | None = None,
    contacts: ContactDepth | None = None,
) -> CustomerSignals:
    """A customer's inputs for the engine. A source with no data at all is N/A (None), never 0:

    - usage: connected once the customer ever had a metrics day (kept in the scoring state);
    - emails, meetings, tickets, NPS: connected when the customer has a signal log (an empty list in
      it is a real signal: no tickets is good support);
    - contract: from the customer's renewal records (`domain/renewals.contract_signals`: the next
      renewal's date and auto-renew, the expansions and contractions of its history), as stored with
      them; no record → N/A;
    - payment: from the custom fields `avg_days_to_pay` and `overdue_invoices` when the workspace
      records them;
    - relationship: from the contact counters kept on the profile (`contacts`), its champion and the
      QBRs of the signal log (`relationship_signals`); N/A when there is none of the three;
    - capabilities: the capability-adoption variables of the scored day for custom expressions
      (`domain/capabilities.expression_variables`); none when the workspace tracks no capability.
    """
    custom = dict(customer.custom_fields)
    fields = {name: getattr(customer, name) for name in EXPRESSION_FIELDS}
    usage = UsageSignals(days=tuple(usage_days), seats=customer.seats) if usage_connected else None
    payment = None
    if "avg_days_to_pay" in custom or "overdue_invoices" in custom:
        payment = PaymentSignals(
            avg_days_to_pay=_number(custom.get("avg_days_to_pay")),
            overdue_invoices=int(_number(custom.get("overdue_invoices")) or 0),
        )
    return CustomerSignals(
        customer_id=customer.customer_id,
        name=customer.name,
        fields=fields,
        custom=custom,
        usage=usage,
        emails=logs.emails(log) if log is not None else None,
        meetings=logs.meetings(log) if log is not None else None,
        tickets=logs.tickets(log) if log is not None else None,
        nps=logs.nps_responses(log) if log is not None else None,
        payment=payment,
        contract=contract,
        relationship=relationship_signals(customer, contacts, logs.qbr_days(log) if log is not None else ()),
        capabilities=dict(capabilities or {}),
    )


# --- the scoring state kept on the profile --------------------------------------------------------
@dataclass(frozen=True)
class DayEntry:
    score: float | None
    band: str | None
    pending_band: str | None = None
    pending_days: int = 0
    in_drop: bool = False
    misaligned: bool = False
    alerts: tuple[str, ...] = ()  # alerts already raised for that day (see alert_key)

    def to_json(self) -> list[Any]:
        return [
            self.score,
            self.band,
            self.pending_band,
            self.pending_days,
            int(self.in_drop),
            int(self.misaligned),
            list(self.alerts),
        ]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> DayEntry:
        return cls(
            score=data[0],
            band=data[1],
            pending_band=data[2],
            pending_days=int(data[3]),
            in_drop=bool(data[4]),
            misaligned=bool(data[5]),
            alerts=tuple(data[6]),
        )


@dataclass(frozen=True)
class ScoringState:
    days: Mapping[date, DayEntry] = field(default_factory=dict)
    usage_since: date | None = None
    contributions: Mapping[str, float] = field(default_factory=dict)  # of the profile's latest day

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ScoringState:
        if not data or data.get("v") != STATE_VERSION:
            return cls()
        return cls(
            days={date.fromisoformat(d): DayEntry.from_json(e) for d, e in data.get("days", {}).items()},
            usage_since=date.fromisoformat(data["usage_since"]) if data.get("usage_since") else None,
            contributions=dict(data.get("contrib", {})),
        )

    @staticmethod
    def raised_alerts(data: Mapping[str, Any] | None) -> list[tuple[date, str]]:
        """The alerts of the kept days, oldest day first, from the stored JSON without reading each day
        whole (My day reads them for every customer of a book)."""
        if not data or data.get("v") != STATE_VERSION:
            return []
        return [
            (date.fromisoformat(d), str(key))
            for d, entry in sorted(data.get("days", {}).items())
            if entry[6]
            for key in entry[6]
        ]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": STATE_VERSION,
            "days": {d.isoformat(): e.to_json() for d, e in sorted(self.days.items())},
            "contrib": dict(self.contributions),
        }
        if self.usage_since is not None:
            data["usage_since"] = self.usage_since.isoformat()
        return data

    def before(self, day: date) -> list[tuple[date, DayEntry]]:
        return sorted((d, e) for d, e in self.days.items() if d < day)

    def change(self, days: int = CHANGE_DAYS) -> float | None:
        """The latest scored day's score minus the score `days` days before it, both as shown (one
        decimal); None when either is missing (never scored that day, or N/A)."""
        if not self.days:
            return None
        latest = max(self.days)
        now, then = self.days[latest].score, self.days.get(latest - timedelta(days=days))
        if now is None or then is None or then.score is None:
            return None
        return round(round(float(now), 1) - round(float(then.score), 1), 1)

    def prior_snapshots(self, day: date, version: int) -> list[HealthSnapshot]:
        """The days before `day` as the minimal snapshots smoothing and hysteresis continue from."""
        return [
            HealthSnapshot(
                date=d,
                score=e.score,
                display_score=None,
                smoothed_score=None,
                band=e.band,
                band_color=None,
                dimensions=[],
                na_dimensions=[],
                coverage=0.0,
                model_version=version,
                pending_band=e.pending_band,
                pending_days=e.pending_days,
            )
            for d, e in self.before(day)
        ]

    def alert_state(self, day: date) -> AlertState | None:
        earlier = self.before(day)
        if not earlier:
            return None
        entry = earlier[-1][1]
        return AlertState(band=entry.band, in_drop=entry.in_drop, misaligned=entry.misaligned)

    def with_days(self, entries: Mapping[date, DayEntry], usage_seen: date | None) -> ScoringState:
        """These entries added (replacing the same days), trimmed to the last STATE_DAYS days."""
        merged = {**self.days, **entries}
        newest = max(merged, default=None)
        if newest is not None:
            oldest_kept = newest - timedelta(days=STATE_DAYS - 1)
            merged = {d: e for d, e in merged.items() if d >= oldest_kept}
        usage_since = self.usage_since
        if usage_seen is not None and (usage_since is None or usage_seen < usage_since):
            usage_since = usage_seen
        return replace(self, days=merged, usage_since=usage_since)


def alert_key(alert: Alert) -> str:
    """An alert's identity within a day: re-scoring the day raises it again only if this differs."""
    if alert.kind == "band_crossing":
        return f"band_crossing:{alert.details.get('to')}"
    return alert.kind


def _entry(snapshot: HealthSnapshot, alert_state: AlertState, alerts: Iterable[str]) -> DayEntry:
    return DayEntry(
        score=snapshot.score,
        band=snapshot.band,
        pending_band=snapshot.pending_band,
        pending_days=snapshot.pending_days,
        in_drop=alert_state.in_drop,
        misaligned=alert_state.misaligned,
        alerts=tuple(sorted(set(alerts))),
    )


# --- the segment baseline of the misalignment alert --------------------------------------------------
# Given the snapshot just computed, the segment average it is compared with (None: in no segment with
# enough peers, so not misaligned). No baseline function at all: nothing known, the episode carries on.
Baseline = Callable[[HealthSnapshot], PeerAverage | None]


def segment_baseline(
    baselines: SegmentBaselines | None,
    customer: Customer,
    previous_dimensions: Mapping[str, float | None],
    day: date,
) -> Baseline | None:
    """The customer's baseline from the workspace's tally, when there is a recent one."""
    if baselines is None or not baselines.usable_on(day):
        return None
    before = HealthRow(customer, dict(previous_dimensions))

    def baseline(snapshot: HealthSnapshot) -> PeerAverage | None:
        scored = customer.model_copy(update={"health_score": snapshot.display_score, "health_band": snapshot.band})
        return baselines.peer_average(HealthRow(scored, dimension_values(snapshot)), before)

    return baseline


def _alerts(
    snapshot: HealthSnapshot,
    recent: Sequence[tuple[date, float | None]],
    model: HealthModel,
    state: AlertState | None,
    baseline: Baseline | None,
) -> tuple[list[Alert], AlertState]:
    peer = baseline(snapshot) if baseline is not None else None
    alerts, new_state = detect_alerts(
        snapshot.date,
        snapshot.score,
        snapshot.band,
        recent,
        model.alerts,
        model.bands,
        state,
        segment_avg=peer.average if peer is not None else None,
        segment=peer.name if peer is not None else None,
    )
    if baseline is not None and peer is None and snapshot.score is not None and new_state.misaligned:
        new_state = new_state.model_copy(update={"misaligned": False})  # left its segments: episode over
    if peer is not None:
        alerts = [
            a.model_copy(update={"details": {**a.details, "segment_id": peer.segment_id, "peers": peer.peers}})
            if a.kind == "misalignment"
            else a
            for a in alerts
        ]
    return alerts, new_state


# --- computing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scored:
    """Snapshots of the days scored (oldest first), the alerts of the last day not raised before, and
    the state to keep."""

    snapshots: list[HealthSnapshot]
    alerts: list[Alert]
    state: ScoringState

    @property
    def latest(self) -> HealthSnapshot:
        return self.snapshots[-1]


def _first_usage(signals: CustomerSignals) -> date | None:
    days = signals.usage.days if signals.usage is not None else ()
    return min((d.day for d in days), default=None)


def score_day(
    prepared: PreparedModel,
    signals: CustomerSignals,
    day: date,
    state: ScoringState,
    baseline: Baseline | None = None,
) -> Scored:
    """Today's snapshot continuing yesterday's smoothing, hysteresis and alert episodes."""
    model = prepared.model
    snapshot = compute_snapshot(prepared, signals, day, state.prior_snapshots(day, prepared.version))
    recent = [(d, e.score) for d, e in state.before(day)]
    alerts, alert_state = _alerts(snapshot, recent, model, state.alert_state(day), baseline)
    raised_before = set(state.days[day].alerts) if day in state.days else set()
    fresh = [a for a in alerts if alert_key(a) not in raised_before]
    entry = _entry(snapshot, alert_state, raised_before | {alert_key(a) for a in alerts})
    return Scored([snapshot], fresh, state.with_days({day: entry}, _first_usage(signals)))


def score_history(
    prepared: PreparedModel,
    signals: CustomerSignals,
    start: date,
    end: date,
    state: ScoringState,
    baseline: Baseline | None = None,
) -> Scored:
    """Every day from `start` to `end` under the model, continuing from the state before `start`.

    Alerts of past days are replayed only to rebuild the episode flags; the last day's alerts that were
    not raised for it before are returned to publish. The segment baseline (today's tally) judges the
    last day only: past days' segment averages are not kept."""
    model = prepared.model
    days = (end - start).days + 1
    prior = state.prior_snapshots(start, prepared.version)
    snapshots = compute_history(prepared, signals, end, days=days, prior=prior)
    recent: list[tuple[date, float | None]] = [(d, e.score) for d, e in state.before(start)]
    alert_state = state.alert_state(start)
    entries: dict[date, DayEntry] = {}
    fresh: list[Alert] = []
    for snapshot in snapshots:
        alerts, alert_state = _alerts(
            snapshot, recent[-STATE_DAYS:], model, alert_state, baseline if snapshot.date == end else None
        )
        raised = {alert_key(a) for a in alerts}
        if snapshot.date == end:
            raised_before = set(state.days[end].alerts) if end in state.days else set()
            fresh = [a for a in alerts if alert_key(a) not in raised_before]
            raised |= raised_before
        entries[snapshot.date] = _entry(snapshot, alert_state, raised)
        recent.append((snapshot.date, snapshot.score))
    kept = {d: e for d, e in state.days.items() if d < start}
    rebuilt = ScoringState(days=kept, usage_since=state.usage_since, contributions=state.contributions)
    return Scored(snapshots, fresh, rebuilt.with_days(entries, _first_usage(signals)))


# --- idempotency ---------------------------------------------------------------------------------
def inputs_digest(
    *,
    version: int,
    first: date,
    last: date,
    customer: Customer,
    usage_version: int,
    signal_log_version: int,
    state: ScoringState,
    job_id: str | None = None,
    contract: str | None = None,
    contacts: ContactDepth | None = None,
) -> str:
    """What a scoring of `first`..`last` depended on. The same message delivered again finds the same
    digest (so it writes and publishes nothing); a new signal, usage (the usage history's version) or
    model version changes it (and so does a change of the renewal records' contract summary)."""
    carried = [(d.isoformat(), e.score, e.band, e.pending_band, e.pending_days) for d, e in state.before(first)]
    material: dict[str, Any] = {
        "model": version,
        "days": [first.isoformat(), last.isoformat()],
        "customer": customer.version,
        "usage": usage_version,
        "signals": signal_log_version,
        "carried": carried,
        "job": job_id,
        "contract": contract,  # the renewal records' summary: a renewal change rescores
    }
    if contacts is not None:  # a contact added or removed rescores (absent: digests as before)
        material["contacts"] = [contacts.total, contacts.executive, contacts.manager, contacts.practitioner]
    text = json.dumps(material, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- what the profile shows, and the domain events --------------------------------------------------
def dimension_values(snapshot: HealthSnapshot) -> dict[str, float | None]:
    return {d.key: d.value for d in snapshot.dimensions}


def contributions(snapshot: HealthSnapshot) -> dict[str, float]:
    return {d.key: d.contribution for d in snapshot.dimensions}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _direction(before: str, after: str, model: HealthModel) -> str:
    try:
        return "up" if band_rank(after, model.bands) > band_rank(before, model.bands) else "down"
    except KeyError:  # the banding table changed: no order between an old and a new label
        return "changed"


def domain_events(
    *,
    customer: Customer,
    model: HealthModel,
    snapshot: HealthSnapshot,
    previous_score: float | None,
    previous_band: str | None,
    previous_contributions: Mapping[str, float],
    alerts: Sequence[Alert],
    reason: str,
    job_id: str | None = None,
    band_may_change: bool = True,
) -> list[DomainEvent]:
    """health.scored, health.band_changed (when the customer's current band moved) and health.alert,
    with what playbooks and webhooks act on: who (workspace, customer, owner), the score before and
    after, the bands, and why."""
    base: dict[str, Any] = {
        "workspace_id": customer.workspace_id,
        "customer_id": customer.customer_id,
        "customer_name": customer.name,
        "owner_id": customer.owner_id,
        "scored_day": snapshot.date.isoformat(),
        "score": snapshot.display_score,
        "previous_score": _rounded(previous_score),
        "band": snapshot.band,
        "previous_band": previous_band,
        "band_color": snapshot.band_color,
        "model_version": snapshot.model_version,
        "reason": reason,
    }
    if job_id:
        base["job_id"] = job_id
    events = [
        DomainEvent(
            "health.scored",
            {
                **base,
                "smoothed_score": _rounded(snapshot.smoothed_score),
                "coverage": round(snapshot.coverage, 4),
                "dimensions": {k: _rounded(v) for k, v in dimension_values(snapshot).items()},
                "top_negative": [e.model_dump(mode="json") for e in snapshot.top_negative],
            },
        )
    ]
    changed = band_may_change and previous_band is not None and snapshot.band is not None
    if changed and snapshot.band != previous_band:
        assert previous_band is not None and snapshot.band is not None
        deltas = {key: value - previous_contributions.get(key, 0.0) for key, value in contributions(snapshot).items()}
        drivers = [
            {"dimension": key, "delta": round(delta, 1)}
            for key, delta in sorted(deltas.items(), key=lambda kv: -abs(kv[1]))
            if round(delta, 1) != 0
        ]
        events.append(
            DomainEvent(
                "health.band_changed",
                {**base, "direction": _direction(previous_band, snapshot.band, model), "drivers": drivers[:5]},
            )
        )
    for alert in alerts:
        events.append(
            DomainEvent(
                "health.alert",
                {
                    **base,
                    "alert_kind": alert.kind,
                    "severity": alert.severity,
                    "message": alert.message,
                    "details": alert.details,
                },
            )
        )
    return events
