"""The scoring queue's messages and everything that puts them there: a customer's scoring (scheduled,
after ingestion or an integration, debounced rescoring), a workspace's daily fan-out, and a
recalculation job's listing and page-by-page fan-out. The scorer (`scoring_jobs`) and the recalculation jobs
(`recalculation`) both import this; neither imports the other.

The workspace's clock (timezone and scoring hour) lives here too: it decides which day a message scores.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import JsonValue

from keepwell import clock
from keepwell.adapters import queues
from keepwell.domain.health.snapshot import HISTORY_DAYS
from keepwell.domain.scheduling import WorkspaceClock, scoring_day
from keepwell.domain.usage_history import RESCORING_WINDOW_SECONDS
from keepwell.observability import logger
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import segment_baselines
from keepwell.settings import Settings, get_settings
from keepwell.storage import recalculations, workspaces

WORKSPACE_CACHE_SECONDS = 300.0
# Customers one invocation lists and queues in a daily fan-out; a larger workspace continues in a
# message per further page (about 10 s of a 60 s scorer invocation, and one page of profiles in memory).
FAN_OUT_PAGE = 5_000
FAN_OUT_PAGE_STALE = timedelta(seconds=120)  # a page claimed longer ago than 2 scorer timeouts died: retake it
DEBOUNCE = timedelta(seconds=RESCORING_WINDOW_SECONDS)

Reason = Literal["schedule", "ingest", "integration", "manual", "model_changed"]


# --- the workspace's clock (per-container cache) -------------------------------------------------------
@dataclass(frozen=True)
class _Cached:
    value: object
    expires: float
    settings: Settings


_clocks: dict[str, _Cached] = {}


def reset_caches() -> None:
    _clocks.clear()


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


def enqueue_workspace(
    workspace_id: str,
    day: date,
    reason: Reason,
    *,
    page: int = 0,
    cursor: str | None = None,
    carried: Mapping[str, list[JsonValue]] | None = None,
) -> int:
    """Queue the day's scoring of every (not archived) customer of the workspace, tallying the segment
    baselines its alerts compare with on the way (the same walk over the customers). A workspace of
    more than FAN_OUT_PAGE customers is walked one page per invocation: this one queues its page, then
    a message that continues after it (`page` + 1, its cursor and the running tally); the tally is
    stored when the last page is walked, before its customers are queued. A later page is claimed per
    workspace-day, so a redelivered continuation does not queue the rest of the workspace twice.
    Returns the customers this invocation queued."""
    day_text = day.isoformat()
    if page and not recalculations.claim_scheduled_scoring(
        workspace_id, day_text, clock.now(), FAN_OUT_PAGE_STALE, page=page
    ):
        logger.info("fan-out page already queued", extra={"workspace_id": workspace_id, "page": page})
        return 0
    try:
        customer_ids, next_cursor, sums = segment_baselines.refresh_page(
            workspace_id, day, cursor=cursor, carried=dict(carried) if carried else None, limit=FAN_OUT_PAGE
        )
        sent = enqueue_customers(workspace_id, customer_ids, reason=reason, day=day)
        if next_cursor is not None:
            following = ScoringRequest(
                workspace_id=workspace_id, reason=reason, scoring_day=day, page=page + 1, cursor=next_cursor, tally=sums
            )
            queues.send_messages(get_settings().scoring_queue_url, [following])
    except Exception:
        if page:
            recalculations.release_scheduled_scoring(workspace_id, day_text, page=page)
        raise
    if page:
        recalculations.finish_scheduled_scoring(workspace_id, day_text, sent, page=page)
    logger.info(
        "workspace scoring queued",
        extra={
            "workspace_id": workspace_id,
            "scoring_day": day_text,
            "customers": sent,
            "reason": reason,
            "page": page,
            "continues": next_cursor is not None,
        },
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


# --- a recalculation job's listing and pages -------------------------------------------------------
def list_job_customers(request: ScoringRequest) -> int:
    """List the job's next FAN_OUT_PAGE customers (the walk that also tallies the segment baselines,
    resumed where the previous listing stopped) into its pages `request.page`..., then fan out the
    first of them. The listing is claimed by the job's page count (one transaction), so a redelivered
    listing message writes nothing twice; it only fans out the first page again, which a page already
    fanned out skips. Returns the messages queued."""
    assert request.job_id is not None and request.page is not None
    workspace_id, job_id, first = request.workspace_id, request.job_id, request.page
    where = {"workspace_id": workspace_id, "job_id": job_id, "page": first}
    listing = recalculations.get_listing(workspace_id, job_id)
    if listing is None:
        logger.warning("recalculation not found", extra=where)
        return 0
    if listing.state == "running" and listing.pages == first:
        day = request.scoring_day or workspace_today(workspace_id)
        customer_ids, next_cursor, sums = segment_baselines.refresh_page(
            workspace_id, day, cursor=listing.cursor, carried=listing.tally, limit=FAN_OUT_PAGE
        )
        if recalculations.add_listed_pages(workspace_id, job_id, first, customer_ids, next_cursor, sums):
            logger.info(
                "recalculation customers listed",
                extra={**where, "customers": len(customer_ids), "continues": next_cursor is not None},
            )
            if not customer_ids:
                return 0  # nobody (left) to list: the job finished with the pages before, if any
        else:
            logger.info("recalculation page already listed", extra=where)
    elif listing.pages <= first:
        logger.warning("recalculation listing is not at this page", extra={**where, "pages": listing.pages})
        return 0
    return fan_out_page(request.model_copy(update={"listing": False}))


def fan_out_page(request: ScoringRequest) -> int:
    """Queue a history message for each customer of the request's page, then the next page's message
    (or, after the last page listed so far, the message that lists the next customers)."""
    assert request.job_id is not None and request.page is not None
    where = {"workspace_id": request.workspace_id, "job_id": request.job_id, "page": request.page}
    customer_ids, has_next, fanned_out = recalculations.get_page_for_fan_out(
        request.workspace_id, request.job_id, request.page
    )
    if customer_ids is None:
        logger.warning("recalculation page not found", extra=where)
        return 0
    if fanned_out:
        # A redelivered page message: queueing its customers and the next page again would double
        # the rest of the job's work (each duplicate page message fans out a duplicate next page).
        logger.info("recalculation page already fanned out", extra=where)
        return 0
    common = request.model_dump(exclude={"customer_id", "page", "listing", "cursor", "tally"})
    messages = [ScoringRequest(**common, customer_id=c, page=request.page) for c in customer_ids]
    if has_next:
        messages.append(ScoringRequest(**common, page=request.page + 1))
    elif recalculations.listing_continues_at(request.workspace_id, request.job_id, request.page + 1):
        messages.append(ScoringRequest(**common, page=request.page + 1, listing=True))
    sent = queues.send_messages(get_settings().scoring_queue_url, messages)
    recalculations.mark_page_fanned_out(request.workspace_id, request.job_id, request.page)
    return sent


def fail_pages_from(workspace_id: str, job_id: str, page: int) -> None:
    """A page's fan-out or a listing failed for good: the customers not listed yet are left out (the
    listing stops, failed), and those of this page and the pages after it will not be scored by this
    job; count them failed so the job finishes and says so."""
    recalculations.stop_listing(workspace_id, job_id)
    for number in range(page, recalculations.page_count(workspace_id, job_id)):
        customer_ids, _ = recalculations.get_page(workspace_id, job_id, number)
        if customer_ids:
            recalculations.record_progress(workspace_id, job_id, number, customer_ids, failed=True)
