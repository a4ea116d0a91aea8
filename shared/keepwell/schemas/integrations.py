"""Bodies of the integration routes: the admin API (secrets, unmatched events) and the webhook receipt.
The normalised schema a generic (Standard Webhooks) source posts is the domain's
(`keepwell.domain.integrations.generic_events`), re-exported here. See docs/integrations.md."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
)

from keepwell.domain.integrations.generic_events import (  # re-exported: the schema a generic source posts
    GENERIC_EVENT,
    CustomerRefIn,
    EmailEvent,
    GenericEvent,
    MeetingEvent,
    NoteEvent,
    NpsEvent,
    ProductEvent,
    TicketEvent,
)
from keepwell.ids import ENTITY_ID


# --- admin API ------------------------------------------------------------------------------------
class IntegrationSecretIn(BaseModel):
    """The provider's signing secret. SecretStr keeps it out of reprs, logs and error messages."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr = Field(min_length=8, max_length=4096)


class IntegrationOut(BaseModel):
    provider: str
    configured: bool
    webhook_url: str
    signature_headers: list[str]
    updated_at: str | None = None


class IntegrationListOut(BaseModel):
    items: list[IntegrationOut]


class UnmatchedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)


class UnmatchedEventOut(BaseModel):
    unmatched_id: str
    provider: str
    event_id: str
    received_at: str
    occurred_at: str
    kind: str
    title: str
    link_key: str | None
    link_label: str
    domains: list[str]
    external_ids: list[str]
    # `unmatched`: no customer matched; `customer_churned`: it matched `customer_id`, which has churned
    # (its timeline is frozen), so it waits here instead.
    parked_reason: Literal["unmatched", "customer_churned"] = "unmatched"
    customer_id: str | None = None


class UnmatchedListOut(BaseModel):
    items: list[UnmatchedEventOut]
    next_cursor: str | None


class MapUnmatchedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    customer_id: str = Field(pattern=ENTITY_ID)


class MapUnmatchedOut(BaseModel):
    unmatched_id: str
    customer_id: str
    provider: str
    mapping_key: str | None  # future events with this key go straight to the customer
    recorded: int  # timeline entries written: this event and parked ones with the same key


class WebhookReceiptOut(BaseModel):
    provider: str
    received: int  # events in the delivery that Keepwell records
    recorded: int  # of those, written to a customer's timeline
    parked: int  # of those, parked as unmatched
    duplicates: int  # of those, already received before (counted once)
    ignored: int  # events of kinds Keepwell does not record
    duplicate: bool  # the whole delivery had been received before


__all__ = [
    "GENERIC_EVENT",
    "CustomerRefIn",
    "EmailEvent",
    "GenericEvent",
    "MeetingEvent",
    "NoteEvent",
    "NpsEvent",
    "ProductEvent",
    "TicketEvent",
]
