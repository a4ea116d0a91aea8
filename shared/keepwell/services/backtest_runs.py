"""The background half of a model backtest (services/backtest_jobs.py starts it): run one page of
customers on the scorer, queue the next, and let the last page write the result. Imported by the
scorer, so it imports only what a page needs (storage, domain), not the API's model validation."""

from __future__ import annotations

from typing import Any

from keepwell.adapters import queues
from keepwell.domain.health.backtest import (
    CustomerReplay,
    changed_custom_dimensions,
    headline,
    replay,
    summarise,
)
from keepwell.domain.health.model import HealthModel
from keepwell.observability import logger
from keepwell.schemas.messages import BacktestRequest
from keepwell.settings import get_settings
from keepwell.storage import backtests as store

MAX_RECEIVES = 5  # the scoring queue's maxReceiveCount: the last try fails the job instead of hanging it


def _models(job: store.Backtest) -> tuple[HealthModel, HealthModel | None]:
    current = HealthModel.model_validate(job.models["current"]["model"])
    proposed = job.models.get("proposed")
    return current, (HealthModel.model_validate(proposed) if proposed is not None else None)


def result_of(job: store.Backtest, pages: list[dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    current, proposed = _models(job)
    result: dict[str, Any] = {}
    for label, model in (("current", current), ("proposed", proposed)):
        if model is None:
            continue
        replays = [CustomerReplay.from_json(r) for page in pages for r in page.get(label, [])]
        summary = summarise(model, replays)
        result[label] = {**summary, "headline": headline(summary)}
    return result


def run_page(request: BacktestRequest) -> None:
    """Replay one page of customers under both models; queue the next page, or write the result."""
    workspace_id, job_id, page = request.workspace_id, request.backtest_id, request.page
    job = store.get_backtest(workspace_id, job_id)
    if job is None or job.status != "running":
        return
    if job.pages_done > page:  # a redelivered message: make sure the chain went on, do nothing else
        if job.pages_done == page + 1 and page + 1 < job.pages:
            _queue(workspace_id, job_id, page + 1)
        return
    outcomes = store.get_page_outcomes(workspace_id, job_id, page) or []
    current, proposed = _models(job)
    changed = {
        "current": frozenset[str](),
        "proposed": changed_custom_dimensions(proposed, current) if proposed is not None else frozenset[str](),
    }
    replays: dict[str, list[dict[str, Any]]] = {"current": [], "proposed": []}
    for outcome in outcomes:
        days = store.stored_days(workspace_id, outcome)
        replays["current"].append(replay(current, outcome, days).to_json())
        if proposed is not None:
            replays["proposed"].append(replay(proposed, outcome, days, changed["proposed"]).to_json())
    store.put_page_replays(workspace_id, job_id, page, replays)
    if not store.complete_page(workspace_id, job_id, page, len(outcomes)):
        return
    if page + 1 < job.pages:
        _queue(workspace_id, job_id, page + 1)
        return
    result = result_of(job, list(store.page_replays(workspace_id, job_id, job.pages)))
    store.finish(workspace_id, job_id, result=result)
    logger.info(
        "backtest finished",
        extra={"workspace_id": workspace_id, "job_id": job_id, "headline": result["current"]["headline"]},
    )


def _queue(workspace_id: str, job_id: str, page: int) -> None:
    message = BacktestRequest(workspace_id=workspace_id, backtest_id=job_id, page=page)
    queues.send_messages(get_settings().scoring_queue_url, [message])


def run_message(body: str, receives: int) -> None:
    """A backtest message from the scoring queue. Its last try failing fails the job (with why)
    rather than leaving it running for ever; the message then goes to the queue's DLQ."""
    request = BacktestRequest.model_validate_json(body)
    try:
        run_page(request)
    except Exception as error:
        if receives >= MAX_RECEIVES:
            store.finish(request.workspace_id, request.backtest_id, result=None, error=f"page {request.page} failed")
        logger.exception("backtest page failed", extra={"job_id": request.backtest_id, "page": request.page})
        raise error
