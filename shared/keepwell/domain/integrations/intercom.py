"""Intercom notifications (`notification_event`): conversation and ticket topics → timeline.

Conversation messages from a contact become inbound emails (they feed tone and responsiveness), admin
replies outbound emails, admin notes notes, closes a system entry. Ticket topics keep one ticket item per
Intercom ticket. Contacts are linked by their email domain; other topics are acknowledged and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from keepwell.domain.integrations.common import (
    email_domains,
    epoch_time,
    iso,
    member,
    obj,
    plain_text,
    required_text,
    text,
    ticket_status,
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
from keepwell.domain.timeline import TimelineKind

PROVIDER = "intercom"
MESSAGE_TOPICS = {
    "conversation.user.created": "in",
    "conversation.user.replied": "in",
    "conversation.admin.replied": "out",
    "conversation.admin.single.created": "out",
}
CONTACT_AUTHORS = frozenset({"user", "lead", "contact"})


def _contacts(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    contacts = item.get("contacts")
    listed = contacts.get("contacts") if isinstance(contacts, Mapping) else None
    return [c for c in listed or [] if isinstance(c, Mapping)]


def _link(item: Mapping[str, Any], emails: list[str | None]) -> Link:
    contacts = _contacts(item)
    emails = [*emails, *(text(c.get("email")) for c in contacts)]
    domains = email_domains(emails)
    contact_ids = tuple(f"contact:{cid}" for c in contacts if (cid := text(c.get("id"))))
    key = f"domain:{domains[0]}" if domains else (contact_ids[0] if contact_ids else None)
    shown = next((e for e in emails if e), None) or (contact_ids[0].removeprefix("contact:") if contact_ids else None)
    return Link(
        key=key,
        label=f"Intercom contact {shown}" if shown else "Intercom item without a contact",
        extra_keys=contact_ids,
        domains=domains,
    )


def _last_part(item: Mapping[str, Any]) -> Mapping[str, Any] | None:
    parts = item.get("conversation_parts")
    listed = parts.get("conversation_parts") if isinstance(parts, Mapping) else None
    candidates = [p for p in listed or [] if isinstance(p, Mapping)]
    return candidates[-1] if candidates else None


def _author(node: Mapping[str, Any] | None) -> Mapping[str, Any]:
    author = node.get("author") if node else None
    return author if isinstance(author, Mapping) else {}


def _conversation(topic: str, item: Mapping[str, Any], notification_id: str, sent: datetime) -> EventDraft | None:
    conversation_id = required_text(PROVIDER, item.get("id"), "data.item.id")
    source = member(item, "source")
    created = epoch_time(PROVIDER, item["created_at"], "data.item.created_at") if item.get("created_at") else sent
    part = _last_part(item)
    if topic.endswith(".created") or part is None:
        node: Mapping[str, Any] = source
        at, item_id = created, stable_id("intercom-conversation", conversation_id)
    else:
        node = part
        at = (
            epoch_time(PROVIDER, part["created_at"], "conversation_part.created_at") if part.get("created_at") else sent
        )
        item_id = stable_id("intercom-part", text(part.get("id")) or notification_id)
    author = _author(node)
    # The customer is whoever the conversation is with: the contact who wrote, or who started it.
    contact_emails = [
        text(who.get("email")) for who in (author, _author(source)) if text(who.get("type")) in CONTACT_AUTHORS
    ]
    message = plain_text(text(node.get("body")))
    subject = plain_text(text(source.get("subject")))
    attributes: dict[str, Any] = {"conversation_id": conversation_id, "intercom_topic": topic, "channel": "intercom"}
    kind: TimelineKind
    if topic in MESSAGE_TOPICS:
        kind, attributes["direction"] = "email", MESSAGE_TOPICS[topic]
        first_line = (message or "").splitlines()[0] if message else None
        heading = title(subject or first_line, "Intercom conversation")
    elif topic == "conversation.admin.noted":
        kind, heading = "note", title((message or "").splitlines()[0] if message else None, "Intercom note")
    elif topic == "conversation.admin.closed":
        kind, heading, message = "system", "Intercom conversation closed", None
        at, item_id = sent, stable_id("intercom-closed", conversation_id, int(sent.timestamp()))
    else:
        return None
    draft = TimelineDraft(
        kind=kind,
        occurred_at=at,
        title=heading,
        item_id=item_id,
        body=clip(message, BODY_MAX),
        actor=text(author.get("email")) or text(author.get("name")) or text(author.get("id")),
        source=PROVIDER,
        source_event_id=notification_id,
        attributes=attributes,
    )
    return EventDraft(event_id=notification_id, link=_link(item, contact_emails), draft=draft)


def _ticket_state(item: Mapping[str, Any]) -> str:
    state = item.get("ticket_state")
    if isinstance(state, Mapping):  # API 2.10+: {category, internal_label, external_label}
        state = state.get("category")
    if item.get("open") is False:
        return "closed"
    return ticket_status(text(state))


def _ticket(topic: str, item: Mapping[str, Any], notification_id: str, sent: datetime) -> EventDraft:
    ticket_id = required_text(PROVIDER, item.get("id"), "data.item.id")
    created = epoch_time(PROVIDER, item["created_at"], "data.item.created_at") if item.get("created_at") else sent
    updated = epoch_time(PROVIDER, item["updated_at"], "data.item.updated_at") if item.get("updated_at") else sent
    fields = member(item, "ticket_attributes")
    status = _ticket_state(item)
    attributes: dict[str, Any] = {
        "ticket_id": f"IC-{ticket_id}",
        "status": status,
        "priority": "normal",
        "created_at": iso(created),
        "source_updated_at": iso(updated),
        "intercom_topic": topic,
        "intercom_ticket_number": text(item.get("ticket_id")),
    }
    if status == "closed":
        attributes["resolved_at"] = iso(updated)
    heading = text(fields.get("_default_title_")) or f"Intercom ticket {text(item.get('ticket_id')) or ticket_id}"
    draft = TimelineDraft(
        kind="ticket",
        occurred_at=created,
        title=title(heading, "Intercom ticket"),
        item_id=stable_id("intercom-ticket", ticket_id),
        body=clip(plain_text(text(fields.get("_default_description_"))), BODY_MAX),
        source=PROVIDER,
        source_event_id=notification_id,
        attributes=attributes,
    )
    return EventDraft(event_id=notification_id, link=_link(item, []), draft=draft)


def parse(payload: Any, delivery_id: str) -> ParsedDelivery:
    body = obj(PROVIDER, payload, "body")
    topic = required_text(PROVIDER, body.get("topic"), "topic")
    if topic == "ping":
        return ParsedDelivery(ignored=1)
    data = obj(PROVIDER, body.get("data"), "data")
    item = obj(PROVIDER, data.get("item"), "data.item")
    sent = epoch_time(PROVIDER, body.get("created_at"), "created_at")
    if topic.startswith("conversation."):
        event = _conversation(topic, item, delivery_id, sent)
    elif topic.startswith("ticket.") and text(item.get("type")) in (None, "ticket"):
        event = _ticket(topic, item, delivery_id, sent)
    else:
        event = None
    return ParsedDelivery(events=[event]) if event else ParsedDelivery(ignored=1)
