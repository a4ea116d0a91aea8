"""Generic sources (mail, calendar, surveys, Zapier/Make, PostHog, ...): one event per Standard Webhooks
message, in Keepwell's normalised schema (`keepwell.domain.integrations.generic_events`, documented in
docs/integrations.md). The customer is named in `data.customer`; without it, the email, attendee,
requester or respondent addresses' domains are tried.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from keepwell.domain.integrations.common import domain_or_none, email_domains, iso
from keepwell.domain.integrations.generic_events import (
    GENERIC_EVENT,
    CustomerRefIn,
    EmailEvent,
    MeetingEvent,
    NoteEvent,
    NpsEvent,
    ProductEvent,
    TicketEvent,
)
from keepwell.domain.integrations.model import (
    BODY_MAX,
    EventDraft,
    Link,
    ParsedDelivery,
    TimelineDraft,
    clip,
    stable_id,
    title,
)
from keepwell.errors import InvalidInput, from_validation_error

PROVIDER = "generic"
KINDS = ("email", "meeting", "ticket", "note", "nps", "product_event")


def _link(customer: CustomerRefIn | None, addresses: list[str | None]) -> Link:
    ids = (customer.id,) if customer and customer.id else ()
    external = (customer.external_id,) if customer and customer.external_id else ()
    named = domain_or_none(customer.domain) if customer and customer.domain else None
    domains = ((named,) if named else ()) + (() if customer else email_domains(addresses))
    if external:
        key, label = f"external_id:{external[0]}", f"external id {external[0]}"
    elif domains:
        key, label = f"domain:{domains[0]}", f"domain {domains[0]}"
    elif ids:
        key, label = None, f"customer {ids[0]}"
    else:
        key, label = None, "no customer named"
    return Link(key=key, label=label, customer_ids=ids, external_ids=external, domains=domains)


def _draft(event: Any, item_id: str, source_id: str) -> tuple[TimelineDraft, Link]:
    data = event.data
    common: dict[str, Any] = {"source": PROVIDER, "source_event_id": source_id, "item_id": item_id}
    if isinstance(event, EmailEvent):
        counterpart = [data.from_] if data.direction == "in" else [*data.to, *data.cc]
        attributes = {
            "direction": data.direction,
            "from": data.from_,
            "to": data.to,
            "cc": data.cc or None,
            "proactive": data.proactive or None,
            "reply_to_proactive": data.reply_to_proactive or None,
            "champion_response_hours": data.champion_response_hours,
        }
        draft = TimelineDraft(
            kind="email",
            occurred_at=event.timestamp,
            title=data.subject,
            body=clip(data.text, BODY_MAX) or None,
            actor=data.from_,
            attributes=attributes,
            **common,
        )
        return draft, _link(data.customer, counterpart)
    if isinstance(event, MeetingEvent):
        draft = TimelineDraft(
            kind="meeting",
            occurred_at=data.start or event.timestamp,
            title=data.title,
            body=clip(data.notes, BODY_MAX),
            attributes={"duration_minutes": data.duration_minutes, "attendees": data.attendees},
            **common,
        )
        return draft, _link(data.customer, list(data.attendees))
    if isinstance(event, TicketEvent):
        created = data.created_at or event.timestamp
        attributes = {
            "ticket_id": data.ticket_id,
            "status": {"new": "open", "hold": "pending", "solved": "closed", "resolved": "closed"}.get(
                data.status, data.status
            ),
            "provider_status": data.status,
            "priority": data.priority,
            "created_at": iso(created),
            "source_updated_at": iso(event.timestamp),
            "resolved_at": iso(data.resolved_at) if data.resolved_at else None,
            "escalated": data.escalated,
            "requester": data.requester,
        }
        if attributes["status"] == "closed" and not data.resolved_at:
            attributes["resolved_at"] = iso(event.timestamp)
        common["item_id"] = stable_id("generic-ticket", data.ticket_id)
        draft = TimelineDraft(
            kind="ticket",
            occurred_at=created,
            title=data.subject,
            body=clip(data.description, BODY_MAX),
            actor=data.requester,
            attributes=attributes,
            **common,
        )
        return draft, _link(data.customer, [data.requester])
    if isinstance(event, NoteEvent):
        draft = TimelineDraft(
            kind="note",
            occurred_at=event.timestamp,
            title=title(data.title or data.body.splitlines()[0], "Note"),
            body=data.body,
            actor=data.author,
            **common,
        )
        return draft, _link(data.customer, [])
    if isinstance(event, NpsEvent):
        draft = TimelineDraft(
            kind="nps",
            occurred_at=event.timestamp,
            title=f"NPS {data.score}",
            body=clip(data.comment, BODY_MAX),
            actor=data.respondent,
            attributes={"score": data.score, "respondent": data.respondent},
            **common,
        )
        return draft, _link(data.customer, [data.respondent])
    assert isinstance(event, ProductEvent)
    draft = TimelineDraft(
        kind="product_event",
        occurred_at=event.timestamp,
        title=title(data.event, "Product event"),
        actor=data.user_id,
        attributes={"event": data.event, "user_id": data.user_id, "properties": data.properties or None},
        **common,
    )
    return draft, _link(data.customer, [])


def parse(payload: Any, delivery_id: str) -> ParsedDelivery:
    if isinstance(payload, dict) and payload.get("type") not in KINDS:
        # Name the field: pydantic reports a bad discriminator at the root of the body.
        issue = f"must be one of {', '.join(KINDS)}"
        raise InvalidInput(f"Invalid body: type {issue}", [{"field": "type", "issue": issue}])
    try:
        event = GENERIC_EVENT.validate_python(payload)
    except ValidationError as error:
        raise from_validation_error(error) from error
    source_id = event.data.id or delivery_id
    draft, link = _draft(event, stable_id("generic", event.type, source_id), source_id)
    return ParsedDelivery(events=[EventDraft(event_id=delivery_id, link=link, draft=draft)])
