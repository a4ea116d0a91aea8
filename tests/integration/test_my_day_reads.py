"""My day in three DynamoDB requests (issue 23): the tasks (one Query), the book's memberships (one
Query) and, in one BatchGetItem, the profiles and the user's notification inbox — a copy of their newest
notifications written in the same transaction as each notification and each read mark."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import boto3

from bench.recalc import count_aws_requests
from keepwell import clock
from keepwell.auth import Caller
from keepwell.storage import keys
from keepwell.storage import notifications as store
from tests.conftest import FROZEN_NOW, ApiClient
from tests.integration.test_notifications_api import a_notification, notify
from tests.integration.test_tasks_api import create_customer, create_task, day


def my_day(api: ApiClient) -> dict[str, Any]:
    response = api.get("/v1/my-day")
    assert response.status == 200, response.body
    body: dict[str, Any] = response.body
    return body


def shown(body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(n["title"], n["read_at"] is not None) for n in body["notifications"]]


def test_my_day_reads_tasks_book_and_notifications_in_three_requests(admin_api: ApiClient, workspace: str) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    for n in range(30):
        create_customer(admin_api, name=f"Mine {n:02}")
    create_task(csm, title="today", due_date=day(0))
    for n in range(1, 4):
        notify(workspace, "csm-1", n, minutes_ago=10 - n)
    notify(workspace, "csm-2", 9, minutes_ago=0)

    with count_aws_requests() as requests:
        body = my_day(csm)

    assert requests.operations("dynamodb") == {"BatchGetItem": 1, "Query": 2}
    assert [t["title"] for t in body["due_today"]] == ["today"]
    assert shown(body) == [("Notification 3", False), ("Notification 2", False), ("Notification 1", False)]
    assert body["notifications"] == csm.get("/v1/notifications").body["items"]  # the same as the list


def test_read_marks_reach_my_day_and_it_shows_the_newest_twenty(workspace: str) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    ids = [notify(workspace, "csm-1", n, minutes_ago=60 - n) for n in range(1, 26)]

    assert csm.post(f"/v1/notifications/{ids[-1]}/read").status == 200
    body = my_day(csm)
    assert [t for t, _ in shown(body)] == [f"Notification {n}" for n in range(25, 5, -1)]
    assert shown(body)[0] == ("Notification 25", True) and not any(read for _, read in shown(body)[1:])
    assert body["notifications"] == csm.get("/v1/notifications", limit=20).body["items"]

    assert csm.post("/v1/notifications/read-all").status == 200
    assert all(read for _, read in shown(my_day(csm)))
    assert my_day(csm)["notifications"] == csm.get("/v1/notifications", limit=20).body["items"]


def test_a_user_notified_before_the_inbox_existed_sees_them_and_gets_an_inbox(workspace: str) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    for n in range(1, 3):
        notify(workspace, "csm-1", n, minutes_ago=10 - n)
    key = keys.notification_inbox(workspace, "csm-1")
    boto3.client("dynamodb", region_name="us-east-1").delete_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": key.pk}, "sk": {"S": key.sk}}
    )

    with count_aws_requests() as first:
        assert shown(my_day(csm)) == [("Notification 2", False), ("Notification 1", False)]
    assert first.operations("dynamodb") == {"BatchGetItem": 1, "Query": 3, "PutItem": 1}  # the partition, once
    with count_aws_requests() as then:
        assert shown(my_day(csm)) == [("Notification 2", False), ("Notification 1", False)]
    assert then.operations("dynamodb") == {"BatchGetItem": 1, "Query": 2}

    notify(workspace, "csm-1", 3, minutes_ago=0)  # a notification after that still reaches My day
    assert [t for t, _ in shown(my_day(csm))] == ["Notification 3", "Notification 2", "Notification 1"]


def test_my_day_leaves_out_notifications_past_their_retention(workspace: str) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    notify(workspace, "csm-1", 1, minutes_ago=0)
    with clock.frozen(FROZEN_NOW + store.RETENTION + timedelta(days=1)):
        notify(workspace, "csm-1", 2, minutes_ago=-(store.RETENTION.days + 1) * 24 * 60)
        assert [t for t, _ in shown(my_day(csm))] == ["Notification 2"]


def test_a_notification_written_twice_is_in_the_inbox_once(workspace: str) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    notify(workspace, "csm-1", 1, minutes_ago=0)
    assert not store.put_notification(workspace, a_notification("csm-1", 1, minutes_ago=0))
    assert shown(my_day(csm)) == [("Notification 1", False)]


def test_two_writers_of_one_inbox_keep_both_notifications(workspace: str, monkeypatch: Any) -> None:
    """A writer that read the inbox before another wrote it fails its condition and reads it again."""
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    notify(workspace, "csm-1", 1, minutes_ago=2)
    stale = store._read_inbox(workspace, "csm-1")  # what a concurrent writer read
    notify(workspace, "csm-1", 2, minutes_ago=1)  # written after it read
    reads = iter([stale])
    real = store._read_inbox
    monkeypatch.setattr(store, "_read_inbox", lambda w, u: next(reads, None) or real(w, u))

    notify(workspace, "csm-1", 3, minutes_ago=0)

    assert [t for t, _ in shown(my_day(csm))] == ["Notification 3", "Notification 2", "Notification 1"]
