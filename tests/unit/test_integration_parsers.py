"""Provider webhook bodies → timeline drafts and customer links (pure; no AWS).

The payload builders below follow each provider's documented examples; the integration tests
(tests/integration/test_integrations_*.py) sign and post the same bodies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from keepwell.domain.integrations import check_secret, delivery_id, parse_delivery
from keepwell.domain.integrations.model import TimelineDraft
from keepwell.domain.integrations.tickets import merge_ticket_update, newest_per_item
from keepwell.errors import BadRequest, InvalidInput
from keepwell.http import public_base_url, request_url

NOW_EPOCH = 1795167000  # 2026-11-20T09:30:00Z, the tests' frozen clock


# --- payloads shaped like the providers' documented examples -------------------------------------------
def zendesk_ticket_event(
    change: str = "created",
    *,
    ticket_id: str = "35436",
    status: str = "NEW",
    priority: str | None = "HIGH",
    event: dict[str, Any] | None = None,
    event_id: str = "cbe4028c-7239-495d-b020-f22348516046",
    time: str = "2026-11-20T09:29:57.920000Z",
    updated_at: str = "2026-11-20T09:29:57Z",
    organization_id: str | None = "360017123456",
    requester: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """`zen:event-type:ticket.*` as Zendesk's webhook event reference shows it (ids as strings)."""
    detail: dict[str, Any] = {
        "actor_id": "1502716443121",
        "assignee_id": "8447388090494",
        "brand_id": "8447346621310",
        "created_at": "2026-11-20T09:12:03Z",
        "custom_status": "8447320465790",
        "description": "Exports of the quarterly report time out after 30 seconds.",
        "external_id": None,
        "form_id": "8646151517822",
        "group_id": "8447320466430",
        "id": ticket_id,
        "is_public": True,
        "organization_id": organization_id,
        "priority": priority,
        "requester_id": "1502716443121",
        "status": status,
        "subject": "Export to CSV times out for large reports",
        "submitter_id": "1502716443121",
        "tags": tags if tags is not None else ["export", "performance"],
        "type": "INCIDENT",
        "updated_at": updated_at,
        "via": {"channel": "web"},
    }
    if requester is not None:
        detail["requester"] = requester
    return {
        "account_id": 22129848,
        "detail": detail,
        "event": event if event is not None else {},
        "id": event_id,
        "subject": f"zen:ticket:{ticket_id}",
        "time": time,
        "type": f"zen:event-type:ticket.{change}",
        "zendesk_event_version": "2022-11-06",
    }


def intercom_conversation(topic: str = "conversation.user.created", **item: Any) -> dict[str, Any]:
    """A `notification_event` wrapping a conversation, as in Intercom's webhook models."""
    conversation: dict[str, Any] = {
        "type": "conversation",
        "id": "147",
        "created_at": NOW_EPOCH - 120,
        "updated_at": NOW_EPOCH - 60,
        "source": {
            "type": "conversation",
            "id": "403918330",
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": "<p>Hi team,</p><p>our exports keep failing since Monday &amp; we are stuck.</p>",
            "author": {"type": "user", "id": "5310d8e7598c9a0b24000002", "name": "Jane Doe", "email": "jane@acme.com"},
            "attachments": [],
            "url": None,
        },
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "5310d8e7598c9a0b24000002"}]},
        "state": "open",
        "open": True,
        "priority": "not_priority",
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0},
        **item,
    }
    return {
        "type": "notification_event",
        "app_id": "ptsw3x1p",
        "data": {"type": "notification_event_data", "item": conversation},
        "links": {},
        "id": "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": NOW_EPOCH - 10,
        "created_at": NOW_EPOCH - 10,
        "self": None,
    }


def intercom_ticket(topic: str = "ticket.created", state: Any = "submitted", open_: bool = True) -> dict[str, Any]:
    ticket = {
        "type": "ticket",
        "id": "593",
        "ticket_id": "22",
        "ticket_attributes": {"_default_title_": "SSO login loops", "_default_description_": "<p>Okta users loop</p>"},
        "ticket_state": state,
        "ticket_type": {"type": "ticket_type", "id": "1", "name": "Bug"},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "6657", "email": "ops@acme.com"}]},
        "created_at": NOW_EPOCH - 3600,
        "updated_at": NOW_EPOCH - 30,
        "open": open_,
    }
    payload = intercom_conversation(topic)
    payload["data"]["item"] = ticket
    payload["id"] = "notif_2f1d0a7e-6b2c-4a53-9f1e-5f0c1a2b3c4d"
    return payload


def hubspot_events(*events: dict[str, Any]) -> list[dict[str, Any]]:
    """HubSpot v3 batches: the documented fields of each event, overridden per test."""
    base = {
        "eventId": 1,
        "subscriptionId": 12345,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": (NOW_EPOCH - 60) * 1000,
        "subscriptionType": "company.propertyChange",
        "attemptNumber": 0,
        "objectId": 9001,
        "propertyName": "lifecyclestage",
        "propertyValue": "customer",
        "changeSource": "CRM_UI",
        "sourceId": "userId:1234567",
    }
    return [{**base, **event} for event in events] or [base]


def slack_message(text: str = "Heads up: we are evaluating other vendors at renewal", **event: Any) -> dict[str, Any]:
    return {
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": {
            "type": "message",
            "channel": "C123ABC456",
            "user": "U123ABC456",
            "user_team": "T999ACME01",
            "text": text,
            "ts": f"{NOW_EPOCH - 30}.000200",
            "event_ts": f"{NOW_EPOCH - 30}.000200",
            "channel_type": "channel",
            **event,
        },
        "type": "event_callback",
        "authed_users": ["U061F7AUR"],
        "event_id": "Ev123ABC456",
        "event_time": NOW_EPOCH - 30,
    }


SLACK_URL_VERIFICATION = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}


def jira_issue_event(
    webhook_event: str = "jira:issue_created",
    *,
    status: str = "To Do",
    category: str = "new",
    labels: list[str] | None = None,
    resolution_date: str | None = None,
) -> dict[str, Any]:
    return {
        "timestamp": (NOW_EPOCH - 20) * 1000,
        "webhookEvent": webhook_event,
        "issue_event_type_name": webhook_event.removeprefix("jira:"),
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Sam Support", "active": True},
        "issue": {
            "id": "10068",
            "self": "https://keepwell-demo.atlassian.net/rest/api/2/issue/10068",
            "key": "SUP-214",
            "fields": {
                "summary": "Exports time out for Acme",
                "created": "2026-11-20T09:10:00.000+0000",
                "updated": "2026-11-20T09:29:40.000+0000",
                "resolutiondate": resolution_date,
                "priority": {"name": "Highest", "id": "1"},
                "status": {"name": status, "statusCategory": {"key": category}},
                "labels": labels if labels is not None else ["customer:acme.com", "export"],
                "issuetype": {"name": "Bug"},
                "project": {"key": "SUP", "name": "Support escalations"},
                "reporter": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Sam Support"},
            },
        },
    }


def generic_event(kind: str, data: dict[str, Any], timestamp: str = "2026-11-20T09:25:00Z") -> dict[str, Any]:
    return {"type": kind, "timestamp": timestamp, "data": data}


def body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def parse(provider: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    return parse_delivery(provider, headers or {}, body(payload))


# --- Zendesk -------------------------------------------------------------------------------------------
def test_a_zendesk_ticket_event_becomes_one_ticket_item_keyed_by_the_zendesk_ticket():
    parsed = parse("zendesk", zendesk_ticket_event())
    (event,) = parsed.events
    draft = event.draft
    assert event.event_id == "cbe4028c-7239-495d-b020-f22348516046"
    assert draft.kind == "ticket" and draft.item_id == "zendesk-ticket-35436"
    assert draft.title == "#35436 Export to CSV times out for large reports"
    assert draft.occurred_at == datetime(2026, 11, 20, 9, 12, 3, tzinfo=UTC)  # the ticket's creation
    assert draft.attributes["ticket_id"] == "ZD-35436"
    assert draft.attributes["status"] == "open" and draft.attributes["priority"] == "high"
    assert draft.attributes["created_at"] == "2026-11-20T09:12:03.000Z"
    assert "resolved_at" not in draft.attributes
    assert event.link.key == "org:360017123456"


def test_a_zendesk_ticket_solved_is_closed_with_its_resolution_time():
    payload = zendesk_ticket_event(
        "status_changed", status="SOLVED", event={"current": "SOLVED", "previous": "OPEN"}, time="2026-11-20T09:28:00Z"
    )
    attributes = parse("zendesk", payload).events[0].draft.attributes
    assert attributes["status"] == "closed" and attributes["provider_status"] == "solved"
    assert attributes["resolved_at"] == "2026-11-20T09:28:00.000Z"


@pytest.mark.parametrize(("status", "expected"), [("NEW", "open"), ("HOLD", "pending"), ("PENDING", "pending")])
def test_zendesk_states_map_to_the_health_models_three(status, expected):
    assert parse("zendesk", zendesk_ticket_event(status=status)).events[0].draft.attributes["status"] == expected


def test_a_zendesk_ticket_without_priority_is_normal_and_an_escalated_tag_marks_an_escalation():
    attributes = parse("zendesk", zendesk_ticket_event(priority=None, tags=["escalated"])).events[0].draft.attributes
    assert attributes["priority"] == "normal" and attributes["escalated"] is True


def test_a_zendesk_requester_email_links_by_its_domain_and_parent_domains():
    payload = zendesk_ticket_event(requester={"id": "1502716443121", "email": "jane@eu.acme.com"}, organization_id=None)
    link = parse("zendesk", payload).events[0].link
    assert link.domains == ("eu.acme.com", "acme.com")
    assert link.key == "requester:1502716443121"


def test_zendesk_user_and_organization_events_are_acknowledged_and_ignored():
    payload = {"type": "zen:event-type:user.active_changed", "id": "2b24ef10", "detail": {"id": "6596848315901"}}
    parsed = parse("zendesk", payload)
    assert parsed.events == [] and parsed.ignored == 1


def test_a_zendesk_ticket_event_without_detail_is_malformed():
    payload = zendesk_ticket_event()
    del payload["detail"]
    with pytest.raises(BadRequest) as raised:
        parse("zendesk", payload)
    assert raised.value.status == 400 and raised.value.details[0]["field"] == "detail"


def test_a_body_that_is_not_json_is_malformed():
    with pytest.raises(BadRequest, match="not JSON"):
        parse_delivery("jira", {}, b"{not json")


# --- Intercom ------------------------------------------------------------------------------------------
def test_an_intercom_conversation_from_a_contact_is_an_inbound_email_in_plain_text():
    (event,) = parse("intercom", intercom_conversation()).events
    draft = event.draft
    assert draft.kind == "email" and draft.attributes["direction"] == "in"
    assert draft.body == "Hi team,\nour exports keep failing since Monday & we are stuck."
    assert draft.title == "Hi team,"
    assert draft.occurred_at == datetime.fromtimestamp(NOW_EPOCH - 120, tz=UTC)
    assert event.link.domains == ("acme.com",) and event.link.key == "domain:acme.com"
    assert event.event_id == "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"


def test_an_intercom_admin_reply_is_an_outbound_email_from_its_newest_part():
    part = {
        "type": "conversation_part",
        "id": "987",
        "part_type": "comment",
        "body": "<p>Fixed in 4.2, sorry!</p>",
        "created_at": NOW_EPOCH - 5,
        "author": {"type": "admin", "id": "814860", "name": "Ann CSM", "email": "ann@keepwell.test"},
    }
    payload = intercom_conversation(
        "conversation.admin.replied",
        conversation_parts={"type": "conversation_part.list", "conversation_parts": [part]},
    )
    (event,) = parse("intercom", payload).events
    assert event.draft.attributes["direction"] == "out" and event.draft.body == "Fixed in 4.2, sorry!"
    assert event.draft.item_id == "intercom-part-987"
    # The customer is the contact who started the conversation, not the admin who replied.
    assert event.link.domains == ("acme.com",) and "contact:5310d8e7598c9a0b24000002" in event.link.extra_keys


@pytest.mark.parametrize(
    ("state", "open_", "expected"),
    [
        ("submitted", True, "open"),
        ({"type": "ticket_state", "category": "waiting_on_customer"}, True, "pending"),
        ({"type": "ticket_state", "category": "resolved"}, False, "closed"),
    ],
)
def test_intercom_ticket_topics_keep_one_ticket_item_with_its_state(state, open_, expected):
    (event,) = parse("intercom", intercom_ticket("ticket.state.updated", state, open_)).events
    assert event.draft.kind == "ticket" and event.draft.item_id == "intercom-ticket-593"
    assert event.draft.attributes["status"] == expected
    assert event.draft.title == "SSO login loops"
    assert event.link.domains == ("acme.com",)


def test_intercom_contact_topics_are_ignored():
    payload = intercom_conversation("contact.user.created")
    assert parse("intercom", payload).ignored == 1


# --- HubSpot -------------------------------------------------------------------------------------------
def test_hubspot_company_and_deal_changes_become_system_entries_one_per_event():
    payload = hubspot_events(
        {"eventId": 101},
        {
            "eventId": 102,
            "subscriptionType": "deal.propertyChange",
            "objectId": 777,
            "propertyName": "dealstage",
            "propertyValue": "closedwon",
        },
        {"eventId": 103, "subscriptionType": "contact.creation", "objectId": 55},
    )
    parsed = parse("hubspot", payload)
    assert [e.event_id for e in parsed.events] == ["101", "102"] and parsed.ignored == 1
    company, deal = parsed.events
    assert company.draft.kind == "system"
    assert company.draft.title == "HubSpot company 9001: lifecyclestage → customer"
    assert company.link.external_ids == ("9001",) and company.link.key == "company:9001"
    assert deal.link.key == "deal:777" and deal.draft.attributes["property_value"] == "closedwon"


def test_a_hubspot_body_that_is_not_an_array_or_lacks_event_ids_is_malformed():
    with pytest.raises(BadRequest):
        parse("hubspot", {"eventId": 1})
    with pytest.raises(BadRequest, match="eventId"):
        parse("hubspot", [{"subscriptionType": "company.creation", "objectId": 1, "occurredAt": 1}])


# --- Slack ---------------------------------------------------------------------------------------------
def test_slack_url_verification_is_answered_with_its_challenge():
    parsed = parse("slack", SLACK_URL_VERIFICATION)
    assert parsed.reply == {"challenge": SLACK_URL_VERIFICATION["challenge"]} and parsed.events == []


def test_a_slack_channel_message_is_a_note_linked_by_its_channel_and_external_team():
    (event,) = parse("slack", slack_message()).events
    assert event.draft.kind == "note" and event.draft.title.startswith("Heads up")
    assert event.link.key == "channel:C123ABC456" and event.link.extra_keys == ("team:T999ACME01",)
    assert event.event_id == "Ev123ABC456"


def test_slack_edits_and_bot_messages_are_ignored():
    assert parse("slack", slack_message(subtype="message_changed")).ignored == 1
    assert parse("slack", slack_message(bot_id="B123")).ignored == 1


# --- Jira ----------------------------------------------------------------------------------------------
def test_a_jira_issue_is_an_escalated_ticket_linked_by_its_customer_label():
    (event,) = parse("jira", jira_issue_event(), {"X-Atlassian-Webhook-Identifier": "2f6b1c5e-1"}).events
    draft = event.draft
    assert draft.kind == "ticket" and draft.attributes["escalated"] is True
    assert draft.attributes["priority"] == "critical" and draft.attributes["status"] == "open"
    assert draft.title == "Escalation SUP-214: Exports time out for Acme"
    assert event.link.domains == ("acme.com",) and event.event_id == "2f6b1c5e-1"


def test_a_done_jira_issue_closes_the_escalation_at_its_resolution_date():
    payload = jira_issue_event(
        "jira:issue_updated", status="Done", category="done", resolution_date="2026-11-20T09:29:00.000+0000"
    )
    attributes = parse("jira", payload).events[0].draft.attributes
    assert attributes["status"] == "closed" and attributes["resolved_at"] == "2026-11-20T09:29:00.000Z"


def test_a_jira_delivery_without_an_identifier_header_is_deduplicated_by_its_body():
    payload = body(jira_issue_event())
    assert delivery_id("jira", {}, payload) == delivery_id("jira", {}, payload)
    assert delivery_id("jira", {}, payload).startswith("sha256:")
    assert delivery_id("jira", {}, payload + b" ") != delivery_id("jira", {}, payload)


# --- generic -------------------------------------------------------------------------------------------
def test_a_generic_inbound_email_links_by_the_senders_domain_and_feeds_email_signals():
    payload = generic_event(
        "email",
        {"direction": "in", "from": "jane@acme.com", "to": ["ann@keepwell.test"], "subject": "Renewal", "text": "Hi"},
    )
    (event,) = parse("generic", payload, {"webhook-id": "msg_2Lc1"}).events
    assert event.draft.kind == "email" and event.draft.attributes["direction"] == "in"
    assert event.link.domains == ("acme.com",) and event.event_id == "msg_2Lc1"


@pytest.mark.parametrize(
    ("kind", "data", "attribute", "value"),
    [
        ("meeting", {"title": "QBR", "duration_minutes": 45, "attendees": ["cfo@acme.com"]}, "duration_minutes", 45),
        ("nps", {"score": 9, "respondent": "jane@acme.com"}, "score", 9),
        ("ticket", {"ticket_id": "T-1", "subject": "Broken", "status": "solved"}, "status", "closed"),
        ("product_event", {"event": "report_exported", "customer": {"domain": "acme.com"}}, "event", "report_exported"),
    ],
)
def test_generic_kinds_carry_the_attributes_the_health_model_reads(kind, data, attribute, value):
    payload = generic_event(kind, {"customer": {"external_id": "crm-1"}, **data})
    (event,) = parse("generic", payload, {"webhook-id": "msg_1"}).events
    assert event.draft.kind == kind and event.draft.attributes[attribute] == value


def test_a_generic_event_names_the_wrong_field_when_invalid():
    payload = generic_event("nps", {"score": 11, "customer": {"domain": "acme.com"}})
    with pytest.raises(InvalidInput) as raised:
        parse("generic", payload, {"webhook-id": "msg_1"})
    assert any(d["field"].endswith("score") for d in raised.value.details)


def test_a_generic_product_event_must_name_its_customer():
    with pytest.raises(InvalidInput):
        parse("generic", generic_event("product_event", {"event": "login"}), {"webhook-id": "msg_1"})


# --- ticket updates ------------------------------------------------------------------------------------
def ticket_entry(updated: str, status: str = "open", **attributes: Any) -> Any:
    draft = TimelineDraft(
        kind="ticket",
        occurred_at=datetime(2026, 11, 20, 9, 12, 3, tzinfo=UTC),
        title="#1 Broken",
        item_id="zendesk-ticket-1",
        source="zendesk",
        attributes={"ticket_id": "ZD-1", "status": status, "source_updated_at": updated, **attributes},
    )
    return draft.for_customer("cus_1")


def test_an_older_ticket_update_arriving_late_does_not_overwrite_the_newer_state():
    stored = {"status": "closed", "source_updated_at": "2026-11-20T09:20:00.000Z"}
    assert merge_ticket_update(stored, ticket_entry("2026-11-20T09:10:00.000Z")) is None


def test_a_newer_ticket_update_keeps_the_first_resolution_time_and_escalation():
    stored = {
        "status": "closed",
        "resolved_at": "A",
        "escalated": True,
        "source_updated_at": "2026-11-20T09:00:00.000Z",
    }
    merged = merge_ticket_update(stored, ticket_entry("2026-11-20T09:10:00.000Z", "closed", resolved_at="B"))
    assert merged is not None
    assert merged.attributes["resolved_at"] == "A" and merged.attributes["escalated"] is True


def test_several_updates_of_one_ticket_in_a_batch_collapse_to_the_newest():
    older, newer = ticket_entry("2026-11-20T09:00:00.000Z"), ticket_entry("2026-11-20T09:10:00.000Z", "closed")
    drafts = [
        ("cus_1", TimelineDraft(**newer.model_dump(exclude={"customer_id", "created_at"}))),
        ("cus_1", TimelineDraft(**older.model_dump(exclude={"customer_id", "created_at"}))),
    ]
    (kept,) = newest_per_item(drafts)
    assert kept[1].attributes["status"] == "closed"


# --- URLs and secrets ----------------------------------------------------------------------------------
def test_the_public_url_includes_the_stage_on_the_execute_api_host_and_not_locally():
    headers = {"Host": "k3pw3ll9az.execute-api.us-east-1.amazonaws.com", "X-Forwarded-Proto": "https"}
    context = {"path": "/prod/v1/integrations/hubspot/ws_acme"}
    base = public_base_url(headers, context, "/v1/integrations/hubspot/ws_acme", local=False)
    assert base == "https://k3pw3ll9az.execute-api.us-east-1.amazonaws.com/prod"
    assert request_url(base, "/v1/x", {"b": ["2"], "a": ["1 2"]}) == f"{base}/v1/x?b=2&a=1+2"
    local = public_base_url({"Host": "127.0.0.1:3000"}, {"path": "/local/v1/x"}, "/v1/x", local=True)
    assert local == "http://127.0.0.1:3000"


def test_a_generic_secret_must_be_a_standard_webhooks_key_and_no_secret_may_hold_whitespace():
    check_secret("generic", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    check_secret("zendesk", "dGhpcyBpcyBhIHplbmRlc2sgc2VjcmV0")
    for provider, secret in [
        ("generic", "not-a-whsec"),
        ("generic", "whsec_!!!"),
        ("generic", "whsec_c2hvcnQ="),
        ("slack", "has space"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            check_secret(provider, secret)
        assert secret not in raised.value.message
