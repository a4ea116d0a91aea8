"""Bodies of the integration routes: the admin API (secrets, unmatched events) and the webhook receipt,
plus the normalised schema a generic (Standard Webhooks) source posts. See docs/integrations.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from keepwell.domain.contacts import normalise_email
from keepwell.schemas.messages import ENTITY_ID

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100_000)]
# The same check as contacts' emails (no email-validator dependency in the layer).
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254), AfterValidator(normalise_email)
]


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


# --- generic source: the normalised schema ---------------------------------------------------------
class CustomerRefIn(BaseModel):
    """Which customer: Keepwell's id, your external id, or the customer's domain (first given wins)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, pattern=ENTITY_ID)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    domain: str | None = Field(default=None, min_length=1, max_length=253)


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = Field(default=None, min_length=1, max_length=200)  # the source's own id of the item
    customer: CustomerRefIn | None = None


class EmailData(_Data):
    direction: Literal["in", "out"]
    from_: Email = Field(alias="from")
    to: list[Email] = Field(default_factory=list, max_length=100)
    cc: list[Email] = Field(default_factory=list, max_length=100)
    subject: Text
    text: LongText = ""
    proactive: bool = False
    reply_to_proactive: bool = False
    champion_response_hours: float | None = Field(default=None, ge=0, le=24 * 365)


class MeetingData(_Data):
    title: Text
    start: AwareDatetime | None = None  # defaults to the event's timestamp
    duration_minutes: int = Field(ge=1, le=24 * 60)
    attendees: list[Email] = Field(default_factory=list, max_length=200)
    notes: LongText | None = None


class TicketData(_Data):
    ticket_id: str = Field(min_length=1, max_length=100)
    subject: Text
    status: Literal["new", "open", "pending", "hold", "solved", "resolved", "closed"] = "open"
    priority: Literal["low", "normal", "high", "urgent", "critical"] = "normal"
    created_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    escalated: bool = False
    requester: Email | None = None
    description: LongText | None = None


class NoteData(_Data):
    title: Text | None = None
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    author: str | None = Field(default=None, max_length=200)


class NpsData(_Data):
    score: int = Field(ge=0, le=10)
    comment: LongText | None = None
    respondent: Email | None = None


class ProductEventData(_Data):
    event: str = Field(min_length=1, max_length=200)
    user_id: str | None = Field(default=None, max_length=200)
    properties: dict[str, JsonValue] = Field(default_factory=dict)


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")  # Standard Webhooks senders may add envelope fields

    timestamp: AwareDatetime  # when it happened


class EmailEvent(_Event):
    type: Literal["email"]
    data: EmailData


class MeetingEvent(_Event):
    type: Literal["meeting"]
    data: MeetingData


class TicketEvent(_Event):
    type: Literal["ticket"]
    data: TicketData


class NoteEvent(_Event):
    type: Literal["note"]
    data: NoteData


class NpsEvent(_Event):
    type: Literal["nps"]
    data: NpsData


class ProductEvent(_Event):
    type: Literal["product_event"]
    data: ProductEventData

    @model_validator(mode="after")
    def _named_customer(self) -> ProductEvent:
        if self.data.customer is None:
            raise ValueError("data.customer is required for product events")
        return self


GenericEvent = Annotated[
    EmailEvent | MeetingEvent | TicketEvent | NoteEvent | NpsEvent | ProductEvent,
    Field(discriminator="type"),
]
GENERIC_EVENT: TypeAdapter[Any] = TypeAdapter(GenericEvent)
