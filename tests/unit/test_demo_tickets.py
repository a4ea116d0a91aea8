"""infra.demo_tickets: the demo's seed tickets as signed Zendesk webhooks to the local gateway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from infra.demo_tickets import DemoTicketError, send_demo_tickets, zendesk_ticket_events
from keepwell.domain.integrations import parse_delivery
from keepwell.domain.timeline import TimelineEntry

SECRET = "demo-zendesk-signing-secret"


def seed_ticket(status: str = "closed", **attributes: Any) -> TimelineEntry:
    """Shaped like infra.seed's `ticket()`."""
    values: dict[str, Any] = {
        "ticket_id": "ZD-48213",
        "status": status,
        "priority": "urgent",
        "escalated": True,
        "requester": "maria.lopez@northwind.test",
        **attributes,
    }
    if status == "closed":
        values.setdefault("resolved_at", "2026-11-19T15:20:00.000Z")
    return TimelineEntry(
        customer_id="cus_northwind",
        kind="ticket",
        occurred_at=datetime(2026, 11, 19, 10, 5, tzinfo=UTC),
        item_id="tl_seeded",
        title="#48213 Dashboard loads slowly",
        actor="maria.lopez@northwind.test",
        source="zendesk",
        source_event_id="ZD-48213",
        attributes=values,
    )


def test_a_solved_seed_ticket_becomes_created_then_solved_zendesk_events():
    created, solved = zendesk_ticket_events(seed_ticket())
    assert (
        created["type"] == "zen:event-type:ticket.created" and solved["type"] == "zen:event-type:ticket.status_changed"
    )
    assert created["subject"] == "zen:ticket:48213" and created["detail"]["subject"] == "Dashboard loads slowly"
    assert created["detail"]["priority"] == "URGENT" and "escalated" in created["detail"]["tags"]
    assert solved["event"] == {"current": "SOLVED", "previous": "NEW"} and solved["time"] == "2026-11-19T15:20:00Z"
    assert created["id"] != solved["id"] and zendesk_ticket_events(seed_ticket())[0]["id"] == created["id"]


def test_an_open_seed_ticket_is_one_created_event():
    assert [e["type"] for e in zendesk_ticket_events(seed_ticket("open"))] == ["zen:event-type:ticket.created"]


def test_the_events_parse_back_into_the_seed_tickets_state_and_link_by_the_requesters_domain():
    drafts = [
        parse_delivery("zendesk", {}, json.dumps(e).encode()).events[0] for e in zendesk_ticket_events(seed_ticket())
    ]
    final = drafts[-1]
    assert final.draft.attributes["ticket_id"] == "ZD-48213"  # the seed's key: one ticket in the signal log
    assert final.draft.attributes["status"] == "closed" and final.draft.attributes["priority"] == "urgent"
    assert final.draft.attributes["resolved_at"] == "2026-11-19T15:20:00.000Z"
    assert final.draft.attributes["escalated"] is True
    assert final.link.domains == ("northwind.test",)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), body))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"duplicate": false}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_demo_tickets_are_posted_signed_per_zendesk_to_the_workspaces_url(receiver):
    url, handler = receiver
    sent = send_demo_tickets(url, "ws_demo", SECRET, [seed_ticket(), seed_ticket("open", ticket_id="ZD-7")], workers=2)

    assert sent == 3 and len(handler.received) == 3
    for path, headers, body in handler.received:
        assert path == "/v1/integrations/zendesk/ws_demo"
        timestamp = headers["X-Zendesk-Webhook-Signature-Timestamp"]
        expected = base64.b64encode(hmac.new(SECRET.encode(), timestamp.encode() + body, hashlib.sha256).digest())
        assert headers["X-Zendesk-Webhook-Signature"] == expected.decode()
        assert timestamp == "2026-11-20T09:30:00Z"  # the (frozen) clock, not the ticket's time
    events = [json.loads(body) for _, _, body in handler.received]
    types = [e["type"] for e in events if e["detail"]["id"] == "48213"]
    assert types == ["zen:event-type:ticket.created", "zen:event-type:ticket.status_changed"]


def test_a_refused_delivery_stops_the_demo_with_the_reason(receiver):
    url, handler = receiver
    handler.status = 401
    with pytest.raises(DemoTicketError, match="401"):
        send_demo_tickets(url, "ws_demo", SECRET, [seed_ticket("open")])
