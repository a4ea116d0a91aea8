"""Product-event ingestion: the batch body, one event, and the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

MAX_EVENTS_PER_BATCH = 1000


class ProductEventIn(BaseModel):
    """One product-usage event as a customer's application sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str | None = Field(default=None, min_length=1, max_length=128)
    event: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    customer_id: str | None = Field(default=None, max_length=64)
    customer_external_id: str | None = Field(default=None, max_length=128)
    customer_domain: str | None = Field(default=None, max_length=253)
    user_id: str = Field(min_length=1, max_length=128)
    timestamp: datetime
    properties: dict[str, JsonValue] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _names_a_customer(self) -> ProductEventIn:
        if not (self.customer_id or self.customer_external_id or self.customer_domain):
            raise ValueError("one of customer_id, customer_external_id or customer_domain is required")
        if self.timestamp.tzinfo is None:
            raise ValueError("timestamp must carry a timezone (e.g. 2026-11-20T09:30:00Z)")
        return self


class EventBatchIn(BaseModel):
    """The envelope is validated as a whole; each event is validated on its own later."""

    model_config = ConfigDict(extra="forbid")

    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class RejectedEvent(BaseModel):
    index: int
    code: str
    message: str


class EventBatchOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedEvent]
