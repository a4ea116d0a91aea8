"""Playbook runs end to end on moto: domain events into the playbooks handler (EventBridge shape), its
steps drained from the real PlaybookActionsQueue into the same handler (SQS batch shape), Slack messages
drained from the real WebhookDeliveryQueue into the webhooks handler and posted to a Slack stand-in on
loopback, SES and the bus recorded by moto. Exactly once throughout."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest

from infra.functions import FakeLambdaContext, load_handler
from keepwell import clock
from keepwell.adapters import queues
from keepwell.auth import Caller
from keepwell.storage import keys
from keepwell.storage.models import CustomerItem
from tests.conftest import ApiClient

TODAY = date(2026, 11, 20)
RENEWAL = "pb_default_renewal"
AT_RISK = "pb_default_at_risk"


# --- harness ------------------------------------------------------------------------------------
class SlackStandIn:
    """An incoming-webhook stand-in on loopback that records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.statuses: list[int] = []  # scripted answers, one per request, before `status` applies
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                stand_in.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                status = stand_in.statuses.pop(0) if stand_in.statuses else stand_in.status
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/stand-in"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack(admin_api: ApiClient) -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn()
    response = admin_api.request("PUT", "/v1/settings/slack", body={"webhook_url": stand_in.url})
    assert response.status == 200, response.body
    try:
        yield stand_in
    finally:
        stand_in.close()


def playbooks_handler(event: dict[str, Any]) -> Any:
    return load_handler("PlaybooksFunction")(event, FakeLambdaContext("PlaybooksFunction"))


def webhooks_handler(event: dict[str, Any]) -> Any:
    return load_handler("WebhooksFunction")(event, FakeLambdaContext("WebhooksFunction", timeout_ms=60_000))


def domain_event(detail_type: str, detail: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or f"evt-{detail_type}-{detail.get('customer_id')}-{clock.today()}",
        "detail-type": detail_type,
        "source": "keepwell",
        "account": "123456789012",
        "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def scored(workspace: str, customer_id: str, **detail: Any) -> dict[str, Any]:
    return domain_event(
        "health.scored",
        {"workspace_id": workspace, "customer_id": customer_id, "scored_day": clock.today().isoformat(), **detail},
    )


def actions_queue() -> str:
    return os.environ["PLAYBOOK_QUEUE_URL"]


def receive_all(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return found
        found.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )


def sqs_batch(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"msg-{index}",
                "receiptHandle": f"rh-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:keepwell-local-PlaybookActionsQueue",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def delivery_queue() -> str:
    return os.environ["WEBHOOK_QUEUE_URL"]


def deliver_slack(passes: int = 3) -> list[dict[str, Any]]:
    """Send what is on the webhook delivery queue through the webhooks function (Slack messages here);
    returns the delivery messages handled. Retries wait on the queue (SQS delay) and are not handed back."""
    handled: list[dict[str, Any]] = []
    for _ in range(passes):
        messages = receive_all(delivery_queue())
        if not messages:
            break
        for start in range(0, len(messages), 10):
            chunk = [m["Body"] for m in messages[start : start + 10]]
            assert webhooks_handler(sqs_batch(chunk)) == {"batchItemFailures": []}
            handled.extend(json.loads(b) for b in chunk)
    return handled


def drain(passes: int = 5) -> list[dict[str, Any]]:
    """Execute what is on the actions queue (as Lambda's SQS source would), then send the Slack
    deliveries the steps queued; returns the action messages run."""
    executed: list[dict[str, Any]] = []
    for _ in range(passes):
        messages = receive_all(actions_queue())
        if not messages:
            break
        for start in range(0, len(messages), 10):
            chunk = [m["Body"] for m in messages[start : start + 10]]
            assert playbooks_handler(sqs_batch(chunk)) == {"batchItemFailures": []}
            executed.extend(json.loads(b) for b in chunk)
    deliver_slack()
    return executed


def set_health(workspace: str, customer_id: str, score: float, band: str) -> None:
    """What the scorer leaves on the profile."""
    key = keys.customer(workspace, customer_id)
    CustomerItem(key.pk, key.sk).update(
        actions=[
            CustomerItem.health_score.set(score),
            CustomerItem.health_band.set(band),
            CustomerItem.health_scored_at.set(clock.iso(clock.now())),
        ]
    )


def create_customer(api: ApiClient, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": "Initech", "owner_id": "csm-1", **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def tasks_of(api: ApiClient, customer_id: str, playbook_id: str | None = None) -> list[dict[str, Any]]:
    response = api.get("/v1/tasks", customer_id=customer_id, limit=200)
    assert response.status == 200, response.body
    return [t for t in response.body["items"] if playbook_id is None or t["playbook_id"] == playbook_id]


def playbook_timeline(api: ApiClient, customer_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/customers/{customer_id}/timeline", kind="playbook_run")
    assert response.status == 200
    return list(response.body["items"])


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC)


# --- renewal: exactly four tasks, once ----------------------------------------------------------------
def test_renewal_sixty_days_away_gets_exactly_four_tasks_once_despite_repeats_and_redelivery(
    admin_api: ApiClient, workspace: str
) -> None:
    customer_id = create_customer(admin_api, renewal_date=(TODAY + timedelta(days=60)).isoformat())
    set_health(workspace, customer_id, 75.0, "Healthy")
    event = scored(workspace, customer_id, score=75.0, band="Healthy")

    assert playbooks_handler(event) is None
    first = drain()
    assert playbooks_handler(event) is None  # EventBridge redelivers the same event
    drain()
    with clock.frozen(at(TODAY + timedelta(days=1))):  # the next daily score
        assert playbooks_handler(scored(workspace, customer_id, score=74.0, band="Healthy")) is None
        drain()

    tasks = sorted(tasks_of(admin_api, customer_id, RENEWAL), key=lambda t: t["due_date"])
    assert [t["due_date"] for t in tasks] == ["2026-11-20", "2026-11-27", "2026-12-04", "2026-12-20"]
    assert [t["title"] for t in tasks] == [
        "Confirm the champion at Initech",
        "Prepare the renewal proposal for Initech",
        "Renewal conversation with Initech",
        "Send the renewal proposal to Initech",
    ]
    assert {t["owner_id"] for t in tasks} == {"csm-1"} and {t["source"] for t in tasks} == {"playbook_run"}
    assert [m["action"] for m in first] == ["engagement"] + ["task"] * 4  # renewal phase opened (issue 21)
    (entry,) = playbook_timeline(admin_api, customer_id)
    assert entry["title"] == "Playbook Renewal started"
    assert "renewal_date 2027-01-19 is 60 days before" in entry["body"]
    assert "task 'Confirm the champion at Initech'" in entry["body"] and "{customer.name}" not in entry["body"]
    runs = admin_api.get(f"/v1/playbooks/{RENEWAL}/runs").body["items"]
    assert len(runs) == 1 and [s["outcome"]["status"] for s in runs[0]["steps"]] == ["done"] * 5
    engagement = admin_api.get(f"/v1/customers/{customer_id}/engagement").body
    assert engagement["current"]["phase"] == "renewal"
    assert engagement["current"]["opened_by"] == f"playbook:{RENEWAL}"


# --- at risk: one task and one Slack message, none the next day --------------------------------------
def test_dropping_into_at_risk_gets_one_task_and_one_slack_message_and_nothing_the_next_day(
    admin_api: ApiClient, workspace: str, slack: SlackStandIn
) -> None:
    customer_id = create_customer(admin_api, name="Globex Corp")
    set_health(workspace, customer_id, 42.0, "At risk")
    band_changed = domain_event(
        "health.band_changed",
        {
            "workspace_id": workspace,
            "customer_id": customer_id,
            "band": "At risk",
            "previous_band": "Neutral",
            "score": 42.0,
            "previous_score": 55.0,
            "scored_day": TODAY.isoformat(),
        },
    )

    playbooks_handler(scored(workspace, customer_id, score=42.0, band="At risk"))
    playbooks_handler(band_changed)  # the scorer publishes both for the same day
    drain()
    with clock.frozen(at(TODAY + timedelta(days=1))):
        set_health(workspace, customer_id, 40.0, "At risk")
        playbooks_handler(scored(workspace, customer_id, score=40.0, band="At risk"))
        drain()

    (task,) = tasks_of(admin_api, customer_id, AT_RISK)
    assert task["title"] == "Call the champion of Globex Corp" and task["owner_id"] == "csm-1"
    assert task["due_date"] == "2026-11-20"
    assert len(slack.requests) == 1  # through the delivery queue, unsigned, Slack's own body
    assert not any(name.startswith("webhook-") for name in slack.requests[0]["headers"])
    message = slack.requests[0]["body"]
    assert message["blocks"][0]["text"]["text"] == "Globex Corp"
    assert "*Globex Corp* entered *At risk* (health 42)" in message["blocks"][1]["text"]["text"]
    assert "Owner Csm-1" in message["blocks"][2]["elements"][0]["text"]
    assert len(playbook_timeline(admin_api, customer_id)) == 1


def test_leaving_at_risk_and_coming_back_after_the_cooldown_is_a_new_episode(
    admin_api: ApiClient, workspace: str, slack: SlackStandIn
) -> None:
    customer_id = create_customer(admin_api)
    for offset, score, band in [(0, 42.0, "At risk"), (3, 60.0, "Neutral"), (20, 45.0, "At risk")]:
        with clock.frozen(at(TODAY + timedelta(days=offset))):
            set_health(workspace, customer_id, score, band)
            playbooks_handler(scored(workspace, customer_id, score=score, band=band))
            drain()
    assert len(tasks_of(admin_api, customer_id, AT_RISK)) == 2
    assert len(slack.requests) == 2


# --- each action exactly once, even when its message is delivered twice --------------------------------
def every_action_playbook(director: ApiClient) -> str:
    response = director.post(
        "/v1/playbooks",
        {
            "name": "Sharp drop escalation",
            "trigger": {"type": "event", "event": "health.alert", "alert_kinds": ["sharp_drop"]},
            "actions": [
                {"type": "task", "title": "Escalate {customer.name}", "due_in_days": 2, "assignee": "role:director"},
                {"type": "slack", "text": "Sharp drop at *{customer.name}*"},
                {
                    "type": "email",
                    "to": "champion",
                    "subject": "Checking in",
                    "body": "Hi {champion.name}, {owner.name} here.",
                },
                {"type": "webhook"},
                {"type": "update_field", "field": "tags", "operation": "add", "value": "sales_handoff"},
                {"type": "notify", "role": "director", "message": "{customer.name} dropped sharply"},
            ],
        },
    )
    assert response.status == 201, response.body
    return str(response.body["playbook_id"])


def bus_recorder(workspace: str) -> str:
    """A queue that receives what the playbooks publish on the domain bus (as the webhooks rule would)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    url = sqs.create_queue(QueueName="bus-recorder")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = os.environ["EVENT_BUS_NAME"]
    events.put_rule(Name="recorder", EventBusName=bus, EventPattern=json.dumps({"source": ["keepwell"]}))
    events.put_targets(Rule="recorder", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def test_a_duplicate_action_message_never_makes_a_second_task_slack_message_email_or_event(
    admin_api: ApiClient, workspace: str, slack: SlackStandIn
) -> None:
    director = ApiClient(Caller(workspace, "director-1", "director"))
    playbook_id = every_action_playbook(director)
    customer_id = create_customer(admin_api, name="Umbrella")
    contact = admin_api.post(
        f"/v1/customers/{customer_id}/contacts", {"name": "Dana", "email": "dana@umbrella.test", "is_champion": True}
    )
    assert contact.status == 201
    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="acme.test")
    recorder = bus_recorder(workspace)
    alert = domain_event(
        "health.alert",
        {"workspace_id": workspace, "customer_id": customer_id, "kind": "sharp_drop", "scored_day": TODAY.isoformat()},
    )

    playbooks_handler(alert)
    messages = [m["Body"] for m in receive_all(actions_queue())]
    assert len(messages) == 6
    assert playbooks_handler(sqs_batch(messages)) == {"batchItemFailures": []}
    assert playbooks_handler(sqs_batch(messages + messages)) == {"batchItemFailures": []}  # redelivered twice over
    playbooks_handler(alert)  # and the event again
    assert receive_all(actions_queue()) == []
    deliver_slack()

    (task,) = tasks_of(admin_api, customer_id, playbook_id)
    assert task["owner_id"] == "director-1" and task["due_date"] == "2026-11-22"
    # one from the playbook's slack step, one for the alert itself (tests/integration/test_alert_delivery.py)
    texts = sorted(r["body"]["text"] for r in slack.requests)
    assert texts == ["Umbrella: Sharp drop at *Umbrella*", "Umbrella: sharp drop"]
    from moto.ses.models import ses_backends

    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    champion_mail = [m for m in sent if m.destinations["ToAddresses"] == ["dana@umbrella.test"]]
    assert len(champion_mail) == 1 and len(sent) == 2  # and the owner's alert email, once
    assert champion_mail[0].source == "csm-1@acme.test" and "Hi Dana, Csm-1 here." in champion_mail[0].body
    published = [json.loads(m["Body"]) for m in receive_all(recorder)]
    triggered = [e for e in published if e["detail-type"] == "playbook.triggered"]
    assert len(triggered) == 1 and triggered[0]["detail"]["playbook_id"] == playbook_id
    created = [e for e in published if e["detail-type"] == "task.created"]
    assert [e["detail"]["task"]["task_id"] for e in created] == [task["task_id"]]
    assert "sales_handoff" in admin_api.get(f"/v1/customers/{customer_id}").body["tags"]
    director_day = director.get("/v1/my-day").body
    assert [n["title"] for n in director_day["notifications"]] == ["Umbrella dropped sharply"]
    (run,) = admin_api.get(f"/v1/playbooks/{playbook_id}/runs").body["items"]
    assert [s["outcome"]["status"] for s in run["steps"]] == ["done"] * 6


def test_slack_down_does_not_fail_the_step_and_the_delivery_retry_posts_exactly_one(
    admin_api: ApiClient, workspace: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = create_customer(admin_api)
    set_health(workspace, customer_id, 30.0, "At risk")
    playbooks_handler(scored(workspace, customer_id))
    bodies = [m["Body"] for m in receive_all(actions_queue())]
    slack_body = next(b for b in bodies if json.loads(b)["action"] == "slack")
    requeued: list[Any] = []
    real_send = queues.send_messages

    def keep_retries(queue_url: str, messages: Any, delay_seconds: int = 0) -> int:
        messages = list(messages)
        if queue_url == delivery_queue() and delay_seconds:
            requeued.extend(messages)  # a retry waiting its SQS delay: handed back below at its time
        return real_send(queue_url, messages, delay_seconds)

    monkeypatch.setattr(queues, "send_messages", keep_retries)

    slack.statuses = [503]
    assert playbooks_handler(sqs_batch([slack_body])) == {"batchItemFailures": []}  # queued: the step is done
    deliver_slack()  # Slack answers 503: the delivery is retried later
    (retry,) = requeued
    with clock.frozen(retry.not_before):
        assert webhooks_handler(sqs_batch([retry.model_dump_json()])) == {"batchItemFailures": []}
    assert playbooks_handler(sqs_batch([slack_body])) == {"batchItemFailures": []}  # the step again: nothing
    deliver_slack()

    assert len(slack.requests) == 2  # one refused with 503, then the one that was posted
    assert slack.requests[0]["body"] == slack.requests[1]["body"]
    (run,) = admin_api.get(f"/v1/playbooks/{AT_RISK}/runs").body["items"]
    assert run["steps"][1]["outcome"]["status"] == "done"
    assert slack.url.split("/services/")[1] not in json.dumps(run)


def test_without_a_slack_webhook_the_slack_step_is_skipped_and_the_task_still_made(
    admin_api: ApiClient, workspace: str
) -> None:
    customer_id = create_customer(admin_api)
    set_health(workspace, customer_id, 30.0, "At risk")
    playbooks_handler(scored(workspace, customer_id))
    drain()
    (run,) = admin_api.get(f"/v1/playbooks/{AT_RISK}/runs").body["items"]
    task_step, slack_step = run["steps"]
    assert task_step["outcome"]["status"] == "done"
    assert slack_step["outcome"]["status"] == "skipped" and "not configured" in slack_step["outcome"]["detail"]


# --- lifecycle and days after, from the events the customers API publishes --------------------------------
def customer_events() -> str:
    """A queue receiving the customer.changed events the API puts on the bus."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    url = sqs.create_queue(QueueName="customer-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = os.environ["EVENT_BUS_NAME"]
    pattern = {"source": ["keepwell"], "detail-type": ["customer.changed"]}
    events.put_rule(Name="customer-events", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="customer-events", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def deliver(queue_url: str) -> list[dict[str, Any]]:
    delivered = []
    for message in receive_all(queue_url):
        event = json.loads(message["Body"])
        event.pop("ingestion-time", None)
        assert playbooks_handler(event) is None
        delivered.append(event)
    return delivered


def test_a_new_active_customer_and_a_converted_trial_are_onboarded_once(admin_api: ApiClient, workspace: str) -> None:
    inbox = customer_events()
    active = create_customer(admin_api, name="Active Co")
    trial = create_customer(admin_api, name="Trial Co", status="trial")
    (created, _) = deliver(inbox)
    assert created["detail"]["change"] == "created" and created["detail"]["after_status"] == "active"
    assert admin_api.patch(f"/v1/customers/{trial}", {"status": "active"}).status == 200
    assert admin_api.patch(f"/v1/customers/{trial}", {"tier": "SMB"}).status == 200
    (converted, _) = deliver(inbox)
    assert (converted["detail"]["before_status"], converted["detail"]["after_status"]) == ("trial", "active")
    drain()

    onboarding = "pb_default_onboarding"
    assert [t["title"] for t in sorted(tasks_of(admin_api, active, onboarding), key=lambda t: t["due_date"])] == [
        "Kickoff call with Active Co",
        "First-value milestone reached at Active Co?",
        "30-day check-in with Active Co",
    ]
    assert len(tasks_of(admin_api, trial, onboarding)) == 3


def test_win_back_waits_seven_days_after_churn_then_creates_its_tasks(
    admin_api: ApiClient, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "MAX_DELAY_SECONDS", 0)  # the waiting hop comes back at once here
    inbox = customer_events()
    churned = create_customer(admin_api, name="Gone Co")
    back = create_customer(admin_api, name="Back Co")
    for customer_id in (churned, back):
        assert admin_api.post(f"/v1/customers/{customer_id}/churn", {"churn_reason": "price"}).status == 200
    deliver(inbox)

    drain(passes=2)  # the steps wait for 2026-11-27
    assert tasks_of(admin_api, churned, "pb_default_win_back") == []
    assert tasks_of(admin_api, back, "pb_default_win_back") == []
    with clock.frozen(at(date(2026, 11, 25))):
        assert admin_api.patch(f"/v1/customers/{back}", {"status": "active"}).status == 200
    with clock.frozen(at(date(2026, 11, 27))):
        drain()

    tasks = sorted(tasks_of(admin_api, churned, "pb_default_win_back"), key=lambda t: t["due_date"])
    assert [(t["title"], t["due_date"]) for t in tasks] == [
        ("Win-back: reach out to the champion of Gone Co", "2026-11-27"),
        ("Win-back: follow up with Gone Co", "2026-12-11"),
    ]
    assert tasks_of(admin_api, back, "pb_default_win_back") == []
    runs = admin_api.get("/v1/playbooks/pb_default_win_back/runs", customer_id=back).body["items"]
    assert {s["outcome"]["status"] for s in runs[0]["steps"]} == {"skipped"}


# --- sustained: expansion from stored snapshots and usage -------------------------------------------
def put_history(workspace: str, customer_id: str) -> None:
    """31 days of snapshots at 86 (stored as the scorer stores them) and usage growing month on month."""
    from keepwell.domain.health.snapshot import HealthSnapshot
    from keepwell.storage.health_snapshots import SnapshotItem

    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    for days_ago in range(0, 61):
        day = TODAY - timedelta(days=days_ago)
        if days_ago <= 31:
            snapshot = HealthSnapshot(
                customer_id=customer_id,
                date=day,
                score=86.04,
                display_score=86.0,
                smoothed_score=86.0,
                band="Healthy",
                band_color="green",
                dimensions=[],
                na_dimensions=[],
                coverage=1.0,
                model_version=1,
            )
            key = keys.health_snapshot(workspace, customer_id, day)
            SnapshotItem(
                key.pk,
                key.sk,
                entity="health_snapshot",
                workspace_id=workspace,
                model_version=1,
                inputs="test",
                document=snapshot.model_dump_json(),
            ).save()
        table.put_item(
            Item={
                "pk": keys.customer_partition(workspace, customer_id),
                "sk": f"METRICS#{day}",
                "entity": "daily_metrics",
                "workspace_id": workspace,
                "customer_id": customer_id,
                "day": day.isoformat(),
                "events": 40 if days_ago < 30 else 20,
                "logins": 5,
                "version": 1,
            }
        )


def test_expansion_fires_for_thirty_healthy_days_with_growing_usage(admin_api: ApiClient, workspace: str) -> None:
    customer_id = create_customer(admin_api, name="Stark")
    set_health(workspace, customer_id, 86.0, "Healthy")
    put_history(workspace, customer_id)
    playbooks_handler(scored(workspace, customer_id))
    drain()
    tasks = tasks_of(admin_api, customer_id, "pb_default_expansion")
    assert len(tasks) == 3
    (entry,) = playbook_timeline(admin_api, customer_id)
    assert "health_score >= 80" in entry["body"] and "usage up" in entry["body"]


# --- tenancy and robustness ---------------------------------------------------------------------
def test_an_event_of_another_workspace_touches_nothing_here(
    admin_api: ApiClient, workspace: str, other_workspace: str
) -> None:
    customer_id = create_customer(admin_api, renewal_date=(TODAY + timedelta(days=60)).isoformat())
    playbooks_handler(scored(other_workspace, customer_id))  # same customer id, wrong workspace
    assert drain() == []
    assert tasks_of(admin_api, customer_id) == []


def test_an_action_for_an_unknown_run_is_dropped_not_retried_forever(workspace: str) -> None:
    body = json.dumps(
        {
            "workspace_id": workspace,
            "playbook_id": AT_RISK,
            "run_id": "run_doesnotexist",
            "customer_id": "cus_nobody",
            "episode": "entered-2026-11-20",
            "step_index": 0,
            "action": "task",
            "params": {"title": "x"},
        }
    )
    assert playbooks_handler(sqs_batch([body])) == {"batchItemFailures": []}
