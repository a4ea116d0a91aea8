"""Issue #16: deliveries of one SQS batch to different endpoints do not wait on each other. A receiver
that hangs holds up only its own delivery; the other subscription's delivery in the same batch arrives
while the first is still hanging (ordering of what the receivers saw, not wall-clock thresholds)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from keepwell.adapters import queues
from keepwell.adapters.batch import GroupedConcurrentBatchProcessor
from keepwell.schemas.messages import WebhookDeliveryMessage
from keepwell.services import webhook_deliveries
from tests.conftest import ApiClient
from tests.integration.test_webhook_delivery import (
    Sent,
    deliveries,
    domain_event,
    invoke,
    queued_for_delivery,
    sqs_batch,
    subscribe,
)

HANG_SECONDS = 10.0  # the hanging receiver answers on its own after this (only ever reached when broken)


class Endpoint:
    """A loopback receiver whose POST handler is a callback (runs on the server's own thread)."""

    def __init__(self, on_post: Callable[[], None]):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                on_post()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _spy(log: list[Sent], real: Callable[..., int], url: str, messages: Any) -> int:
    messages = list(messages)
    log.extend(Sent(url, WebhookDeliveryMessage.model_validate_json(m.model_dump_json()), 0) for m in messages)
    return real(url, messages)


@pytest.fixture
def endpoints() -> Iterator[list[Endpoint]]:
    started: list[Endpoint] = []
    yield started
    for endpoint in started:
        endpoint.close()


def test_a_hanging_receiver_does_not_delay_another_subscriptions_delivery_in_the_same_batch(
    admin_api: ApiClient, endpoints: list[Endpoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    healthy_received = threading.Event()

    def hang() -> None:
        seen.append("hanging receiver got its request")
        released = healthy_received.wait(HANG_SECONDS)
        seen.append("hanging receiver answers" if released else "hanging receiver gave up waiting")

    def healthy() -> None:
        seen.append("healthy receiver got its request")
        healthy_received.set()

    endpoints.extend([Endpoint(hang), Endpoint(healthy)])
    hanging_sub = subscribe(admin_api, endpoints[0].url)["subscription_id"]
    healthy_sub = subscribe(admin_api, endpoints[1].url)["subscription_id"]
    sent: list[Sent] = []
    real = queues.send_messages
    monkeypatch.setattr(queues, "send_messages", lambda url, messages, delay_seconds=0: _spy(sent, real, url, messages))
    invoke(domain_event())
    queued = {s.message.subscription_id: s.message for s in queued_for_delivery(sent)}

    # The hanging receiver's record comes first in the batch, as in the issue.
    result = invoke(sqs_batch(queued[hanging_sub], queued[healthy_sub]))

    assert result == {"batchItemFailures": []}
    assert seen[-1] == "hanging receiver answers", seen  # released by the healthy delivery, not by giving up
    assert "healthy receiver got its request" in seen[:-1]
    for subscription_id in (hanging_sub, healthy_sub):
        assert deliveries(admin_api, subscription_id)[0]["status"] == "succeeded"


def test_records_to_one_destination_keep_their_order_and_others_run_beside_them() -> None:
    events: list[str] = []
    second_group_ran = threading.Event()

    def handle(record: Any) -> None:
        body = record.body
        if body == "a1":
            assert second_group_ran.wait(HANG_SECONDS), "the other destination waited behind a1"
        if body == "b1":
            second_group_ran.set()
        if body == "bad":
            raise ValueError("poison")
        events.append(body)

    processor = GroupedConcurrentBatchProcessor(lambda record: record["body"][0])
    records = [
        {"messageId": f"m-{body}", "body": body, "receiptHandle": "r", "attributes": {}, "messageAttributes": {}}
        for body in ("a1", "b1", "a2", "bad")
    ]
    records[-1]["body"] = "bad"
    with processor(records, handle):
        processor.process()

    assert events.index("b1") < events.index("a1") < events.index("a2")
    assert processor.response() == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}


def test_failures_are_reported_in_batch_order_whichever_thread_finishes_first() -> None:
    first_may_fail = threading.Event()

    def handle(record: Any) -> None:
        if record.body == "x-late":
            assert first_may_fail.wait(HANG_SECONDS)
        else:
            first_may_fail.set()
        raise ValueError("poison")

    processor = GroupedConcurrentBatchProcessor(lambda record: record["body"], raise_on_entire_batch_failure=False)
    records = [
        {"messageId": f"m-{body}", "body": body, "receiptHandle": "r", "attributes": {}, "messageAttributes": {}}
        for body in ("x-late", "y-early")
    ]
    with processor(records, handle):
        processor.process()

    assert processor.response() == {
        "batchItemFailures": [{"itemIdentifier": "m-x-late"}, {"itemIdentifier": "m-y-early"}]
    }


def test_an_unreadable_record_is_a_destination_of_its_own() -> None:
    assert webhook_deliveries.destination_of({"messageId": "m-1", "body": "not json"}) == "record/m-1"
    good = {"messageId": "m-2", "body": '{"workspace_id": "ws_a", "subscription_id": "wh_1"}'}
    assert webhook_deliveries.destination_of(good) == "ws_a/wh_1"


def test_a_receiver_trickling_its_answer_cannot_hold_the_attempt_past_its_timeout() -> None:
    """httpx's timeout is per read: a receiver sending a byte at a time would never trip it."""
    import time

    import httpx

    request = httpx.Request("POST", "http://127.0.0.1/hooks")
    response = httpx.Response(200, content=iter([b"a", b"b", b"c"]), request=request)
    with pytest.raises(httpx.ReadTimeout):
        webhook_deliveries._read_capped(response, deadline=time.monotonic() - 1)
