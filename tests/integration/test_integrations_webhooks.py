"""POST /v1/integrations/{provider}/{workspace_id} through the real integrations handler (full API Gateway
proxy events) on moto. Every request is signed here exactly as its provider documents it, with hmac/
hashlib/base64 directly (never through keepwell's verifiers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from keepwell.storage import signal_logs
from tests.conftest import ApiClient, ApiResponse
from tests.unit.test_integration_parsers import (
    NOW_EPOCH,
    SLACK_URL_VERIFICATION,
    body,
    generic_event,
    hubspot_events,
    intercom_conversation,
    jira_issue_event,
    zendesk_ticket_event,
)

ZENDESK_SECRET = "dGhpcy1pcy1hLXplbmRlc2stc2lnbmluZy1zZWNyZXQ="
INTERCOM_SECRET = "6ba2f1b4-4b5e-4c3e-9a0d-1f2e3d4c5b6a"
HUBSPOT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
JIRA_SECRET = "jira-webhook-secret-Acme-2026"
GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRETS = {
    "zendesk": ZENDESK_SECRET,
    "intercom": INTERCOM_SECRET,
    "hubspot": HUBSPOT_SECRET,
    "slack": SLACK_SECRET,
    "jira": JIRA_SECRET,
    "generic": GENERIC_SECRET,
}
ZENDESK_TIMESTAMP = "2026-11-20T09:29:58Z"  # two seconds before the frozen clock
REQUESTER = {"id": "1502716443121", "email": "jane@acme.com", "name": "Jane Doe"}


# --- signing, as each provider documents it -----------------------------------------------------------
def zendesk_headers(secret: str, raw: bytes, timestamp: str = ZENDESK_TIMESTAMP) -> dict[str, str]:
    digest = hmac.new(secret.encode(), timestamp.encode() + raw, hashlib.sha256).digest()
    return {
        "User-Agent": "Zendesk Webhook",
        "X-Zendesk-Webhook-Id": "01HF3T6Z7KQ4R8M2N5P0V9W1XY",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


def intercom_headers(secret: str, raw: bytes) -> dict[str, str]:
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()}


def hubspot_headers(secret: str, raw: bytes, url: str, timestamp_ms: int = NOW_EPOCH * 1000 - 1500) -> dict[str, str]:
    message = b"POST" + url.encode() + raw + str(timestamp_ms).encode()
    return {
        "Host": "api.keepwell.example",
        "X-Forwarded-Proto": "https",
        "X-HubSpot-Signature-v3": base64.b64encode(
            hmac.new(secret.encode(), message, hashlib.sha256).digest()
        ).decode(),
        "X-HubSpot-Request-Timestamp": str(timestamp_ms),
    }


def slack_headers(secret: str, raw: bytes, timestamp: int = NOW_EPOCH - 3) -> dict[str, str]:
    basestring = f"v0:{timestamp}:".encode() + raw
    return {
        "X-Slack-Signature": "v0=" + hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest(),
        "X-Slack-Request-Timestamp": str(timestamp),
    }


def jira_headers(secret: str, raw: bytes, identifier: str = "7c2e4a1b-9d3f-4e5a-8b6c-0d1e2f3a4b5c") -> dict[str, str]:
    return {
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
        "X-Atlassian-Webhook-Identifier": identifier,
    }


def standard_headers(secret: str, raw: bytes, message_id: str, timestamp: int = NOW_EPOCH - 2) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + raw
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{signature}"}


# --- helpers -------------------------------------------------------------------------------------------
def table_items() -> list[dict[str, Any]]:
    """Every item of the table (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scoring_requests() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=os.environ["SCORING_QUEUE_URL"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def post(provider: str, workspace_id: str, raw: bytes, headers: dict[str, str]) -> ApiResponse:
    return ApiClient(None).post(f"/v1/integrations/{provider}/{workspace_id}", raw=raw, headers=headers)


def timeline(api: ApiClient, customer_id: str, **query: Any) -> list[dict[str, Any]]:
    response = api.get(f"/v1/customers/{customer_id}/timeline", **query)
    assert response.status == 200, response.body
    return list(response.body["items"])


def configure(api: ApiClient, *providers: str) -> None:
    for provider in providers:
        response = api.request("PUT", f"/v1/integrations/{provider}/secret", body={"secret": SECRETS[provider]})
        assert response.status == 200, response.body


@pytest.fixture
def customer_id(admin_api: ApiClient) -> str:
    response = admin_api.post("/v1/customers", {"name": "Acme Corp", "domain": "acme.com", "external_id": "9001"})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


@pytest.fixture
def zendesk(admin_api: ApiClient) -> None:
    configure(admin_api, "zendesk")


# --- Zendesk: the acceptance path ----------------------------------------------------------------------
def test_a_signed_zendesk_ticket_lands_on_the_customers_timeline_and_signal_log(
    admin_api, workspace, customer_id, zendesk
):
    raw = body(zendesk_ticket_event(requester=REQUESTER, organization_id=None))

    response = post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw))

    assert response.status == 200, response.body
    assert response.body == {
        "provider": "zendesk",
        "received": 1,
        "recorded": 1,
        "parked": 0,
        "duplicates": 0,
        "ignored": 0,
        "duplicate": False,
    }
    (item,) = timeline(admin_api, customer_id, kind="ticket")
    assert item["title"] == "#35436 Export to CSV times out for large reports"
    assert item["source"] == "zendesk" and item["actor"] == "jane@acme.com"
    assert item["attributes"]["status"] == "open" and item["attributes"]["priority"] == "high"
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert log.tickets["ZD-35436"]["st"] == "open" and log.tickets["ZD-35436"]["pr"] == "high"
    # A high-priority ticket is not a critical signal: the daily scoring sees it (test_event_rescoring.py).
    assert scoring_requests() == []


def test_the_same_body_with_one_byte_changed_is_rejected_and_nothing_is_stored(workspace, customer_id, zendesk):
    raw = body(zendesk_ticket_event(requester=REQUESTER))
    headers = zendesk_headers(ZENDESK_SECRET, raw)
    tampered = raw.replace(b'"HIGH"', b'"HIGX"')
    assert len(tampered) == len(raw) and tampered != raw
    before = table_items()

    response = post("zendesk", workspace, tampered, headers)

    assert response.status == 401
    assert response.error_code == "invalid_signature"
    assert response.body["error"]["details"] == [{"field": "headers.X-Zendesk-Webhook-Signature", "issue": "mismatch"}]
    assert table_items() == before
    assert scoring_requests() == []


def test_the_same_valid_request_replayed_counts_once(admin_api, workspace, customer_id, zendesk):
    raw = body(zendesk_ticket_event(requester=REQUESTER))
    headers = zendesk_headers(ZENDESK_SECRET, raw)

    first = post("zendesk", workspace, raw, headers)
    scoring_requests()
    items_after_first = table_items()
    again = post("zendesk", workspace, raw, headers)

    assert first.status == again.status == 200
    assert first.body["duplicate"] is False and first.body["recorded"] == 1
    assert again.body["duplicate"] is True and again.body["duplicates"] == 1 and again.body["recorded"] == 0
    assert len(timeline(admin_api, customer_id, kind="ticket")) == 1
    assert table_items() == items_after_first
    assert scoring_requests() == []  # nothing changed, nothing to rescore


def test_ticket_updates_replace_the_tickets_state_and_a_late_older_update_is_ignored(
    admin_api, workspace, customer_id, zendesk
):
    created = zendesk_ticket_event(requester=REQUESTER, event_id="e-1", updated_at="2026-11-20T09:12:03Z")
    solved = zendesk_ticket_event(
        "status_changed",
        requester=REQUESTER,
        status="SOLVED",
        event={"current": "SOLVED", "previous": "OPEN"},
        event_id="e-3",
        time="2026-11-20T09:29:00Z",
        updated_at="2026-11-20T09:29:00Z",
    )
    late = zendesk_ticket_event(
        "priority_changed",
        requester=REQUESTER,
        status="OPEN",
        priority="URGENT",
        event_id="e-2",
        updated_at="2026-11-20T09:20:00Z",
    )
    for payload in (created, solved, late):
        raw = body(payload)
        assert post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw)).status == 200

    (item,) = timeline(admin_api, customer_id, kind="ticket")
    assert item["attributes"]["status"] == "closed" and item["attributes"]["priority"] == "high"
    assert item["attributes"]["resolved_at"] == "2026-11-20T09:29:00.000Z"
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert list(log.tickets) == ["ZD-35436"]
    assert log.tickets["ZD-35436"]["st"] == "closed" and log.tickets["ZD-35436"]["ra"] == "2026-11-20T09:29:00.000Z"


# --- rejections ----------------------------------------------------------------------------------------
def test_an_unknown_provider_is_404(workspace):
    response = post("salesforce", workspace, b"{}", {})
    assert response.status == 404 and response.error_code == "unknown_provider"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_header"),
        (zendesk_headers(ZENDESK_SECRET, b"", "2026-11-20T09:24:59Z"), "stale_timestamp"),
        (zendesk_headers("another-secret", b""), "mismatch"),
    ],
    ids=["missing", "stale", "wrong-secret"],
)
def test_a_missing_stale_or_wrong_signature_is_401_and_nothing_stored(workspace, customer_id, zendesk, headers, reason):
    raw = body(zendesk_ticket_event(requester=REQUESTER))
    if headers:  # sign this body (the parametrised headers only fix the timestamp and secret)
        secret = ZENDESK_SECRET if reason != "mismatch" else "another-secret"
        headers = zendesk_headers(secret, raw, headers["X-Zendesk-Webhook-Signature-Timestamp"])
    before = table_items()
    response = post("zendesk", workspace, raw, headers)
    assert response.status == 401 and response.body["error"]["details"][0]["issue"] == reason
    assert table_items() == before


def test_a_provider_without_a_secret_in_the_workspace_is_401(workspace, customer_id):
    raw = body(zendesk_ticket_event(requester=REQUESTER))
    response = post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw))
    assert response.status == 401 and response.body["error"]["details"][0]["issue"] == "not_configured"


def test_a_signature_made_with_workspace_as_secret_is_rejected_at_workspace_bs_url(
    admin_api, other_admin_api, workspace, other_workspace, customer_id, zendesk
):
    other = other_admin_api.request("PUT", "/v1/integrations/zendesk/secret", body={"secret": "globex-zendesk-secret"})
    assert other.status == 200
    raw = body(zendesk_ticket_event(requester=REQUESTER))
    before = table_items()

    response = post("zendesk", other_workspace, raw, zendesk_headers(ZENDESK_SECRET, raw))

    assert response.status == 401 and response.error_code == "invalid_signature"
    assert table_items() == before
    assert other_admin_api.get("/v1/integrations/unmatched").body["items"] == []


def test_a_signed_body_that_is_not_the_providers_shape_is_400_and_nothing_stored(workspace, zendesk):
    before = table_items()
    for raw in (b"{not json", body({"type": "zen:event-type:ticket.created", "id": "x", "time": "2026-11-20T09:29Z"})):
        response = post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw))
        assert response.status == 400, response.body
        assert response.error_code == "malformed_payload"
    assert table_items() == before


def test_the_sample_api_gateway_event_verifies_with_its_documented_secret_and_parks_its_unknown_org(
    admin_api, workspace
):
    from infra.functions import FakeLambdaContext, load_handler
    from infra.template import ROOT

    admin_api.request(
        "PUT", "/v1/integrations/zendesk/secret", body={"secret": "keepwell-sample-zendesk-signing-secret"}
    )
    event = json.loads((ROOT / "events" / "integrations" / "zendesk-ticket-status-changed.json").read_text())

    result = load_handler("IntegrationsFunction")(event, FakeLambdaContext("IntegrationsFunction"))

    assert result["statusCode"] == 200, result["body"]
    assert json.loads(result["body"])["parked"] == 1
    (parked,) = admin_api.get("/v1/integrations/unmatched").body["items"]
    assert parked["link_key"] == "org:360017123456" and parked["title"].startswith("#35436")


# --- the other providers -------------------------------------------------------------------------------
def test_an_intercom_conversation_from_a_contact_lands_as_an_inbound_email(admin_api, workspace, customer_id):
    configure(admin_api, "intercom")
    raw = body(intercom_conversation())

    response = post("intercom", workspace, raw, intercom_headers(INTERCOM_SECRET, raw))

    assert response.status == 200 and response.body["recorded"] == 1, response.body
    (email,) = timeline(admin_api, customer_id, kind="email")
    assert email["attributes"]["direction"] == "in" and email["body"].startswith("Hi team,")
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert [r["dir"] for r in log.emails.values()] == ["in"]


def test_a_hubspot_batch_signed_over_its_full_url_counts_each_event_once(admin_api, workspace, customer_id):
    configure(admin_api, "hubspot")
    url = f"https://api.keepwell.example/v1/integrations/hubspot/{workspace}"
    first = body(hubspot_events({"eventId": 101}, {"eventId": 102, "subscriptionType": "deal.creation", "objectId": 7}))
    second = body(hubspot_events({"eventId": 101}, {"eventId": 103, "propertyValue": "evangelist"}))

    one = post("hubspot", workspace, first, hubspot_headers(HUBSPOT_SECRET, first, url))
    two = post("hubspot", workspace, second, hubspot_headers(HUBSPOT_SECRET, second, url))
    wrong_url = post("hubspot", workspace, first, hubspot_headers(HUBSPOT_SECRET, first, url + "?x=1"))

    assert (one.status, two.status, wrong_url.status) == (200, 200, 401)
    assert (one.body["recorded"], one.body["parked"]) == (1, 1)  # the company matched its external id, the deal parked
    assert (two.body["recorded"], two.body["duplicates"], two.body["duplicate"]) == (1, 1, False)
    titles = sorted(i["title"] for i in timeline(admin_api, customer_id, kind="system"))
    assert titles == [
        "HubSpot company 9001: lifecyclestage → customer",
        "HubSpot company 9001: lifecyclestage → evangelist",
    ]


def test_slack_url_verification_is_answered_with_the_challenge_once_signed(admin_api, workspace):
    configure(admin_api, "slack")
    raw = body(SLACK_URL_VERIFICATION)
    assert post("slack", workspace, raw, {}).status == 401
    response = post("slack", workspace, raw, slack_headers(SLACK_SECRET, raw))
    assert response.status == 200 and response.body == {"challenge": SLACK_URL_VERIFICATION["challenge"]}


def test_a_jira_issue_becomes_an_escalation_on_the_labelled_customer(admin_api, workspace, customer_id):
    configure(admin_api, "jira")
    raw = body(jira_issue_event())

    response = post("jira", workspace, raw, jira_headers(JIRA_SECRET, raw))
    retried = post("jira", workspace, raw, jira_headers(JIRA_SECRET, raw))

    assert response.status == 200 and response.body["recorded"] == 1
    assert retried.body["duplicate"] is True
    (ticket,) = timeline(admin_api, customer_id, kind="ticket")
    assert ticket["title"] == "Escalation SUP-214: Exports time out for Acme" and ticket["source"] == "jira"
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert log.tickets["JIRA-10068"]["esc"] is True and log.tickets["JIRA-10068"]["pr"] == "critical"


def test_generic_standard_webhooks_events_land_in_the_normalised_schema(admin_api, workspace, customer_id):
    configure(admin_api, "generic")
    nps = body(generic_event("nps", {"score": 4, "comment": "Slow exports", "customer": {"domain": "acme.com"}}))
    meeting = body(generic_event("meeting", {"title": "QBR", "duration_minutes": 50, "attendees": ["cfo@acme.com"]}))

    sent = [
        post("generic", workspace, nps, standard_headers(GENERIC_SECRET, nps, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")),
        post(
            "generic", workspace, meeting, standard_headers(GENERIC_SECRET, meeting, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4X")
        ),
        post("generic", workspace, nps, standard_headers("whsec_" + base64.b64encode(b"x" * 24).decode(), nps, "m")),
    ]

    assert [r.status for r in sent] == [200, 200, 401]
    assert sorted(i["kind"] for i in timeline(admin_api, customer_id)) == ["meeting", "nps"]
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert [r["score"] for r in log.nps.values()] == [4] and [r["min"] for r in log.meetings.values()] == [50.0]
    assert [r.get("qbr") for r in log.meetings.values()] == [True]  # titled "QBR": the Relationship dimension's QBR


def test_a_generic_event_of_an_unknown_type_is_400_naming_the_field(admin_api, workspace):
    configure(admin_api, "generic")
    raw = body(generic_event("invoice", {"amount": 3}))
    response = post("generic", workspace, raw, standard_headers(GENERIC_SECRET, raw, "msg_1"))
    assert response.status == 400 and response.body["error"]["details"][0]["field"] == "type"


def test_the_webhook_docs_name_every_provider():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text(encoding="utf-8")
    for provider in SECRETS:
        assert f"/v1/integrations/{provider}/" in docs


def test_the_demos_zendesk_tickets_land_on_the_requesters_customer(admin_api, workspace, customer_id, zendesk):
    from datetime import UTC, datetime

    from infra.demo_tickets import zendesk_ticket_events
    from keepwell.domain.timeline import TimelineEntry

    seeded = TimelineEntry(
        customer_id=customer_id,
        kind="ticket",
        occurred_at=datetime(2026, 11, 19, 10, 5, tzinfo=UTC),
        title="#48213 Dashboard loads slowly",
        source="zendesk",
        attributes={
            "ticket_id": "ZD-48213",
            "status": "closed",
            "priority": "urgent",
            "escalated": True,
            "requester": "maria.lopez@acme.com",
            "resolved_at": "2026-11-19T15:20:00.000Z",
        },
    )
    for payload in zendesk_ticket_events(seeded):
        raw = body(payload)
        assert post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw)).body["recorded"] == 1

    (item,) = timeline(admin_api, customer_id, kind="ticket")
    assert item["title"] == "#48213 Dashboard loads slowly" and item["attributes"]["status"] == "closed"
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert log.tickets["ZD-48213"] == {
        "at": "2026-11-19T10:05:00.000Z",
        "st": "closed",
        "pr": "urgent",
        "id": "zendesk-ticket-48213",
        "ra": "2026-11-19T15:20:00.000Z",
        "esc": True,
    }


# --- Zendesk → the next score ---------------------------------------------------------------------------
def support_value(api: ApiClient, customer_id: str) -> float | None:
    response = api.get(f"/v1/customers/{customer_id}/health")
    assert response.status == 200, response.body
    return next(d["value"] for d in response.body["dimensions"] if d["key"] == "support")


def test_a_critical_zendesk_ticket_moves_the_support_dimension_on_the_next_score(
    admin_api, workspace, customer_id, zendesk
):
    from keepwell.schemas.messages import ScoringRequest
    from keepwell.services.scoring_jobs import run_scoring_request

    def score() -> None:
        run_scoring_request(ScoringRequest(workspace_id=workspace, customer_id=customer_id, reason="integration"))

    routine = body(zendesk_ticket_event(ticket_id="1001", status="SOLVED", priority="LOW", requester=REQUESTER))
    assert post("zendesk", workspace, routine, zendesk_headers(ZENDESK_SECRET, routine)).status == 200
    score()
    before = support_value(admin_api, customer_id)
    assert before is not None  # Zendesk connected: support is measured, not N/A

    critical = body(
        zendesk_ticket_event(
            ticket_id="1002",
            status="OPEN",
            priority="URGENT",
            requester=REQUESTER,
            event_id="5b0e1f7c-1d2e-4f3a-9b8c-7d6e5f4a3b2c",
        )
    )
    assert post("zendesk", workspace, critical, zendesk_headers(ZENDESK_SECRET, critical)).status == 200
    score()
    after = support_value(admin_api, customer_id)

    assert after is not None and after < before


# --- a churned customer's timeline is frozen ----------------------------------------------------------------
def test_an_event_for_a_churned_customer_is_parked_not_written_and_cannot_be_mapped_to_it(
    admin_api, workspace, customer_id, zendesk
):
    assert admin_api.post(f"/v1/customers/{customer_id}/churn", {"churn_reason": "price"}).status == 200
    raw = body(zendesk_ticket_event(requester=REQUESTER, organization_id=None))

    response = post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw))

    assert response.status == 200, response.body
    assert (response.body["recorded"], response.body["parked"]) == (0, 1)
    assert timeline(admin_api, customer_id, kind="ticket") == []
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert log.tickets == {}
    [parked] = admin_api.get("/v1/integrations/unmatched").body["items"]
    assert (parked["parked_reason"], parked["customer_id"]) == ("customer_churned", customer_id)
    refused = admin_api.post(f"/v1/integrations/unmatched/{parked['unmatched_id']}/map", {"customer_id": customer_id})
    assert refused.status == 409 and refused.body["error"]["details"][0]["issue"] == "churned"
    assert timeline(admin_api, customer_id, kind="ticket") == []
