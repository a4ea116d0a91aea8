"""Scorer: compute and store health snapshots for the customers named by a ScoringRequest.

A per-customer request costs, in steady state, one BatchGetItem (profile, signal log, usage history,
contract summary, success plan, the day's month and the workspace's segment baselines and capabilities: 8
keys) and one TransactWriteItems (the day's snapshot, conditioned on not having scored these inputs with
this model version, + the profile's denormalised health); the model and the workspace's clock come from
per-container caches. The scorer's batch reads its customers' inputs together (`prefetch`: one
BatchGetItem per 100 distinct keys, the workspace's items once), so a batch of 10 costs 1 + 10 requests.
Domain events are published only when the write happened, so a redelivered message writes and publishes
nothing.

A `history` request (manual recalculation, model change) recomputes the last 90 days in one go; a
request without a customer fans out: a job's next customers listed, a job's page of customers, or
every customer of the workspace.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from keepwell import clock
from keepwell.adapters import event_bus
from keepwell.domain import capabilities
from keepwell.domain import customer_scoring as scoring
from keepwell.domain.health.dimensions import PreparedModel
from keepwell.domain.health.model import HealthModel
from keepwell.observability import logger
from keepwell.retries import conflict_attempts
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import scoring_queue, segment_baselines, success_signals
from keepwell.storage import health_models, recalculations
from keepwell.storage import health_snapshots as store

# Mirrors template.yaml ScoringQueue RedrivePolicy.maxReceiveCount: the receive after which a failing
# message goes to the DLQ (tests/unit/test_scoring_pipeline.py checks the two agree).
MAX_RECEIVES = 5
WRITE_ATTEMPTS = 3  # a concurrent scoring of the same customer bumped the profile: read again

Outcome = Literal["scored", "unchanged", "skipped"]


class ScoringConflict(RuntimeError):
    """The customer's health kept changing under us; the message is retried by SQS."""


# --- per-container caches ------------------------------------------------------------------------
_prepared: dict[tuple[str, int], PreparedModel] = {}


def reset_caches() -> None:
    scoring_queue.reset_caches()
    _prepared.clear()


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
    # What the batch's customers' first attempts read, read for all of them at its start (`prefetch`).
    read_together: store.ReadTogether | None = None
    written: set[tuple[str, str]] = field(default_factory=set)  # (workspace, customer) scored in this batch


_deferred: _Deferred | None = None


@contextmanager
def batched(bodies: Iterable[str] = ()) -> Iterator[None]:
    """The scorer handler's batch: its records' domain events and job progress go out together at the end,
    and the inputs of the customers its messages (`bodies`) name are read at the start, together."""
    global _deferred
    _deferred = _Deferred()
    try:
        _deferred.read_together = prefetch(bodies)
        yield
    finally:
        pending, _deferred = _deferred, None
        _flush(pending)


@dataclass(frozen=True)
class _Plan:
    """What scoring one customer's request scores and reads."""

    prepared: PreparedModel
    version: int
    day: date  # the last day scored
    history: bool  # several days (a recalculation, late events), not just `day`
    wanted: store.InputsWanted  # usage from the window before the first day scored; months from it

    @property
    def first(self) -> date:
        assert self.wanted.scored_from is not None
        return self.wanted.scored_from


def _plan(request: ScoringRequest) -> _Plan:
    assert request.customer_id is not None
    day = request.scoring_day or scoring_queue.workspace_today(request.workspace_id)
    prepared, version = current_model(request.workspace_id, request.model_version)
    history = request.history or request.recompute_from is not None
    first = scoring.history_start(day, request.recompute_from) if history else day
    days = scoring.metric_days(prepared.model, first, day)  # the usage the dimension reads for first..day
    wanted = store.InputsWanted(request.workspace_id, request.customer_id, days[0], days[-1], first)
    return _Plan(prepared, version, day, history, wanted)


def prefetch(bodies: Iterable[str]) -> store.ReadTogether | None:
    """The inputs of every customer a batch's messages name, in one BatchGetItem per 100 distinct keys
    instead of one per customer (the workspace's baselines and capabilities once). A message that does not
    parse, names no customer or is not a scoring message is left to its own record, which fails or handles
    it as before; if this read fails, each record reads its own."""
    wanted: list[store.InputsWanted] = []
    for body in bodies:
        try:
            request = ScoringRequest.model_validate_json(body)
        except ValueError:
            continue
        if request.customer_id is not None:
            try:
                wanted.append(_plan(request).wanted)
            except Exception:  # its own record meets the same failure, and reports it
                continue
    if len(wanted) < 2:
        return None
    try:
        return store.ReadTogether(list(dict.fromkeys(wanted)))
    except Exception:
        logger.warning("the batch's inputs were not read together; each record reads its own", exc_info=True)
        return None


def _first_inputs(wanted: store.InputsWanted) -> store.ScoringInputs:
    """A first attempt's inputs: what the batch read for this customer, once, else a read of its own."""
    batch = _deferred
    if batch is not None and batch.read_together is not None:
        found = batch.read_together.inputs(wanted)
        if found is not None and (wanted.workspace_id, wanted.customer_id) not in batch.written:
            return found
    return store.read_scoring_inputs(
        wanted.workspace_id, wanted.customer_id, wanted.first, wanted.last, scored_from=wanted.scored_from
    )


def _flush(pending: _Deferred) -> None:
    if pending.events:
        try:
            event_bus.publish(pending.events)
        except Exception:  # the writes happened; a retry would find them done and publish nothing either
            logger.exception("domain events were not published", extra={"events": len(pending.events)})
    for (workspace_id, job_id, page), customer_ids in pending.progress.items():
        # Raising here fails the invocation: SQS redelivers the batch, which finds its scores written
        # and records the (idempotent) progress again.
        _progress(workspace_id, job_id, page, customer_ids)


def _progress(workspace_id: str, job_id: str, page: int, customer_ids: Iterable[str], *, failed: bool = False) -> None:
    if recalculations.record_progress(workspace_id, job_id, page, customer_ids, failed=failed):
        _after_recalculation(workspace_id, job_id)


def _after_recalculation(workspace_id: str, job_id: str) -> None:
    """The job just finished, and every score with it: tally the segments again, so the benchmark and the
    misalignment alert compare with the new scores now rather than after the next daily fan-out (the
    tally of the job's start holds the scores before it; a new workspace's first recalculation had none).
    A workspace larger than one fan-out page keeps that wait (one walk must fit this invocation). A
    failure is logged, not raised: the scores are written, and a redelivery finds the job finished."""
    if recalculations.page_count(workspace_id, job_id) * recalculations.PAGE_SIZE > scoring_queue.FAN_OUT_PAGE:
        logger.info("segment tally left to the next daily fan-out", extra={"workspace_id": workspace_id})
        return
    try:
        segment_baselines.refresh(workspace_id, scoring_queue.workspace_today(workspace_id))
    except Exception:
        logger.exception("segment tally after a recalculation failed", extra={"job_id": job_id})


def _publish(events: list[event_bus.DomainEvent]) -> None:
    if _deferred is not None:
        _deferred.events.extend(events)
    else:
        _flush(_Deferred(events=events))


def _record_progress(workspace_id: str, job_id: str, page: int, customer_id: str) -> None:
    if _deferred is not None:
        _deferred.progress.setdefault((workspace_id, job_id, page), set()).add(customer_id)
    else:
        _progress(workspace_id, job_id, page, [customer_id])


# --- the scorer's entry point ----------------------------------------------------------------------
def run_scoring_request(request: ScoringRequest) -> None:
    """Score one customer (a day, or a history), or fan out. Raising fails only this record."""
    if request.customer_id is None:
        if request.job_id is not None and request.page is not None and request.listing:
            scoring_queue.list_job_customers(request)
        elif request.job_id is not None and request.page is not None:
            scoring_queue.fan_out_page(request)
        else:
            day = request.scoring_day or scoring_queue.workspace_today(request.workspace_id)
            scoring_queue.enqueue_workspace(
                request.workspace_id,
                day,
                request.reason,
                page=request.page or 0,
                cursor=request.cursor,
                carried=request.tally,
            )
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
    plan = _plan(request)
    prepared, version, day, history, first, wanted = (
        plan.prepared,
        plan.version,
        plan.day,
        plan.history,
        plan.first,
        plan.wanted,
    )
    outcome: Outcome | None = None
    for attempt in conflict_attempts(WRITE_ATTEMPTS):
        # after a conflict, read consistently: an eventually consistent read may return the same stale month
        if attempt == 0:
            inputs = _first_inputs(wanted)
        else:
            inputs = store.read_scoring_inputs(
                workspace_id, customer_id, wanted.first, wanted.last, scored_from=first, consistent=True
            )
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
            contract=inputs.contract,
            capabilities=capabilities.expression_variables(
                success_signals.capability_usage(customer, inputs.usage_days, day, inputs.success_items)
            ),
            contacts=inputs.contacts,
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
            contract=inputs.contract_document,
            contacts=inputs.contacts,
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
    if _deferred is not None:  # what the batch read of this customer before is stale now
        _deferred.written.add((workspace_id, customer_id))
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
        if previous.digest == digest:
            return "unchanged"  # this history was applied before (a redelivered message)
    elif any(inputs.months[store.month_of(s.date)].scored(s.date, version, digest) for s in scored.snapshots):
        return "unchanged"  # this model scored these inputs for the day before, or a newer model did
    written = store.write_scores(
        ws,
        cid,
        scored.snapshots,
        version=version,
        inputs=digest,
        months=inputs.months,
        profile=update,
        seen_rev=previous.rev,
    )
    if written == "conflict":
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
        _progress(request.workspace_id, request.job_id, request.page, [request.customer_id], failed=True)
        return
    scoring_queue.fail_pages_from(request.workspace_id, request.job_id, request.page)
