"""Import queue consumer: one ImportJob (a dry run or a commit) per record, partial batch responses."""

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

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from keepwell.observability import logger, metrics, tracer
from keepwell.schemas.messages import ImportJob
from keepwell.services import imports

MAX_RECEIVES = 5  # the queue's maxReceiveCount: the last failure parks the message on the DLQ
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_context: dict[str, LambdaContext] = {}


def record_handler(record: SQSRecord) -> None:
    try:
        job = ImportJob.model_validate_json(record.body)
    except ValidationError:
        logger.warning("invalid import message", extra={"message_id": record.message_id}, exc_info=True)
        raise
    try:
        imports.run_job(job, _context["current"].get_remaining_time_in_millis)
    except Exception:
        receives = int(record.attributes.approximate_receive_count or 1)
        logger.exception("import job failed", extra={"import_id": job.import_id, "receive_count": receives})
        if receives >= MAX_RECEIVES:
            imports.mark_failed(job, "The import stopped on an internal error; start it again or ask an admin")
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _context["current"] = context
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
