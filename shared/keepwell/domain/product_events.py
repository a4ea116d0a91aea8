"""One product-usage event as a customer's application sends it, and why one is rejected: the shapes
the ingestion rules (`domain.ingestion`) validate and answer with, published by the API as they are."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# One event's properties, serialised; keeps a customer-day's raw events well inside DynamoDB's item limit.
MAX_PROPERTIES_BYTES = 8192


class ProductEventIn(BaseModel):
    """One product-usage event as a customer's application sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str | None = Field(default=None, min_length=1, max_length=128)
    event: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    customer_id: str | None = Field(default=None, max_length=64)
    customer_external_id: str | None = Field(default=None, max_length=128)
    customer_domain: str | None = Field(default=None, max_length=253)
    user_id: str = Field(min_length=1, max_length=128)
    timestamp: AwareDatetime  # a timestamp without a timezone is ambiguous: refused
    # Any: the body is parsed from JSON, so every value already is a JSON value (checking it again
    # with JsonValue costs a Python call per property on the ingestion hot path).
    properties: dict[str, Any] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _names_a_customer(self) -> ProductEventIn:
        if not (self.customer_id or self.customer_external_id or self.customer_domain):
            raise ValueError("one of customer_id, customer_external_id or customer_domain is required")
        return self


class RejectedEvent(BaseModel):
    index: int
    code: str  # invalid_event, invalid_timestamp, timestamp_in_future, too_old, unknown_customer, customer_churned
    message: str
