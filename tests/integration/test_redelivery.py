"""SQS delivers at least once: every message type the system queues, handed to its function twice,
has one effect. Covered elsewhere and not repeated here: a customer's daily scoring message
(test_scoring_pipeline), a recalculation customer's progress (test_recalculation_api), every
playbook action (test_playbooks_runs) and a webhook delivery's first attempt (test_webhook_delivery).
This file covers the rest: recalculation pages, history and workspace-wide scoring requests, webhook
retry hops, test events and manual redeliveries."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from infra.template import Resolver
from keepwell import clock
from keepwell.adapters import event_bus, queues
from keepwell.schemas.messages import ScoringRequest, WebhookDeliveryMessage
from keepwell.services import recalculation, webhook_deliveries
from keepwell.storage import health_snapshots as snapshots
from keepwell.storage import recalculations
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import add_customer, queued, score, usage_days
from tests.integration.test_webhook_delivery import (
    Receiver,
    Reply,
    deliveries,
    domain_event,
    invoke,
    sqs_batch,
    subscribe,
)

TODAY = date(2026, 11, 20)


def scored_customers(published: list[event_bus.DomainEvent]) -> Counter[str]:
    return Counter(str(e.detail["customer_id"]) for e in published if e.detail_type == "health.scored")


def score_all(bodies: list[dict[str, Any]]) -> None:
    """Hand queued scoring messages to the scorer, ten a batch, as the event source mapping would."""
    for start in range(0, len(bodies), 10):
        chunk = [json.dumps(b) for b in bodies[start : start + 10]]
        assert score(*chunk) == {"batchItemFailures": []}


# --- scoring queue ----------------------------------------------------------------------------------
def test_a_recalculation_page_delivered_twice_queues_its_customers_and_next_page_once(
    aws: Resolver, workspace: str, published: list[event_bus.DomainEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recalculations, "PAGE_SIZE", 2)
    for n in range(3):
        add_customer(workspace, f"p{n}", usage=usage_days(days=5))
    job = recalculation.start_recalculation(workspace, "admin-1")
    (page_zero,) = queued(aws)

    page = ScoringRequest.model_validate(page_zero).model_dump_json()
    assert score(page, page) == {"batchItemFailures": []}  # the same message twice in one batch
    assert score(page) == {"batchItemFailures": []}  # and once more later

    fanned = queued(aws)
    assert sorted((b.get("customer_id"), b["page"]) for b in fanned if b.get("customer_id")) == [
        ("p0", 0),
        ("p1", 0),
    ]
    assert [b["page"] for b in fanned if b.get("customer_id") is None] == [1]  # the next page, once
    score_all(fanned)
    score_all(queued(aws))  # page 1: its customer
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None and (found.done, found.failed, found.status) == (3, 0, "finished")
    assert scored_customers(published) == {"p0": 1, "p1": 1, "p2": 1}


def test_a_history_request_delivered_twice_writes_one_history_and_publishes_once(
    workspace: str, published: list[event_bus.DomainEvent]
) -> None:
    add_customer(workspace, "c1")
    body = ScoringRequest(
        workspace_id=workspace, customer_id="c1", reason="model_changed", scoring_day=TODAY, history=True
    ).model_dump_json()

    assert score(body) == {"batchItemFailures": []}
    first = snapshots.get_customer_health(workspace, "c1")
    assert score(body) == {"batchItemFailures": []}

    history = snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=120), TODAY)
    assert len(history) == 90 and len({s.date for s in history}) == 90
    again = snapshots.get_customer_health(workspace, "c1")
    assert first is not None and again is not None and again[1].rev == first[1].rev  # profile not rewritten
    assert scored_customers(published) == {"c1": 1}


def test_a_late_events_recompute_delivered_twice_publishes_once(
    workspace: str, published: list[event_bus.DomainEvent]
) -> None:
    add_customer(workspace, "c1")
    body = ScoringRequest(
        workspace_id=workspace,
        customer_id="c1",
        reason="ingest",
        scoring_day=TODAY,
        recompute_from=TODAY - timedelta(days=3),
    ).model_dump_json()

    assert score(body, body) == {"batchItemFailures": []}

    assert scored_customers(published) == {"c1": 1}
    assert len(snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=10), TODAY)) == 4


def test_a_workspace_wide_request_delivered_twice_scores_each_customer_once(
    aws: Resolver, workspace: str, published: list[event_bus.DomainEvent]
) -> None:
    for customer_id in ("c1", "c2"):
        add_customer(workspace, customer_id)
    body = ScoringRequest(workspace_id=workspace, reason="manual", scoring_day=TODAY).model_dump_json()

    assert score(body) == {"batchItemFailures": []}
    assert score(body) == {"batchItemFailures": []}
    score_all(queued(aws))  # each customer queued twice: the second scoring finds its inputs scored

    assert scored_customers(published) == {"c1": 1, "c2": 1}
    for customer_id in ("c1", "c2"):
        assert [s.date for s in snapshots.get_snapshots(workspace, customer_id, TODAY - timedelta(days=5), TODAY)] == [
            TODAY
        ]


# --- webhook delivery queue ---------------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(Reply(200))
    yield started
    started.close()


@pytest.fixture
def delivery_messages(monkeypatch: pytest.MonkeyPatch) -> list[WebhookDeliveryMessage]:
    import random

    monkeypatch.setattr(webhook_deliveries, "rng", random.Random(7))
    log: list[WebhookDeliveryMessage] = []
    real = queues.send_messages

    def spy(queue_url: str, messages: Any, delay_seconds: int = 0) -> int:
        messages = list(messages)
        log.extend(m for m in messages if isinstance(m, WebhookDeliveryMessage))
        return real(queue_url, messages, delay_seconds)

    monkeypatch.setattr(queues, "send_messages", spy)
    return log


def deliver_twice(message: WebhookDeliveryMessage) -> None:
    for _ in range(2):
        with clock.frozen(max(message.not_before or clock.now(), clock.now())):
            assert invoke(sqs_batch(message)) == {"batchItemFailures": []}


def test_a_retry_hop_delivered_twice_makes_its_attempt_once(
    admin_api: ApiClient, receiver: Receiver, delivery_messages: list[WebhookDeliveryMessage]
) -> None:
    receiver.replies = [Reply(500), Reply(200)]
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    deliver_twice(delivery_messages[0])
    (retry,) = [m for m in delivery_messages if m.attempt == 2]
    # A long wait hops through the queue; the hop message itself is delivered twice before it is due.
    early = retry.model_copy(update={"not_before": retry.not_before + timedelta(hours=2) if retry.not_before else None})
    for _ in range(2):
        assert invoke(sqs_batch(early)) == {"batchItemFailures": []}
    hops = [m for m in delivery_messages if m.attempt == 2 and m is not retry]
    assert len(hops) == 2 and len(receiver.requests) == 1  # nothing sent before its time

    for hop in hops:
        deliver_twice(hop)

    assert len(receiver.requests) == 2
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert [(a["attempt"], a["outcome"]) for a in logged["attempts"]] == [(1, "retry"), (2, "success")]


def test_a_test_event_delivered_twice_is_sent_once(
    admin_api: ApiClient, receiver: Receiver, delivery_messages: list[WebhookDeliveryMessage]
) -> None:
    created = subscribe(admin_api, receiver.url)
    assert admin_api.post(f"/v1/webhooks/{created['subscription_id']}/test").status == 202
    (test_event,) = delivery_messages

    deliver_twice(test_event)

    assert len(receiver.requests) == 1
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert len(logged["attempts"]) == 1


def test_a_manual_redelivery_delivered_twice_is_sent_once_more(
    admin_api: ApiClient, receiver: Receiver, delivery_messages: list[WebhookDeliveryMessage]
) -> None:
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    deliver_twice(delivery_messages[0])
    path = f"/v1/webhooks/{created['subscription_id']}/deliveries/{delivery_messages[0].delivery_id}/redeliver"
    assert admin_api.post(path).status == 202
    manual = delivery_messages[-1]
    assert manual.manual and manual.round == 1

    deliver_twice(manual)

    assert len(receiver.requests) == 2  # the original and one redelivery
    assert {r.headers["webhook-id"] for r in receiver.requests} == {manual.delivery_id}
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert [(a["round"], a["attempt"]) for a in logged["attempts"]] == [(0, 1), (1, 1)]
