"""POST /v1/events and /v1/ingest/events: a batch of product events authenticated by a workspace API key."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from keepwell.errors import BadRequest, InvalidInput, PayloadTooLarge, from_validation_error
from keepwell.observability import logger
from keepwell.schemas.events import MAX_EVENTS_PER_BATCH, EventBatchIn, EventBatchOut
from keepwell.services import api_keys, event_ingestion


def parse_event_batch(raw_body: bytes) -> list[Any]:
    """The events of a body: `{"events": [...]}` or a bare JSON array of events. Each event is
    validated later on its own; here only the envelope can make the whole request fail."""
    if not raw_body.strip():
        raise BadRequest('Request body is empty; send {"events": [...]}', code="empty_body")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"Malformed JSON: {error}", code="malformed_json") from error
    if isinstance(payload, list):
        payload = {"events": payload}
    if not isinstance(payload, dict):
        raise InvalidInput(
            f'Invalid body: expected an object {{"events": [...]}} or an array of events, got {type(payload).__name__}',
            details=[{"field": "events", "issue": "Field required", "type": "missing"}],
        )
    events = payload.get("events")
    if isinstance(events, list) and len(events) > MAX_EVENTS_PER_BATCH:
        raise PayloadTooLarge(
            f"The batch has {len(events)} events; the limit is {MAX_EVENTS_PER_BATCH} per request: split it",
            details=[{"field": "events", "issue": f"at most {MAX_EVENTS_PER_BATCH} events", "type": "too_long"}],
            code="too_many_events",
        )
    try:
        return EventBatchIn.model_validate(payload).events
    except ValidationError as error:
        raise from_validation_error(error) from error


def receive_event_batch(api_key: str | None, raw_body: bytes) -> EventBatchOut:
    """Resolve the workspace from `api_key` (X-Api-Key), validate the batch body and ingest it.

    Raises Unauthorized for a missing, unknown or revoked key (before the body is read), BadRequest /
    InvalidInput for a body that is not a batch, PayloadTooLarge for more than 1,000 events.
    """
    workspace_id = api_keys.verify_api_key(api_key)
    events = parse_event_batch(raw_body)
    outcome = event_ingestion.ingest_batch(workspace_id, events)
    answer = outcome.answer
    rescoring = _rescore_critical_changes(workspace_id, outcome)
    logger.info(
        "event batch ingested",
        extra={
            "workspace_id": workspace_id,
            "received": len(events),
            "accepted": answer.accepted,
            "duplicates": answer.duplicates,
            "rejected": len(answer.rejected),
            "customers_changed": len(outcome.affected_customer_ids),
            "usage_drops": len(outcome.usage_drops),
            "rescoring_queued": rescoring,
        },
    )
    return answer


def _rescore_critical_changes(workspace_id: str, outcome: event_ingestion.BatchIngested) -> int:
    """Queue the rescoring of customers whose usage dropped sharply and of those with backfilled days
    (their history from the earliest such day), as debounced by the ingestion commit itself. Other
    changes wait for the daily scoring: today's events arrive all day long and would rescore every
    customer every minute."""
    if not outcome.rescoring:
        return 0
    from keepwell.services.scoring_queue import queue_claimed_rescoring  # only batches that need it pay the import

    return queue_claimed_rescoring(workspace_id, outcome.rescoring, "ingest", recompute_from=outcome.recompute_from)
