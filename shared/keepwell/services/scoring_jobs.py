"""Scorer: compute and store health snapshots for the customers named by a ScoringRequest.

A per-customer request costs, in steady state, one BatchGetItem (profile, signal log, usage history
and the workspace's segment baselines: 4 keys) and one TransactWriteItems (the day's snapshot,
conditioned on not having scored these inputs with this model version, + the profile's denormalised
health); the model and the workspace's clock come from per-container caches. Domain events are
published only when the write happened, so a redelivered message writes and publishes nothing.

A `history` request (manual recalculation, model change) recomputes the last 90 days in one go; a
request without a customer fans out: a job's page of customers, or every customer of the workspace.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from keepwell import clock
from keepwell.adapters import event_bus, queues
from keepwell.domain.health.dimensions import PreparedModel
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.snapshot import HISTORY_DAYS
from keepwell.domain.scheduling import WorkspaceClock, scoring_day
from keepwell.domain.usage_history import RESCORING_WINDOW_SECONDS
from keepwell.observability import logger
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import scoring, segment_baselines, success_signals
from keepwell.settings import Settings, get_settings
from keepwell.storage import health_models, recalculations, workspaces
from keepwell.storage import health_snapshots as store

# Mirrors template.yaml ScoringQueue RedrivePolicy.maxReceiveCount: the receive after which a failing
# message goes to the DLQ (tests/unit/test_scoring_pipeline.py checks the two agree).
MAX_RECEIVES = 5
WRITE_ATTEMPTS = 3  # a concurrent scoring of the same customer bumped the profile: read again
WORKSPACE_CACHE_SECONDS = 300.0
DEBOUNCE = timedelta(seconds=RESCORING_WINDOW_SECONDS)

Reason = Literal["schedule", "ingest", "integration", "manual", "model_changed"]
Outcome = Literal["scored", "unchanged", "skipped"]


class ScoringConflict(RuntimeError):
    """The customer's health kept changing under us; the message is retried by SQS."""


# --- per-container caches ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cached:
    value: object
    expires: float
    settings: Settings


_clocks: dict[str, _Cached] = {}
_prepared: dict[tuple[str, int], PreparedModel] = {}


def reset_caches() -> None:
    _clocks.clear()
    _prepared.clear()


def workspace_clock(workspace_id: str) -> WorkspaceClock:
    """The workspace's timezone and scoring hour (one GetItem, then cached a few minutes)."""
    entry = _clocks.get(workspace_id)
    if entry is not None and entry.settings is get_settings() and entry.expires > time.monotonic():
        assert isinstance(entry.value, WorkspaceClock)
        return entry.value
    item = workspaces.get_workspace(workspace_id)
    found = WorkspaceClock(
        workspace_id,
        item.timezone if item is not None else "UTC",
        int(item.scoring_hour) if item is not None else 5,
    )
    _clocks[workspace_id] = _Cached(found, time.monotonic() + WORKSPACE_CACHE_SECONDS, get_settings())
    return found


def workspace_today(workspace_id: str) -> date:
    return scoring_day(workspace_clock(workspace_id), clock.now())


def current_model(workspace_id: str, at_least: int | None = None) -> tuple[PreparedModel, int]:
    """The model in force, compiled once per (workspace, version). The storage layer caches the model
    for a few seconds; a job that names a newer version than the cache holds reads it fresh."""
    model, version = health_models.get_current_model(workspace_id)
    if at_least is not None and version < at_least:
        model, version = health_models.get_current_model(workspace_id, fresh=True)
    return _prepare(workspace_id, version, model), version


def _prepare(workspace_id: str, version: int, model: HealthModel) -> PreparedModel:
    cached = _prepared.get((workspace_id, version))
    if cached is None or (cached.model is not model and cached.model != model):
        if len(_prepared) > 256:
            _prepared.clear()
        cached = PreparedModel.of(model, version)
        _prepared[(workspace_id, version)] = cached
    return cached


# --- what a batch of records defers to its end ------------------------------------------------------
@dataclass
class _Deferred:
    """Inside `batched()` (the scorer handler), domain events and job progress of the batch's records
    are sent together at its end: one PutEvents per 10 events and one UpdateItem per job page instead
    of one of each per customer."""

    events: list[event_bus.DomainEvent] = field(default_factory=list)
    progress: dict[tuple[str, str, int], set[str]] = field(default_factory=dict)


_deferred: _Deferred | None = None


@contextmanager
def batched() -> Iterator[None]:
    global _deferred
    _deferred = _Deferred()
    try:
        yield
    finally:
        pending, _deferred = _deferred, None
        _flush(pending)


def _flush(pending: _Deferred) -> None:
    if pending.events:
        try:
            event_bus.publish(pending.events)
        except Exception:  # the writes happened; a retry would find them done and publish nothing either
            logger.exception("domain events were not published", extra={"events": len(pending.events)})
    for (workspace_id, job_id, page), customer_ids in pending.progress.items():
        # Raising here fails the invocation: SQS redelivers the batch, which finds its scores written
        # and records the (idempotent) progress again.
        recalculations.record_progress(workspace_id, job_id, page, customer_ids)


def _publish(events: list[event_bus.DomainEvent]) -> None:
    if _deferred is not None:
        _deferred.events.extend(events)
    else:
        _flush(_Deferred(events=events))


def _record_progress(workspace_id: str, job_id: str, page: int, customer_id: str) -> None:
    if _deferred is not None:
        _deferred.progress.setdefault((workspace_id, job_id, page), set()).add(customer_id)
    else:
        recalculations.record_progress(workspace_id, job_id, page, [customer_id])


# --- the scorer's entry point ----------------------------------------------------------------------
def run_scoring_request(request: ScoringRequest) -> None:
    """Score one customer (a day, or a history), or fan out. Raising fails only this record."""
    if request.customer_id is None:
        if request.job_id is not None and request.page is not None:
            from keepwell.services import recalculation

            recalculation.fan_out_page(request)
        else:
            day = request.scoring_day or workspace_today(request.workspace_id)
            enqueue_workspace(request.workspace_id, day, request.reason)
        return
    started = time.perf_counter()
    outcome = score_customer(request)
    logger.info(
        "customer scored" if outcome == "scored" else f"customer {outcome}",
        extra={
            "workspace_id": request.workspace_id,
            "customer_id": request.customer_id,
            "job_id": request.job_id,
            "reason": request.reason,
            "history": request.history,
            "outcome": outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def score_customer(request: ScoringRequest) -> Outcome:
    assert request.customer_id is not None
    workspace_id, customer_id = request.workspace_id, request.customer_id
    day = request.scoring_day or workspace_today(workspace_id)
    prepared, version = current_model(workspace_id, request.model_version)
    history = request.history or request.recompute_from is not None
    first = scoring.history_start(day, request.recompute_from) if history else day
    days = scoring.metric_days(prepared.model, first, day)  # the usage the dimension reads for first..day
    outcome: Outcome | None = None
    for _ in range(WRITE_ATTEMPTS):
        inputs = store.read_scoring_inputs(workspace_id, customer_id, days[0], days[-1])
        customer = inputs.customer
        if customer is None or customer.archived:
            logger.warning(
                "customer not scored: " + ("not found" if customer is None else "archived"),
                extra={"workspace_id": workspace_id, "customer_id": customer_id, "job_id": request.job_id},
            )
            outcome = "skipped"
            break
        state = scoring.ScoringState.from_json(inputs.health.state)
        signals = scoring.build_signals(
            customer,
            inputs.usage_days,
            inputs.signal_log,
            usage_connected=bool(inputs.usage_days) or state.usage_since is not None,
        )
        digest = scoring.inputs_digest(
            version=version,
            first=first,
            last=day,
            customer=customer,
            usage_version=inputs.usage_version,
            signal_log_version=inputs.signal_log_version,
            state=state,
            job_id=request.job_id if history else None,
        )
        baseline = scoring.segment_baseline(inputs.baselines, customer, inputs.health.dimensions, day)
        if history:
            scored = scoring.score_history(prepared, signals, first, day, state, baseline)
        else:
            scored = scoring.score_day(prepared, signals, day, state, baseline)
        outcome = _store(request, inputs, scored, version, digest, prepared.model)
        if outcome is not None:
            break
    if outcome is None:
        raise ScoringConflict(f"{customer_id}: the profile's health changed {WRITE_ATTEMPTS} times while scoring")
    if outcome != "skipped" and inputs.customer is not None:
        # Success plans (capability usage, objectives met, risk signals): idempotent, so a redelivered
        # ("unchanged") scoring finishes what a failed one left undone.
        dimensions = scoring.dimension_values(scored.latest)
        _publish(
            success_signals.after_scoring(
                inputs.customer, inputs.usage_days, dimensions, day, inputs.success_items, scored.latest.display_score
            )
        )
    if request.job_id is not None and request.page is not None:
        _record_progress(workspace_id, request.job_id, request.page, customer_id)
    return outcome


def _store(
    request: ScoringRequest,
    inputs: store.ScoringInputs,
    scored: scoring.Scored,
    version: int,
    digest: str,
    model: HealthModel,
) -> Outcome | None:
    """Write what was scored and publish its events; None when the profile changed meanwhile."""
    customer = inputs.customer
    assert customer is not None
    snapshot = scored.latest
    previous = inputs.health
    is_latest = previous.day is None or snapshot.date >= previous.day
    state = scored.state
    latest: store.LatestHealth | None = None
    scored_at = clock.iso(clock.now())
    if is_latest:
        state = scoring.ScoringState(
            days=state.days, usage_since=state.usage_since, contributions=scoring.contributions(snapshot)
        )
        latest = store.LatestHealth(
            score=snapshot.display_score,
            band=snapshot.band,
            band_color=snapshot.band_color,
            smoothed_score=snapshot.smoothed_score,
            scored_at=scored_at,
            day=snapshot.date,
            model_version=version,
            coverage=snapshot.coverage,
            dimensions=scoring.dimension_values(snapshot),
        )
    update = store.ProfileHealthUpdate(state=state.to_json(), digest=digest, latest=latest)
    ws, cid = customer.workspace_id, customer.customer_id
    if len(scored.snapshots) > 1:
        store.write_history(ws, cid, scored.snapshots, version=version, inputs=digest)
        if not store.apply_profile_health(ws, cid, update):
            return "unchanged"  # this history was applied before (a redelivered message)
    else:
        written = store.write_day(
            ws,
            cid,
            snapshot,
            version=version,
            inputs=digest,
            profile=update,
            seen_rev=previous.rev,
        )
        if written == "duplicate":
            return "unchanged"
        if written == "profile_changed":
            return None
    if is_latest:
        _publish(
            scoring.domain_events(
                customer=customer,
                model=model,
                snapshot=snapshot,
                previous_score=previous.score,
                previous_band=previous.band,
                previous_contributions=scoring.ScoringState.from_json(previous.state).contributions,
                alerts=scored.alerts,
                reason=request.reason,
                job_id=request.job_id,
            )
        )
    return "scored"


def record_failure(request: ScoringRequest) -> None:
    """The message failed its last receive and goes to the DLQ: count it in its job, if any."""
    if request.job_id is None or request.page is None:
        return
    if request.customer_id is not None:
        recalculations.record_progress(
            request.workspace_id, request.job_id, request.page, [request.customer_id], failed=True
        )
        return
    from keepwell.services import recalculation

    recalculation.fail_pages_from(request.workspace_id, request.job_id, request.page)


# --- fan-out ---------------------------------------------------------------------------------------
def enqueue_customers(
    workspace_id: str,
    customer_ids: Iterable[str],
    *,
    reason: Reason,
    day: date | None = None,
    delay_seconds: int = 0,
    recompute_from: Mapping[str, date] | None = None,
) -> int:
    """One ScoringRequest per customer (with its `recompute_from`, if any), in SendMessageBatch
    requests of 10."""
    recompute_from = recompute_from or {}
    messages = (
        ScoringRequest(
            workspace_id=workspace_id,
            customer_id=customer_id,
            reason=reason,
            scoring_day=day,
            recompute_from=recompute_from.get(customer_id),
        )
        for customer_id in customer_ids
    )
    return queues.send_messages(get_settings().scoring_queue_url, messages, delay_seconds=delay_seconds)


def enqueue_workspace(workspace_id: str, day: date, reason: Reason) -> int:
    """Queue the day's scoring of every (not archived) customer of the workspace, tallying the segment
    baselines its alerts compare with on the way (the same walk over the customers)."""
    customer_ids = segment_baselines.refresh(workspace_id, day)
    sent = enqueue_customers(workspace_id, customer_ids, reason=reason, day=day)
    logger.info(
        "workspace scoring queued",
        extra={"workspace_id": workspace_id, "scoring_day": day.isoformat(), "customers": sent, "reason": reason},
    )
    return sent


def request_rescoring(
    workspace_id: str,
    customer_ids: Iterable[str],
    reason: Reason = "ingest",
    recompute_from: Mapping[str, date] | None = None,
) -> int:
    """Rescore customers soon after a critical signal (a critical ticket, a churn keyword), debounced
    per customer with its `RESCORE` marker: the first request of a 30-second window is queued at once,
    one more is queued for the window's end if anything else arrives meanwhile, the rest are covered
    by that one. Returns how many messages were queued. (Ingestion claims the same debounce inside its
    own commit and calls `queue_claimed_rescoring`.)"""
    recompute_from = recompute_from or {}
    now = clock.now()
    claims: dict[str, tuple[str, int]] = {}
    for customer_id in dict.fromkeys([*customer_ids, *recompute_from]):
        decision = recalculations.claim_rescoring(workspace_id, customer_id, now, DEBOUNCE)
        if decision is not None:
            claims[customer_id] = decision
    return queue_claimed_rescoring(workspace_id, claims, reason, recompute_from)


def queue_claimed_rescoring(
    workspace_id: str,
    claims: Mapping[str, tuple[str, int]],
    reason: Reason,
    recompute_from: Mapping[str, date] | None = None,
) -> int:
    """Queue the rescorings a debounce granted: ("now", 0) at once, ("trailing", delay) delayed.

    `recompute_from` names customers whose past days changed: their message rebuilds the history from
    that day. A trailing message rebuilds the whole 90-day history, whatever asked for it: the
    requests it covers may have backfilled any day, and it is at most one per customer and window."""
    recompute_from = recompute_from or {}
    at_once = [customer_id for customer_id, (kind, _) in claims.items() if kind == "now"]
    trailing: dict[int, list[str]] = {}
    for customer_id, (kind, delay) in claims.items():
        if kind != "now":
            trailing.setdefault(delay, []).append(customer_id)
    sent = enqueue_customers(workspace_id, at_once, reason=reason, recompute_from=recompute_from) if at_once else 0
    # Clamped by the scorer to its own 90 days (history_start): no read of the workspace's clock here.
    whole_history = clock.now().date() - timedelta(days=HISTORY_DAYS)
    for delay, ids in trailing.items():
        sent += enqueue_customers(
            workspace_id,
            ids,
            reason=reason,
            delay_seconds=delay,
            recompute_from=dict.fromkeys(ids, whole_history),
        )
    if sent:
        logger.info("rescoring queued", extra={"workspace_id": workspace_id, "customers": sent, "reason": reason})
    return sent
