"""Recalculation jobs and the markers of the scoring pipeline (schedule runs, rescoring debounce).

A job (`WS#w#RECALC#<job> / JOB`) holds its total and times; its customers sit in page items beside it
(`PAGE#00000`, up to 100 ids each). Progress is kept as *sets* on the pages: a scored customer is added
to `done_ids` with an UpdateItem ADD, so a redelivered message counts once, and the writes of a big job
spread over many items instead of one hot counter. A page that is complete adds its number to the
job's `completed_pages`; the update that completes the last page stamps `finished_at` (once, by
condition).
"""

from __future__ import annotations

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
from pynamodb.constants import ALL_NEW
from pynamodb.exceptions import PutError, UpdateError

from keepwell import clock
from keepwell.storage import keys
from keepwell.storage.models import TableItem

PAGE_SIZE = 100
JOB_ENTITY = "recalculation"
PAGE_ENTITY = "recalculation_page"
JOB_RETENTION = timedelta(days=30)

JobStatus = Literal["running", "finished"]


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

    @property
    def status(self) -> JobStatus:
        return "finished" if self.finished_at is not None else "running"


def _is_condition_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException"


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
    )


def pages_of(customer_ids: Sequence[str]) -> list[list[str]]:
    return [list(customer_ids[i : i + PAGE_SIZE]) for i in range(0, len(customer_ids), PAGE_SIZE)]


# --- the customers a run scores ------------------------------------------------------------------
# --- jobs --------------------------------------------------------------------------------------
def create_job(
    workspace_id: str,
    job_id: str,
    customer_ids: Sequence[str],
    *,
    reason: str,
    requested_by: str,
    model_version: int,
    started_at: datetime,
) -> Job:
    """Write the job and its pages (BatchWriteItem, 25 items a request). A job without customers is
    finished at once."""
    pages = pages_of(customer_ids)
    expires = started_at + JOB_RETENTION
    key = keys.recalculation(workspace_id, job_id)
    started = clock.iso(started_at)
    job = RecalculationItem(
        key.pk,
        key.sk,
        entity=JOB_ENTITY,
        workspace_id=workspace_id,
        job_id=job_id,
        total=len(customer_ids),
        pages=len(pages),
        reason=reason,
        requested_by=requested_by,
        model_version=model_version,
        started_at=started,
        finished_at=None if pages else started,
        status="running" if pages else "finished",
        expires_at=expires,
    )
    with RecalculationPageItem.batch_write() as batch:
        for number, ids in enumerate(pages):
            page_key = keys.recalculation_page(workspace_id, job_id, number)
            batch.save(
                RecalculationPageItem(
                    page_key.pk,
                    page_key.sk,
                    entity=PAGE_ENTITY,
                    workspace_id=workspace_id,
                    job_id=job_id,
                    page=number,
                    customer_ids=set(ids),
                    expires_at=expires,
                )
            )
    # The job last: a reader that finds it finds its pages too.
    job.save(condition=RecalculationItem.pk.does_not_exist())
    return _to_job(job)


def get_job(workspace_id: str, job_id: str) -> Job | None:
    """The job with its progress: the job item and its pages in BatchGetItem pages of 100."""
    key = keys.recalculation(workspace_id, job_id)
    try:
        item = RecalculationItem.get(key.pk, key.sk, consistent_read=True)
    except RecalculationItem.DoesNotExist:
        return None
    page_keys = [keys.recalculation_page(workspace_id, job_id, n) for n in range(int(item.pages))]
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
    try:
        data = RecalculationPageItem._get_connection().update_item(
            key.pk,
            range_key=key.sk,
            actions=[attribute.add(ids)],
            condition=RecalculationPageItem.pk.exists(),  # never create a page from a stray message
            return_values=ALL_NEW,
        )
    except UpdateError as error:
        if _is_condition_failure(error):
            return False
        raise
    item = RecalculationPageItem.from_raw_data(data["Attributes"])
    settled = set(item.done_ids or ()) | set(item.failed_ids or ())
    if not set(item.customer_ids) <= settled:
        return False
    return _complete_page(workspace_id, job_id, page)


def _complete_page(workspace_id: str, job_id: str, page: int) -> bool:
    key = keys.recalculation(workspace_id, job_id)
    data = RecalculationItem._get_connection().update_item(
        key.pk,
        range_key=key.sk,
        actions=[RecalculationItem.completed_pages.add({page})],
        condition=RecalculationItem.pk.exists(),
        return_values=ALL_NEW,
    )
    job = RecalculationItem.from_raw_data(data["Attributes"])
    if job.finished_at is not None or len(job.completed_pages or ()) < int(job.pages):
        return False
    try:
        RecalculationItem._get_connection().update_item(
            key.pk,
            range_key=key.sk,
            actions=[
                RecalculationItem.finished_at.set(clock.iso(clock.now())),
                RecalculationItem.status.set("finished"),
            ],
            condition=RecalculationItem.finished_at.does_not_exist(),
        )
    except UpdateError as error:
        if _is_condition_failure(error):
            return False  # another page finished it a moment ago
        raise
    return True


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
