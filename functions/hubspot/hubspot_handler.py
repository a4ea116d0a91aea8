"""HubSpot sync. Three event sources (template.yaml):

* the 15-minute schedule: for every workspace connected to HubSpot, the companies changed since the last
  run (or the next pages of the first full sync), then the write-back of changed scores;
* `health.scored` on the bus: the scored customer of a connected workspace goes on the write-back queue;
* HubSpotWriteBackQueue batches: their customers' changed scores are written back, per workspace in
  batch updates; a message whose write-back HubSpot refused is reported failed and comes back later."""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

# Powertools' batch utility before pydantic: imported after it, the utility imports its parser's pydantic
# models of every event source for type hints only (~50 ms of CPU; keepwell/batching.py).
from keepwell.batching import EventBridgeEvent, SQSEvent

# isort: split

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from keepwell.observability import logger, metrics, tracer
from keepwell.schemas.messages import DOMAIN_EVENT_SOURCE, DomainEventIn, HubSpotWriteBack
from keepwell.services import hubspot_write_back


def _write_back(event: SQSEvent) -> dict[str, Any]:
    """One write-back for the whole batch (grouped per workspace, not record by record as Powertools'
    BatchProcessor would: HubSpot takes 100 companies per request). A malformed message is failed alone
    and reaches the DLQ after its retries; it never holds back the others."""
    # The sync's service (customers, renewals, the CRM client) is imported by the queue's batches and the
    # scheduled runs; the `health.scored` events, most of this function's invocations, only queue a message
    # (services/hubspot_write_back), and a container that only saw those never imports it (decision 0027).
    from keepwell.services import hubspot_sync

    failed: list[str] = []
    valid: list[tuple[str, HubSpotWriteBack]] = []
    for record in event.records:
        try:
            valid.append((record.message_id, HubSpotWriteBack.model_validate_json(record.body)))
        except ValidationError:
            logger.warning("invalid HubSpot write-back message", extra={"message_id": record.message_id})
            failed.append(record.message_id)
    result = hubspot_sync.write_back([message for _, message in valid])
    failed += [valid[position][0] for position in sorted(result.retry)]
    metrics.add_metric(name="HubSpotScoresWrittenBack", unit=MetricUnit.Count, value=result.written)
    metrics.add_metric(name="HubSpotWriteBacksDeferred", unit=MetricUnit.Count, value=len(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    if "Records" in event:
        return _write_back(SQSEvent(event))
    if "detail-type" in event and event.get("source") == DOMAIN_EVENT_SOURCE:  # the scheduler's are not
        bus_event = EventBridgeEvent(event)
        hubspot_write_back.queue_write_back(
            DomainEventIn.model_validate(
                {
                    "event_id": bus_event.get_id,
                    "detail_type": bus_event.detail_type,
                    "source": bus_event.source,
                    "time": bus_event.time,
                    "detail": bus_event.detail,
                }
            )
        )
        return None
    from keepwell.services import hubspot_sync  # the scheduled run (see _write_back)

    ran = hubspot_sync.run_all()
    logger.info("HubSpot sync run", extra=ran)  # the scheduler invokes asynchronously: nothing to answer
    return None


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
