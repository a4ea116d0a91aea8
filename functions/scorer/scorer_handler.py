"""Scoring queue consumer: one ScoringRequest per record, partial batch responses."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from keepwell.observability import logger, metrics, tracer
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import scoring_jobs

# A batch whose every record fails still answers with each id, rather than raising: same outcome
# for SQS, one code path for us.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    try:
        request = ScoringRequest.model_validate_json(record.body)
    except ValidationError:
        logger.warning("invalid scoring message", extra={"message_id": record.message_id}, exc_info=True)
        raise
    scoring_jobs.run_scoring_request(request)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    metrics.add_metric(
        name="ScoringRecordsFailed", unit=MetricUnit.Count, value=len(response.get("batchItemFailures", []))
    )
    return dict(response)
