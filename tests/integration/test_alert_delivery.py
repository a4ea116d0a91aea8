"""Health alerts reach the customer's owners end to end on moto: `health.alert` domain events (the shape the
scorer publishes) into the playbooks handler, an in-app notification per owner and co-owner read back through
GET /v1/notifications, the owner's email recorded by moto's SES, and the Slack message drained from the real
WebhookDeliveryQueue through the webhooks handler to a Slack stand-in on loopback. Exactly once per alert,
however often the event is redelivered or republished."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from keepwell import clock
from keepwell.adapters import email as email_adapter
from keepwell.auth import Caller
from keepwell.storage import workspaces
from tests.conftest import ApiClient
from tests.integration import test_playbooks_runs as playbook_harness
from tests.integration.test_playbooks_runs import (
    SlackStandIn,
    at,
    create_customer,
    deliver_slack,
    domain_event,
    playbooks_handler,
)

slack = playbook_harness.slack  # the Slack stand-in on loopback, connected through PUT /v1/settings/slack

TODAY = date(2026, 11, 20)


def alert(
    workspace: str, customer_id: str, kind: str = "sharp_drop", day: date = TODAY, event_id: str | None = None
) -> dict[str, Any]:
    """What the scorer publishes (domain/customer_scoring.py domain_events) for one alert."""
    details: dict[str, Any] = {"from": 78.0, "to": 55.0, "days": 7}
    message = "Health dropped 23.0 points in 7 days (from 78.0 to 55.0)"
    if kind == "band_crossing":
        details = {"from": "Neutral", "to": "At risk", "direction": "down"}
        message = "Health moved down from Neutral to At risk"
    return domain_event(
        "health.alert",
        {
            "workspace_id": workspace,
            "customer_id": customer_id,
            "customer_name": "Initech",
            "owner_id": "csm-1",
            "scored_day": day.isoformat(),
            "score": 55.0,
            "previous_score": 78.0,
            "band": "Neutral",
            "previous_band": "Healthy",
            "alert_kind": kind,
            "severity": "critical",
            "message": message,
            "details": details,
        },
        event_id=event_id or f"evt-alert-{customer_id}-{kind}-{day}",
    )


def notifications(workspace: str, user_id: str, role: str = "csm", **query: Any) -> list[dict[str, Any]]:
    response = ApiClient(Caller(workspace, user_id, role)).get("/v1/notifications", **query)
    assert response.status == 200, response.body
    return list(response.body["items"])


def sent_emails() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends["123456789012"]["us-east-1"].sent_messages)


@pytest.fixture
def ses(workspace: str) -> None:
    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="acme.test")


def test_an_alert_reaches_owner_and_co_owner_in_app_the_owner_by_email_and_slack_once_despite_redelivery(
    admin_api: ApiClient, workspace: str, slack: SlackStandIn, ses: None
) -> None:
    customer_id = create_customer(admin_api, co_owner_ids=["csm-2"])
    event = alert(workspace, customer_id)

    playbooks_handler(event)
    playbooks_handler(event)  # EventBridge delivers at least once
    playbooks_handler(alert(workspace, customer_id, event_id="evt-republished"))  # the scorer published again
    deliver_slack()
    with clock.frozen(at(TODAY, hour=15)):  # and once more later that day
        playbooks_handler(event)
        deliver_slack()

    (owner_note,) = notifications(workspace, "csm-1")
    (co_owner_note,) = notifications(workspace, "csm-2")
    assert owner_note["title"] == "Initech: Health dropped 23.0 points in 7 days (from 78.0 to 55.0)"
    assert owner_note["kind"] == "health_alert" and owner_note["customer_id"] == customer_id
    assert owner_note["read_at"] is None and owner_note["created_at"] == "2026-11-20T09:30:00.000Z"
    assert "Health 55.0 (Neutral)" in (owner_note["body"] or "")
    assert co_owner_note["title"] == owner_note["title"]
    assert notifications(workspace, "director-1", "director") == []  # not an owner

    (email,) = sent_emails()
    assert email.destinations["ToAddresses"] == ["csm-1@acme.test"]
    assert "Initech" in email.subject and "Health dropped 23.0 points" in email.body

    (posted,) = slack.requests
    assert posted["body"]["text"] == "Initech: Health dropped 23.0 points in 7 days (from 78.0 to 55.0)"
    assert posted["body"]["blocks"][0]["text"]["text"] == "Initech"
    assert not any(name.startswith("webhook-") for name in posted["headers"])


def test_a_new_episode_or_another_kind_of_alert_is_a_new_notification(
    admin_api: ApiClient, workspace: str, slack: SlackStandIn, ses: None
) -> None:
    customer_id = create_customer(admin_api)
    playbooks_handler(alert(workspace, customer_id))
    playbooks_handler(alert(workspace, customer_id, kind="band_crossing"))
    later = TODAY + timedelta(days=9)
    with clock.frozen(at(later)):  # the drop ended and a new one started: the scorer alerts again
        playbooks_handler(alert(workspace, customer_id, day=later))
    deliver_slack()

    titles = [n["title"] for n in notifications(workspace, "csm-1")]
    assert titles == [
        "Initech: Health dropped 23.0 points in 7 days (from 78.0 to 55.0)",  # 2026-11-29, newest first
        "Initech: Health moved down from Neutral to At risk",
        "Initech: Health dropped 23.0 points in 7 days (from 78.0 to 55.0)",
    ]
    assert len(sent_emails()) == 3 and len(slack.requests) == 3


def test_without_slack_or_an_owner_the_other_channels_still_work(
    admin_api: ApiClient, workspace: str, ses: None
) -> None:
    owned = create_customer(admin_api, name="Owned")
    orphan = create_customer(admin_api, name="Orphan", owner_id=None)

    playbooks_handler(alert(workspace, owned))
    playbooks_handler(alert(workspace, orphan))
    assert deliver_slack() == []  # Slack is not connected: nothing queued

    assert [n["customer_id"] for n in notifications(workspace, "csm-1")] == [owned]
    assert [e.destinations["ToAddresses"] for e in sent_emails()] == [["csm-1@acme.test"]]


def test_an_inactive_co_owner_gets_nothing(admin_api: ApiClient, workspace: str, ses: None) -> None:
    customer_id = create_customer(admin_api, co_owner_ids=["csm-2"])
    user = workspaces.get_user(workspace, "csm-2")
    assert user is not None
    workspaces.update_user(user, active=False)

    playbooks_handler(alert(workspace, customer_id))

    assert len(notifications(workspace, "csm-1")) == 1
    assert notifications(workspace, "csm-2") == []


def test_ses_unavailable_fails_the_event_and_its_retry_sends_exactly_one_email(
    admin_api: ApiClient, workspace: str, ses: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = create_customer(admin_api)
    real_send = email_adapter.send_email

    def throttled(*args: Any, **kwargs: Any) -> str:
        raise email_adapter.EmailNotSent("Throttling: Maximum sending rate exceeded")

    monkeypatch.setattr(email_adapter, "send_email", throttled)
    with pytest.raises(Exception, match="Maximum sending rate"):
        playbooks_handler(alert(workspace, customer_id))  # the invocation fails: Lambda retries it
    monkeypatch.setattr(email_adapter, "send_email", real_send)
    playbooks_handler(alert(workspace, customer_id))
    playbooks_handler(alert(workspace, customer_id))

    assert len(sent_emails()) == 1
    assert len(notifications(workspace, "csm-1")) == 1


def test_an_email_that_may_have_been_sent_is_never_sent_again(
    admin_api: ApiClient, workspace: str, ses: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = create_customer(admin_api)
    calls: list[str] = []

    def timed_out(sender: str, to: str, *args: Any, **kwargs: Any) -> str:
        calls.append(to)
        raise email_adapter.EmailUncertain("Read timeout on endpoint URL")

    monkeypatch.setattr(email_adapter, "send_email", timed_out)
    playbooks_handler(alert(workspace, customer_id))
    playbooks_handler(alert(workspace, customer_id))  # redelivered

    assert calls == ["csm-1@acme.test"]


def test_an_alert_without_a_score_says_the_profiles_health_or_none_not_a_dash(
    admin_api: ApiClient, workspace: str
) -> None:
    """A success-plan signal raised before the customer's first score was stored read "Health — (no
    band)" in the notification (seen in the demo viewer's My day)."""
    from keepwell.storage import keys
    from keepwell.storage.models import CustomerItem

    scored = create_customer(admin_api, name="Scored", renewal_date="2026-11-27")
    key = keys.customer(workspace, scored)
    CustomerItem(key.pk, key.sk).update(
        actions=[CustomerItem.health_score.set(48.6), CustomerItem.health_band.set("At risk")]
    )
    unscored = create_customer(admin_api, name="Unscored", renewal_date="2026-12-04")
    for customer_id in (scored, unscored):
        event = alert(workspace, customer_id, kind="milestone_missed")
        event["detail"].update(score=None, band=None, previous_score=None, message="Initiative was due")
        playbooks_handler(event)

    bodies = {n["customer_id"]: n["body"] for n in notifications(workspace, "csm-1")}
    assert bodies == {scored: "Health 48.6 (At risk) · renews 2026-11-27", unscored: "renews 2026-12-04"}


def test_an_alert_with_nothing_to_add_posts_no_empty_context_block_to_slack() -> None:
    from keepwell.domain.customers import Customer
    from keepwell.services.alert_notifications import slack_alert_message

    customer = Customer(customer_id="cus_1", workspace_id="ws", name="Initech", created_at="t", updated_at="t")
    blocks = slack_alert_message(customer, "Initiative was due", "warning", [])["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section"]
    with_facts = slack_alert_message(customer, "Initiative was due", "warning", ["renews 2026-12-04"])["blocks"]
    assert with_facts[-1]["elements"][0]["text"] == "renews 2026-12-04"
