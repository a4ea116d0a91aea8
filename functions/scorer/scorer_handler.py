"""Scoring queue consumer: one ScoringRequest per record, partial batch responses."""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

# Powertools' batch utility before pydantic: imported after it, the utility imports its parser's pydantic
# models of every event source for type hints only (~50 ms of CPU; keepwell/batching.py).
from keepwell.batching import BatchProcessor, EventType, SQSRecord, process_partial_response

# isort: split

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from keepwell.observability import logger, metrics, tracer
from keepwell.schemas.messages import ScoringRequest, is_backtest_message
from keepwell.services import scoring_jobs

# A batch whose every record fails still answers with each id, rather than raising: same outcome
# for SQS, one code path for us.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    if is_backtest_message(record.body):  # a model backtest's page
        # Imported on a backtest's first page only: a daily or recalculation scorer's cold start skips it.
        from keepwell.services import backtest_runs

        backtest_runs.run_message(record.body, int(record.attributes.approximate_receive_count or 1))
        return
    try:
        request = ScoringRequest.model_validate_json(record.body)
    except ValidationError:
        logger.warning("invalid scoring message", extra={"message_id": record.message_id}, exc_info=True)
        raise
    try:
        scoring_jobs.run_scoring_request(request)
    except Exception:
        receives = int(record.attributes.approximate_receive_count or 1)
        logger.exception(
            "scoring failed",
            extra={
                "message_id": record.message_id,
                "workspace_id": request.workspace_id,
                "customer_id": request.customer_id,
                "job_id": request.job_id,
                "receive_count": receives,
            },
        )
        if receives >= scoring_jobs.MAX_RECEIVES:  # on its way to the DLQ: count it in its job
            try:
                scoring_jobs.record_failure(request)
            except Exception:
                logger.exception("could not count the failure in its job", extra={"job_id": request.job_id})
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    # The batch's customers' inputs are read together, its domain events and job progress go out together.
    with scoring_jobs.batched(record.get("body", "") for record in event.get("Records", [])):
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    failed = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="ScoringRecordsFailed", unit=MetricUnit.Count, value=failed)
    metrics.add_metric(
        name="ScoringRecordsProcessed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed
    )
    metrics.add_metric(
        name="ScoringBatchDuration", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000
    )
    return dict(response)


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
