"""A person's book handed over when they leave or become a viewer: `transfer_to` on
`POST /v1/users/{id}/deactivate` and `PUT /v1/users/{id}/role`. Their customers (owned, and co-owned when
they leave) and open tasks go to a colleague, each owner change audited; a viewer, who owns nothing, is
not made of an owner without it; a refused request moves nothing."""

from __future__ import annotations

from typing import Any

import pytest

from keepwell.auth import Caller
from tests.conftest import ApiClient
from tests.rbac_routes import table_items


def customer(admin: ApiClient, name: str, owner: str, co_owners: list[str] | None = None) -> str:
    created = admin.post("/v1/customers", {"name": name, "owner_id": owner, "co_owner_ids": co_owners or []})
    assert created.status == 201, created.body
    return str(created.body["customer_id"])


def task(admin: ApiClient, customer_id: str, owner: str, title: str, status: str = "pending") -> str:
    created = admin.post("/v1/tasks", {"title": title, "customer_id": customer_id, "owner_id": owner})
    assert created.status == 201, created.body
    if status != "pending":
        assert admin.patch(f"/v1/tasks/{created.body['task_id']}", {"status": status}).status == 200
    return str(created.body["task_id"])


def owners(admin: ApiClient, customer_id: str) -> tuple[str, list[str]]:
    body = admin.get(f"/v1/customers/{customer_id}").body
    return body["owner_id"], body["co_owner_ids"]


def tasks_of(admin: ApiClient, owner: str) -> set[str]:
    return {t["title"] for t in admin.get("/v1/tasks", owner_id=owner).body["items"]}


@pytest.fixture
def book(admin_api: ApiClient) -> dict[str, Any]:
    """csm-2 owns Initech and Umbrella (co-owned by viewer-1), co-owns csm-1's Hooli and director-1's
    Globex, and has two open tasks and a completed one."""
    ids = {
        "initech": customer(admin_api, "Initech", "csm-2"),
        "umbrella": customer(admin_api, "Umbrella", "csm-2", ["viewer-1"]),
        "hooli": customer(admin_api, "Hooli", "csm-1", ["csm-2"]),
        "globex": customer(admin_api, "Globex", "director-1", ["csm-2", "viewer-1"]),
    }
    task(admin_api, ids["initech"], "csm-2", "Kick-off call")
    task(admin_api, ids["hooli"], "csm-2", "QBR deck", status="in_progress")
    task(admin_api, ids["initech"], "csm-2", "Welcome email", status="completed")
    return ids


def test_a_departing_csms_customers_and_open_tasks_go_to_the_colleague_named(
    admin_api: ApiClient, book: dict[str, Any]
) -> None:
    left = admin_api.post("/v1/users/csm-2/deactivate", {"transfer_to": "csm-1"})
    assert left.status == 200, left.body
    assert left.body["active"] is False
    assert left.body["handed_over"] == {"to": "csm-1", "owned": 2, "co_owned": 2, "tasks": 2, "kept_by_hubspot": []}

    assert owners(admin_api, book["initech"]) == ("csm-1", [])
    assert owners(admin_api, book["umbrella"]) == ("csm-1", ["viewer-1"])
    assert owners(admin_api, book["hooli"]) == ("csm-1", [])  # csm-1 owned it already: no co-owner of their own
    assert owners(admin_api, book["globex"]) == ("director-1", ["csm-1", "viewer-1"])  # in csm-2's place
    assert tasks_of(admin_api, "csm-1") == {"Kick-off call", "QBR deck"}
    assert tasks_of(admin_api, "csm-2") == {"Welcome email"}  # done work stays with whoever did it

    # csm-1 now sees the whole book; nobody's list still names csm-2.
    csm1 = ApiClient(Caller("ws_acme", "csm-1", "csm"))
    names = {c["name"] for c in csm1.get("/v1/customers").body["items"]}
    assert names == {"Initech", "Umbrella", "Hooli", "Globex"}
    assert admin_api.get("/v1/customers", owner_id="csm-2").body["items"] == []

    audit = admin_api.get("/v1/audit").body["items"]
    changed = {e["target"]: e for e in audit if e["action"] == "customer.owner_changed"}
    assert changed[f"customer:{book['initech']}"]["after"] == {"owner_id": "csm-1"}
    assert changed[f"customer:{book['globex']}"]["before"]["co_owner_ids"] == ["csm-2", "viewer-1"]
    assert {e["actor_id"] for e in changed.values()} == {"admin-1"} and len(changed) == 4
    deactivated = next(e for e in audit if e["action"] == "user.deactivated")
    assert deactivated["after"] == {"active": False, "role": "csm", "transfer_to": "csm-1"}


def test_a_book_left_behind_is_handed_over_by_deactivating_again_with_transfer_to(
    admin_api: ApiClient, book: dict[str, Any]
) -> None:
    left = admin_api.post("/v1/users/csm-2/deactivate")
    assert (left.status, left.body["handed_over"]) == (200, None)
    assert owners(admin_api, book["initech"]) == ("csm-2", [])  # without transfer_to nothing moves

    later = admin_api.post("/v1/users/csm-2/deactivate", {"transfer_to": "director-1"})
    assert later.status == 200, later.body
    assert later.body["handed_over"]["owned"] == 2 and later.body["handed_over"]["tasks"] == 2
    assert owners(admin_api, book["initech"]) == ("director-1", [])
    assert owners(admin_api, book["globex"]) == ("director-1", ["viewer-1"])
    again = admin_api.post("/v1/users/csm-2/deactivate", {"transfer_to": "director-1"})
    assert again.body["handed_over"] == {
        "to": "director-1",
        "owned": 0,
        "co_owned": 0,
        "tasks": 0,
        "kept_by_hubspot": [],
    }


def test_making_a_viewer_of_an_owner_needs_transfer_to_and_then_moves_only_what_a_viewer_cannot_hold(
    admin_api: ApiClient, book: dict[str, Any]
) -> None:
    before = table_items()
    refused = admin_api.request("PUT", "/v1/users/csm-2/role", body={"role": "viewer"})
    assert (refused.status, refused.error_code) == (409, "owns_customers")
    assert refused.body["error"]["message"] == (
        "csm-2 owns 2 customers and a viewer owns none: name transfer_to, who takes them over"
    )
    assert table_items() == before

    demoted = admin_api.request("PUT", "/v1/users/csm-2/role", body={"role": "viewer", "transfer_to": "csm-1"})
    assert demoted.status == 200, demoted.body
    assert demoted.body["role"] == "viewer"
    assert demoted.body["handed_over"] == {"to": "csm-1", "owned": 2, "co_owned": 0, "tasks": 2, "kept_by_hubspot": []}
    assert owners(admin_api, book["initech"]) == ("csm-1", [])
    assert owners(admin_api, book["hooli"]) == ("csm-1", ["csm-2"])  # a viewer may co-own: reading stays
    assert tasks_of(admin_api, "csm-1") == {"Kick-off call", "QBR deck"}
    viewer = ApiClient(Caller("ws_acme", "csm-2", "viewer"))
    assert {c["name"] for c in viewer.get("/v1/customers").body["items"]} == {"Hooli", "Globex"}


def test_a_role_change_of_someone_who_owns_nothing_needs_no_transfer_to(admin_api: ApiClient, workspace: str) -> None:
    demoted = admin_api.request("PUT", "/v1/users/csm-2/role", body={"role": "viewer"})
    assert (demoted.status, demoted.body["role"], demoted.body["handed_over"]) == (200, "viewer", None)


@pytest.mark.parametrize(
    ("transfer_to", "issue"),
    [
        ("csm-2", "is the person themselves"),
        ("viewer-1", "viewer-1 is a viewer, who cannot be given work"),
        ("usr_nobody", "usr_nobody is not an active user of this workspace"),
        ("admin-9", "admin-9 is not an active user of this workspace"),  # another workspace's admin
    ],
)
def test_transfer_to_someone_who_cannot_take_the_book_is_refused_naming_it_and_moves_nothing(
    admin_api: ApiClient, book: dict[str, Any], other_workspace: str, transfer_to: str, issue: str
) -> None:
    before = table_items()
    for method, path, body in (
        ("POST", "/v1/users/csm-2/deactivate", {"transfer_to": transfer_to}),
        ("PUT", "/v1/users/csm-2/role", {"role": "viewer", "transfer_to": transfer_to}),
    ):
        refused = admin_api.request(method, path, body=body)
        assert refused.status == 400, (path, refused.body)
        assert refused.body["error"]["details"] == [{"field": "transfer_to", "issue": issue}]
    assert table_items() == before


def test_the_last_admin_is_refused_before_any_customer_moves(admin_api: ApiClient, workspace: str) -> None:
    owned = customer(admin_api, "Soylent", "admin-1")
    before = table_items()
    refused = admin_api.post("/v1/users/admin-1/deactivate", {"transfer_to": "csm-1"})
    assert (refused.status, refused.error_code) == (409, "last_admin")
    assert table_items() == before
    assert owners(admin_api, owned) == ("admin-1", [])


def test_only_an_admin_hands_a_book_over(book: dict[str, Any], workspace: str) -> None:
    director = ApiClient(Caller(workspace, "director-1", "director"))
    before = table_items()
    assert director.post("/v1/users/csm-2/deactivate", {"transfer_to": "director-1"}).status == 403
    assert table_items() == before


def test_an_unknown_field_in_the_deactivation_body_is_refused_naming_it(admin_api: ApiClient, workspace: str) -> None:
    refused = admin_api.post("/v1/users/csm-2/deactivate", {"transfer": "csm-1"})
    assert refused.status == 400 and refused.body["error"]["details"][0]["field"] == "transfer"
    assert admin_api.get("/v1/users").body["items"][3]["active"] is True


def test_a_book_is_handed_over_without_touching_access_for_someone_on_leave(
    admin_api: ApiClient, book: dict[str, Any]
) -> None:
    moved = admin_api.post("/v1/users/csm-2/hand-over", {"transfer_to": "csm-1"})
    assert moved.status == 200, moved.body
    assert moved.body == {"to": "csm-1", "owned": 2, "co_owned": 2, "tasks": 2, "kept_by_hubspot": []}
    assert owners(admin_api, book["initech"]) == ("csm-1", [])
    assert owners(admin_api, book["globex"]) == ("director-1", ["csm-1", "viewer-1"])
    assert tasks_of(admin_api, "csm-1") == {"Kick-off call", "QBR deck"}
    csm2 = next(u for u in admin_api.get("/v1/users").body["items"] if u["user_id"] == "csm-2")
    assert (csm2["active"], csm2["role"]) == (True, "csm")  # still here, with an empty book
    assert ApiClient(Caller("ws_acme", "csm-2", "csm")).get("/v1/customers").body["items"] == []
    entry = next(e for e in admin_api.get("/v1/audit").body["items"] if e["action"] == "user.book_handed_over")
    assert (entry["target"], entry["after"]["owned"], entry["after"]["to"]) == ("user:csm-2", 2, "csm-1")


def test_a_hand_over_needs_someone_to_take_it_and_an_admin_to_ask(
    admin_api: ApiClient, book: dict[str, Any], workspace: str
) -> None:
    before = table_items()
    missing = admin_api.post("/v1/users/csm-2/hand-over", {})
    assert (missing.status, missing.body["error"]["details"][0]["field"]) == (400, "transfer_to")
    itself = admin_api.post("/v1/users/csm-2/hand-over", {"transfer_to": "csm-2"})
    assert itself.status == 400 and itself.body["error"]["details"][0]["issue"] == "is the person themselves"
    unknown = admin_api.post("/v1/users/usr_nobody/hand-over", {"transfer_to": "csm-1"})
    assert unknown.status == 404
    director = ApiClient(Caller(workspace, "director-1", "director"))
    assert director.post("/v1/users/csm-2/hand-over", {"transfer_to": "director-1"}).status == 403
    assert table_items() == before
