"""Zendesk ticket events (`zen:event-type:ticket.*`) → one ticket item per Zendesk ticket.

Zendesk's event payload names the requester and organization by id (`detail.requester_id`,
`detail.organization_id`); a trigger-built body may add `detail.requester` ({id, email, name}) and
`detail.organization` ({id, name, external_id}), which let Keepwell link by email domain or external id
without an admin mapping. Other Zendesk event types (users, organizations) are acknowledged and ignored.
"""

from __future__ import annotations

from typing import Any

from keepwell.domain.integrations.common import (
    email_domains,
    iso,
    iso_time,
    member,
    obj,
    priority,
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
)

PROVIDER = "zendesk"
TICKET_EVENT = "zen:event-type:ticket."
DELETED = frozenset({"soft_deleted", "permanently_deleted", "marked_as_spam"})
ESCALATION_TAGS = frozenset({"escalated", "escalation"})


def _id(value: Any) -> str | None:
    out = text(value)
    return None if out in (None, "0") else out


def _link(detail: dict[str, Any]) -> Link:
    requester = member(detail, "requester")
    organization = member(detail, "organization")
    requester_id = _id(detail.get("requester_id")) or _id(requester.get("id"))
    org_id = _id(detail.get("organization_id")) or _id(organization.get("id"))
    email = text(requester.get("email"))
    org_external = text(organization.get("external_id"))
    key = f"org:{org_id}" if org_id else (f"requester:{requester_id}" if requester_id else None)
    extra = (f"requester:{requester_id}",) if org_id and requester_id else ()
    parts = []
    if org_id:
        name = text(organization.get("name"))
        parts.append(f"Zendesk organization {org_id}" + (f" ({name})" if name else ""))
    if email or requester_id:
        parts.append(f"requester {email or requester_id}")
    return Link(
        key=key,
        label=", ".join(parts) or "Zendesk ticket without requester or organization",
        extra_keys=extra,
        external_ids=(org_external,) if org_external else (),
        domains=email_domains([email]),
    )


def parse(payload: Any, delivery_id: str) -> ParsedDelivery:
    body = dict(obj(PROVIDER, payload, "body"))
    event_type = required_text(PROVIDER, body.get("type"), "type")
    if not event_type.startswith(TICKET_EVENT):
        return ParsedDelivery(ignored=1)
    change = event_type.removeprefix(TICKET_EVENT)
    detail = dict(obj(PROVIDER, body.get("detail"), "detail"))
    ticket_id = required_text(PROVIDER, detail.get("id"), "detail.id")
    happened = iso_time(PROVIDER, body.get("time"), "time")
    created = (
        iso_time(PROVIDER, detail.get("created_at"), "detail.created_at") if detail.get("created_at") else happened
    )
    updated = (
        iso_time(PROVIDER, detail.get("updated_at"), "detail.updated_at") if detail.get("updated_at") else happened
    )
    raw_status = text(detail.get("status"))
    status = "closed" if change in DELETED else ticket_status(raw_status)
    tags = [t.lower() for t in detail.get("tags") or [] if isinstance(t, str)]
    link = _link(detail)
    attributes: dict[str, Any] = {
        "ticket_id": f"ZD-{ticket_id}",
        "status": status,
        "provider_status": (raw_status or "").lower() or None,
        "priority": priority(text(detail.get("priority"))),
        "created_at": iso(created),
        "source_updated_at": iso(updated),
        "escalated": bool(ESCALATION_TAGS.intersection(tags)),
        "zendesk_event": change,
        "tags": tags,
    }
    if status == "closed":
        change_data = member(body, "event")
        just_resolved = change in DELETED or (
            change == "status_changed" and ticket_status(text(change_data.get("previous"))) != "closed"
        )
        attributes["resolved_at"] = iso(happened if just_resolved else updated)
    if change in DELETED:
        attributes["deleted"] = True
    requester = member(detail, "requester")
    actor = text(requester.get("email")) or _id(detail.get("requester_id"))
    if actor:
        attributes["requester"] = actor
    via = detail.get("via")
    if isinstance(via, dict) and text(via.get("channel")):
        attributes["channel"] = text(via.get("channel"))
    subject = text(detail.get("subject"))
    draft = TimelineDraft(
        kind="ticket",
        occurred_at=created,
        title=clip(f"#{ticket_id} {subject}" if subject else f"Zendesk ticket #{ticket_id}", 300) or ticket_id,
        item_id=stable_id("zendesk-ticket", ticket_id),
        body=clip(text(detail.get("description")), BODY_MAX),
        actor=actor,
        source=PROVIDER,
        source_event_id=text(body.get("id")) or delivery_id,
        attributes=attributes,
    )
    return ParsedDelivery(events=[EventDraft(event_id=delivery_id, link=link, draft=draft)])
