"""Recalculation jobs and the markers of the scoring pipeline (schedule runs, rescoring debounce).

A job (`WS#w#RECALC#<job> / JOB`) holds its counts and times; its customers sit in page items beside it
(`PAGE#00000`, up to 100 ids each). Starting a job writes the job item only (`listing: running`); the
scorer lists the customers afterwards, FAN_OUT_PAGE at a time (`add_listed_pages`: the chunk's page
items and the job's new `pages`, `total`, listing cursor and segment tally in one transaction,
conditioned on the job being at that page, so a redelivered listing message lists nothing twice).

Progress is kept as *sets* on the pages: a scored customer is added to `done_ids` with an UpdateItem
ADD, so a redelivered message counts once, and the writes of a big job spread over many items instead
of one hot counter. The update that completes a page adds its number to the job's `completed_pages`
and its counts to the job's `done` / `failed`, once (conditioned on the page not being in the set);
the update that completes the last page after the listing ended stamps `finished_at` (once, by
condition). So a poll reads the job and at most one BatchGetItem of the pages still open.

Jobs written before the listing moved to the scorer (no `listing` attribute, no counters) are read by
walking all their pages, as then; they expire 30 days after they started.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import ALL_NEW, ALL_OLD
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from keepwell import clock
from keepwell.storage import keys
from keepwell.storage.models import TableItem, table_connection

PAGE_SIZE = 100
OPEN_PAGES_READ = 100  # the pages a poll reads beside the job: one BatchGetItem
MAX_PAGES_LISTED = 99  # pages one listing writes: with the job's update, a transaction's 100 items
JOB_ENTITY = "recalculation"
PAGE_ENTITY = "recalculation_page"
JOB_RETENTION = timedelta(days=30)

JobStatus = Literal["running", "finished"]
ListingState = Literal["running", "done", "failed"]


class RecalculationItem(TableItem):
    job_id = UnicodeAttribute()
    total = NumberAttribute(default=0)
    pages = NumberAttribute(default=0)
    history = BooleanAttribute(default=True)
    reason = UnicodeAttribute()
    requested_by = UnicodeAttribute()
    model_version = NumberAttribute(default=0)
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="running")
    completed_pages = NumberSetAttribute(null=True)
    # The scorer's listing (None: a job of the old layout, listed when it started).
    listing = UnicodeAttribute(null=True)  # running | done | failed
    cursor = UnicodeAttribute(null=True)  # where the next listing resumes (the walk's cursor)
    tally = UnicodeAttribute(null=True)  # the segment tally of the customers listed so far (JSON)
    done = NumberAttribute(null=True)  # customers scored, of the completed pages
    failed = NumberAttribute(null=True)  # customers failed, of the completed pages


class RecalculationPageItem(TableItem):
    job_id = UnicodeAttribute()
    page = NumberAttribute()
    customer_ids = UnicodeSetAttribute()
    done_ids = UnicodeSetAttribute(null=True)
    failed_ids = UnicodeSetAttribute(null=True)
    fanned_out = BooleanAttribute(null=True)  # its customers' messages were queued (a redelivery skips)


@dataclass(frozen=True)
class Job:
    workspace_id: str
    job_id: str
    total: int
    pages: int
    reason: str
    requested_by: str
    model_version: int
    started_at: str
    finished_at: str | None
    done: int = 0
    failed: int = 0
    listing: ListingState = "done"

    @property
    def status(self) -> JobStatus:
        return "finished" if self.finished_at is not None else "running"


@dataclass(frozen=True)
class Listing:
    """Where a job's listing stands: the pages written so far, and where the next listing resumes."""

    pages: int
    state: ListingState
    cursor: str | None
    tally: dict[str, list[Any]] | None


def _is_condition_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException"


def _update_if(
    model: type[TableItem], key: keys.Key, actions: list[Any], condition: Any, return_values: str | None = None
) -> dict[str, Any] | None:
    """One conditional UpdateItem: DynamoDB's answer (`{}` without `return_values`), or None when the
    condition did not hold."""
    try:
        data = model._get_connection().update_item(
            key.pk, range_key=key.sk, actions=actions, condition=condition, return_values=return_values
        )
    except UpdateError as error:
        if _is_condition_failure(error):
            return None
        raise
    return dict(data or {})


def _listing_state(item: RecalculationItem) -> ListingState:
    value = item.listing or "done"
    return value if value in ("running", "failed") else "done"  # type: ignore[return-value]


def _to_job(item: RecalculationItem, done: int = 0, failed: int = 0) -> Job:
    return Job(
        workspace_id=item.workspace_id,
        job_id=item.job_id,
        total=int(item.total),
        pages=int(item.pages),
        reason=item.reason,
        requested_by=item.requested_by,
        model_version=int(item.model_version),
        started_at=item.started_at,
        finished_at=item.finished_at,
        done=done,
        failed=failed,
        listing=_listing_state(item),
    )


def pages_of(customer_ids: Sequence[str]) -> list[list[str]]:
    return [list(customer_ids[i : i + PAGE_SIZE]) for i in range(0, len(customer_ids), PAGE_SIZE)]


# --- jobs --------------------------------------------------------------------------------------
def create_job(
    workspace_id: str,
    job_id: str,
    *,
    reason: str,
    requested_by: str,
    model_version: int,
    started_at: datetime,
) -> Job:
    """Write the job, its customers still to be listed (one PutItem, conditioned on being new)."""
    key = keys.recalculation(workspace_id, job_id)
    job = RecalculationItem(
        key.pk,
        key.sk,
        entity=JOB_ENTITY,
        workspace_id=workspace_id,
        job_id=job_id,
        total=0,
        pages=0,
        reason=reason,
        requested_by=requested_by,
        model_version=model_version,
        started_at=clock.iso(started_at),
        finished_at=None,
        status="running",
        listing="running",
        done=0,
        failed=0,
        expires_at=started_at + JOB_RETENTION,
    )
    job.save(condition=RecalculationItem.pk.does_not_exist())
    return _to_job(job)


def get_listing(workspace_id: str, job_id: str) -> Listing | None:
    """The job's listing position (one consistent GetItem), None if there is no such job."""
    key = keys.recalculation(workspace_id, job_id)
    try:
        item = RecalculationItem.get(
            key.pk,
            key.sk,
            consistent_read=True,
            attributes_to_get=["pk", "sk", "pages", "listing", "cursor", "tally"],
        )
    except RecalculationItem.DoesNotExist:
        return None
    return Listing(
        pages=int(item.pages),
        state=_listing_state(item),
        cursor=item.cursor,
        tally=json.loads(item.tally) if item.tally else None,
    )


def add_listed_pages(
    workspace_id: str,
    job_id: str,
    first_page: int,
    customer_ids: Sequence[str],
    next_cursor: str | None,
    tally: dict[str, list[Any]] | None,
) -> bool:
    """Write a listing's customers as pages `first_page`... and move the job past them (its `pages`,
    `total`, and where the next listing resumes, or the listing done when `next_cursor` is None), in
    one transaction conditioned on the job's listing standing at `first_page`. Returns False when it
    did not (a redelivered listing: nothing written)."""
    pages = pages_of(customer_ids)
    if len(pages) > MAX_PAGES_LISTED:
        raise ValueError(f"{len(customer_ids)} customers are more than one listing writes")
    key = keys.recalculation(workspace_id, job_id)
    job = RecalculationItem(key.pk, key.sk)
    actions: list[Any] = [
        RecalculationItem.pages.set(first_page + len(pages)),
        RecalculationItem.total.add(len(customer_ids)),
    ]
    if next_cursor is not None:
        actions += [
            RecalculationItem.cursor.set(next_cursor),
            RecalculationItem.tally.set(json.dumps(tally or {}, separators=(",", ":"))),
        ]
    else:
        actions += [
            RecalculationItem.listing.set("done"),
            RecalculationItem.cursor.remove(),
            RecalculationItem.tally.remove(),
        ]
    at_page = (RecalculationItem.listing == "running") & (RecalculationItem.pages == first_page)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            for offset, ids in enumerate(pages):
                number = first_page + offset
                page_key = keys.recalculation_page(workspace_id, job_id, number)
                tx.save(
                    RecalculationPageItem(
                        page_key.pk,
                        page_key.sk,
                        entity=PAGE_ENTITY,
                        workspace_id=workspace_id,
                        job_id=job_id,
                        page=number,
                        customer_ids=set(ids),
                        expires_at=clock.now() + JOB_RETENTION,
                    ),
                    condition=RecalculationPageItem.pk.does_not_exist(),
                )
            tx.update(job, actions=actions, condition=at_page)
    except TransactWriteError as error:
        reasons = error.cancellation_reasons or []
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            return False
        raise
    if next_cursor is None:
        _finish_if_complete(workspace_id, job_id)  # every page listed before may be complete already
    return True


def stop_listing(workspace_id: str, job_id: str) -> None:
    """The listing failed for good: the customers not listed yet are left out of this job, and the job
    finishes with the pages listed (once they are complete)."""
    stopped = _update_if(
        RecalculationItem,
        keys.recalculation(workspace_id, job_id),
        [RecalculationItem.listing.set("failed"), RecalculationItem.cursor.remove(), RecalculationItem.tally.remove()],
        RecalculationItem.listing == "running",
    )
    if stopped is None:
        return  # listed to the end already, or a job of the old layout
    _finish_if_complete(workspace_id, job_id)


def listing_continues_at(workspace_id: str, job_id: str, page: int) -> bool:
    """Whether the job's customers are still being listed and the next listing writes page `page`."""
    listing = get_listing(workspace_id, job_id)
    return listing is not None and listing.state == "running" and listing.pages == page


_POLLED = ["pk", "sk", "workspace_id", "job_id", "total", "pages", "reason", "requested_by", "model_version"]
_POLLED += ["started_at", "finished_at", "completed_pages", "listing", "done", "failed"]


def get_job(workspace_id: str, job_id: str) -> Job | None:
    """The job with its progress: the job item (the counts of its completed pages), and the pages still
    open, the first OPEN_PAGES_READ of them, in one BatchGetItem (a job whose customers are being
    scored has one or two open; more only while customers wait for retries). A job of the old layout
    (no counters) reads all its pages."""
    key = keys.recalculation(workspace_id, job_id)
    try:
        item = RecalculationItem.get(key.pk, key.sk, consistent_read=True, attributes_to_get=_POLLED)
    except RecalculationItem.DoesNotExist:
        return None
    if item.listing is None:
        return _get_old_job(item)
    done, failed = int(item.done or 0), int(item.failed or 0)
    completed = {int(n) for n in item.completed_pages or ()}
    open_pages = [n for n in range(int(item.pages)) if n not in completed][:OPEN_PAGES_READ]
    if open_pages and item.finished_at is None:
        page_keys = [keys.recalculation_page(workspace_id, job_id, n) for n in open_pages]
        for page in RecalculationPageItem.batch_get(
            [(k.pk, k.sk) for k in page_keys],
            consistent_read=True,
            attributes_to_get=["pk", "sk", "done_ids", "failed_ids"],
        ):
            scored = set(page.done_ids or ())
            done += len(scored)
            failed += len(set(page.failed_ids or ()) - scored)
    return _to_job(item, done=done, failed=failed)


def _get_old_job(item: RecalculationItem) -> Job:
    """A job listed when it started (before the scorer listed): its progress is on its pages only."""
    page_keys = [keys.recalculation_page(item.workspace_id, item.job_id, n) for n in range(int(item.pages))]
    done = failed = 0
    for page in RecalculationPageItem.batch_get(
        [(k.pk, k.sk) for k in page_keys], attributes_to_get=["pk", "sk", "done_ids", "failed_ids"]
    ):
        scored = set(page.done_ids or ())
        done += len(scored)
        failed += len(set(page.failed_ids or ()) - scored)
    return _to_job(item, done=done, failed=failed)


def get_page(workspace_id: str, job_id: str, page: int) -> tuple[list[str] | None, bool]:
    """A page's customer ids (None if there is no such page) and whether a next page exists: one
    BatchGetItem of both pages."""
    customer_ids, has_next, _ = get_page_for_fan_out(workspace_id, job_id, page)
    return customer_ids, has_next


def get_page_for_fan_out(workspace_id: str, job_id: str, page: int) -> tuple[list[str] | None, bool, bool]:
    """`get_page`, plus whether the page was already fanned out (its message came again)."""
    wanted = [keys.recalculation_page(workspace_id, job_id, n) for n in (page, page + 1)]
    found = {
        int(item.page): item
        for item in RecalculationPageItem.batch_get(
            [(k.pk, k.sk) for k in wanted], attributes_to_get=["pk", "sk", "page", "customer_ids", "fanned_out"]
        )
    }
    current = found.get(page)
    fanned_out = bool(current is not None and current.fanned_out)
    return (sorted(current.customer_ids) if current is not None else None), (page + 1) in found, fanned_out


def mark_page_fanned_out(workspace_id: str, job_id: str, page: int) -> None:
    """Set after the page's messages were queued: a crash before it means the retry queues them again
    (at least once), never that a page is skipped."""
    key = keys.recalculation_page(workspace_id, job_id, page)
    RecalculationPageItem(key.pk, key.sk).update(
        actions=[RecalculationPageItem.fanned_out.set(True)], condition=RecalculationPageItem.pk.exists()
    )


def page_count(workspace_id: str, job_id: str) -> int:
    key = keys.recalculation(workspace_id, job_id)
    try:
        return int(RecalculationItem.get(key.pk, key.sk, attributes_to_get=["pk", "sk", "pages"]).pages)
    except RecalculationItem.DoesNotExist:
        return 0


def record_progress(
    workspace_id: str, job_id: str, page: int, customer_ids: Iterable[str], *, failed: bool = False
) -> bool:
    """Count customers of a page as scored (or failed); idempotent. Returns whether this call
    finished the whole job."""
    ids = set(customer_ids)
    if not ids:
        return False
    key = keys.recalculation_page(workspace_id, job_id, page)
    attribute = RecalculationPageItem.failed_ids if failed else RecalculationPageItem.done_ids
    data = _update_if(
        RecalculationPageItem,
        key,
        [attribute.add(ids)],
        RecalculationPageItem.pk.exists(),  # never create a page from a stray message
        ALL_OLD,
    )
    if data is None:
        return False
    before = RecalculationPageItem.from_raw_data(data["Attributes"])
    customers = set(before.customer_ids)
    done_before = set(before.done_ids or ())
    failed_before = set(before.failed_ids or ()) - done_before
    scored = done_before if failed else done_before | ids
    settled_failed = (failed_before | ids) - scored if failed else failed_before - ids
    if not customers <= scored | settled_failed:
        return False
    counted = _complete_page(workspace_id, job_id, page, len(scored), len(settled_failed))
    if counted is None and not failed and (ids & failed_before):
        # The page was counted with these customers failed; they were scored since (a message redriven
        # from the DLQ): move them from failed to done in the job's counts.
        _recount_page(workspace_id, job_id, page, len(ids & failed_before))
    return bool(counted)


def _complete_page(workspace_id: str, job_id: str, page: int, done: int, failed: int) -> bool | None:
    """Add the page to the job's completed pages and its counts to the job's, once: a page completed
    again (a redelivered customer) changes nothing (None). Otherwise whether this finished the job."""
    data = _update_if(
        RecalculationItem,
        keys.recalculation(workspace_id, job_id),
        [
            RecalculationItem.completed_pages.add({page}),
            RecalculationItem.done.add(done),
            RecalculationItem.failed.add(failed),
        ],
        RecalculationItem.pk.exists() & ~RecalculationItem.completed_pages.contains(page),
        ALL_NEW,
    )
    if data is None:
        return None
    return _finish(workspace_id, job_id, RecalculationItem.from_raw_data(data["Attributes"]))


def _recount_page(workspace_id: str, job_id: str, page: int, scored_after_failing: int) -> None:
    _update_if(
        RecalculationItem,
        keys.recalculation(workspace_id, job_id),
        [RecalculationItem.done.add(scored_after_failing), RecalculationItem.failed.add(-scored_after_failing)],
        RecalculationItem.completed_pages.contains(page),
    )


def _finish_if_complete(workspace_id: str, job_id: str) -> bool:
    key = keys.recalculation(workspace_id, job_id)
    try:
        item = RecalculationItem.get(key.pk, key.sk, consistent_read=True, attributes_to_get=_POLLED)
    except RecalculationItem.DoesNotExist:
        return False
    return _finish(workspace_id, job_id, item)


def _finish(workspace_id: str, job_id: str, job: RecalculationItem) -> bool:
    """Stamp the job finished if every page is complete and no more pages will be listed (once)."""
    if job.finished_at is not None or job.listing == "running" or len(job.completed_pages or ()) < int(job.pages):
        return False
    finished = _update_if(
        RecalculationItem,
        keys.recalculation(workspace_id, job_id),
        [RecalculationItem.finished_at.set(clock.iso(clock.now())), RecalculationItem.status.set("finished")],
        RecalculationItem.finished_at.does_not_exist(),
    )
    return finished is not None  # None: another page finished it a moment ago


# --- the hourly schedule's per workspace-day marker ------------------------------------------------
class ScheduledScoringItem(TableItem):
    day = UnicodeAttribute()
    state = UnicodeAttribute()  # started | done
    started_at = NumberAttribute()  # epoch seconds
    customers = NumberAttribute(null=True)


def claim_scheduled_scoring(
    workspace_id: str, day: str, now: datetime, stale_after: timedelta, *, page: int = 0
) -> bool:
    """Take the workspace-day (or a later `page` of its fan-out) for this run unless another run did it
    (done) or is doing it (started less than `stale_after` ago, the function's timeout: older means
    that run died)."""
    key = keys.scheduled_scoring(workspace_id, datetime.fromisoformat(day).date(), page)
    item = ScheduledScoringItem(
        key.pk,
        key.sk,
        entity="scheduled_scoring",
        workspace_id=workspace_id,
        day=day,
        state="started",
        started_at=int(now.timestamp()),
        expires_at=now + timedelta(days=3),
    )
    condition = ScheduledScoringItem.pk.does_not_exist() | (
        (ScheduledScoringItem.state == "started")
        & (ScheduledScoringItem.started_at < int((now - stale_after).timestamp()))
    )
    try:
        item.save(condition=condition)
    except PutError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def finish_scheduled_scoring(workspace_id: str, day: str, customers: int, *, page: int = 0) -> None:
    key = keys.scheduled_scoring(workspace_id, datetime.fromisoformat(day).date(), page)
    ScheduledScoringItem._get_connection().update_item(
        key.pk,
        range_key=key.sk,
        actions=[ScheduledScoringItem.state.set("done"), ScheduledScoringItem.customers.set(customers)],
    )


def release_scheduled_scoring(workspace_id: str, day: str, *, page: int = 0) -> None:
    """The run failed before enqueuing everything: let the schedule's retry take the day again."""
    key = keys.scheduled_scoring(workspace_id, datetime.fromisoformat(day).date(), page)
    ScheduledScoringItem._get_connection().delete_item(
        key.pk, range_key=key.sk, condition=ScheduledScoringItem.state == "started"
    )


# --- debounce of event-driven rescoring ------------------------------------------------------------
class RescoringMarkerItem(TableItem):
    customer_id = UnicodeAttribute()
    window_until = NumberAttribute()  # epoch seconds
    trailing = BooleanAttribute(default=False)


Debounce = tuple[Literal["now", "trailing"], int] | None


def claim_rescoring(workspace_id: str, customer_id: str, now: datetime, window: timedelta) -> Debounce:
    """Decide how a rescoring request of one customer is queued, with at most two messages a window.

    The first request of a window is queued at once ("now") and opens the window; the first request
    inside an open window queues one "trailing" message delayed to the window's end, which then
    reads everything written meanwhile; later requests in the window are covered by it (None)."""
    key = keys.rescoring_marker(workspace_id, customer_id)
    at = now.timestamp()
    until = int(at + window.total_seconds())
    opened = RescoringMarkerItem(
        key.pk,
        key.sk,
        entity="rescoring_marker",
        workspace_id=workspace_id,
        customer_id=customer_id,
        window_until=until,
        trailing=False,
        expires_at=now + window + timedelta(hours=1),
    )
    try:
        opened.save(condition=RescoringMarkerItem.pk.does_not_exist() | (RescoringMarkerItem.window_until <= int(at)))
        return ("now", 0)
    except PutError as error:
        if not _is_condition_failure(error):
            raise
    try:
        data: dict[str, Any] = RescoringMarkerItem._get_connection().update_item(
            key.pk,
            range_key=key.sk,
            actions=[RescoringMarkerItem.trailing.set(True)],
            condition=(RescoringMarkerItem.trailing == False) & (RescoringMarkerItem.window_until > int(at)),  # noqa: E712
            return_values=ALL_NEW,
        )
    except UpdateError as error:
        if _is_condition_failure(error):
            return None
        raise
    window_end = int(RescoringMarkerItem.from_raw_data(data["Attributes"]).window_until)
    return ("trailing", max(1, window_end - int(at) + 1))
