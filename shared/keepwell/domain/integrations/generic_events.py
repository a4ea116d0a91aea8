"""The normalised schema a generic source (mail, calendar, surveys, Zapier/Make, PostHog, ...) posts,
one event per Standard Webhooks message; documented in docs/integrations.md and parsed by `generic`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from keepwell.domain.contacts import normalise_email
from keepwell.ids import ENTITY_ID

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100_000)]
# The same check as contacts' emails (no email-validator dependency in the layer).
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254), AfterValidator(normalise_email)
]


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
# Built by its first validation, like the package's models (keepwell/__init__.py): the api imports this
# module with the customer services, and only the integrations function validates generic events.
GENERIC_EVENT: TypeAdapter[Any] = TypeAdapter(GenericEvent, config=ConfigDict(defer_build=True))
