"""DynamoDB throttling and transient errors injected under ingestion, scoring, webhook delivery and
playbook actions: each is either absorbed by the SDK's retries or reported (a 503 to the sender, a
partial batch failure to SQS), and a rerun after the fault clears converges with nothing lost and
nothing doubled.

The fault injector answers chosen DynamoDB requests with an error at botocore's `before-send` step,
where moto answers too, so both pynamodb's own botocore client and boto3's clients are hit and
botocore's retry handler sees a real error response (its backoff is recorded, not slept).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.hooks import HierarchicalEmitter
from botocore.retries.standard import ExponentialBackoff

from keepwell.adapters import event_bus
from keepwell.domain.customers import Customer
from keepwell.schemas.messages import ScoringRequest
from keepwell.storage import health_snapshots as snapshots
from keepwell.storage import metrics
from tests.conftest import FROZEN_NOW, ApiClient

TODAY = FROZEN_NOW.date()
YESTERDAY = TODAY - timedelta(days=1)

# The error bodies DynamoDB answers with (JSON 1.0 protocol: the code is the part after '#').
ERRORS: dict[str, tuple[int, str]] = {
    "ProvisionedThroughputExceededException": (400, "com.amazonaws.dynamodb.v20120810#"),
    "ThrottlingException": (400, "com.amazon.coral.availability#"),
    "InternalServerError": (500, "com.amazonaws.dynamodb.v20120810#"),
}


# --- the fault injector -----------------------------------------------------------------------------
class _Raw:
    """The `raw` of an AWSResponse: botocore reads the body through `stream()`."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class Fault:
    """Fail the next `times` requests of `operation` (each HTTP attempt counts, SDK retries included)
    whose JSON body contains `matching`; `after_write` lets the request apply first and loses only
    the answer, as a timeout after DynamoDB committed would."""

    operation: str
    code: str = "ProvisionedThroughputExceededException"
    times: int = 1
    matching: str | None = None
    after_write: bool = False
    injected: int = 0

    def applies(self, operation: str, body: bytes) -> bool:
        if operation != self.operation or self.injected >= self.times:
            return False
        return self.matching is None or self.matching.encode() in body

    def response(self, url: str) -> AWSResponse:
        status, prefix = ERRORS[self.code]
        body = json.dumps({"__type": prefix + self.code, "message": f"injected {self.code}"}).encode()
        return AWSResponse(url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))


@dataclass
class DynamoFaults:
    faults: list[Fault] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)  # HTTP attempts per DynamoDB operation
    backoffs: list[float] = field(default_factory=list)  # what botocore would have slept

    def fail(self, operation: str, **kwargs: Any) -> Fault:
        fault = Fault(operation, **kwargs)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    @property
    def injected(self) -> int:
        return sum(f.injected for f in self.faults)


@pytest.fixture
def dynamo_faults(monkeypatch: pytest.MonkeyPatch) -> DynamoFaults:
    faults = DynamoFaults()
    original_emit = HierarchicalEmitter.emit

    def emit(self: HierarchicalEmitter, event_name: str, **kwargs: Any) -> Any:
        if not event_name.startswith("before-send.dynamodb."):
            return original_emit(self, event_name, **kwargs)
        operation = event_name.rsplit(".", 1)[1]
        request = kwargs["request"]
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        faults.attempts[operation] += 1
        fault = next((f for f in faults.faults if f.applies(operation, body)), None)
        if fault is None:
            return original_emit(self, event_name, **kwargs)
        fault.injected += 1
        if fault.after_write:
            original_emit(self, event_name, **kwargs)  # moto applies the request; its answer is lost
        return [(emit, fault.response(request.url))]

    def no_sleep(self: ExponentialBackoff, context: Any) -> float:
        faults.backoffs.append(original_delay(self, context))
        return 0.0

    original_delay = ExponentialBackoff.delay_amount
    monkeypatch.setattr(HierarchicalEmitter, "emit", emit)
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", no_sleep)
    return faults


def test_the_injector_reaches_pynamodb_and_boto3_and_botocore_retries_a_short_throttle(
    workspace: str, dynamo_faults: DynamoFaults
) -> None:
    from keepwell.storage import workspaces

    dynamo_faults.fail("GetItem", times=2)
    assert workspaces.get_workspace(workspace) is not None  # pynamodb: 2 throttles, then the answer
    dynamo_faults.fail("GetItem", code="InternalServerError", times=1)
    table = boto3.client("dynamodb", region_name="us-east-1")
    found = table.get_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": f"WS#{workspace}"}, "sk": {"S": "WORKSPACE"}}
    )
    assert "Item" in found
    assert dynamo_faults.injected == 3 and len(dynamo_faults.backoffs) == 3

    dynamo_faults.fail("GetItem", code="ThrottlingException", times=50)
    with pytest.raises(Exception, match="ThrottlingException"):
        workspaces.get_workspace(workspace)
    assert dynamo_faults.faults[-1].injected == 4  # pynamodb's client: 1 try + 3 retries, then it gives up


# --- (a) ingestion ------------------------------------------------------------------------------------
CUSTOMERS = 6
# However a customer-day's counts are committed (conditional Put/Update, or one transaction per customer).
COMMIT_OPERATIONS = ("PutItem", "UpdateItem", "TransactWriteItems")


def seed_customers(workspace_id: str) -> None:
    from keepwell.storage.customers import put_customers_batch

    put_customers_batch(
        workspace_id,
        [
            Customer(
                customer_id=f"cus_{n}",
                workspace_id=workspace_id,
                name=f"Customer {n}",
                external_id=f"crm-{n}",
                created_at="2026-01-01T00:00:00.000Z",
                updated_at="2026-01-01T00:00:00.000Z",
            )
            for n in range(CUSTOMERS)
        ],
    )


def product_events(count: int = 120) -> list[dict[str, Any]]:
    names = ("user_logged_in", "report_exported", "dashboard_viewed")
    return [
        {
            "event_id": f"evt-{n:04d}",
            "event": names[n % len(names)],
            "customer_external_id": f"crm-{n % CUSTOMERS}",
            "user_id": f"u-{n % 5}",
            "timestamp": f"{(TODAY if n % 4 else YESTERDAY).isoformat()}T0{n % 9}:{n % 60:02d}:00Z",
            "properties": {"plan": "pro"},
        }
        for n in range(count)
    ]


def roll_ups(workspace_id: str) -> dict[tuple[str, date], tuple[Any, ...]]:
    wanted = [(f"cus_{n}", day) for n in range(CUSTOMERS) for day in (YESTERDAY, TODAY)]
    return {
        key: (d.events, d.logins, d.event_counts, sorted(d.active_users), sorted(d.features), len(d.event_digests))
        for key, d in metrics.get_days(workspace_id, wanted, consistent=True).items()
    }


@pytest.fixture
def two_workspaces(workspace: str, other_workspace: str) -> tuple[ApiClient, ApiClient]:
    """The same customers in two workspaces: one ingests under faults, the other is the fault-free run."""
    from keepwell.services.api_keys import create_api_key

    senders = []
    for workspace_id in (workspace, other_workspace):
        seed_customers(workspace_id)
        senders.append(ApiClient(None, headers={"X-Api-Key": create_api_key(workspace_id, "faults", "admin")[1]}))
    return senders[0], senders[1]


def test_a_throttled_ingest_batch_is_retried_inside_and_counts_exactly_like_a_fault_free_run(
    workspace: str, other_workspace: str, two_workspaces: tuple[ApiClient, ApiClient], dynamo_faults: DynamoFaults
) -> None:
    faulty, clean = two_workspaces
    events = product_events()
    assert clean.post("/v1/events", {"events": events}).status == 200
    # Each kind of write the batch makes is throttled or fails twice (under the SDK's 4 tries).
    for operation, code in [
        ("BatchGetItem", "ThrottlingException"),
        ("BatchWriteItem", "ProvisionedThroughputExceededException"),
        ("PutItem", "ProvisionedThroughputExceededException"),
        ("UpdateItem", "InternalServerError"),
        ("TransactWriteItems", "ThrottlingException"),
    ]:
        dynamo_faults.fail(operation, code=code, times=2, matching=workspace)

    answer = faulty.post("/v1/events", {"events": events})

    assert answer.status == 200, answer.body
    assert (answer.body["accepted"], answer.body["duplicates"], answer.body["rejected"]) == (120, 0, [])
    assert dynamo_faults.injected >= 6  # the faults really fired (whichever writes commit the days)
    assert roll_ups(workspace) == roll_ups(other_workspace)
    assert sum(day[0] for day in roll_ups(workspace).values()) == 120


def test_an_ingest_batch_failing_under_sustained_throttling_is_a_retryable_503_and_the_resend_converges(
    workspace: str, other_workspace: str, two_workspaces: tuple[ApiClient, ApiClient], dynamo_faults: DynamoFaults
) -> None:
    faulty, clean = two_workspaces
    events = product_events()
    assert clean.post("/v1/events", {"events": events}).status == 200
    # The other customers' days commit, while DynamoDB keeps throttling one customer's commit.
    for operation in COMMIT_OPERATIONS:
        dynamo_faults.fail(operation, times=1000, matching=f"WS#{workspace}#CUST#cus_3")

    failed = faulty.post("/v1/events", {"events": events})

    assert failed.status == 503, failed.body
    assert failed.error_code == "service_unavailable"
    assert failed.headers.get("Retry-After") is not None
    assert dynamo_faults.injected >= 4  # the SDK tried and gave up
    assert ("cus_3", TODAY) not in roll_ups(workspace)
    dynamo_faults.clear()

    resent = faulty.post("/v1/events", {"events": events})  # the SDK sends the same event_ids again

    assert resent.status == 200, resent.body
    assert resent.body["accepted"] + resent.body["duplicates"] == 120
    assert resent.body["accepted"] < 120  # what committed the first time is recognised, not counted again
    assert roll_ups(workspace) == roll_ups(other_workspace)


def test_a_commit_whose_answer_is_lost_is_not_counted_twice_by_the_sdk_retry(
    workspace: str, other_workspace: str, two_workspaces: tuple[ApiClient, ApiClient], dynamo_faults: DynamoFaults
) -> None:
    faulty, clean = two_workspaces
    first, second = product_events()[:60], product_events()
    for sender in (clean, faulty):
        assert sender.post("/v1/events", {"events": first}).status == 200
    assert clean.post("/v1/events", {"events": second}).status == 200
    # DynamoDB applies a customer's commit, then the answer is lost (500): botocore sends it again.
    for operation in COMMIT_OPERATIONS:
        dynamo_faults.fail(operation, code="InternalServerError", times=1, matching=workspace, after_write=True)

    answer = faulty.post("/v1/events", {"events": second})
    resent = faulty.post("/v1/events", {"events": second})

    assert answer.status == 200 and resent.status == 200, (answer.body, resent.body)
    assert dynamo_faults.injected >= 1
    assert resent.body["accepted"] == 0
    assert roll_ups(workspace) == roll_ups(other_workspace)


# --- (b) scoring ----------------------------------------------------------------------------------------
def scorer_batch(*requests: ScoringRequest) -> dict[str, Any]:
    from tests.integration.test_scoring_pipeline import score

    return score(*requests)


def test_a_scorer_batch_with_one_customers_writes_failing_names_only_that_message_and_its_redelivery_scores_once(
    workspace: str, dynamo_faults: DynamoFaults, published: list[event_bus.DomainEvent]
) -> None:
    from tests.integration.test_scoring_pipeline import add_customer, request

    for customer_id in ("c0", "c1", "c2"):
        add_customer(workspace, customer_id)
    dynamo_faults.fail("TransactWriteItems", times=1000, matching=f"WS#{workspace}#CUST#c1")
    batch = [request(c, scoring_day=TODAY) for c in ("c0", "c1", "c2")]

    result = scorer_batch(*batch)

    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert snapshots.get_snapshot(workspace, "c1", TODAY) is None
    assert all(snapshots.get_snapshot(workspace, c, TODAY) is not None for c in ("c0", "c2"))
    assert sorted(e.detail["customer_id"] for e in published if e.detail_type == "health.scored") == ["c0", "c2"]
    dynamo_faults.clear()

    assert scorer_batch(batch[1]) == {"batchItemFailures": []}  # SQS redelivers the failed one
    assert scorer_batch(batch[1]) == {"batchItemFailures": []}  # and, at least once, maybe again

    history = snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=5), TODAY)
    assert [s.date for s in history] == [TODAY]
    scored = [e.detail["customer_id"] for e in published if e.detail_type == "health.scored"]
    assert sorted(scored) == ["c0", "c1", "c2"]


def test_a_short_throttle_while_scoring_is_absorbed_by_the_sdk_and_the_batch_succeeds(
    workspace: str, dynamo_faults: DynamoFaults, published: list[event_bus.DomainEvent]
) -> None:
    from tests.integration.test_scoring_pipeline import add_customer, request

    for customer_id in ("c0", "c1"):
        add_customer(workspace, customer_id)
    dynamo_faults.fail("BatchGetItem", code="ThrottlingException", times=2)
    dynamo_faults.fail("TransactWriteItems", code="InternalServerError", times=2)

    assert scorer_batch(request("c0", scoring_day=TODAY), request("c1", scoring_day=TODAY)) == {"batchItemFailures": []}
    assert dynamo_faults.injected == 4
    assert [e.detail["customer_id"] for e in published if e.detail_type == "health.scored"] == ["c0", "c1"]


# --- (c) webhook delivery ---------------------------------------------------------------------------------
@dataclass
class Queued:
    """Webhook delivery messages as they were queued (still sent to moto), to hand back when due."""

    messages: list[Any] = field(default_factory=list)

    def deliveries(self) -> list[Any]:
        return [m for m in self.messages if type(m).__name__ == "WebhookDeliveryMessage"]


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    from keepwell.adapters import queues
    from keepwell.services import webhook_deliveries

    monkeypatch.setattr(webhook_deliveries, "rng", random.Random(7))  # seeded jitter
    log = Queued()
    real = queues.send_messages

    def spy(queue_url: str, messages: Any, delay_seconds: int = 0) -> int:
        messages = list(messages)
        log.messages.extend(messages)
        return real(queue_url, messages, delay_seconds)

    monkeypatch.setattr(queues, "send_messages", spy)
    return log


@pytest.fixture
def receiver() -> Iterator[Any]:
    from tests.integration.test_webhook_delivery import Receiver, Reply

    started = Receiver(Reply(200))
    yield started
    started.close()


def deliver(message: Any) -> dict[str, Any]:
    """The webhooks function handed one queued message at the time it is due."""
    from keepwell import clock
    from tests.integration.test_webhook_delivery import invoke, sqs_batch

    with clock.frozen(max(message.not_before or clock.now(), clock.now())):
        result = invoke(sqs_batch(message))
    assert isinstance(result, dict)
    return result


def test_a_delivery_whose_log_write_fails_is_retried_with_the_same_webhook_id_and_the_log_converges(
    admin_api: ApiClient, receiver: Any, queued: Queued, dynamo_faults: DynamoFaults
) -> None:
    from tests.integration.test_webhook_delivery import Reply, deliveries, domain_event, invoke, subscribe

    receiver.replies = [Reply(500), Reply(500), Reply(200)]
    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    (first,) = queued.deliveries()
    # The receiver answers; then DynamoDB refuses the attempt's log write for longer than the SDK retries.
    fault = dynamo_faults.fail("UpdateItem", times=1000, matching="DELIVERY#")

    assert deliver(first) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert fault.injected == 4
    dynamo_faults.clear()
    assert deliver(first) == {"batchItemFailures": []}  # SQS hands the failed message over again
    retries = [m for m in queued.deliveries() if m.attempt == 2]
    assert len(retries) == 2  # each pass over attempt 1 queued its follow-up
    for retry in retries:  # both arrive; the second is recognised as a duplicate of attempt 2
        assert deliver(retry) == {"batchItemFailures": []}

    webhook_ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and webhook_ids == {first.delivery_id}  # 500, 500 again, 200
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "succeeded"
    assert [(a["attempt"], a["outcome"]) for a in logged["attempts"]] == [(1, "retry"), (2, "success")]


def test_an_attempt_logged_by_dynamodb_whose_answer_was_lost_is_logged_once(
    admin_api: ApiClient, receiver: Any, queued: Queued, dynamo_faults: DynamoFaults
) -> None:
    from tests.integration.test_webhook_delivery import deliveries, domain_event, invoke, subscribe

    created = subscribe(admin_api, receiver.url)
    invoke(domain_event())
    (first,) = queued.deliveries()
    # The attempt's log write is applied, its answer lost (500): the SDK sends the same append again.
    dynamo_faults.fail("UpdateItem", code="InternalServerError", times=1, matching="DELIVERY#", after_write=True)

    assert deliver(first) == {"batchItemFailures": []}
    assert deliver(first) == {"batchItemFailures": []}  # and SQS redelivers the message

    assert dynamo_faults.injected == 1
    assert len(receiver.requests) == 1
    (logged,) = deliveries(admin_api, created["subscription_id"])
    assert logged["status"] == "succeeded"
    assert [(a["attempt"], a["outcome"]) for a in logged["attempts"]] == [(1, "success")]


# --- (d) playbook actions ---------------------------------------------------------------------------------
@pytest.fixture
def at_risk_steps(admin_api: ApiClient, workspace: str) -> Iterator[tuple[str, dict[str, str], Any]]:
    """A customer dropping into At risk: the default playbook's task and Slack step messages."""
    from tests.integration.test_playbooks_runs import (
        SlackStandIn,
        actions_queue,
        create_customer,
        playbooks_handler,
        receive_all,
        scored,
        set_health,
    )

    slack = SlackStandIn()
    assert admin_api.request("PUT", "/v1/settings/slack", body={"webhook_url": slack.url}).status == 200
    customer_id = create_customer(admin_api)
    set_health(workspace, customer_id, 30.0, "At risk")
    playbooks_handler(scored(workspace, customer_id))
    bodies = {json.loads(m["Body"])["action"]: m["Body"] for m in receive_all(actions_queue())}
    assert set(bodies) == {"task", "slack"}
    try:
        yield customer_id, bodies, slack
    finally:
        slack.close()


def test_a_step_whose_task_write_is_throttled_is_released_and_its_redelivery_makes_one_task(
    admin_api: ApiClient, at_risk_steps: tuple[str, dict[str, str], Any], dynamo_faults: DynamoFaults
) -> None:
    from tests.integration.test_playbooks_runs import AT_RISK, playbooks_handler, sqs_batch, tasks_of

    customer_id, bodies, _ = at_risk_steps
    batch = sqs_batch([bodies["task"]])
    # Every try of the task's conditional put is throttled: the SDK gives up, the step is released.
    fault = dynamo_faults.fail("PutItem", times=1000, matching="#TASK#")

    assert playbooks_handler(batch) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert fault.injected > 1  # retried inside before giving up
    assert tasks_of(admin_api, customer_id, AT_RISK) == []
    dynamo_faults.clear()

    # Redelivered at once (the step was released, not left held): one task, and again nothing more.
    assert playbooks_handler(batch) == {"batchItemFailures": []}
    assert playbooks_handler(batch) == {"batchItemFailures": []}
    assert len(tasks_of(admin_api, customer_id, AT_RISK)) == 1
    (run,) = admin_api.get(f"/v1/playbooks/{AT_RISK}/runs").body["items"]
    assert run["steps"][0]["outcome"]["status"] == "done"


def test_steps_whose_completion_is_not_recorded_are_not_repeated_when_redelivered(
    admin_api: ApiClient, at_risk_steps: tuple[str, dict[str, str], Any], dynamo_faults: DynamoFaults
) -> None:
    from keepwell import clock
    from tests.integration.test_playbooks_runs import AT_RISK, deliver_slack, playbooks_handler, sqs_batch, tasks_of

    customer_id, bodies, slack = at_risk_steps
    batch = sqs_batch([bodies["task"], bodies["slack"]])
    # The task is made and the Slack message queued for delivery, then DynamoDB refuses to mark the
    # steps finished.
    dynamo_faults.fail("UpdateItem", times=1000, matching=f"STEP#{customer_id}#")

    assert playbooks_handler(batch) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}, {"itemIdentifier": "msg-1"}]}
    dynamo_faults.clear()
    assert len(tasks_of(admin_api, customer_id, AT_RISK)) == 1
    # Redelivered at once: the steps are still held by the failed attempt, so the messages wait.
    assert len(playbooks_handler(batch)["batchItemFailures"]) == 2
    with clock.frozen(clock.now() + timedelta(minutes=6)):  # after the claim's lease
        assert playbooks_handler(batch) == {"batchItemFailures": []}
        assert playbooks_handler(batch) == {"batchItemFailures": []}
        deliver_slack()

    assert len(slack.requests) == 1  # queued once (its delivery id is the step's), so posted once
    assert len(tasks_of(admin_api, customer_id, AT_RISK)) == 1
    (run,) = admin_api.get(f"/v1/playbooks/{AT_RISK}/runs").body["items"]
    task_step, slack_step = run["steps"]
    assert task_step["outcome"]["status"] == "done"
    assert slack_step["outcome"]["status"] == "done"
