"""Playbooks: domain events (EventBridge) start runs and deliver health alerts to owners; PlaybookActionsQueue
records execute the runs' steps."""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

# Powertools' batch utility before pydantic: imported after it, the utility imports its parser's pydantic
# models of every event source for type hints only (~50 ms of CPU; keepwell/batching.py).
from keepwell.batching import BatchProcessor, EventBridgeEvent, EventType, SQSRecord, process_partial_response

# isort: split

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from keepwell.observability import logger, metrics, tracer
from keepwell.schemas.messages import DomainEventIn, PlaybookActionMessage
from keepwell.services import playbook_runs

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    try:
        message = PlaybookActionMessage.model_validate_json(record.body)
    except ValidationError:
        logger.warning("invalid playbook action message", extra={"message_id": record.message_id}, exc_info=True)
        raise
    playbook_runs.execute_action(message)


def domain_event(event: EventBridgeEvent) -> DomainEventIn:
    return DomainEventIn.model_validate(
        {
            "event_id": event.get_id,
            "detail_type": event.detail_type,
            "source": event.source,
            "time": event.time,
            "detail": event.detail,
        }
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    if "Records" in event:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        metrics.add_metric(
            name="PlaybookActionsFailed", unit=MetricUnit.Count, value=len(response.get("batchItemFailures", []))
        )
        return dict(response)
    if "detail-type" in event:
        # Invalid detail raises: the invocation fails visibly (Errors metric) and Lambda retries it.
        playbook_runs.on_domain_event(domain_event(EventBridgeEvent(event)))
        return None
    raise ValueError("expected an SQS batch (Records) or an EventBridge event (detail-type)")


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
