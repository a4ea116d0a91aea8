"""HubSpot v3 webhooks: a JSON array of events; company and deal changes → timeline system entries.

Companies link by external id (a customer's `external_id` is its CRM id, HubSpot's company `objectId`)
or an admin mapping; deals by mapping, or through the company of a deal-to-company association. Contact
and other object events are acknowledged and ignored. Nothing but the timeline changes for now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keepwell.domain.integrations.common import epoch_time, required_text, text
from keepwell.domain.integrations.model import (
    EventDraft,
    Link,
    MalformedPayload,
    ParsedDelivery,
    TimelineDraft,
    stable_id,
    title,
)

PROVIDER = "hubspot"
# Generic `object.*` subscriptions name the object type by id: 0-2 companies, 0-3 deals.
OBJECT_TYPES = {"0-2": "company", "0-3": "deal"}
ACTIONS = {
    "creation": "created",
    "deletion": "deleted",
    "propertyChange": "changed",
    "associationChange": "association changed",
    "merge": "merged",
    "restore": "restored",
    "privacyDeletion": "deleted for privacy",
}


def _object_and_action(event: Mapping[str, Any]) -> tuple[str | None, str]:
    subscription = required_text(PROVIDER, event.get("subscriptionType"), "subscriptionType")
    object_type, _, action = subscription.partition(".")
    if object_type == "object":
        object_type = OBJECT_TYPES.get(text(event.get("objectTypeId")) or "", "")
    return (object_type if object_type in ("company", "deal") else None), action


def _link(object_type: str, event: Mapping[str, Any], object_id: str) -> Link:
    if object_type == "company":
        return Link(key=f"company:{object_id}", label=f"HubSpot company {object_id}", external_ids=(object_id,))
    association = (text(event.get("associationType")) or "").upper()
    company = text(event.get("toObjectId")) if "COMPANY" in association else None
    if company:
        return Link(
            key=f"company:{company}",
            label=f"HubSpot company {company} (deal {object_id})",
            extra_keys=(f"deal:{object_id}",),
            external_ids=(company,),
        )
    return Link(key=f"deal:{object_id}", label=f"HubSpot deal {object_id}")


def _event(index: int, event: Any) -> EventDraft | None:
    if not isinstance(event, Mapping):
        raise MalformedPayload(PROVIDER, f"[{index}] must be an object", f"[{index}]")
    event_id = required_text(PROVIDER, event.get("eventId"), f"[{index}].eventId")
    object_type, action = _object_and_action(event)
    if object_type is None:
        return None
    object_id = required_text(PROVIDER, event.get("objectId"), f"[{index}].objectId")
    occurred = epoch_time(PROVIDER, event.get("occurredAt"), f"[{index}].occurredAt", millis=True)
    prop, value = text(event.get("propertyName")), text(event.get("propertyValue"))
    what = ACTIONS.get(action, action)
    heading = f"HubSpot {object_type} {object_id} {what}"
    if action == "propertyChange" and prop:
        heading = f"HubSpot {object_type} {object_id}: {prop} → {value if value is not None else '(empty)'}"
    attributes: dict[str, Any] = {
        "hubspot_event": f"{object_type}.{action}",
        "object_type": object_type,
        "object_id": object_id,
        "property_name": prop,
        "property_value": value,
        "change_source": text(event.get("changeSource")),
        "portal_id": text(event.get("portalId")),
    }
    if action == "merge":  # the two-way sync moves a merged company's customer to the surviving one
        attributes["primary_object_id"] = text(event.get("primaryObjectId"))
        attributes["merged_object_ids"] = [str(i) for i in event.get("mergedObjectIds") or [] if str(i).strip()]
    draft = TimelineDraft(
        kind="system",
        occurred_at=occurred,
        title=title(heading, "HubSpot change"),
        item_id=stable_id("hubspot", event_id),
        source=PROVIDER,
        source_event_id=event_id,
        attributes=attributes,
    )
    return EventDraft(event_id=event_id, link=_link(object_type, event, object_id), draft=draft)


def parse(payload: Any, delivery_id: str) -> ParsedDelivery:
    if not isinstance(payload, list):
        raise MalformedPayload(PROVIDER, "body must be a JSON array of events")
    parsed = ParsedDelivery()
    for index, event in enumerate(payload):
        draft = _event(index, event)
        if draft is None:
            parsed.ignored += 1
        else:
            parsed.events.append(draft)
    return parsed
