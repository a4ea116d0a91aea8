"""A csm's or viewer's lists hold their whole book — the customers they own AND those they co-own —
through the real API handler on moto: the customer list (with its filters and cursor), segment
members and playbook dry runs. Memberships follow owner and co-owner edits in the same transaction."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from keepwell.auth import Caller
from keepwell.domain.customers import Customer
from keepwell.storage import customers as customer_store
from keepwell.storage import keys
from keepwell.storage.customers import PortfolioMembershipItem
from tests.conftest import ApiClient

TODAY = date(2026, 11, 20)


def as_role(workspace: str, user_id: str, role: str) -> ApiClient:
    return ApiClient(Caller(workspace, user_id, role))


def create_customer(api: ApiClient, name: str, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": name, **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def listed(api: ApiClient, **query: Any) -> list[str]:
    response = api.get("/v1/customers", **query)
    assert response.status == 200, response.body
    return [c["name"] for c in response.body["items"]]


def memberships(workspace: str, user_id: str) -> list[tuple[str, str]]:
    """What is stored in a user's book: (sort key, relation)."""
    partition = keys.portfolio_partition(workspace, user_id)
    return [(m.sk, m.relation) for m in PortfolioMembershipItem.query(partition, consistent_read=True)]


def test_a_viewer_co_owning_two_customers_lists_exactly_those_two(admin_api: ApiClient, workspace: str) -> None:
    create_customer(admin_api, "Acme", owner_id="csm-1", co_owner_ids=["viewer-1"])
    create_customer(admin_api, "Globex", owner_id="csm-2", co_owner_ids=["viewer-1", "csm-1"])
    create_customer(admin_api, "Initech", owner_id="csm-2")
    create_customer(admin_api, "Umbrella")

    assert listed(as_role(workspace, "viewer-1", "viewer")) == ["Acme", "Globex"]
    assert listed(admin_api) == ["Acme", "Globex", "Initech", "Umbrella"]  # oversight sees the workspace


def test_a_csm_lists_what_they_own_and_co_own_with_the_lists_filters(admin_api: ApiClient, workspace: str) -> None:
    create_customer(admin_api, "Acme", owner_id="csm-1", tier="Enterprise")
    create_customer(admin_api, "Bluth", owner_id="csm-2", co_owner_ids=["csm-1"], tier="Enterprise")
    create_customer(admin_api, "Cyberdyne", owner_id="csm-2", co_owner_ids=["csm-1"], status="churned")
    create_customer(admin_api, "Dunder", owner_id="csm-1", renewal_date=(TODAY + timedelta(days=40)).isoformat())
    create_customer(admin_api, "Initech", owner_id="csm-2")
    csm = as_role(workspace, "csm-1", "csm")

    assert listed(csm) == ["Acme", "Bluth", "Cyberdyne", "Dunder"]
    assert listed(csm, tier="Enterprise") == ["Acme", "Bluth"]
    assert listed(csm, status="churned") == ["Cyberdyne"]
    assert listed(csm, renewal_before=(TODAY + timedelta(days=60)).isoformat()) == ["Dunder"]
    assert listed(csm, owner_id="csm-2") == ["Bluth", "Cyberdyne"]  # narrows the book, never widens it
    assert listed(csm, owner_id="csm-1") == ["Acme", "Dunder"]
    assert listed(as_role(workspace, "csm-2", "csm")) == ["Bluth", "Cyberdyne", "Initech"]


def test_a_renewal_window_leaves_churned_customers_out_unless_they_are_asked_for(
    admin_api: ApiClient, workspace: str
) -> None:
    """The portfolio's "Renewal within 30 days" listed a churned customer's last contract end as a renewal
    due (and overdue); a churned customer has no renewal ahead. Asked for by status, it is still found."""
    past, soon = (TODAY - timedelta(days=20)).isoformat(), (TODAY + timedelta(days=10)).isoformat()
    create_customer(admin_api, "Acme", owner_id="csm-1", renewal_date=past)  # overdue, still a customer
    create_customer(admin_api, "Bluth", owner_id="csm-1", renewal_date=soon)
    create_customer(admin_api, "Cyberdyne", owner_id="csm-1", renewal_date=past, status="churned")
    within_30 = (TODAY + timedelta(days=30)).isoformat()
    for api in (admin_api, as_role(workspace, "csm-1", "csm")):  # the owner index, and the CSM's book
        assert listed(api, renewal_before=within_30) == ["Acme", "Bluth"]
        assert listed(api, renewal_before=within_30, sort="renewal_date") == ["Acme", "Bluth"]
        assert listed(api, renewal_before=within_30, status="churned") == ["Cyberdyne"]


def test_a_portfolio_list_pages_with_a_cursor_bound_to_its_user(admin_api: ApiClient, workspace: str) -> None:
    for name in ("Acme", "Bluth", "Cyberdyne"):
        create_customer(admin_api, name, owner_id="csm-2", co_owner_ids=["viewer-1"])
    viewer = as_role(workspace, "viewer-1", "viewer")

    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = viewer.get("/v1/customers", **query)
        assert response.status == 200, response.body
        pages.append([c["name"] for c in response.body["items"]])
        cursor = response.body["next_cursor"]
        if cursor is None:
            break
    assert pages == [["Acme", "Bluth"], ["Cyberdyne"]]

    first = viewer.get("/v1/customers", limit=1).body["next_cursor"]
    stolen = as_role(workspace, "csm-2", "csm").get("/v1/customers", cursor=first)
    assert (stolen.status, stolen.error_code) == (400, "invalid_cursor")


def test_removing_a_co_owner_takes_the_customer_out_of_their_list(admin_api: ApiClient, workspace: str) -> None:
    acme = create_customer(admin_api, "Acme", owner_id="csm-2", co_owner_ids=["viewer-1", "csm-1"])
    viewer = as_role(workspace, "viewer-1", "viewer")
    assert listed(viewer) == ["Acme"]

    removed = admin_api.patch(f"/v1/customers/{acme}", {"co_owner_ids": ["csm-1"]})

    assert removed.status == 200, removed.body
    assert listed(viewer) == []
    assert memberships(workspace, "viewer-1") == []
    assert listed(as_role(workspace, "csm-1", "csm")) == ["Acme"]
    assert viewer.get(f"/v1/customers/{acme}").status == 404


def test_owner_changes_and_renames_move_the_memberships(admin_api: ApiClient, workspace: str) -> None:
    acme = create_customer(admin_api, "Acme", owner_id="csm-1")
    create_customer(admin_api, "Bluth", owner_id="csm-1")

    moved = admin_api.patch(f"/v1/customers/{acme}", {"owner_id": "csm-2", "co_owner_ids": ["csm-1"]})
    renamed = admin_api.patch(f"/v1/customers/{acme}", {"name": "Zenith"})

    assert moved.status == 200 and renamed.status == 200
    assert listed(as_role(workspace, "csm-1", "csm")) == ["Bluth", "Zenith"]  # still by name, co-owned now
    assert listed(as_role(workspace, "csm-2", "csm")) == ["Zenith"]
    assert memberships(workspace, "csm-2") == [(f"zenith#{acme}", "owner")]
    assert (f"zenith#{acme}", "co_owner") in memberships(workspace, "csm-1")


def test_a_refused_edit_moves_no_membership(admin_api: ApiClient, workspace: str) -> None:
    create_customer(admin_api, "Acme", domain="acme.test")
    bluth = create_customer(admin_api, "Bluth", owner_id="csm-2", co_owner_ids=["viewer-1"])

    clash = admin_api.patch(f"/v1/customers/{bluth}", {"co_owner_ids": ["csm-1"], "domain": "acme.test"})

    assert clash.status == 409, clash.body
    assert listed(as_role(workspace, "viewer-1", "viewer")) == ["Bluth"]
    assert listed(as_role(workspace, "csm-1", "csm")) == []


def test_archived_co_owned_customers_are_listed_only_when_asked(admin_api: ApiClient, workspace: str) -> None:
    acme = create_customer(admin_api, "Acme", owner_id="csm-2", co_owner_ids=["viewer-1"])
    create_customer(admin_api, "Bluth", owner_id="csm-2", co_owner_ids=["viewer-1"])
    assert admin_api.post(f"/v1/customers/{acme}/archive").status == 200
    viewer = as_role(workspace, "viewer-1", "viewer")

    assert listed(viewer) == ["Bluth"]
    assert listed(viewer, include_archived="true") == ["Acme", "Bluth"]


def test_segment_members_of_a_viewer_are_the_co_owned_members(admin_api: ApiClient, workspace: str) -> None:
    create_customer(admin_api, "Acme", owner_id="csm-1", co_owner_ids=["viewer-1"], tier="Enterprise")
    create_customer(admin_api, "Bluth", owner_id="csm-2", tier="Enterprise")
    create_customer(admin_api, "Cyberdyne", owner_id="csm-2", co_owner_ids=["viewer-1"], tier="SMB")
    create_customer(admin_api, "Dunder", owner_id="csm-2", co_owner_ids=["csm-1"], tier="Enterprise")
    segment = admin_api.post("/v1/segments", {"name": "Enterprise", "condition": 'tier = "Enterprise"'})
    assert segment.status == 201, segment.body
    members = f"/v1/segments/{segment.body['segment_id']}/members"

    def names(api: ApiClient) -> list[str]:
        response = api.get(members)
        assert response.status == 200, response.body
        return [c["name"] for c in response.body["items"]]

    assert names(as_role(workspace, "viewer-1", "viewer")) == ["Acme"]
    assert names(as_role(workspace, "csm-1", "csm")) == ["Acme", "Dunder"]
    assert names(admin_api) == ["Acme", "Bluth", "Dunder"]


def test_a_playbook_dry_run_of_a_viewer_covers_their_co_owned_customers(admin_api: ApiClient, workspace: str) -> None:
    soon = (TODAY + timedelta(days=60)).isoformat()
    co_owned = create_customer(admin_api, "Acme", owner_id="csm-1", co_owner_ids=["viewer-1"], renewal_date=soon)
    create_customer(admin_api, "Bluth", owner_id="csm-2", co_owner_ids=["viewer-1"])
    create_customer(admin_api, "Cyberdyne", owner_id="csm-2", renewal_date=soon)

    response = as_role(workspace, "viewer-1", "viewer").post("/v1/playbooks/pb_default_renewal/dry-run")

    assert response.status == 200, response.body
    assert response.body["evaluated"] == 2
    assert [e["customer_id"] for e in response.body["entering"]] == [co_owned]


def test_the_backfill_gives_customers_written_before_memberships_their_books(workspace: str) -> None:
    """Profiles of before this change have no membership items; the one-off backfill writes them."""
    old = Customer(
        customer_id="cus_old",
        workspace_id=workspace,
        name="Legacy Ltd",
        owner_id="csm-2",
        co_owner_ids=["viewer-1"],
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )
    customer_store.to_item(old).save()  # the profile alone, as it was stored before
    viewer = as_role(workspace, "viewer-1", "viewer")
    assert listed(viewer) == []

    written = customer_store.backfill_portfolio_memberships(workspace)

    assert written == 2
    assert listed(viewer) == ["Legacy Ltd"]
    assert listed(as_role(workspace, "csm-2", "csm")) == ["Legacy Ltd"]
    assert customer_store.backfill_portfolio_memberships(workspace) == 2  # idempotent
    assert memberships(workspace, "viewer-1") == [("legacy ltd#cus_old", "co_owner")]


def test_the_seed_batch_writes_memberships_too(workspace: str) -> None:
    seeded = Customer(
        customer_id="cus_seed",
        workspace_id=workspace,
        name="Seeded",
        owner_id="csm-1",
        co_owner_ids=["viewer-1"],
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )
    customer_store.put_customers_batch(workspace, [seeded])
    assert listed(as_role(workspace, "viewer-1", "viewer")) == ["Seeded"]
    assert listed(as_role(workspace, "csm-1", "csm")) == ["Seeded"]
