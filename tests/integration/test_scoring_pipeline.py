"""The scoring pipeline on moto: the scorer handler with real SQS batch events, the schedule fan-out,
event-driven rescoring, idempotency under redelivery, poison messages and the DynamoDB request budget."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from bench.recalc import count_aws_requests, write_metrics_days
from infra.functions import FakeLambdaContext, load_handler
from infra.invoker import Invoker
from infra.pollers import QueuePoller, queue_depth, sqs_event_sources
from infra.template import Resolver, load_template, resources_of_type
from keepwell import clock
from keepwell.adapters import event_bus
from keepwell.domain import signal_log
from keepwell.domain.customers import Customer
from keepwell.domain.health.signals import UsageDay
from keepwell.domain.timeline import TimelineEntry
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import schedule_runs, scoring_jobs, scoring_queue
from keepwell.settings import get_settings
from keepwell.storage import customers as customer_store
from keepwell.storage import health_snapshots as snapshots
from keepwell.storage import keys, signal_logs, workspaces
from keepwell.storage.signal_logs import SignalLogItem

TODAY = date(2026, 11, 20)


# --- data -------------------------------------------------------------------------------------------
def usage_days(days: int = 40, active: int = 6, quiet_from: int | None = None) -> list[UsageDay]:
    out = []
    for offset in range(days - 1, -1, -1):
        day = TODAY - timedelta(days=offset)
        quiet = quiet_from is not None and offset <= quiet_from
        users = frozenset() if quiet else frozenset(f"u{n}" for n in range((offset % 3) + active - 1))
        out.append(UsageDay(day=day, logins=len(users), users=users, features=frozenset({"a", "b"})))
    return out


def timeline(customer_id: str, kind: str, days_ago: float, item_id: str, **attributes: Any) -> TimelineEntry:
    return TimelineEntry(
        customer_id=customer_id,
        kind=kind,  # type: ignore[arg-type]
        occurred_at=datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(days=days_ago) + timedelta(hours=8),
        title=str(attributes.pop("title", kind)),
        body=attributes.pop("body", "Thanks for the help, going well"),
        item_id=item_id,
        attributes=attributes,
    )


def usual_log(customer_id: str) -> signal_log.SignalLog:
    log = signal_log.SignalLog()
    signal_log.fold(
        log,
        [
            timeline(customer_id, "email", n, f"{customer_id}-e{n}", direction="in" if n % 2 else "out")
            for n in range(40)
        ]
        + [timeline(customer_id, "meeting", n, f"{customer_id}-m{n}", duration_minutes=30) for n in range(0, 40, 7)],
    )
    return log


def add_customer(
    workspace_id: str,
    customer_id: str,
    *,
    owner: str | None = "csm-1",
    archived: bool = False,
    usage: list[UsageDay] | None = None,
    log: signal_log.SignalLog | None = None,
    **fields: Any,
) -> str:
    now = clock.iso(clock.now())
    customer = Customer(
        customer_id=customer_id,
        workspace_id=workspace_id,
        name=f"Customer {customer_id}",
        owner_id=owner,
        seats=10,
        archived=archived,
        created_at=now,
        updated_at=now,
        **fields,
    )
    customer_store.put_customers_batch(workspace_id, [customer])
    write_metrics_days(workspace_id, {customer_id: usage if usage is not None else usage_days()})
    signal_logs.put_signal_logs(workspace_id, {customer_id: log or usual_log(customer_id)}, now)
    return customer_id


def request(customer_id: str | None, **fields: Any) -> ScoringRequest:
    return ScoringRequest(workspace_id="ws_acme", customer_id=customer_id, **({"reason": "schedule"} | fields))


def sqs_event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"msg-{index}",
                "receiptHandle": f"rh-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1795166940000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:keepwell-local-ScoringQueue",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def score(*requests: ScoringRequest | str, receive_count: int = 1) -> dict[str, Any]:
    bodies = [r if isinstance(r, str) else r.model_dump_json() for r in requests]
    handler = load_handler("ScorerFunction")
    result: dict[str, Any] = handler(sqs_event(*bodies, receive_count=receive_count), FakeLambdaContext("scorer"))
    return result


def queued(resolver: Resolver, queue: str = "ScoringQueue") -> list[dict[str, Any]]:
    """Receive (and delete) everything on a queue: the message bodies."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = resolver.physical[queue]["QueueUrl"]
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(json.loads(m["Body"]) for m in messages)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


# --- daily scoring ------------------------------------------------------------------------------------
def test_daily_scoring_stores_the_snapshot_and_the_profiles_latest_health_and_publishes_health_scored(
    workspace: str, published: list[event_bus.DomainEvent]
):
    add_customer(workspace, "c1")

    assert score(request("c1", scoring_day=TODAY)) == {"batchItemFailures": []}

    snapshot = snapshots.get_snapshot(workspace, "c1", TODAY)
    assert snapshot is not None and snapshot.score is not None and snapshot.band is not None
    assert {d.key for d in snapshot.dimensions} == {"usage", "engagement", "support", "sentiment"}
    assert snapshot.model_version == 0 and snapshot.coverage == 1.0 and snapshot.explanation
    customer, health = snapshots.get_customer_health(workspace, "c1") or (None, None)
    assert customer is not None and health is not None
    assert (customer.health_score, customer.health_band) == (snapshot.display_score, snapshot.band)
    assert health.day == TODAY and health.scored_at == "2026-11-20T09:30:00.000Z"
    assert health.dimensions == {d.key: d.value for d in snapshot.dimensions}
    assert customer.version == 1  # scoring never bumps the customer's own version
    (event,) = published
    assert event.detail_type == "health.scored"
    assert event.detail["customer_id"] == "c1" and event.detail["owner_id"] == "csm-1"
    assert event.detail["score"] == snapshot.display_score and event.detail["previous_score"] is None


def test_a_redelivered_scoring_message_writes_no_second_snapshot_and_publishes_no_second_event(
    workspace: str, published: list[event_bus.DomainEvent]
):
    add_customer(workspace, "c1")
    message = request("c1", scoring_day=TODAY)
    score(message)
    first = snapshots.get_customer_health(workspace, "c1")
    assert first is not None and len(published) == 1

    with clock.frozen(clock.now() + timedelta(minutes=5)):
        assert score(message, receive_count=2) == {"batchItemFailures": []}

    again = snapshots.get_customer_health(workspace, "c1")
    assert again is not None
    assert again[1].rev == first[1].rev and again[1].scored_at == first[1].scored_at  # nothing written
    assert len(published) == 1  # nothing published
    assert snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=10), TODAY)[-1].date == TODAY


def test_a_new_signal_the_same_day_rescores_and_its_band_change_and_alert_are_published_once(
    workspace: str, published: list[event_bus.DomainEvent]
):
    add_customer(workspace, "c1")
    for offset in range(7, 0, -1):  # a week of daily scores to compare with
        score(request("c1", scoring_day=TODAY - timedelta(days=offset)))
    score(request("c1", scoring_day=TODAY))
    before = snapshots.get_customer_health(workspace, "c1")
    assert before is not None and before[0].health_band == "Healthy"
    published.clear()

    # The customer goes quiet and angry today: no logins, escalated critical tickets, churn talk.
    write_metrics_days(workspace, {"c1": usage_days(days=40, quiet_from=0)[-1:]})
    log, version = signal_logs.get_signal_log(workspace, "c1")
    signal_log.fold(
        log,
        [
            timeline("c1", "ticket", 0, f"t{n}", ticket_id=f"Z{n}", status="open", priority="critical", escalated=True)
            for n in range(8)
        ]
        + [
            timeline("c1", "email", 0, f"x{n}", direction="in", body="We will cancel and terminate contract")
            for n in range(3)
        ],
    )
    signal_logs.put_signal_log(workspace, "c1", log, seen_version=version, updated_at=clock.iso(clock.now()))

    score(request("c1", reason="ingest"))  # event-driven: no scoring_day, today in the workspace's zone
    score(request("c1", reason="ingest"), receive_count=2)  # delivered twice

    after = snapshots.get_customer_health(workspace, "c1")
    assert after is not None and after[0].health_score is not None and before[0].health_score is not None
    assert after[0].health_score < before[0].health_score - 15
    kinds = [e.detail_type for e in published]
    assert kinds.count("health.scored") == 1
    alerts = [e.detail for e in published if e.detail_type == "health.alert"]
    assert [a["alert_kind"] for a in alerts].count("sharp_drop") == 1
    assert all(a["customer_id"] == "c1" and a["owner_id"] == "csm-1" for a in alerts)
    changed = [e.detail for e in published if e.detail_type == "health.band_changed"]
    if after[0].health_band != "Healthy":
        assert len(changed) == 1 and changed[0]["previous_band"] == "Healthy"
        assert changed[0]["band"] == after[0].health_band and changed[0]["direction"] == "down"


def test_a_customer_that_does_not_exist_or_is_archived_is_skipped_not_failed(
    workspace: str, published: list[event_bus.DomainEvent]
):
    add_customer(workspace, "gone", archived=True)
    assert score(request("nobody"), request("gone")) == {"batchItemFailures": []}
    assert published == [] and snapshots.get_snapshot(workspace, "gone", TODAY) is None


def test_daily_scoring_of_one_customer_costs_at_most_four_dynamodb_requests(workspace: str):
    add_customer(workspace, "c1")
    add_customer(workspace, "c2")
    # Cold container: the workspace's clock and the model are read once (event-driven: no scoring day).
    with count_aws_requests() as cold:
        assert score(request("c1", reason="ingest")) == {"batchItemFailures": []}
    assert cold.total("dynamodb") <= 4, cold.operations("dynamodb")
    assert cold.operations("dynamodb").get("BatchGetItem") == 1
    assert cold.operations("dynamodb").get("TransactWriteItems") == 1
    # Warm: one BatchGetItem and one TransactWriteItems.
    with count_aws_requests() as warm:
        assert score(request("c2", reason="ingest")) == {"batchItemFailures": []}
    assert warm.operations("dynamodb") == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert "Query" not in cold.operations("dynamodb") and "Scan" not in cold.operations("dynamodb")


def test_a_batch_of_ten_customers_reads_their_inputs_in_one_request_and_scores_each_as_alone(
    workspace: str, published: list[event_bus.DomainEvent]
):
    customers = [add_customer(workspace, f"c{n}", usage=usage_days(active=n % 7)) for n in range(10)]
    add_customer(workspace, "alone", usage=usage_days(active=3))
    score(request("alone", scoring_day=TODAY))  # warm: the workspace's clock and model cached

    with count_aws_requests() as batch:
        assert score(*(request(c, scoring_day=TODAY) for c in customers)) == {"batchItemFailures": []}

    # One BatchGetItem for the ten (the workspace's baselines and capabilities once), then each its write:
    # 1.1 requests a customer instead of 2.
    assert batch.operations("dynamodb") == {"BatchGetItem": 1, "TransactWriteItems": 10}
    alone = snapshots.get_snapshot(workspace, "alone", TODAY)
    c3 = snapshots.get_snapshot(workspace, "c3", TODAY)
    assert alone is not None and c3 is not None  # same usage (3 active a day), scored in a batch or alone
    assert c3.score == alone.score and [d.value for d in c3.dimensions] == [d.value for d in alone.dimensions]
    for customer_id in customers:
        customer, health = snapshots.get_customer_health(workspace, customer_id) or (None, None)
        assert customer is not None and health is not None and health.day == TODAY
        snapshot = snapshots.get_snapshot(workspace, customer_id, TODAY)
        assert snapshot is not None and customer.health_score == snapshot.display_score
    assert sorted(e.detail["customer_id"] for e in published if e.detail_type == "health.scored") == sorted(
        ["alone", *customers]
    )


def test_a_customer_named_twice_in_a_batch_is_read_again_after_its_first_write_not_retried(workspace: str):
    add_customer(workspace, "c1")
    add_customer(workspace, "c2")
    score(request("c2", scoring_day=TODAY - timedelta(days=1)))  # warm caches

    with count_aws_requests() as batch:
        result = score(
            request("c1", scoring_day=TODAY - timedelta(days=1)),
            request("c2", scoring_day=TODAY),
            request("c1", scoring_day=TODAY),
        )

    assert result == {"batchItemFailures": []}
    # The batch read covers c1's first day and c2; c1's second message reads what its first wrote (one more
    # read) instead of writing over a stale profile, failing the condition and retrying consistently.
    assert batch.operations("dynamodb") == {"BatchGetItem": 2, "TransactWriteItems": 3}
    assert snapshots.get_snapshot(workspace, "c1", TODAY - timedelta(days=1)) is not None
    _, health = snapshots.get_customer_health(workspace, "c1") or (None, None)
    assert health is not None and health.day == TODAY


# --- history ------------------------------------------------------------------------------------------
def test_history_recompute_writes_90_daily_snapshots_and_the_latest_health(
    workspace: str, published: list[event_bus.DomainEvent]
):
    add_customer(workspace, "c1", usage=usage_days(days=120, quiet_from=20))
    with count_aws_requests() as requests:
        assert score(request("c1", reason="manual", history=True, scoring_day=TODAY)) == {"batchItemFailures": []}

    history = snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=120), TODAY)
    assert [s.date for s in history] == [TODAY - timedelta(days=89 - n) for n in range(90)]
    assert history[0].score is not None and history[-1].score is not None
    usage = [s.dimension("usage") for s in history]
    assert usage[0] is not None and usage[-1] is not None and usage[0].value and usage[-1].value is not None
    assert usage[-1].value < usage[0].value - 15  # nobody logged in for three weeks
    customer, health = snapshots.get_customer_health(workspace, "c1") or (None, None)
    assert customer is not None and health is not None
    assert health.day == TODAY and customer.health_score == history[-1].display_score
    dynamodb = requests.operations("dynamodb")
    # one read of the profile, the signal log, the usage history (not ~120 metrics days) and the months;
    # one transaction of the 90 snapshots' months and the profile (decision 0026)
    assert dynamodb.get("BatchGetItem") == 1 and dynamodb.get("TransactWriteItems") == 1
    assert "BatchWriteItem" not in dynamodb and "UpdateItem" not in dynamodb
    assert [e.detail_type for e in published][:1] == ["health.scored"]


def test_late_events_recompute_from_their_day_to_today(workspace: str):
    add_customer(workspace, "c1")
    for offset in range(5, -1, -1):
        score(request("c1", scoring_day=TODAY - timedelta(days=offset)))
    write_metrics_days(workspace, {"c1": usage_days(days=3, quiet_from=2)})  # backfilled: nobody came for 3 days
    before = {s.date: s.score for s in snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=5), TODAY)}

    score(request("c1", reason="ingest", recompute_from=TODAY - timedelta(days=2)))

    after = {s.date: s.score for s in snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=5), TODAY)}
    assert set(after) == set(before)
    assert all(after[d] == before[d] for d in after if d < TODAY - timedelta(days=2))
    assert all(after[d] != before[d] for d in after if d >= TODAY - timedelta(days=2))


# --- failures -----------------------------------------------------------------------------------------
def corrupt_signal_log(workspace_id: str, customer_id: str) -> None:
    key = keys.signal_log(workspace_id, customer_id)
    SignalLogItem(
        key.pk,
        key.sk,
        entity="signal_log",
        workspace_id=workspace_id,
        customer_id=customer_id,
        document="{not json",
        version=1,
    ).save()


def test_a_poison_record_fails_alone_while_its_batch_mates_are_scored(
    workspace: str, published: list[event_bus.DomainEvent]
):
    add_customer(workspace, "good")
    add_customer(workspace, "broken")
    corrupt_signal_log(workspace, "broken")

    result = score(request("good", scoring_day=TODAY), "not json", request("broken", scoring_day=TODAY))

    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-2"}]}
    assert snapshots.get_snapshot(workspace, "good", TODAY) is not None
    assert snapshots.get_snapshot(workspace, "broken", TODAY) is None
    assert [e.detail["customer_id"] for e in published] == ["good"]


def test_disabled_metrics_print_no_emf_lines_however_many_batches_the_scorer_handles(
    workspace: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # The local stack and the benchmarks disable metrics; powertools would still keep every invocation's
    # values and print them all once a metric reached 100 (the flood `make run` used to show).
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    capsys.readouterr()
    for _ in range(101):
        assert score("not json")["batchItemFailures"]
    assert '"_aws"' not in capsys.readouterr().out


def test_scorer_max_receives_is_the_scoring_queues_max_receive_count():
    queue = resources_of_type(load_template(), "AWS::SQS::Queue")["ScoringQueue"]
    assert int(queue["Properties"]["RedrivePolicy"]["maxReceiveCount"]) == scoring_jobs.MAX_RECEIVES


def test_a_poison_message_ends_in_the_dlq_after_max_receives_while_its_batch_mate_is_scored_once(
    aws: Resolver, workspace: str, published: list[event_bus.DomainEvent]
):
    add_customer(workspace, "good")
    add_customer(workspace, "broken")
    corrupt_signal_log(workspace, "broken")
    sqs = boto3.client("sqs", region_name="us-east-1")
    source = next(s for s in sqs_event_sources(load_template(), aws) if s.function_id == "ScorerFunction")
    poller = QueuePoller(replace(source, batching_window_s=0.0), sqs, Invoker())
    scoring_queue.enqueue_customers(workspace, ["good", "broken"], reason="schedule", day=TODAY)

    for _ in range(scoring_jobs.MAX_RECEIVES + 2):
        poller.poll_once(wait_seconds=0)

    assert queue_depth(sqs, source.queue_url) == 0
    dead = sqs.receive_message(QueueUrl=source.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["customer_id"] for m in dead] == ["broken"]
    assert (poller.stats.succeeded, poller.stats.failed) == (1, scoring_jobs.MAX_RECEIVES)
    assert [e.detail["customer_id"] for e in published if e.detail_type == "health.scored"] == ["good"]


# --- the hourly schedule ------------------------------------------------------------------------------
def test_the_schedule_enqueues_one_message_per_customer_of_a_due_workspace_once(aws: Resolver, workspace: str):
    workspaces.create_workspace("ws_tokyo", "Tokyo CS", timezone="Asia/Tokyo", scoring_hour=5)  # 20:00Z
    for customer_id in ("a", "b", "c"):
        add_customer(workspace, customer_id)
    add_customer(workspace, "old", archived=True)
    add_customer("ws_tokyo", "t1")
    run_at = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # ws_acme: UTC, 05:00

    assert schedule_runs.fan_out_due_workspaces(run_at) == {workspace: 3}
    bodies = queued(aws)
    assert sorted(b["customer_id"] for b in bodies) == ["a", "b", "c"]
    assert {(b["workspace_id"], b["reason"], b["scoring_day"]) for b in bodies} == {
        (workspace, "schedule", "2026-11-20")
    }

    # Retried (or duplicated) run of the same hour: nothing enqueued twice.
    assert schedule_runs.fan_out_due_workspaces(run_at + timedelta(minutes=3)) == {workspace: 0}
    assert queued(aws) == []
    # Another hour: nobody is due.
    assert schedule_runs.fan_out_due_workspaces(run_at + timedelta(hours=1)) == {}
    # Tokyo's 05:00 is 20:00Z: its own customers, its own local day.
    assert schedule_runs.fan_out_due_workspaces(datetime(2026, 11, 20, 20, 0, tzinfo=UTC)) == {"ws_tokyo": 1}
    assert [(b["customer_id"], b["scoring_day"]) for b in queued(aws)] == [("t1", "2026-11-21")]


def test_a_schedule_run_that_fails_part_way_lets_the_retry_enqueue_the_day(
    aws: Resolver, workspace: str, monkeypatch: pytest.MonkeyPatch
):
    add_customer(workspace, "a")
    run_at = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    real = scoring_queue.enqueue_customers

    def fail(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("SQS unavailable")

    monkeypatch.setattr(scoring_queue, "enqueue_customers", fail)
    with pytest.raises(RuntimeError):
        schedule_runs.fan_out_due_workspaces(run_at)
    monkeypatch.setattr(scoring_queue, "enqueue_customers", real)
    assert schedule_runs.fan_out_due_workspaces(run_at) == {workspace: 1}


def test_the_schedule_handler_routes_its_scheduled_event_time(aws: Resolver, workspace: str):
    add_customer(workspace, "a")
    event = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "time": "2026-11-20T05:00:00Z", "detail": {}}
    assert load_handler("ScheduleFunction")(event, FakeLambdaContext("schedule")) is None
    assert [b["customer_id"] for b in queued(aws)] == ["a"]


def test_a_workspace_wide_scoring_request_fans_out_to_its_customers(aws: Resolver, workspace: str):
    add_customer(workspace, "a")
    add_customer(workspace, "b")
    assert score(request(None, scoring_day=TODAY)) == {"batchItemFailures": []}
    assert sorted(b["customer_id"] for b in queued(aws)) == ["a", "b"]


# --- event-driven rescoring ---------------------------------------------------------------------------
def test_rescoring_requests_are_debounced_per_customer(aws: Resolver, workspace: str):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = get_settings().scoring_queue_url

    assert scoring_queue.request_rescoring(workspace, ["a", "b", "a"], "integration") == 2  # at once
    with clock.frozen(clock.now() + timedelta(seconds=5)):
        assert scoring_queue.request_rescoring(workspace, ["a"], "ingest") == 1  # one trailing message
    with clock.frozen(clock.now() + timedelta(seconds=10)):
        assert scoring_queue.request_rescoring(workspace, ["a"], "ingest") == 0  # covered by the trailing one
    with clock.frozen(clock.now() + timedelta(seconds=scoring_queue.DEBOUNCE.total_seconds() + 1)):
        assert scoring_queue.request_rescoring(workspace, ["a"], "ingest") == 1  # a new window

    visible = queued(aws)
    assert sorted(b["customer_id"] for b in visible) == ["a", "a", "b"]  # the trailing one is still delayed
    assert all(b.get("scoring_day") is None for b in visible)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"


def test_latest_snapshots_of_many_customers_are_read_by_key(workspace: str):
    add_customer(workspace, "a")
    add_customer(workspace, "b")
    add_customer(workspace, "never")
    score(request("a", scoring_day=TODAY - timedelta(days=1)), request("b", scoring_day=TODAY - timedelta(days=1)))
    score(request("a", scoring_day=TODAY))
    with count_aws_requests() as requests:
        latest = snapshots.get_latest_snapshots(workspace, ["a", "b", "never", "unknown"])
    assert {c: s.date for c, s in latest.items()} == {"a": TODAY, "b": TODAY - timedelta(days=1)}
    assert requests.operations("dynamodb") == {"BatchGetItem": 2}


# --- the Contract dimension reads the renewal records ---------------------------------------------------
def test_the_contract_dimension_reads_the_renewal_records_not_the_auto_renew_custom_field(workspace: str, admin_api):
    from keepwell.domain.renewals import Renewal
    from keepwell.storage import renewals as renewal_store

    assert admin_api.request("PUT", "/v1/health/model", body={"preset": "six_factor"}).status == 200
    # The custom fields say auto-renew and two expansions; the records say otherwise.
    add_customer(workspace, "c1", arr=12_000.0, mrr=1_000.0, custom_fields={"auto_renew": True, "expansions": 2})
    stamp = clock.iso(clock.now())

    def term(renewal_id: str, day: date, **fields: Any) -> Renewal:
        return Renewal(
            renewal_id=renewal_id,
            workspace_id=workspace,
            customer_id="c1",
            renewal_date=day,
            current_arr=10_000.0,
            mrr=833.33,
            forecast_category="probable",
            created_by="csm-1",
            created_at=stamp,
            updated_at=stamp,
            **fields,
        )

    renewal_store.put_renewals_batch(
        [
            term("ren_last", date(2025, 12, 20), status="renewed", closed_on=date(2025, 12, 1), closed_arr=12_000.0),
            term("ren_next", TODAY + timedelta(days=30), auto_renew=False),
        ]
    )

    def contract() -> float | None:
        snapshot = snapshots.get_snapshot(workspace, "c1", TODAY)
        assert snapshot is not None
        return next(d.value for d in snapshot.dimensions if d.key == "contract")

    assert score(request("c1", scoring_day=TODAY)) == {"batchItemFailures": []}
    # auto-renew no: 0; 30 days of runway (180 → 0): 16.67; 1 expansion (2 → 0): 50; 0 contractions: 100
    assert contract() == pytest.approx((0 + 100 * 30 / 180 + 50 + 100) / 4)

    current = renewal_store.require_renewal(workspace, "c1", "ren_next")
    renewal_store.update_renewal(current, current.model_copy(update={"auto_renew": True}))
    assert score(request("c1", scoring_day=TODAY, reason="ingest")) == {"batchItemFailures": []}
    # the same day rescored (the records changed): auto-renews, so the near date is no risk
    assert contract() == pytest.approx((100 + 50 + 100) / 3)


def test_the_relationship_dimension_reads_contacts_champion_and_qbrs_with_no_extra_request(workspace: str, admin_api):
    """Issue 21: N/A without data; the worked example of docs/health-model.md once there is some."""
    from keepwell.domain.contacts import Contact
    from keepwell.storage import contacts as contact_store

    assert admin_api.request("PUT", "/v1/health/model", body={"preset": "six_factor"}).status == 200
    log = usual_log("c1")
    signal_log.fold(log, [timeline("c1", "meeting", 130, "c1-qbr", title="Q3 QBR", duration_minutes=60)])
    add_customer(workspace, "c1", log=log)
    add_customer(workspace, "c2")  # no contact, no champion, no QBR

    def relationship(customer_id: str) -> float | None:
        snapshot = snapshots.get_snapshot(workspace, customer_id, TODAY)
        assert snapshot is not None
        return next(d.value for d in snapshot.dimensions if d.key == "relationship")

    stamp = clock.iso(clock.now())
    people = [("con_fox", "CFO", True), ("con_dana", "Data analyst", False), ("con_walt", "Analyst", False)]
    contact_store.put_contacts_batch(
        workspace,
        [
            Contact(
                contact_id=cid,
                customer_id="c1",
                workspace_id=workspace,
                name=cid,
                title=title,
                is_champion=champion,
                created_at=stamp,
                updated_at=stamp,
            )
            for cid, title, champion in people
        ],
    )
    assert score(request("c2", scoring_day=TODAY)) == {"batchItemFailures": []}
    with count_aws_requests() as counted:
        assert score(request("c1", scoring_day=TODAY)) == {"batchItemFailures": []}
    assert counted.operations("dynamodb") == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert relationship("c2") is None
    # contacts 3/5 = 60, levels 2/3 = 66.67, champion 100, the QBR 130 days ago is too old: 0
    assert relationship("c1") == pytest.approx((60 + 200 / 3 + 100 + 0) / 4)

    added = admin_api.post("/v1/customers/c1/contacts", {"name": "Walter", "title": "Support manager"})
    assert added.status == 201, added.body
    assert score(request("c1", scoring_day=TODAY, reason="ingest")) == {"batchItemFailures": []}
    # the same day rescored (a contact was added): 4 contacts = 80, all 3 levels = 100
    assert relationship("c1") == pytest.approx((80 + 100 + 100 + 0) / 4)
