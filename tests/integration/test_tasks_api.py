"""Task routes and My day through the real API handler on moto: the status machine (409 on an invalid
transition), filters, a CSM's view, viewers read-only, and tenancy."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from keepwell.auth import Caller
from keepwell.domain.customer_scoring import DayEntry, ScoringState
from keepwell.storage import keys
from keepwell.storage.models import CustomerItem
from keepwell.storage.tasks import PortfolioItem
from tests.conftest import ApiClient

TODAY = date(2026, 11, 20)


def as_role(workspace: str, user_id: str, role: str) -> ApiClient:
    return ApiClient(Caller(workspace, user_id, role))


def create_customer(api: ApiClient, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": "Initech", "owner_id": "csm-1", **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def create_task(api: ApiClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/tasks", {"title": "Call Dana", **fields})
    assert response.status == 201, response.body
    return dict(response.body)


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def titles(response: Any) -> list[str]:
    assert response.status == 200, response.body
    return [t["title"] for t in response.body["items"]]


# --- create and the status machine -------------------------------------------------------------------
def test_a_new_task_is_the_callers_pending_task_due_today(csm1: ApiClient) -> None:
    task = create_task(csm1)
    assert task["task_id"].startswith("tsk_")
    assert (task["owner_id"], task["due_date"], task["status"], task["source"]) == (
        "csm-1",
        "2026-11-20",
        "pending",
        "manual",
    )
    assert task["overdue"] is False and task["version"] == 1
    assert csm1.get(f"/v1/tasks/{task['task_id']}").body == task


def test_a_task_moves_pending_in_progress_completed_and_then_stays_completed(csm1: ApiClient) -> None:
    task_id = create_task(csm1)["task_id"]

    started = csm1.patch(f"/v1/tasks/{task_id}", {"status": "in_progress"})
    done = csm1.patch(f"/v1/tasks/{task_id}", {"status": "completed"})
    reopened = csm1.patch(f"/v1/tasks/{task_id}", {"status": "pending"})
    restarted = csm1.patch(f"/v1/tasks/{task_id}", {"status": "in_progress", "title": "again"})

    assert started.status == 200 and started.body["started_at"] == "2026-11-20T09:30:00.000Z"
    assert done.body["status"] == "completed" and done.body["completed_at"] is not None and done.body["version"] == 3
    assert reopened.status == 409 and reopened.error_code == "invalid_transition"
    assert restarted.status == 409
    after = csm1.get(f"/v1/tasks/{task_id}").body
    assert after["status"] == "completed" and after["title"] == "Call Dana" and after["version"] == 3


def test_a_pending_task_can_be_skipped_and_a_skipped_one_not_completed(csm1: ApiClient) -> None:
    task_id = create_task(csm1)["task_id"]
    assert csm1.patch(f"/v1/tasks/{task_id}", {"status": "skipped"}).status == 200
    assert csm1.patch(f"/v1/tasks/{task_id}", {"status": "completed"}).status == 409


def test_stale_version_is_a_conflict(csm1: ApiClient) -> None:
    task_id = create_task(csm1)["task_id"]
    csm1.patch(f"/v1/tasks/{task_id}", {"title": "Call Dana today"})
    response = csm1.patch(f"/v1/tasks/{task_id}", {"title": "x", "version": 1})
    assert response.status == 409 and response.error_code == "version_conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x", "due_date": "tomorrow"}, "due_date"),
        ({"title": "x", "status": "completed"}, "status"),
        ({"title": "x", "owner_id": "ghost"}, "owner_id"),
        ({"title": "x", "colour": "red"}, "colour"),
    ],
)
def test_invalid_tasks_are_rejected_naming_the_field(admin_api: ApiClient, body: dict[str, Any], field: str) -> None:
    response = admin_api.post("/v1/tasks", body)
    assert response.status == 400, response.body
    assert field in {d["field"] for d in response.body["error"]["details"]}


def test_a_task_for_an_unknown_or_foreign_customer_is_not_found(
    admin_api: ApiClient, other_admin_api: ApiClient
) -> None:
    foreign = create_customer(other_admin_api, owner_id=None)
    assert admin_api.post("/v1/tasks", {"title": "x", "customer_id": foreign}).status == 404
    assert admin_api.post("/v1/tasks", {"title": "x", "customer_id": "cus_nobody"}).status == 404


# --- lists -----------------------------------------------------------------------------------------------
def test_filters_mine_overdue_due_today_status_and_customer(csm1: ApiClient, admin_api: ApiClient) -> None:
    customer_id = create_customer(admin_api)
    create_task(csm1, title="late", due_date=day(-3))
    create_task(csm1, title="today", due_date=day(0), customer_id=customer_id)
    create_task(csm1, title="later", due_date=day(5), customer_id=customer_id)
    done_id = create_task(csm1, title="done late", due_date=day(-1))["task_id"]
    csm1.patch(f"/v1/tasks/{done_id}", {"status": "completed"})
    create_task(admin_api, title="admin's", owner_id="admin-1", due_date=day(-3))

    assert titles(csm1.get("/v1/tasks")) == ["late", "done late", "today", "later"]
    assert titles(csm1.get("/v1/tasks", mine="true")) == ["late", "done late", "today", "later"]
    assert titles(csm1.get("/v1/tasks", overdue="true")) == ["late"]
    assert titles(csm1.get("/v1/tasks", due_today="true")) == ["today"]
    assert titles(csm1.get("/v1/tasks", overdue="true", due_today="true")) == ["late", "today"]
    assert titles(csm1.get("/v1/tasks", status="completed")) == ["done late"]
    assert titles(csm1.get("/v1/tasks", customer_id=customer_id)) == ["today", "later"]
    assert titles(admin_api.get("/v1/tasks", owner_id="csm-1", status="pending")) == ["late", "today", "later"]
    overdue = csm1.get("/v1/tasks", overdue="true").body["items"][0]
    assert overdue["overdue"] is True
    assert csm1.get("/v1/tasks", overdue="yes please").status == 400


def test_lists_page_with_a_cursor(csm1: ApiClient) -> None:
    for offset in range(5):
        create_task(csm1, title=f"t{offset}", due_date=day(offset))
    first = csm1.get("/v1/tasks", limit=2)
    second = csm1.get("/v1/tasks", limit=2, cursor=first.body["next_cursor"])
    third = csm1.get("/v1/tasks", limit=2, cursor=second.body["next_cursor"])
    assert titles(first) + titles(second) + titles(third) == ["t0", "t1", "t2", "t3", "t4"]
    assert csm1.get("/v1/tasks", customer_id="cus_x", cursor=first.body["next_cursor"]).status in (400, 404)


# --- who sees and changes what ------------------------------------------------------------------------
def test_a_csm_sees_tasks_assigned_to_them_and_of_their_customers_only(
    admin_api: ApiClient, csm1: ApiClient, csm2: ApiClient
) -> None:
    mine = create_customer(admin_api, name="Mine", owner_id="csm-1")
    shared = create_customer(admin_api, name="Shared", owner_id="csm-1", co_owner_ids=["csm-2"])
    on_mine = create_task(admin_api, title="on mine", owner_id="admin-1", customer_id=mine)
    for_csm2 = create_task(admin_api, title="for csm-2", owner_id="csm-2", customer_id=mine)
    on_shared = create_task(admin_api, title="on shared", owner_id="admin-1", customer_id=shared)

    assert csm1.get(f"/v1/tasks/{on_mine['task_id']}").status == 200
    assert csm2.get(f"/v1/tasks/{on_mine['task_id']}").status == 404
    assert csm2.patch(f"/v1/tasks/{on_mine['task_id']}", {"status": "skipped"}).status == 404
    assert csm2.get(f"/v1/tasks/{for_csm2['task_id']}").status == 200
    assert csm2.get(f"/v1/tasks/{on_shared['task_id']}").status == 200  # co-owner
    # Listing by a customer outside csm-2's portfolio reads like an unknown customer, even though
    # csm-2 sees the task assigned to them in their own list.
    assert csm2.get("/v1/tasks", customer_id=mine).status == 404
    assert "for csm-2" in titles(csm2.get("/v1/tasks"))
    assert sorted(titles(csm1.get("/v1/tasks", customer_id=mine))) == ["for csm-2", "on mine"]
    assert titles(csm2.get("/v1/tasks", owner_id="admin-1")) == ["on shared"]


def test_a_csm_cannot_create_or_hand_off_tasks_outside_their_portfolio(
    admin_api: ApiClient, csm1: ApiClient, csm2: ApiClient
) -> None:
    theirs = create_customer(admin_api, name="Theirs", owner_id="csm-1")
    unknown = csm2.post("/v1/tasks", {"title": "x", "customer_id": "cus_unknown"})
    assert unknown.status == 404
    # Another CSM's customer reads like an unknown one, whoever the task would be for (issue #16).
    for body in ({"title": "x", "customer_id": theirs, "owner_id": "csm-1"}, {"title": "x", "customer_id": theirs}):
        outside = csm2.post("/v1/tasks", body)
        assert (outside.status, outside.error_code) == (404, "not_found")
        assert outside.body["error"]["details"] == unknown.body["error"]["details"]
    assert csm1.get("/v1/tasks", customer_id=theirs).body["items"] == []  # nothing was created
    task_id = create_task(csm2, title="own")["task_id"]
    assert csm2.patch(f"/v1/tasks/{task_id}", {"owner_id": "csm-1"}).status == 403
    assert csm1.patch(f"/v1/tasks/{task_id}", {"title": "x"}).status == 404


def test_viewers_read_but_never_write(workspace: str, admin_api: ApiClient) -> None:
    # A task is never given to a viewer; this one was csm-2's before they became a viewer.
    task_id = create_task(admin_api, owner_id="csm-2")["task_id"]
    assert admin_api.request("PUT", "/v1/users/csm-2/role", body={"role": "viewer"}).status == 200
    viewer = as_role(workspace, "csm-2", "viewer")
    not_theirs = create_task(admin_api, owner_id="csm-1")["task_id"]
    assert viewer.get(f"/v1/tasks/{task_id}").status == 200
    assert viewer.get(f"/v1/tasks/{not_theirs}").status == 404
    assert viewer.post("/v1/tasks", {"title": "x"}).error_code == "forbidden"
    assert viewer.patch(f"/v1/tasks/{task_id}", {"status": "completed"}).status == 403
    assert admin_api.get(f"/v1/tasks/{task_id}").body["status"] == "pending"


def test_another_workspaces_task_is_not_found(admin_api: ApiClient, other_admin_api: ApiClient) -> None:
    task_id = create_task(admin_api)["task_id"]
    assert other_admin_api.get(f"/v1/tasks/{task_id}").status == 404
    assert other_admin_api.patch(f"/v1/tasks/{task_id}", {"status": "completed"}).status == 404
    assert admin_api.get(f"/v1/tasks/{task_id}").body["status"] == "pending"


# --- My day -------------------------------------------------------------------------------------------------
def test_my_day_shows_todays_and_overdue_tasks_and_customers_needing_attention(
    admin_api: ApiClient, csm1: ApiClient, workspace: str
) -> None:
    sinking = create_customer(admin_api, name="Sinking", renewal_date=day(20))
    create_customer(admin_api, name="Other csm", owner_id="csm-2")
    state = ScoringState(
        days={
            TODAY - timedelta(days=5): DayEntry(score=60.0, band="Neutral", alerts=("misalignment",)),
            TODAY: DayEntry(score=35.0, band="At risk", alerts=("sharp_drop", "band_crossing:At risk")),
        }
    )
    key = keys.customer(workspace, sinking)
    PortfolioItem(key.pk, key.sk).update(
        actions=[
            CustomerItem.health_score.set(35.0),
            CustomerItem.health_band.set("At risk"),
            PortfolioItem.health_state.set(json.dumps(state.to_json())),
        ]
    )
    create_task(csm1, title="today", due_date=day(0), customer_id=sinking)
    create_task(csm1, title="late", due_date=day(-2))
    create_task(csm1, title="tomorrow", due_date=day(1))
    done = create_task(csm1, title="done", due_date=day(-1))["task_id"]
    csm1.patch(f"/v1/tasks/{done}", {"status": "completed"})

    body = csm1.get("/v1/my-day").body

    assert body["date"] == "2026-11-20"
    assert [t["title"] for t in body["due_today"]] == ["today"]
    assert [t["title"] for t in body["overdue"]] == ["late"]
    (customer,) = body["customers"]
    assert customer["name"] == "Sinking"
    assert customer["red_flags"] == [
        "health is At risk (35.0)",
        "renews on 2026-12-10 and is not healthy",
        "no champion",
    ]
    assert customer["new_alerts"] == [
        {"kind": "sharp_drop", "detail": None, "day": "2026-11-20", "title": "Sharp drop in health"},
        {"kind": "band_crossing", "detail": "At risk", "day": "2026-11-20", "title": "Health moved into At risk"},
    ]
    assert body["notifications"] == []


def test_my_day_lists_a_customer_the_csm_only_co_owns_and_not_one_they_have_no_part_in(
    admin_api: ApiClient, csm1: ApiClient, workspace: str
) -> None:
    shared = create_customer(admin_api, name="Shared account", owner_id="csm-2", co_owner_ids=["csm-1"])
    foreign = create_customer(admin_api, name="Not mine", owner_id="csm-2")
    for customer_id in (shared, foreign):
        key = keys.customer(workspace, customer_id)
        PortfolioItem(key.pk, key.sk).update(
            actions=[CustomerItem.health_score.set(30.0), CustomerItem.health_band.set("At risk")]
        )

    names = [c["name"] for c in csm1.get("/v1/my-day").body["customers"]]

    assert names == ["Shared account"]


# --- a task names its customer -----------------------------------------------------------------------------
def many_customers(workspace: str, count: int) -> list[str]:
    """`count` customers of csm-2's, written with the storage layer's batch (no API call each)."""
    from keepwell.domain.customers import Customer
    from keepwell.storage.customers import put_customers_batch

    made = [
        Customer(
            customer_id=f"cus_many_{n:03}",
            workspace_id=workspace,
            name=f"Account {n:03}",
            owner_id="csm-2",
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
        )
        for n in range(count)
    ]
    put_customers_batch(workspace, made)
    return [c.customer_id for c in made]


def test_a_directors_task_names_its_customer_beyond_the_first_two_hundred(
    workspace: str, admin_api: ApiClient, director: ApiClient
) -> None:
    """The console named a task's customer from the first 200 customers it listed ("the customer"
    beyond): every task answer carries the customer's current name, My day still in three requests."""
    from bench.recalc import count_aws_requests
    from tests.integration.test_notifications_api import notify

    ids = many_customers(workspace, 230)
    notify(workspace, "director-1", 1, minutes_ago=5)  # an inbox: My day's third request is its BatchGetItem
    late, today = ids[-1], ids[-2]
    mine = {"owner_id": "director-1"}
    create_task(admin_api, title="late", due_date=day(-1), customer_id=late, **mine)
    created = create_task(admin_api, title="today", customer_id=today, **mine)
    create_task(admin_api, title="no customer", **mine)

    assert created["customer_name"] == "Account 228"
    listed = director.get("/v1/tasks").body["items"]
    assert [(t["title"], t["customer_name"]) for t in listed] == [
        ("late", "Account 229"),
        ("today", "Account 228"),
        ("no customer", None),
    ]
    with count_aws_requests() as requests:
        body = director.get("/v1/my-day").body
    assert [(t["title"], t["customer_name"]) for t in body["overdue"] + body["due_today"]] == [
        ("late", "Account 229"),
        ("today", "Account 228"),
        ("no customer", None),
    ]
    assert requests.operations("dynamodb") == {"Query": 2, "BatchGetItem": 1}

    # Read, not stored: a rename shows on the next answer.
    assert admin_api.patch(f"/v1/customers/{late}", {"name": "Renamed Ltd"}).status == 200
    task_id = listed[0]["task_id"]
    assert director.get(f"/v1/tasks/{task_id}").body["customer_name"] == "Renamed Ltd"
    assert admin_api.patch(f"/v1/tasks/{task_id}", {"status": "in_progress"}).body["customer_name"] == "Renamed Ltd"
    assert director.get("/v1/my-day").body["overdue"][0]["customer_name"] == "Renamed Ltd"
    assert director.get("/v1/tasks", customer_id=late).body["items"][0]["customer_name"] == "Renamed Ltd"


def test_a_csms_task_list_names_its_customers_in_one_extra_request(admin_api: ApiClient, csm1: ApiClient) -> None:
    from bench.recalc import count_aws_requests

    mine = create_customer(admin_api, name="Mine")
    elsewhere = create_customer(admin_api, name="Elsewhere", owner_id="csm-2")
    create_task(admin_api, title="on mine", owner_id="csm-1", customer_id=mine)
    create_task(admin_api, title="on theirs", owner_id="csm-1", customer_id=elsewhere)

    with count_aws_requests() as requests:
        listed = csm1.get("/v1/tasks").body["items"]

    assert sorted((t["title"], t["customer_name"]) for t in listed) == [("on mine", "Mine"), ("on theirs", "Elsewhere")]
    assert requests.operations("dynamodb") == {"Query": 1, "BatchGetItem": 1}
