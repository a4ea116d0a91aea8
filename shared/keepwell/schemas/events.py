"""Product-event ingestion: the batch body, one event, and the answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from keepwell.domain.product_events import (  # re-exported: the API's event and rejection shapes
    MAX_PROPERTIES_BYTES,
    ProductEventIn,
    RejectedEvent,
)

MAX_EVENTS_PER_BATCH = 1000


class EventBatchIn(BaseModel):
    """The envelope is validated as a whole; each event is validated on its own later, so one
    malformed event (even one that is not an object) is rejected by index and never sinks the batch."""

    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class EventBatchOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedEvent]


__all__ = ["MAX_PROPERTIES_BYTES", "EventBatchIn", "EventBatchOut", "ProductEventIn", "RejectedEvent"]
