"""Outbound webhooks: domain events (EventBridge) become deliveries; queue records send them."""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

# Powertools' batch utility before pydantic: imported after it, the utility imports its parser's pydantic
# models of every event source for type hints only (~50 ms of CPU; keepwell/batching.py).
from keepwell.batching import EventBridgeEvent, GroupedConcurrentBatchProcessor, SQSRecord, process_partial_response

# isort: split

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from keepwell.observability import logger, metrics, tracer
from keepwell.schemas.messages import DomainEventIn, WebhookDeliveryMessage
from keepwell.services import webhook_deliveries

# Deliveries to different destinations run side by side: one hanging receiver delays only its own.
processor = GroupedConcurrentBatchProcessor(webhook_deliveries.destination_of, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    try:
        message = WebhookDeliveryMessage.model_validate_json(record.body)
    except ValidationError:
        logger.warning("invalid webhook delivery message", extra={"message_id": record.message_id}, exc_info=True)
        raise
    if lambda_context is not None:  # an attempt takes up to 15 s: do not start one the invocation cannot finish
        webhook_deliveries.check_time_left(lambda_context.get_remaining_time_in_millis())
    webhook_deliveries.deliver(message)


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
            name="WebhookDeliveriesFailed", unit=MetricUnit.Count, value=len(response.get("batchItemFailures", []))
        )
        return dict(response)
    if "detail-type" in event:
        webhook_deliveries.enqueue_deliveries_for_event(domain_event(EventBridgeEvent(event)))
        return None
    raise ValueError("expected an SQS batch (Records) or an EventBridge event (detail-type)")


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
