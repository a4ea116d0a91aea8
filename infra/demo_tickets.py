"""Send the demo's support tickets through the real, signed Zendesk endpoint of the running local stack.

Each seed ticket (`infra.seed`'s ticket TimelineEntry) becomes the Zendesk webhook events that tell its
story — `ticket.created`, then a `ticket.status_changed` when it went pending or was solved — shaped as
Zendesk's event reference shows them, with the requester's email added (as a Zendesk trigger body can)
so Keepwell links the ticket by the customer's domain. Every request is signed as Zendesk signs:
`X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from keepwell import clock
from keepwell.domain.timeline import TimelineEntry

DEMO_ACCOUNT_ID = 22129848
EVENT_VERSION = "2022-11-06"
# Zendesk's own names for the health model's states.
ZENDESK_STATUS = {"open": "OPEN", "pending": "PENDING", "closed": "SOLVED"}
_NAMESPACE = uuid.UUID("5f1c3e2a-9b7d-4c21-8e0f-6a2b3c4d5e6f")


class DemoTicketError(RuntimeError):
    """The endpoint refused a demo ticket (wrong secret, stack not running, ...)."""


def _zendesk_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _numeric_id(text: str, digits: int = 13) -> str:
    """Zendesk ids are numbers sent as strings; derive a stable one for demo people."""
    return str(int(hashlib.sha256(text.encode()).hexdigest()[:15], 16) % 10**digits)


def ticket_number(entry: TimelineEntry) -> str:
    reference = str(entry.attributes.get("ticket_id") or entry.source_event_id or entry.item_id)
    return reference.removeprefix("ZD-")


def zendesk_ticket_events(entry: TimelineEntry, *, account_id: int = DEMO_ACCOUNT_ID) -> list[dict[str, Any]]:
    """The Zendesk webhook events of one seed ticket, oldest first."""
    if entry.kind != "ticket":
        raise ValueError(f"{entry.item_id} is a {entry.kind}, not a ticket")
    number = ticket_number(entry)
    attributes = entry.attributes
    created = entry.occurred_at
    requester_email = str(attributes.get("requester") or entry.actor or "")
    requester_id = _numeric_id(requester_email or number)
    status = str(attributes.get("status", "open"))
    subject = entry.title.removeprefix(f"#{number} ")
    tags = ["keepwell-demo", *(["escalated"] if attributes.get("escalated") else [])]

    def event(change: str, zendesk_status: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
        detail = {
            "actor_id": requester_id,
            "created_at": _zendesk_time(created),
            "description": subject,
            "external_id": None,
            "id": number,
            "is_public": True,
            "organization_id": None,
            "priority": str(attributes.get("priority", "normal")).upper(),
            "requester_id": requester_id,
            "requester": {"id": requester_id, "email": requester_email},
            "status": zendesk_status,
            "subject": subject,
            "submitter_id": requester_id,
            "tags": tags,
            "type": "QUESTION",
            "updated_at": _zendesk_time(at),
            "via": {"channel": "email"},
        }
        return {
            "account_id": account_id,
            "detail": detail,
            "event": data,
            "id": str(uuid.uuid5(_NAMESPACE, f"{number}:{change}")),
            "subject": f"zen:ticket:{number}",
            "time": _zendesk_time(at),
            "type": f"zen:event-type:ticket.{change}",
            "zendesk_event_version": EVENT_VERSION,
        }

    events = [event("created", "NEW", created, {})]
    if status in ("pending", "closed"):
        resolved = attributes.get("resolved_at")
        changed_at = datetime.fromisoformat(str(resolved)) if resolved else created + timedelta(hours=1)
        final = ZENDESK_STATUS[status]
        events.append(event("status_changed", final, changed_at, {"current": final, "previous": "NEW"}))
    return events


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """Zendesk's scheme: base64(HMAC-SHA256(signing secret, timestamp + body))."""
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


def _post(url: str, secret: str, payload: dict[str, Any], timeout: float) -> int:
    body = json.dumps(payload, separators=(",", ":")).encode()
    timestamp = _zendesk_time(clock.now())  # must be within 5 minutes of the receiver's clock
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zendesk Webhook",
            "X-Zendesk-Webhook-Signature": sign(secret, body, timestamp),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:300]
        raise DemoTicketError(f"{url} answered {error.code} for ticket {payload['detail']['id']}: {detail}") from None


def set_zendesk_secret(api_url: str, admin_token: str, workspace_secret: str, timeout: float = 30.0) -> None:
    """Set the workspace's Zendesk signing secret through the admin API (PUT /v1/integrations/zendesk/secret)."""
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/v1/integrations/zendesk/secret",
        data=json.dumps({"secret": workspace_secret}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin_token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return
    except urllib.error.HTTPError as error:
        raise DemoTicketError(f"setting the Zendesk secret failed: {error.code}") from None


def send_demo_tickets(
    api_url: str,
    workspace_id: str,
    secret: str,
    tickets: Sequence[TimelineEntry] | Iterable[TimelineEntry],
    *,
    workers: int = 8,
    timeout: float = 30.0,
) -> int:
    """Post every ticket's Zendesk events to `{api_url}/v1/integrations/zendesk/{workspace_id}`, each
    ticket's events in order (tickets in parallel). Returns how many deliveries were accepted (2xx);
    raises DemoTicketError on the first refusal."""
    url = f"{api_url.rstrip('/')}/v1/integrations/zendesk/{workspace_id}"
    stories = [zendesk_ticket_events(t) for t in tickets if t.kind == "ticket"]

    def send(story: list[dict[str, Any]]) -> int:
        return sum(1 for payload in story if 200 <= _post(url, secret, payload, timeout) < 300)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return sum(pool.map(send, stories))
