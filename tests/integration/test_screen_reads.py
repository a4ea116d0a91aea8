"""What the console's screens cost in DynamoDB requests (issue 23, decision 0027): each read a screen
makes is counted on moto through the real API handler, before and after the workspace grows by
customers the caller does not see, so a read that went back to walking the workspace (or reading one
item at a time) fails here. bench/api_latency.py measures the same reads on the full demo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bench.recalc import count_aws_requests
from keepwell.domain.signal_log import SignalLog
from keepwell.storage import success_plans as plan_store
from tests.conftest import ApiClient
from tests.integration.test_churn_api import TODAY, at, customer, put_signals, put_usage


def cost(call: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
    """The answer of a call and the DynamoDB operations it made (a first call warms the per-container
    caches — health model, workspace clock — as any warm Lambda container has them)."""
    call()
    with count_aws_requests() as requests:
        answer = call()
    return answer, dict(requests.operations("dynamodb"))


def grow(admin_api: ApiClient, count: int) -> None:
    """Customers of another CSM: what a read of csm-1's screens must not pay for."""
    for n in range(count):
        customer(admin_api, f"Other {n:02d}", owner_id="csm-2", renewal_date="2027-02-01")


def task(admin_api: ApiClient, offset: int) -> None:
    due = (TODAY + timedelta(days=offset)).isoformat()
    assert admin_api.post("/v1/tasks", {"title": f"due {offset}", "owner_id": "csm-1", "due_date": due}).status == 201


@pytest.fixture
def sinking(admin_api: ApiClient, workspace: str) -> str:
    """csm-1's customer with everything the flags read: 60 days of usage (down 35 %), a stale critical
    ticket and a negative email, a bounced champion, two renewals and a success-plan risk signal."""
    cid = customer(admin_api, "Initech", renewal_date=(TODAY + timedelta(days=20)).isoformat())
    put_usage(workspace, cid, previous_per_day=100, recent_per_day=65)
    put_signals(
        workspace,
        cid,
        SignalLog(
            tickets={"ZD-1": {"at": at(8), "st": "open", "pr": "critical", "id": "tl_ticket1"}},
            meetings={"tl_meet": {"at": at(2), "min": 30.0}},
        ),
    )
    champion = admin_api.post(
        f"/v1/customers/{cid}/contacts", {"name": "Dana", "email": "dana@initech.example", "is_champion": True}
    )
    assert champion.status == 201, champion.body
    assert admin_api.patch(f"/v1/customers/{cid}/contacts/{champion.body['contact_id']}", {"email_bounced": True})
    assert admin_api.post(f"/v1/customers/{cid}/contacts", {"name": "Lee"}).status == 201
    addon = {"product": "Data Hub", "renewal_date": "2027-06-01", "mrr": 500}
    assert admin_api.post(f"/v1/customers/{cid}/renewals", addon).status == 201
    plan_store.raise_risk_signal(
        workspace,
        cid,
        plan_store.RiskSignal("milestone_overdue", "ms_1", TODAY.isoformat(), "Milestone overdue: go-live", {}),
    )
    return cid


# --- Customer 360: flags ---------------------------------------------------------------------------------
def test_the_flags_are_computed_in_three_requests_whatever_the_workspaces_size(
    admin_api: ApiClient, csm1: ApiClient, sinking: str
) -> None:
    small, small_cost = cost(lambda: csm1.get(f"/v1/customers/{sinking}/flags"))
    grow(admin_api, 25)
    large, large_cost = cost(lambda: csm1.get(f"/v1/customers/{sinking}/flags"))

    # One BatchGetItem (profile, signal log, 60 metric days, forecast categories), one Query (renewals and
    # risk signals), one Query (contacts).
    assert small_cost == large_cost == {"BatchGetItem": 1, "Query": 2}
    assert small.status == large.status == 200 and small.body == large.body
    red = [f["code"] for f in large.body["red"]]
    assert red[:2] == ["champion_changed", "usage_drop"] and red[-1] == "milestone_overdue"
    assert "stale_severe_tickets" in red
    assert large.body["escalation"]["suggested"] is True and large.body["escalation"]["renewal_id"] is not None


def test_a_cold_container_reads_the_health_model_with_the_flags_first_request(
    csm1: ApiClient, sinking: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwell.storage import health_models

    warm = csm1.get(f"/v1/customers/{sinking}/flags")
    monkeypatch.setattr(health_models, "CACHE_SECONDS", 0.0)  # every lookup finds the cache expired
    with count_aws_requests() as requests:
        cold = csm1.get(f"/v1/customers/{sinking}/flags")

    assert requests.operations("dynamodb") == {"BatchGetItem": 1, "Query": 2}
    assert cold.body == warm.body


def test_another_csms_customer_answers_404_after_reading_its_profile_only(
    csm1: ApiClient, csm2: ApiClient, sinking: str
) -> None:
    response, operations = cost(lambda: csm2.get(f"/v1/customers/{sinking}/flags"))
    unknown, _ = cost(lambda: csm2.get("/v1/customers/cus_0000000000000000/flags"))

    assert response.status == unknown.status == 404
    assert response.body["error"]["details"] == [{"field": "customer_id", "issue": "not found"}]
    assert response.body["error"]["details"] == unknown.body["error"]["details"]
    assert operations == {"BatchGetItem": 1}


# --- My day ----------------------------------------------------------------------------------------------
def test_my_day_reads_tasks_book_and_notifications_once_each_whatever_the_workspaces_size(
    admin_api: ApiClient, csm1: ApiClient, workspace: str, sinking: str
) -> None:
    for offset in (-3, -1, 0, 0, 2):
        due = (TODAY + timedelta(days=offset)).isoformat()
        assert (
            admin_api.post("/v1/tasks", {"title": f"due {offset}", "owner_id": "csm-1", "due_date": due}).status == 201
        )
    small, small_cost = cost(lambda: csm1.get("/v1/my-day"))
    grow(admin_api, 25)
    large, large_cost = cost(lambda: csm1.get("/v1/my-day"))

    # One Query of the open tasks up to today, one of the book's memberships, one BatchGetItem of its
    # profiles, one Query of the notifications.
    assert small_cost == large_cost == {"Query": 3, "BatchGetItem": 1}
    assert small.body == large.body
    assert [t["title"] for t in large.body["overdue"]] == ["due -3", "due -1"]
    assert [t["title"] for t in large.body["due_today"]] == ["due 0", "due 0"]


def test_more_overdue_tasks_than_my_day_shows_still_list_the_oldest_and_all_of_todays(
    admin_api: ApiClient, csm1: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwell.services import tasks

    for offset in (-4, -3, -2, 0, 0):
        due = (TODAY + timedelta(days=offset)).isoformat()
        assert (
            admin_api.post("/v1/tasks", {"title": f"due {offset}", "owner_id": "csm-1", "due_date": due}).status == 201
        )
    monkeypatch.setattr(tasks, "MY_DAY_LIMIT", 2)

    body = csm1.get("/v1/my-day").body

    assert [t["title"] for t in body["overdue"]] == ["due -4", "due -3"]
    assert [t["title"] for t in body["due_today"]] == ["due 0", "due 0"]


# --- the portfolio page ----------------------------------------------------------------------------------
def test_a_portfolio_page_reads_what_it_shows_in_two_requests(admin_api: ApiClient, csm1: ApiClient) -> None:
    for n in range(7):
        customer(admin_api, f"Book {n}")
    grow(admin_api, 10)
    requested: list[int] = []

    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "BatchGetItem":
            requested.extend(len(v["Keys"]) for v in params["RequestItems"].values())
        return original(self, operation, params)

    page, operations = cost(lambda: csm1.get("/v1/customers", limit=3))
    botocore.client.BaseClient._make_api_call = spy  # type: ignore[method-assign]
    try:
        again = csm1.get("/v1/customers", limit=3)
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    assert operations == {"Query": 1, "BatchGetItem": 1}
    assert requested == [4]  # the page and the one more that says another page follows
    assert [c["name"] for c in page.body["items"]] == ["Book 0", "Book 1", "Book 2"] and page.body["next_cursor"]
    assert again.body == page.body
    rest = csm1.get("/v1/customers", limit=50, cursor=page.body["next_cursor"]).body
    assert [c["name"] for c in rest["items"]] == [f"Book {n}" for n in range(3, 7)] and rest["next_cursor"] is None
