"""Slack messages through the outbound delivery machinery, end to end on moto: a health alert queues one
Slack delivery (playbooks handler), each queued message is handed to the webhooks handler at its due time,
and a Slack stand-in on loopback answers as scripted. Same retries, attempt log and SSRF pinning as signed
webhooks; no Standard Webhooks headers; Slack's own body; the webhook URL (a credential) nowhere but in
Secrets Manager — not in the table, a response, a log line or a domain event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keepwell.domain.webhooks import ssrf
from keepwell.domain.webhooks.subscriptions import SLACK_CHANNEL
from keepwell.settings import reset_settings
from keepwell.storage import notifications as channel_store
from keepwell.storage import webhooks as store
from tests.conftest import ApiClient
from tests.integration import test_webhook_delivery as webhook_harness
from tests.integration.test_alert_delivery import alert
from tests.integration.test_playbooks_runs import create_customer, playbooks_handler
from tests.integration.test_webhook_delivery import Receiver, Reply, Sent, queued_for_delivery, run
from tests.rbac_routes import table_items

# The loopback receiver, the queue spy and the seeded jitter of the signed-webhook tests (the bus spy
# `published` is in conftest).
receivers = webhook_harness.receivers
receiver_for = webhook_harness.receiver_for
sent = webhook_harness.sent
seeded_jitter = webhook_harness.seeded_jitter

SECRET_PATH = "/services/T0KEEPWELL/B0SLACK/xoxSecretToken42"


def connect_slack(admin_api: ApiClient, receiver: Receiver) -> str:
    url = f"http://127.0.0.1:{receiver.server.server_address[1]}{SECRET_PATH}"
    response = admin_api.request("PUT", "/v1/settings/slack", body={"webhook_url": url})
    assert response.status == 200, response.body
    return url


def slack_deliveries(workspace: str) -> list[Any]:
    items, _ = store.list_deliveries(workspace, SLACK_CHANNEL, 50, None)
    return items


def one_alert(admin_api: ApiClient, workspace: str, sent: list[Sent]) -> Sent:
    customer_id = create_customer(admin_api)
    playbooks_handler(alert(workspace, customer_id))
    (queued,) = queued_for_delivery(sent)
    return queued


def log_lines(caplog: pytest.LogCaptureFixture) -> str:
    """Every log record with its structured fields (what powertools writes as JSON)."""
    assert caplog.records, "expected log records"
    return json.dumps([{**vars(r), "message": r.getMessage()} for r in caplog.records], default=str)


def assert_url_nowhere(text: str) -> None:
    assert "xoxSecretToken42" not in text and "T0KEEPWELL" not in text


def test_slack_500_twice_then_200_makes_three_logged_attempts_and_one_message(
    admin_api: ApiClient, workspace: str, receiver_for: Any, sent: list[Sent], caplog: pytest.LogCaptureFixture
) -> None:
    receiver = receiver_for(Reply(500, body=b"internal_error"), Reply(500), Reply(200))
    connect_slack(admin_api, receiver)
    first = one_alert(admin_api, workspace, sent)
    assert first.message.subscription_id == SLACK_CHANNEL and first.message.event_type == "slack.message"

    assert run(first) == {"batchItemFailures": []}
    second = queued_for_delivery(sent)[-1]
    assert run(second) == {"batchItemFailures": []}
    third = queued_for_delivery(sent)[-1]
    assert run(third) == {"batchItemFailures": []}
    assert len(queued_for_delivery(sent)) == 3  # nothing after the success
    assert run(third) == {"batchItemFailures": []}  # a duplicate queue message: no fourth request

    assert len(receiver.requests) == 3
    assert {r.body for r in receiver.requests} == {receiver.requests[0].body}  # the same message each time
    body = json.loads(receiver.requests[-1].body)
    assert set(body) == {"text", "blocks"} and body["text"].startswith("Initech: Health dropped")
    for request in receiver.requests:
        assert request.path == SECRET_PATH
        assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & set(request.headers)
        assert request.headers["content-type"] == "application/json"

    (delivery,) = slack_deliveries(workspace)
    assert delivery.status.value == "succeeded"
    assert [(a.attempt, a.outcome, a.status_code) for a in delivery.attempts] == [
        (1, "retry", 500),
        (2, "retry", 500),
        (3, "success", 200),
    ]
    assert second.delay_seconds > 0 and second.message.not_before is not None
    assert_url_nowhere(json.dumps(table_items(), default=str))
    assert_url_nowhere(log_lines(caplog))
    assert_url_nowhere(json.dumps(admin_api.get("/v1/settings/slack").body))


def test_slack_410_stops_the_delivery_and_later_messages_until_the_webhook_is_set_again(
    admin_api: ApiClient, workspace: str, receiver_for: Any, sent: list[Sent], published: list[Any]
) -> None:
    receiver = receiver_for(Reply(410, body=b"channel_is_archived"))
    connect_slack(admin_api, receiver)
    assert run(one_alert(admin_api, workspace, sent)) == {"batchItemFailures": []}

    assert len(receiver.requests) == 1 and len(queued_for_delivery(sent)) == 1  # no retry
    (delivery,) = slack_deliveries(workspace)
    assert delivery.status.value == "gone" and delivery.attempts[0].outcome == "disable"
    assert (channel_store.slack_settings(workspace) or {}).get("gone_at")

    playbooks_handler(alert(workspace, create_customer(admin_api, name="Later")))
    assert len(queued_for_delivery(sent)) == 1  # Slack is off: nothing more is queued

    receiver.replies = [Reply(200)]
    connect_slack(admin_api, receiver)  # an admin sets the webhook again
    playbooks_handler(alert(workspace, create_customer(admin_api, name="Again")))
    assert run(queued_for_delivery(sent)[-1]) == {"batchItemFailures": []}
    assert len(receiver.requests) == 2


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    admin_api: ApiClient, workspace: str, receiver_for: Any, sent: list[Sent]
) -> None:
    elsewhere = receiver_for(Reply(200))
    receiver = receiver_for(Reply(302, headers={"Location": f"http://127.0.0.1:{elsewhere.server.server_address[1]}/"}))
    connect_slack(admin_api, receiver)
    run(one_alert(admin_api, workspace, sent))

    assert elsewhere.requests == []
    (delivery,) = slack_deliveries(workspace)
    assert delivery.status.value == "retrying" and delivery.attempts[0].status_code == 302


def test_exhausted_retries_mark_slack_failing_and_the_event_names_no_url(
    admin_api: ApiClient,
    workspace: str,
    receiver_for: Any,
    sent: list[Sent],
    published: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = receiver_for(Reply(503))
    connect_slack(admin_api, receiver)
    queued = one_alert(admin_api, workspace, sent)
    for _ in range(10):
        run(queued)
        follow_ups = [s for s in queued_for_delivery(sent) if s.message.attempt > queued.message.attempt]
        if not follow_ups:
            break
        queued = follow_ups[-1]

    assert len(receiver.requests) == 10
    (delivery,) = slack_deliveries(workspace)
    assert delivery.status.value == "exhausted"
    assert (channel_store.slack_settings(workspace) or {}).get("failing_since")
    (failing,) = [e for e in published if e.detail_type == "webhook.subscription_failing"]
    assert failing.detail["subscription_id"] == "slack" and failing.detail["url"] == "slack"
    assert_url_nowhere(log_lines(caplog))


def test_the_ssrf_guard_still_pins_slack_outside_the_local_stack(
    admin_api: ApiClient,
    workspace: str,
    receiver_for: Any,
    sent: list[Sent],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = receiver_for(Reply(200))
    connect_slack(admin_api, receiver)
    queued = one_alert(admin_api, workspace, sent)
    monkeypatch.setenv("STAGE", "prod")  # loopback http is only allowed on the local stack
    reset_settings()
    monkeypatch.setattr(ssrf, "default_resolve", lambda host, port: ["127.0.0.1"])

    run(queued)

    assert receiver.requests == []
    (delivery,) = slack_deliveries(workspace)
    assert delivery.attempts[0].reason == "blocked_destination"
    assert_url_nowhere(json.dumps([a.response_body for a in delivery.attempts]))
    assert_url_nowhere(log_lines(caplog))
