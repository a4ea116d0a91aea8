"""GET /v1/notifications, POST /v1/notifications/{id}/read and /read-all through the API function with
API Gateway events: the signed-in user's own notifications only, newest first, unread filter, paging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from keepwell import clock
from keepwell.auth import Caller
from keepwell.storage import notifications as store
from tests.conftest import FROZEN_NOW, ApiClient


def a_notification(user_id: str, number: int, minutes_ago: int) -> store.Notification:
    return store.Notification(
        notification_id=f"ntf_{user_id.replace('-', '')}_{number}",
        user_id=user_id,
        title=f"Notification {number}",
        body=None,
        customer_id=None,
        playbook_id=None,
        run_id=None,
        created_at=clock.iso(FROZEN_NOW - timedelta(minutes=minutes_ago)),
        kind="health_alert",
    )


def notify(workspace: str, user_id: str, number: int, minutes_ago: int) -> str:
    """A notification as the playbooks and alerts write it (storage.notifications.put_notification)."""
    notification = a_notification(user_id, number, minutes_ago)
    assert store.put_notification(workspace, notification)
    return notification.notification_id


@pytest.fixture
def csm(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "csm-1", "csm"))


@pytest.fixture
def five(workspace: str) -> list[str]:
    """csm-1's notifications 1..5, number 5 the newest; and one of csm-2's."""
    notify(workspace, "csm-2", 1, minutes_ago=1)
    return [notify(workspace, "csm-1", n, minutes_ago=60 - n) for n in range(1, 6)]


def titles(response: Any) -> list[str]:
    assert response.status == 200, response.body
    return [item["title"] for item in response.body["items"]]


def test_a_user_lists_only_their_own_notifications_newest_first(csm: ApiClient, five: list[str]) -> None:
    response = csm.get("/v1/notifications")
    assert titles(response) == [f"Notification {n}" for n in (5, 4, 3, 2, 1)]
    assert response.body["next_cursor"] is None
    first = response.body["items"][0]
    assert first["notification_id"] == five[-1] and first["read_at"] is None and first["kind"] == "health_alert"


def test_pages_follow_the_cursor_to_the_end(csm: ApiClient, five: list[str]) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = csm.get("/v1/notifications", **query)
        seen += titles(response)
        cursor = response.body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Notification {n}" for n in (5, 4, 3, 2, 1)]


def test_marking_read_sets_read_at_once_and_unread_only_leaves_it_out(
    csm: ApiClient, five: list[str], workspace: str
) -> None:
    marked = csm.post(f"/v1/notifications/{five[2]}/read")
    assert marked.status == 200, marked.body
    assert marked.body["notification_id"] == five[2] and marked.body["read_at"] == "2026-11-20T09:30:00.000Z"
    with clock.frozen(FROZEN_NOW + timedelta(hours=1)):
        again = csm.post(f"/v1/notifications/{five[2]}/read")
    assert again.status == 200 and again.body["read_at"] == "2026-11-20T09:30:00.000Z"  # the first read stays

    assert titles(csm.get("/v1/notifications", unread_only="true")) == [f"Notification {n}" for n in (5, 4, 2, 1)]
    unread_page = csm.get("/v1/notifications", unread_only="true", limit=3)
    assert titles(unread_page) == ["Notification 5", "Notification 4", "Notification 2"]
    rest = csm.get("/v1/notifications", unread_only="true", limit=3, cursor=unread_page.body["next_cursor"])
    assert titles(rest) == ["Notification 1"]
    everything = csm.get("/v1/notifications").body["items"]
    assert [n["read_at"] is not None for n in everything] == [False, False, True, False, False]


def test_another_users_notification_is_not_found_and_stays_unread(
    csm: ApiClient, five: list[str], workspace: str
) -> None:
    other = ApiClient(Caller(workspace, "csm-2", "csm"))
    theirs = other.get("/v1/notifications").body["items"][0]["notification_id"]

    response = csm.post(f"/v1/notifications/{theirs}/read")
    assert response.status == 404 and response.error_code == "not_found"
    assert csm.post("/v1/notifications/ntf_unknown/read").status == 404
    assert other.get("/v1/notifications").body["items"][0]["read_at"] is None
    admin = ApiClient(Caller(workspace, "admin-1", "admin"))
    assert admin.post(f"/v1/notifications/{five[0]}/read").status == 404  # not even an admin


def test_another_users_cursor_is_refused(csm: ApiClient, five: list[str], workspace: str) -> None:
    for n in range(2, 4):
        notify(workspace, "csm-2", n, minutes_ago=n)
    other = ApiClient(Caller(workspace, "csm-2", "csm"))
    cursor = other.get("/v1/notifications", limit=1).body["next_cursor"]
    assert cursor is not None

    response = csm.get("/v1/notifications", cursor=cursor)
    assert response.status == 400 and response.error_code == "invalid_cursor"


def test_read_all_marks_every_unread_one_of_the_caller_only(csm: ApiClient, five: list[str], workspace: str) -> None:
    assert csm.post(f"/v1/notifications/{five[0]}/read").status == 200

    response = csm.post("/v1/notifications/read-all")
    assert response.status == 200, response.body
    assert response.body == {"marked_read": 4, "more": False}
    assert titles(csm.get("/v1/notifications", unread_only="true")) == []
    assert csm.post("/v1/notifications/read-all").body == {"marked_read": 0, "more": False}
    other = ApiClient(Caller(workspace, "csm-2", "csm"))
    assert [n["read_at"] for n in other.get("/v1/notifications").body["items"]] == [None]


def test_every_role_reads_its_own_and_bad_queries_are_400(workspace: str) -> None:
    for user_id, role in [("viewer-1", "viewer"), ("director-1", "director"), ("admin-1", "admin")]:
        notify(workspace, user_id, 1, minutes_ago=1)
        api = ApiClient(Caller(workspace, user_id, role))
        assert titles(api.get("/v1/notifications")) == ["Notification 1"]
    viewer = ApiClient(Caller(workspace, "viewer-1", "viewer"))
    assert viewer.get("/v1/notifications", limit=0).status == 400
    assert viewer.get("/v1/notifications", limit=101).status == 400
    assert viewer.get("/v1/notifications", colour="red").status == 400
