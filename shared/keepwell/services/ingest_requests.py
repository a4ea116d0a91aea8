"""POST /v1/events and /v1/ingest/events: a batch of product events authenticated by a workspace API key."""

from __future__ import annotations

from keepwell.schemas.events import EventBatchOut
from keepwell.services.pending import not_implemented


def receive_event_batch(api_key: str | None, raw_body: bytes) -> EventBatchOut:
    """Resolve the workspace from `api_key` (X-Api-Key), validate the batch body and ingest it.

    To do: authenticate the key (services.api_keys), parse `EventBatchIn`, call
    `services.event_ingestion.ingest_batch`, and queue rescoring for customers whose past days
    changed. Raises Unauthorized for a missing/revoked key, InvalidInput for a bad body.
    """
    raise not_implemented("event ingestion over HTTP")
