"""Model backtests: the job, its pages, and the reads a backtest makes — outcomes and stored days.

* `WS#w#BACKTEST#<job> / JOB`: the models compared (JSON), the period, progress (`pages_done`,
  `done` of `total` customers) and, once finished, the result (JSON). Kept 30 days (TTL).
* `… / PAGE#00000`: up to `PAGE_SIZE` (40) customers with their outcomes, then (once that page ran) their
  replays under each model, which the last page aggregates. Kept 30 days (TTL).

A backtest writes nothing else: outcomes come from the churn records and closed renewals, the stored
days from the health snapshots (read through `storage.health_snapshots`' public functions only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from keepwell import clock
from keepwell.domain.health.backtest import Outcome, StoredDay, window_end, window_start
from keepwell.domain.health.snapshot import HealthSnapshot
from keepwell.storage import health_snapshots, keys
from keepwell.storage import renewals as renewal_store
from keepwell.storage import segments as customer_rows
from keepwell.storage.models import TableItem
from keepwell.storage.renewals import ChurnRecordItem

PAGE_SIZE = 40  # a page holds 40 x 2 models x (90 scores + a missed churner's story): < 300 KB of 400
JOB_ENTITY = "backtest"
PAGE_ENTITY = "backtest_page"
RETENTION = timedelta(days=30)
# Renewals are listed by renewal date; one closed up to this long before or after it still counts.
CLOSING_SLACK = timedelta(days=180)


class BacktestItem(TableItem):
    job_id = UnicodeAttribute()
    status = UnicodeAttribute()  # running | finished | failed
    requested_by = UnicodeAttribute()
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    period_from = UnicodeAttribute()
    period_to = UnicodeAttribute()
    models = UnicodeAttribute()  # JSON: {"current": {"version", "model"}, "proposed": model or null}
    total = NumberAttribute(default=0)
    done = NumberAttribute(default=0)
    pages = NumberAttribute(default=0)
    pages_done = NumberAttribute(default=0)
    result = UnicodeAttribute(null=True)  # JSON, once finished
    error = UnicodeAttribute(null=True)


class BacktestPageItem(TableItem):
    job_id = UnicodeAttribute()
    page = NumberAttribute()
    outcomes = UnicodeAttribute()  # JSON list of outcomes
    replays = UnicodeAttribute(null=True)  # JSON {"current": [...], "proposed": [...]} once run


@dataclass(frozen=True)
class Backtest:
    workspace_id: str
    job_id: str
    status: str
    requested_by: str
    started_at: str
    finished_at: str | None
    period_from: date
    period_to: date
    models: dict[str, Any]
    total: int
    done: int
    pages: int
    pages_done: int
    result: dict[str, Any] | None
    error: str | None


def _to_backtest(item: BacktestItem) -> Backtest:
    return Backtest(
        workspace_id=item.workspace_id,
        job_id=item.job_id,
        status=item.status,
        requested_by=item.requested_by,
        started_at=item.started_at,
        finished_at=item.finished_at,
        period_from=date.fromisoformat(item.period_from),
        period_to=date.fromisoformat(item.period_to),
        models=json.loads(item.models),
        total=int(item.total),
        done=int(item.done),
        pages=int(item.pages),
        pages_done=int(item.pages_done),
        result=json.loads(item.result) if item.result else None,
        error=item.error,
    )


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "c": outcome.customer_id,
        "n": outcome.name,
        "k": outcome.kind,
        "d": outcome.day.isoformat(),
        "r": outcome.reason,
    }


def _outcome(data: dict[str, Any]) -> Outcome:
    return Outcome(data["c"], data["n"], data["k"], date.fromisoformat(data["d"]), data.get("r"))


# --- the job ----------------------------------------------------------------------------------------
def create_backtest(
    workspace_id: str,
    job_id: str,
    *,
    requested_by: str,
    period: tuple[date, date],
    models: dict[str, Any],
    outcomes: Sequence[Outcome],
    started_at: datetime,
) -> Backtest:
    """The pages (BatchWriteItem), then the job; a backtest without outcomes is finished at once
    (its result is written by the caller)."""
    expires = started_at + RETENTION
    pages = [outcomes[i : i + PAGE_SIZE] for i in range(0, len(outcomes), PAGE_SIZE)]
    with BacktestPageItem.batch_write() as batch:
        for number, chunk in enumerate(pages):
            key = keys.backtest_page(workspace_id, job_id, number)
            batch.save(
                BacktestPageItem(
                    key.pk,
                    key.sk,
                    entity=PAGE_ENTITY,
                    workspace_id=workspace_id,
                    job_id=job_id,
                    page=number,
                    outcomes=json.dumps([_outcome_json(o) for o in chunk], separators=(",", ":")),
                    expires_at=expires,
                )
            )
    key = keys.backtest(workspace_id, job_id)
    item = BacktestItem(
        key.pk,
        key.sk,
        entity=JOB_ENTITY,
        workspace_id=workspace_id,
        job_id=job_id,
        status="running",
        requested_by=requested_by,
        started_at=clock.iso(started_at),
        period_from=period[0].isoformat(),
        period_to=period[1].isoformat(),
        models=json.dumps(models, separators=(",", ":")),
        total=len(outcomes),
        pages=len(pages),
        expires_at=expires,
    )
    item.save(condition=BacktestItem.pk.does_not_exist())
    return _to_backtest(item)


def get_backtest(workspace_id: str, job_id: str) -> Backtest | None:
    key = keys.backtest(workspace_id, job_id)
    try:
        return _to_backtest(BacktestItem.get(key.pk, key.sk, consistent_read=True))
    except BacktestItem.DoesNotExist:
        return None


def get_page_outcomes(workspace_id: str, job_id: str, page: int) -> list[Outcome] | None:
    key = keys.backtest_page(workspace_id, job_id, page)
    try:
        item = BacktestPageItem.get(key.pk, key.sk, consistent_read=True, attributes_to_get=["pk", "sk", "outcomes"])
    except BacktestPageItem.DoesNotExist:
        return None
    return [_outcome(o) for o in json.loads(item.outcomes)]


def put_page_replays(workspace_id: str, job_id: str, page: int, replays: dict[str, list[dict[str, Any]]]) -> None:
    key = keys.backtest_page(workspace_id, job_id, page)
    BacktestPageItem(key.pk, key.sk).update(
        actions=[BacktestPageItem.replays.set(json.dumps(replays, separators=(",", ":")))],
        condition=BacktestPageItem.pk.exists(),
    )


def page_replays(workspace_id: str, job_id: str, pages: int) -> Iterable[dict[str, list[dict[str, Any]]]]:
    """Every page's replays (BatchGetItem, projected to the replays)."""
    wanted = [keys.backtest_page(workspace_id, job_id, n) for n in range(pages)]
    for start in range(0, len(wanted), 100):
        chunk = [(k.pk, k.sk) for k in wanted[start : start + 100]]
        for item in BacktestPageItem.batch_get(chunk, attributes_to_get=["pk", "sk", "replays"]):
            yield json.loads(item.replays) if item.replays else {}


def _condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException"


def complete_page(workspace_id: str, job_id: str, page: int, customers: int) -> bool:
    """Count a page done, once: False when it was counted before (a redelivered message)."""
    key = keys.backtest(workspace_id, job_id)
    try:
        BacktestItem(key.pk, key.sk).update(
            actions=[BacktestItem.pages_done.set(page + 1), BacktestItem.done.add(customers)],
            condition=(BacktestItem.pages_done == page) & (BacktestItem.status == "running"),
        )
    except UpdateError as error:
        if _condition_failed(error):
            return False
        raise
    return True


def finish(workspace_id: str, job_id: str, *, result: dict[str, Any] | None, error: str | None = None) -> None:
    """Stamp the job finished with its result (or failed with why); only a running job changes."""
    key = keys.backtest(workspace_id, job_id)
    actions: list[Action] = [
        BacktestItem.status.set("failed" if error else "finished"),
        BacktestItem.finished_at.set(clock.iso(clock.now())),
    ]
    if result is not None:
        actions.append(BacktestItem.result.set(json.dumps(result, separators=(",", ":"))))
    if error is not None:
        actions.append(BacktestItem.error.set(error))
    try:
        BacktestItem(key.pk, key.sk).update(actions=actions, condition=BacktestItem.status == "running")
    except UpdateError as failure:
        if not _condition_failed(failure):
            raise


# --- what a backtest reads ---------------------------------------------------------------------------
def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _churn_records(workspace_id: str, customer_ids: Sequence[str]) -> Iterable[ChurnRecordItem]:
    wanted = [keys.churn_record(workspace_id, c) for c in customer_ids]
    for start in range(0, len(wanted), 100):
        yield from ChurnRecordItem.batch_get([(k.pk, k.sk) for k in wanted[start : start + 100]])


def list_outcomes(workspace_id: str, start: date, end: date) -> list[Outcome]:
    """Every customer with an outcome between `start` and `end` (inclusive), one each: a churn in the
    period wins; otherwise the latest renewal closed in it — expanded (closed above its ARR), contracted
    (below) or renewed. One Query of the customers, a BatchGetItem of the churned ones' churn records,
    and one Query of the renewals by date."""
    names: dict[str, str] = {}
    churned_ids: list[str] = []
    for row, _ in customer_rows.iter_health_rows(workspace_id, include_archived=True):
        names[row.customer.customer_id] = row.customer.name
        if row.customer.status == "churned":
            churned_ids.append(row.customer.customer_id)
    found: dict[str, Outcome] = {}
    for record in _churn_records(workspace_id, churned_ids):
        day = _day(record.churned_at)
        if day is not None and start <= day <= end:
            found[record.customer_id] = Outcome(
                record.customer_id, names[record.customer_id], "churned", day, record.churn_reason
            )
    for renewal in renewal_store.list_by_date(workspace_id, start - CLOSING_SLACK, end + CLOSING_SLACK):
        closed = renewal.closed_on
        if renewal.status != "renewed" or closed is None or not start <= closed <= end:
            continue
        earlier = found.get(renewal.customer_id)
        if renewal.customer_id not in names or (
            earlier is not None and (earlier.kind == "churned" or earlier.day >= closed)
        ):
            continue
        closed_arr = renewal.closed_arr if renewal.closed_arr is not None else renewal.current_arr
        kind = (
            "expanded"
            if closed_arr > renewal.current_arr
            else "contracted"
            if closed_arr < renewal.current_arr
            else "renewed"
        )
        found[renewal.customer_id] = Outcome(renewal.customer_id, names[renewal.customer_id], kind, closed)  # type: ignore[arg-type]
    return sorted(found.values(), key=lambda o: (o.day, o.customer_id))


def _stored_day(snapshot: HealthSnapshot) -> StoredDay:
    return StoredDay(
        day=snapshot.date,
        dimensions={d.key: d.value for d in snapshot.dimensions},
        model_version=snapshot.model_version,
        explanation=snapshot.explanation,
        concerns=tuple(e.text for e in snapshot.top_negative),
        strengths=tuple(e.text for e in snapshot.top_positive),
    )


def stored_days(workspace_id: str, outcome: Outcome) -> list[StoredDay]:
    """The customer's stored days a replay reads (the 90 days before the outcome and the warm-up)."""
    snapshots = health_snapshots.get_snapshots(
        workspace_id, outcome.customer_id, window_start(outcome.day), window_end(outcome.day)
    )
    return [_stored_day(s) for s in snapshots]
