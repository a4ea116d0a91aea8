"""Outbound webhook delivery end to end on moto: a domain event fans out through the webhooks handler,
each queued message is handed back to the handler as an SQS record, and a real HTTP receiver on loopback
(the local dev flag allows http there) answers as scripted. Every request it gets is verified with the
`standardwebhooks` package. Retries are driven by invoking the handler again with the re-enqueued message
at its `not_before` (the clock is frozen; nothing sleeps)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import boto3
import httpx
import pytest
import standardwebhooks.webhooks as sw

from infra.functions import FakeLambdaContext, load_handler
from infra.template import ROOT
from keepwell import clock
from keepwell.adapters import queues
from keepwell.domain.webhooks import ssrf
from keepwell.schemas.messages import WebhookDeliveryMessage
from keepwell.services import webhook_deliveries
from keepwell.settings import reset_settings
from tests.conftest import FROZEN_NOW, ApiClient

BAND_CHANGED = "customer.health.band_changed"
PUBLIC_IP = "93.184.215.14"
SAMPLE_EVENT = json.loads((ROOT / "events" / "webhooks" / "eventbridge-health-band-changed.json").read_text())


# --- a receiver on loopback ------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver:
    """An http.server in a thread answering POSTs with the scripted replies (the last one repeats)."""

    def __init__(self, *replies: Reply):
        self.replies = list(replies) or [Reply(200)]
        self.requests: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = receiver.replies.pop(0) if len(receiver.replies) > 1 else receiver.replies[0]
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/keepwell?source=test"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.close()


@pytest.fixture
def receiver_for(receivers: list[Receiver]) -> Any:
    def start(*replies: Reply) -> Receiver:
        receiver = Receiver(*replies)
        receivers.append(receiver)
        return receiver

    return start


@contextmanager
def library_clock(at: datetime) -> Iterator[None]:
    """The standardwebhooks library checks the timestamp against datetime.now(); pin it to `at`."""

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Pinned:
            return cls(*at.astimezone(UTC).timetuple()[:6], tzinfo=UTC)

    with mock.patch.object(sw, "datetime", Pinned):
        yield


def verified_event(secret: str, request: Received) -> dict[str, Any]:
    """What a receiver using the standardwebhooks package gets (raises if the signature does not verify)."""
    sent_at = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)
    with library_clock(sent_at):
        event = sw.Webhook(secret).verify(request.body, request.headers)
    assert isinstance(event, dict)
    return event


# --- queue and bus spies; invoking the webhooks function ----------------------------------------------
@dataclass(frozen=True)
class Sent:
    queue_url: str
    message: WebhookDeliveryMessage
    delay_seconds: int

    @property
    def not_before(self) -> datetime:
        assert self.message.not_before is not None, "not a retry"
        return self.message.not_before


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every message queued (still sent to moto): lets a test hand a delayed message back at its time."""
    real = queues.send_messages
    log: list[Sent] = []

    def spy(queue_url: str, messages: Any, delay_seconds: int = 0) -> int:
        messages = list(messages)
        for message in messages:
            body = message.model_dump_json() if hasattr(message, "model_dump_json") else json.dumps(message)
            log.append(Sent(queue_url, WebhookDeliveryMessage.model_validate_json(body), delay_seconds))
        return real(queue_url, messages, delay_seconds)

    monkeypatch.setattr(queues, "send_messages", spy)
    return log


@pytest.fixture(autouse=True)
def seeded_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    monkeypatch.setattr(webhook_deliveries, "rng", random.Random(7))


def invoke(event: dict[str, Any], timeout_ms: int = 60_000) -> Any:
    return load_handler("WebhooksFunction")(event, FakeLambdaContext("WebhooksFunction", timeout_ms=timeout_ms))


def domain_event(event_id: str = "6a7e8feb-b491-4cf7-a9f1-bf3703467718", **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE_EVENT)
    event["id"] = event_id
    event["detail"].update(detail)
    return event


def sqs_batch(*messages: WebhookDeliveryMessage) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"msg-{index}",
                "receiptHandle": f"receipt-{index}",
                "body": message.model_dump_json(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795166940000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:keepwell-local-WebhookDeliveryQueue",
                "awsRegion": "us-east-1",
            }
            for index, message in enumerate(messages)
        ]
    }


def run(sent_item: Sent) -> dict[str, Any]:
    """Hand a queued message to the webhooks function at the time it becomes due."""
    due = sent_item.message.not_before or clock.now()
    with clock.frozen(max(due, clock.now())):
        result = invoke(sqs_batch(sent_item.message))
    assert isinstance(result, dict)
    return result


def subscribe(api: ApiClient, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
    response = api.post("/v1/webhooks", {"url": url, "event_types": event_types or [BAND_CHANGED]})
    assert response.status == 201, response.body
    return response.body


def deliveries(api: ApiClient, subscription_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/webhooks/{subscription_id}/deliveries")
    assert response.status == 200, response.body
    return response.body["items"]


def subscription(api: ApiClient, subscription_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/webhooks/{subscription_id}")
    assert response.status == 200, response.body
    return response.body


def queued_for_delivery(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.queue_url.endswith("WebhookDeliveryQueue")]


# --- fan-out -------------------------------------------------------------------------------------
def test_a_band_change_is_delivered_signed_and_verifies_with_standardwebhooks(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(200, body=b'{"received": true}'))
    created = subscribe(admin_api, receiver.url)

    assert invoke(domain_event()) is None
    (queued,) = queued_for_delivery(sent)
    assert queued.delay_seconds == 0 and queued.message.attempt == 1
    assert run(queued) == {"batchItemFailures": []}

    (request,) = receiver.requests
    assert request.path == "/hooks/keepwell?source=test"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == receiver.url.split("/")[2]
    assert request.headers["webhook-id"] == queued.message.delivery_id
    assert request.headers["webhook-timestamp"] == str(int(FROZEN_NOW.timestamp()))
    event = verified_event(created["secret"], request)
    assert event["type"] == BAND_CHANGED
    assert event["timestamp"] == "2026-11-20T09:31:04.000Z"  # the event's time, not the attempt's
    assert event["data"]["customer_id"] == SAMPLE_EVENT["detail"]["customer_id"]
    assert event["data"]["band"] == "yellow" and event["data"]["previous_band"] == "green"

    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "succeeded" and logged["delivery_id"] == request.headers["webhook-id"]
    (attempt,) = logged["attempts"]
    assert attempt["status_code"] == 200 and attempt["outcome"] == "success"
    assert attempt["response_body"] == '{"received": true}'
    assert attempt["attempted_at"] == "2026-11-20T09:30:00.000Z" and attempt["latency_ms"] >= 0


def test_only_enabled_subscriptions_to_the_event_type_get_a_delivery(admin_api, receiver_for, sent):
    receiver = receiver_for()
    wanted = subscribe(admin_api, receiver.url)
    subscribe(admin_api, receiver.url, ["customer.health.alert"])
    disabled = subscribe(admin_api, receiver.url)
    assert admin_api.patch(f"/v1/webhooks/{disabled['subscription_id']}", {"enabled": False}).status == 200

    invoke(domain_event())

    assert [s.message.subscription_id for s in queued_for_delivery(sent)] == [wanted["subscription_id"]]


def test_a_redelivered_domain_event_is_queued_once(admin_api, receiver_for, sent):
    receiver = receiver_for()
    created = subscribe(admin_api, receiver.url)

    invoke(domain_event())
    invoke(domain_event())  # EventBridge delivers at least once

    assert len(queued_for_delivery(sent)) == 1
    assert len(deliveries(admin_api, created["subscription_id"])) == 1


def test_a_fan_out_that_failed_before_queueing_is_queued_when_the_event_comes_again(
    admin_api, receiver_for, sent, monkeypatch
):
    receiver = receiver_for()
    subscribe(admin_api, receiver.url)
    spy = queues.send_messages

    def down(*args: Any, **kwargs: Any) -> int:
        raise queues.QueueSendError("SQS unavailable")

    monkeypatch.setattr(queues, "send_messages", down)
    with pytest.raises(queues.QueueSendError):
        invoke(domain_event())
    monkeypatch.setattr(queues, "send_messages", spy)

    invoke(domain_event())  # Lambda retries the failed asynchronous invocation

    (queued,) = queued_for_delivery(sent)
    run(queued)
    assert len(receiver.requests) == 1


def test_domain_events_without_a_webhook_type_read_nothing(aws, monkeypatch):
    from keepwell.storage import webhooks as store

    monkeypatch.setattr(store, "list_subscriptions", lambda ws: pytest.fail("no subscription lookup expected"))
    event = domain_event()
    event["detail-type"] = "customer.changed"
    assert invoke(event) is None


# --- retries -------------------------------------------------------------------------------------
def test_500_twice_then_200_makes_three_attempts_with_one_webhook_id_and_one_success(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(500, body=b"boom"), Reply(503), Reply(200))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())

    run(queued_for_delivery(sent)[0])
    first_retry = queued_for_delivery(sent)[1]
    assert first_retry.message.attempt == 2
    assert timedelta(seconds=4.5) <= first_retry.not_before - FROZEN_NOW <= timedelta(seconds=5.5)
    assert first_retry.delay_seconds in (5, 6)
    run(first_retry)
    second_retry = queued_for_delivery(sent)[2]
    assert second_retry.message.attempt == 3
    assert timedelta(minutes=4.5) <= second_retry.not_before - first_retry.not_before
    run(second_retry)

    assert len(queued_for_delivery(sent)) == 3  # nothing after the success
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    timestamps = [int(r.headers["webhook-timestamp"]) for r in receiver.requests]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == 3  # fresh on every attempt
    assert {r.body for r in receiver.requests} == {receiver.requests[0].body}  # the same bytes each time
    for request in receiver.requests:
        verified_event(created["secret"], request)

    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "succeeded" and logged["next_attempt_at"] is None
    attempts = logged["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "success"]
    assert attempts[0]["response_body"] == "boom" and attempts[0]["reason"] == "http_500_server_error"
    assert sum(a["outcome"] == "success" for a in attempts) == 1


def test_while_retrying_the_log_shows_when_the_next_attempt_is_due(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(500))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    run(queued_for_delivery(sent)[0])

    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "retrying"
    assert logged["next_attempt_at"] == clock.iso(queued_for_delivery(sent)[1].not_before)


def test_a_duplicate_queue_message_for_an_attempt_already_made_sends_nothing(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(200))
    subscribe(admin_api, receiver.url)
    invoke(domain_event())
    queued = queued_for_delivery(sent)[0]

    run(queued)
    run(queued)  # SQS delivers at least once

    assert len(receiver.requests) == 1


def test_retry_after_longer_than_the_schedule_is_honoured_and_long_waits_hop_through_sqs(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(429, headers={"Retry-After": "3600"}), Reply(200))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    run(queued_for_delivery(sent)[0])

    retry = queued_for_delivery(sent)[1]
    assert retry.message.not_before == FROZEN_NOW + timedelta(hours=1)
    assert retry.delay_seconds == 900  # the SQS maximum: the first of four hops
    with clock.frozen(FROZEN_NOW + timedelta(seconds=900)):
        invoke(sqs_batch(retry.message))  # arrives early: re-enqueued for the next hop, nothing sent
    hop = queued_for_delivery(sent)[2]
    assert hop.message == retry.message and hop.delay_seconds == 900
    assert len(receiver.requests) == 1
    assert [a["attempt"] for a in deliveries(admin_api, created["subscription_id"])[0]["attempts"]] == [1]

    run(hop)
    assert len(receiver.requests) == 2
    assert deliveries(admin_api, created["subscription_id"])[0]["status"] == "succeeded"


def test_a_302_is_a_failure_and_the_redirect_is_not_followed(admin_api, receiver_for, sent):
    elsewhere = receiver_for(Reply(200))
    receiver = receiver_for(Reply(302, headers={"Location": elsewhere.url}))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())

    run(queued_for_delivery(sent)[0])

    assert len(receiver.requests) == 1 and elsewhere.requests == []
    (attempt,) = deliveries(admin_api, created["subscription_id"])[0]["attempts"]
    assert attempt["status_code"] == 302 and attempt["outcome"] == "retry"
    assert attempt["reason"] == "http_302_redirect_not_followed"
    assert queued_for_delivery(sent)[1].message.attempt == 2


def test_410_disables_the_subscription_and_stops_its_deliveries(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(410, body=b"gone"))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())

    run(queued_for_delivery(sent)[0])

    assert len(queued_for_delivery(sent)) == 1  # no retry
    state = subscription(admin_api, created["subscription_id"])
    assert state["enabled"] is False and state["status"] == "disabled"
    assert state["disabled_reason"] == "http_410_gone"
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "gone" and logged["attempts"][0]["outcome"] == "disable"
    invoke(domain_event(event_id="another-event"))
    assert len(queued_for_delivery(sent)) == 1


def test_a_timeout_is_retried(admin_api, receiver_for, sent, monkeypatch):
    receiver = receiver_for()
    created = subscribe(admin_api, receiver.url)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    monkeypatch.setattr(webhook_deliveries, "http_client", lambda: httpx.Client(transport=httpx.MockTransport(slow)))
    invoke(domain_event())
    run(queued_for_delivery(sent)[0])

    (attempt,) = deliveries(admin_api, created["subscription_id"])[0]["attempts"]
    assert attempt["status_code"] is None and attempt["reason"] == "timeout" and attempt["outcome"] == "retry"
    assert queued_for_delivery(sent)[1].message.attempt == 2


def test_the_client_has_a_15_second_timeout_follows_no_redirects_and_ignores_proxy_settings():
    with webhook_deliveries.http_client() as client:
        assert client.timeout == httpx.Timeout(15.0)
        assert client.follow_redirects is False
        assert client.trust_env is False


def test_a_large_response_is_truncated_in_the_log(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(500, body=b"x" * 100_000))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    run(queued_for_delivery(sent)[0])

    (attempt,) = deliveries(admin_api, created["subscription_id"])[0]["attempts"]
    assert attempt["response_body"] == "x" * 1024 + "…"


def test_after_the_last_attempt_the_message_goes_to_the_dlq_the_subscription_fails_and_admins_are_told(
    admin_api, receiver_for, sent, published, aws
):
    receiver = receiver_for(Reply(503))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())

    for attempt in range(1, 11):
        queued = queued_for_delivery(sent)[-1]
        assert queued.message.attempt == attempt
        run(queued)

    assert len(receiver.requests) == 10 and len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    waited = queued_for_delivery(sent)[-1].not_before - FROZEN_NOW
    assert timedelta(days=2.7) < waited < timedelta(days=3.3)  # the documented ~3-day schedule
    (parked,) = [s for s in sent if s.queue_url.endswith("WebhookDeliveryDLQ")]
    assert parked.message.delivery_id == receiver.requests[0].headers["webhook-id"]
    assert (parked.message.round, parked.message.attempt, parked.message.manual) == (1, 1, False)
    dlq_url = aws.physical["WebhookDeliveryDLQ"]["QueueUrl"]
    in_dlq = boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)
    assert [json.loads(m["Body"])["delivery_id"] for m in in_dlq["Messages"]] == [parked.message.delivery_id]

    state = subscription(admin_api, created["subscription_id"])
    assert state["status"] == "failing" and state["enabled"] is True
    assert state["failure_reason"] == "http_503_server_error"
    (notice,) = [e for e in published if e.detail_type == "webhook.subscription_failing"]
    assert notice.detail["subscription_id"] == created["subscription_id"]
    assert notice.detail["notify_user_ids"] == ["admin-1"]
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "exhausted" and len(logged["attempts"]) == 10
    assert logged["attempts"][-1]["outcome"] == "exhausted"

    # Redriving the DLQ once the receiver is back starts the delivery over, and the subscription recovers.
    receiver.replies[:] = [Reply(204)]
    run(parked)
    assert len(receiver.requests) == 11
    assert subscription(admin_api, created["subscription_id"])["status"] == "active"
    assert deliveries(admin_api, created["subscription_id"])[0]["status"] == "succeeded"


def test_a_record_is_left_for_a_later_invocation_when_time_is_short(admin_api, receiver_for, sent):
    receiver = receiver_for()
    subscribe(admin_api, receiver.url)
    invoke(domain_event())

    result = invoke(sqs_batch(queued_for_delivery(sent)[0].message), timeout_ms=5_000)

    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert receiver.requests == []


def test_a_deleted_subscription_drops_its_queued_deliveries(admin_api, receiver_for, sent):
    receiver = receiver_for()
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    assert admin_api.delete(f"/v1/webhooks/{created['subscription_id']}").status == 204

    assert run(queued_for_delivery(sent)[0]) == {"batchItemFailures": []}
    assert receiver.requests == []


# --- manual: test events and redelivery -------------------------------------------------------------
def test_the_test_endpoint_sends_one_signed_test_event(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(200))
    created = subscribe(admin_api, receiver.url)

    response = admin_api.post(f"/v1/webhooks/{created['subscription_id']}/test")
    assert response.status == 202
    assert response.body["event_type"] == "webhook.test" and response.body["status"] == "queued"
    (queued,) = queued_for_delivery(sent)
    assert queued.message.manual is True
    run(queued)

    event = verified_event(created["secret"], receiver.requests[0])
    assert event["type"] == "webhook.test"
    assert event["data"]["subscription_id"] == created["subscription_id"]
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["delivery_id"] == response.body["delivery_id"] and logged["status"] == "succeeded"
    assert logged["attempts"][0]["manual"] is True


def test_a_failing_test_event_is_logged_once_and_not_retried(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(500))
    created = subscribe(admin_api, receiver.url)
    admin_api.post(f"/v1/webhooks/{created['subscription_id']}/test")

    run(queued_for_delivery(sent)[0])

    assert len(queued_for_delivery(sent)) == 1
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "failed" and logged["attempts"][0]["outcome"] == "failed"


def test_redelivery_sends_the_same_webhook_id_and_body_again_and_logs_another_attempt(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(200), Reply(202))
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    run(queued_for_delivery(sent)[0])
    delivery_id = deliveries(admin_api, created["subscription_id"])[0]["delivery_id"]

    response = admin_api.post(f"/v1/webhooks/{created['subscription_id']}/deliveries/{delivery_id}/redeliver")
    assert response.status == 202 and response.body["round"] == 1
    later = FROZEN_NOW + timedelta(hours=2)
    with clock.frozen(later):
        run(queued_for_delivery(sent)[-1])

    first, second = receiver.requests
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery_id
    assert second.body == first.body
    assert second.headers["webhook-timestamp"] == str(int(later.timestamp()))
    verified_event(created["secret"], second)
    attempts = deliveries(admin_api, created["subscription_id"])[0]["attempts"]
    assert [(a["round"], a["status_code"], a["manual"]) for a in attempts] == [(0, 200, False), (1, 202, True)]


def test_redelivering_an_unknown_delivery_is_404(admin_api, receiver_for):
    created = subscribe(admin_api, receiver_for().url)
    response = admin_api.post(f"/v1/webhooks/{created['subscription_id']}/deliveries/msg_nope/redeliver")
    assert response.status == 404


# --- secret rotation -------------------------------------------------------------------------------
def test_after_rotation_both_secrets_sign_each_signature_verifies_under_its_own_secret(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(200))
    created = subscribe(admin_api, receiver.url)
    old_secret = created["secret"]

    rotated = admin_api.post(f"/v1/webhooks/{created['subscription_id']}/rotate-secret")
    assert rotated.status == 200
    new_secret = rotated.body["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert rotated.body["previous_secret_expires_at"] == "2026-11-21T09:30:00.000Z"  # 24 h overlap
    invoke(domain_event())
    run(queued_for_delivery(sent)[0])

    (request,) = receiver.requests
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verified_event(old_secret, request)
    verified_event(new_secret, request)
    for signature, secret, other in [(signatures[0], old_secret, new_secret), (signatures[1], new_secret, old_secret)]:
        alone = Received(request.path, {**request.headers, "webhook-signature": signature}, request.body)
        verified_event(secret, alone)
        with pytest.raises(sw.WebhookVerificationError):
            verified_event(other, alone)


def test_after_the_overlap_only_the_new_secret_signs(admin_api, receiver_for, sent):
    receiver = receiver_for(Reply(200))
    created = subscribe(admin_api, receiver.url)
    new_secret = admin_api.post(f"/v1/webhooks/{created['subscription_id']}/rotate-secret").body["secret"]

    with clock.frozen(FROZEN_NOW + timedelta(hours=25)):
        admin_api.post(f"/v1/webhooks/{created['subscription_id']}/test")
        run(queued_for_delivery(sent)[0])

    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verified_event(new_secret, request)
    with pytest.raises(sw.WebhookVerificationError):
        verified_event(created["secret"], request)


# --- SSRF at send time: the DNS answer changes after the subscription was saved ----------------------
SEND_TIME_TARGETS = [
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.0.10", "private"),
    ("fd00::1", "private"),
    ("169.254.169.254", "link_local"),
    ("fe80::1", "link_local"),
    ("100.64.0.1", "carrier_grade_nat"),
    ("0.0.0.0", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("::ffff:127.0.0.1", "loopback_embedded_in_ipv6"),
    ("::ffff:169.254.169.254", "link_local_embedded_in_ipv6"),
    ("::ffff:10.0.0.1", "private_embedded_in_ipv6"),
]


@pytest.fixture
def production_stage(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The deployed setting: no local dev flag, so loopback is as forbidden as any private address."""
    monkeypatch.setenv("STAGE", "prod")
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The answers the SSRF guard's resolver gives, by host name; a test swaps them."""
    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    monkeypatch.setattr(ssrf, "default_resolve", resolve)
    return answers


@pytest.mark.parametrize(("ip", "reason"), SEND_TIME_TARGETS, ids=[ip for ip, _ in SEND_TIME_TARGETS])
def test_dns_rebinding_to_a_forbidden_address_is_refused_at_send_time_without_connecting(
    production_stage, admin_api, dns, sent, monkeypatch, ip, reason
):
    dns["hooks.customer.example"] = [PUBLIC_IP]
    created = subscribe(admin_api, "https://hooks.customer.example/keepwell")
    invoke(domain_event())
    dns["hooks.customer.example"] = [ip]  # the attacker's DNS now answers with an internal address
    monkeypatch.setattr(webhook_deliveries, "http_client", lambda: pytest.fail("must not connect"))

    run(queued_for_delivery(sent)[0])

    (attempt,) = deliveries(admin_api, created["subscription_id"])[0]["attempts"]
    assert attempt["reason"] == "blocked_destination" and attempt["status_code"] is None
    assert f"({reason}:" in attempt["response_body"]
    assert queued_for_delivery(sent)[1].message.attempt == 2  # retried: the DNS may be fixed


def test_https_deliveries_dial_the_checked_ip_with_the_original_host_and_sni(
    production_stage, admin_api, dns, sent, monkeypatch
):
    dns["hooks.customer.example"] = [PUBLIC_IP]
    created = subscribe(admin_api, "https://hooks.customer.example:8443/keepwell?k=1")
    invoke(domain_event())
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(
        webhook_deliveries, "http_client", lambda: httpx.Client(transport=httpx.MockTransport(transport))
    )
    run(queued_for_delivery(sent)[0])

    (request,) = seen
    assert str(request.url) == f"https://{PUBLIC_IP}:8443/keepwell?k=1"
    assert request.headers["host"] == "hooks.customer.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.customer.example"
    verified_event(created["secret"], Received("/", dict(request.headers), request.content))
    assert deliveries(admin_api, created["subscription_id"])[0]["status"] == "succeeded"
