"""The renewals pipeline reads its rows from the renewal items (issue 23, decision 0027, docs/renewals.md
"Reads"): what a row shows besides the renewal — customer name, owner, co-owners, archived, next
action, last activity — is kept on the renewal by the one writer of each source, a CSM's pipeline
reads their book only, and the answer is the one the sources give. Counted on moto through the real
API handler; bench/api_latency.py measures the same read on the full demo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bench.recalc import count_aws_requests
from keepwell import clock
from keepwell.domain.tasks import Task
from keepwell.domain.timeline import TimelineEntry
from keepwell.services import tasks as task_service
from keepwell.services import timeline_recording
from keepwell.storage import keys, renewal_rows
from keepwell.storage import renewals as renewal_store
from tests.conftest import ApiClient
from tests.integration.test_churn_api import TODAY

RENEWAL_PLAYBOOK = "pb_default_renewal"


def customer(api: ApiClient, name: str, owner_id: str = "csm-1", **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": name, "arr": 12_000, "owner_id": owner_id, **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def renewal(api: ApiClient, customer_id: str, days: int, **fields: Any) -> str:
    date_ = (TODAY + timedelta(days=days)).isoformat()
    response = api.post(f"/v1/customers/{customer_id}/renewals", {"renewal_date": date_, **fields})
    assert response.status == 201, response.body
    return str(response.body["renewal_id"])


def playbook_task(workspace: str, customer_id: str, task_id: str, due_in: int, playbook_id: str) -> Task:
    """A playbook step's task, written as the playbooks worker writes it."""
    now = clock.iso(clock.now())
    task = Task(
        task_id=task_id,
        workspace_id=workspace,
        title=f"Step {task_id}",
        owner_id="csm-1",
        due_date=TODAY + timedelta(days=due_in),
        customer_id=customer_id,
        source="playbook_run",
        playbook_id=playbook_id,
        run_id="run_1",
        step_index=0,
        created_by=f"playbook:{playbook_id}",
        created_at=now,
        updated_at=now,
    )
    assert task_service.create_playbook_task(task)
    return task


def email(workspace: str, customer_id: str, hours_ago: int, item_id: str) -> None:
    entry = TimelineEntry(
        customer_id=customer_id,
        kind="email",
        occurred_at=clock.now() - timedelta(hours=hours_ago),
        title="Re: renewal",
        item_id=item_id,
        attributes={"direction": "in"},
    )
    timeline_recording.record_timeline_entries(workspace, [entry])


def rows(api: ApiClient, **query: Any) -> dict[str, dict[str, Any]]:
    """The pipeline's open rows by customer name."""
    body = api.get("/v1/renewals", **query).body
    return {r["customer_name"]: r for g, group in body["groups"].items() if g != "historical" for r in group}


def cost(api: ApiClient, **query: Any) -> tuple[Any, dict[str, int]]:
    api.get("/v1/renewals", **query)  # warm: a container's caches
    with count_aws_requests() as requests:
        answer = api.get("/v1/renewals", **query)
    assert answer.status == 200, answer.body
    return answer.body, dict(requests.operations("dynamodb"))


@pytest.fixture
def book(admin_api: ApiClient, workspace: str) -> dict[str, str]:
    """csm-1's book: three customers with renewals, one with a renewal playbook's task and an email."""
    admin_api.get("/v1/playbooks")  # creates the default playbooks, the renewal one among them
    found = {}
    for n, name in enumerate(("Alpha", "Beta", "Gamma")):
        found[name] = customer(admin_api, name)
        renewal(admin_api, found[name], 20 + 30 * n)
    renewal(admin_api, found["Alpha"], 100, product="Add-on", mrr=50)
    playbook_task(workspace, found["Alpha"], "tsk_renew1", 5, RENEWAL_PLAYBOOK)
    email(workspace, found["Alpha"], 30, "tl_mail1")
    return found


def grow(admin_api: ApiClient, count: int) -> None:
    """Customers and renewals of another CSM: what csm-1's pipeline must not pay for."""
    for n in range(count):
        renewal(admin_api, customer(admin_api, f"Other {n:02d}", owner_id="csm-2"), 10 + n)


# --- requests ----------------------------------------------------------------------------------------
def test_a_csms_pipeline_reads_its_book_in_three_requests_whatever_the_workspaces_size(
    admin_api: ApiClient, csm1: ApiClient, book: dict[str, str]
) -> None:
    small, small_cost = cost(csm1)
    grow(admin_api, 25)
    large, large_cost = cost(csm1)

    # One BatchGetItem (forecast settings and the rows marker), one Query of csm-1's renewals (gsi2),
    # one of their co-owner memberships (none).
    assert small_cost == large_cost == {"BatchGetItem": 1, "Query": 2}
    assert small == large
    assert sum(t["count"] for t in large["totals"].values()) == 4
    alpha = [r for g in large["groups"].values() for r in g if r["customer_name"] == "Alpha" and not r["product"]]
    assert alpha[0]["next_action"]["task_id"] == "tsk_renew1"
    assert alpha[0]["last_activity"] == {
        "at": alpha[0]["last_activity"]["at"],
        "kind": "email_in",
        "ref": "tl_mail1",
        "days_ago": 1,
    }


def test_a_directors_pipeline_is_two_requests_and_one_book_three_whatever_the_workspaces_size(
    admin_api: ApiClient, director: ApiClient, book: dict[str, str]
) -> None:
    small, small_cost = cost(director)
    grow(admin_api, 25)
    large, large_cost = cost(director)
    by_owner, by_owner_cost = cost(director, owner_id="csm-1")

    # One BatchGetItem (settings, marker) and one Query of the workspace's listing (gsi1); one book asked
    # for is read as that book (its gsi2 listing and co-owner memberships).
    assert small_cost == large_cost == {"BatchGetItem": 1, "Query": 1}
    assert by_owner_cost == {"BatchGetItem": 1, "Query": 2}
    assert sum(t["count"] for t in small["totals"].values()) == 4
    assert sum(t["count"] for t in large["totals"].values()) == 29
    assert by_owner == small


def test_a_co_owner_sees_the_co_owned_customers_renewals(
    admin_api: ApiClient, csm1: ApiClient, csm2: ApiClient, director: ApiClient, book: dict[str, str]
) -> None:
    shared = customer(admin_api, "Shared", owner_id="csm-2", co_owner_ids=["csm-1"])
    renewal(admin_api, shared, 40)
    theirs = customer(admin_api, "Theirs", owner_id="csm-2")
    renewal(admin_api, theirs, 40)

    body, operations = cost(csm1)

    assert set(rows(csm1)) == {"Alpha", "Beta", "Gamma", "Shared"}
    assert set(rows(csm2)) == {"Shared", "Theirs"}
    assert set(rows(director, owner_id="csm-1")) == {"Alpha", "Beta", "Gamma", "Shared"}
    # The co-owned customer's renewals: one Query of its collection (one per co-owned customer).
    assert operations == {"BatchGetItem": 1, "Query": 3}
    assert sum(t["count"] for t in body["totals"].values()) == 5


# --- the sources' changes reach the rows ---------------------------------------------------------------
def test_a_rename_an_owner_change_and_an_archive_are_reflected(
    admin_api: ApiClient, csm1: ApiClient, csm2: ApiClient, book: dict[str, str]
) -> None:
    assert admin_api.patch(f"/v1/customers/{book['Beta']}", {"name": "Beta Renamed"}).status == 200
    assert admin_api.patch(f"/v1/customers/{book['Gamma']}", {"owner_id": "csm-2"}).status == 200
    assert admin_api.post(f"/v1/customers/{book['Alpha']}/archive", {}).status == 200

    assert set(rows(csm1)) == {"Beta Renamed"}
    assert set(rows(csm2)) == {"Gamma"} and rows(csm2)["Gamma"]["owner_id"] == "csm-2"
    assert set(rows(admin_api)) == {"Beta Renamed", "Gamma"}
    upcoming = csm2.get("/v1/renewals/upcoming", within=90).body["items"]
    assert [(r["account"], r["owner_id"]) for r in upcoming] == [("Gamma", "csm-2")]


def test_a_renewal_playbook_tasks_changes_move_the_next_action(
    admin_api: ApiClient, csm1: ApiClient, workspace: str, book: dict[str, str]
) -> None:
    beta = book["Beta"]
    assert rows(csm1)["Beta"]["next_action"] is None
    playbook_task(workspace, beta, "tsk_later", 9, RENEWAL_PLAYBOOK)
    playbook_task(workspace, beta, "tsk_sooner", 3, RENEWAL_PLAYBOOK)
    playbook_task(workspace, beta, "tsk_other", 1, "pb_default_onboarding")  # not a renewal playbook
    assert rows(csm1)["Beta"]["next_action"]["task_id"] == "tsk_sooner"

    done = admin_api.patch("/v1/tasks/tsk_sooner", {"status": "completed"})
    assert done.status == 200, done.body
    assert rows(csm1)["Beta"]["next_action"] == {
        "task_id": "tsk_later",
        "title": "Step tsk_later",
        "due_date": (TODAY + timedelta(days=9)).isoformat(),
        "owner_id": "csm-1",
        "status": "pending",
    }
    assert admin_api.patch("/v1/tasks/tsk_later", {"status": "skipped"}).status == 200
    assert rows(csm1)["Beta"]["next_action"] is None


def test_a_new_email_becomes_the_last_activity(csm1: ApiClient, workspace: str, book: dict[str, str]) -> None:
    assert rows(csm1)["Gamma"]["last_activity"] is None
    email(workspace, book["Gamma"], 50, "tl_old")
    email(workspace, book["Gamma"], 2, "tl_new")
    email(workspace, book["Gamma"], 70, "tl_older")  # older: the row keeps the newest

    activity = rows(csm1)["Gamma"]["last_activity"]
    assert (activity["ref"], activity["kind"], activity["days_ago"]) == ("tl_new", "email_in", 0)


def renewal_updates(call: Any) -> list[str]:
    """The UpdateItem requests a call sends to renewal items (their keys)."""
    import botocore.client

    updates: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdateItem" and params["Key"]["sk"]["S"].startswith(keys.RENEWAL_PREFIX):
            updates.append(params["Key"]["sk"]["S"])
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = spy  # type: ignore[method-assign]
    try:
        call()
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
    return updates


def test_writes_that_change_nothing_a_row_shows_do_not_write_the_rows(
    admin_api: ApiClient, workspace: str, book: dict[str, str]
) -> None:
    def unchanged() -> None:
        assert admin_api.patch(f"/v1/customers/{book['Alpha']}", {"tier": "SMB"}).status == 200
        email(workspace, book["Alpha"], 40, "tl_older_mail")  # older than the latest
        assert admin_api.post("/v1/tasks", {"title": "call", "customer_id": book["Alpha"]}).status == 201
        playbook_task(workspace, book["Alpha"], "tsk_later", 30, RENEWAL_PLAYBOOK)  # not the earliest

    def renamed() -> None:
        assert admin_api.patch(f"/v1/customers/{book['Alpha']}", {"name": "Alpha Two"}).status == 200

    assert renewal_updates(unchanged) == []
    assert len(renewal_updates(renamed)) == 2  # Alpha's two renewals


# --- old items, the backfill, and who sees what -----------------------------------------------------------
def strip_rows(workspace: str) -> None:
    """Make the workspace's renewals look as they were before their rows were kept (and no marker)."""
    for item in renewal_rows.RenewalRowItem.gsi1.query(keys.renewals_listing(workspace)):
        item.update(
            actions=[
                getattr(renewal_rows.RenewalRowItem, name).remove()
                for name in ("gsi2pk", "gsi2sk", *renewal_rows.PROFILE_ATTRIBUTES, "next_action", "last_activity")
            ]
        )
    marker = keys.pipeline_rows_marker(workspace)
    renewal_rows.RowsMarkerItem(marker.pk, marker.sk).delete()


def test_old_renewal_items_read_the_same_and_the_backfill_restores_the_cheap_read(
    admin_api: ApiClient, csm1: ApiClient, csm2: ApiClient, workspace: str, book: dict[str, str]
) -> None:
    grow(admin_api, 3)
    before = {who: api.get("/v1/renewals").body for who, api in (("csm1", csm1), ("admin", admin_api))}
    upcoming_before = csm1.get("/v1/renewals/upcoming").body

    strip_rows(workspace)
    old = {who: api.get("/v1/renewals").body for who, api in (("csm1", csm1), ("admin", admin_api))}
    assert old == before
    assert csm1.get("/v1/renewals/upcoming").body == upcoming_before
    assert not renewal_store.rows_kept(workspace)

    written = renewal_store.backfill_pipeline_rows(workspace)
    assert written == 7  # every renewal item (4 of csm-1's book, 3 of the others)
    assert renewal_store.backfill_pipeline_rows(workspace) == 0  # idempotent: nothing left to write
    after, operations = cost(csm1)
    assert after == before["csm1"] and operations == {"BatchGetItem": 1, "Query": 2}
    assert admin_api.get("/v1/renewals").body == before["admin"]


def test_other_books_and_workspaces_stay_out_of_the_pipeline(
    admin_api: ApiClient, csm1: ApiClient, other_admin_api: ApiClient, book: dict[str, str]
) -> None:
    theirs = customer(admin_api, "Theirs", owner_id="csm-2")
    renewal(admin_api, theirs, 15)
    elsewhere = other_admin_api.post("/v1/customers", {"name": "Elsewhere", "arr": 1000}).body["customer_id"]
    renewal(other_admin_api, elsewhere, 15)

    assert set(rows(csm1)) == {"Alpha", "Beta", "Gamma"}
    # A CSM's owner filter narrows their own book (docs/renewals.md): none of it is csm-2's, and csm-2's
    # own customers stay out.
    assert set(rows(csm1, owner_id="csm-2")) == set()
    assert "Elsewhere" not in rows(admin_api) and "Theirs" in rows(admin_api)
    assert set(rows(other_admin_api)) == {"Elsewhere"}
    assert csm1.get(f"/v1/customers/{theirs}/renewals").status == 404
    assert admin_api.get(f"/v1/customers/{elsewhere}/renewals").status == 404
