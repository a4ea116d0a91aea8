"""Contact routes (and the champion rule) through the real API handler on moto."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest

from keepwell.auth import Caller
from tests.conftest import ApiClient


def table_items() -> list[dict[str, Any]]:
    """Every item of the table (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def customer_id(admin_api: ApiClient) -> str:
    response = admin_api.post("/v1/customers", {"name": "Acme Corp", "domain": "acme.com"})
    assert response.status == 201
    return response.body["customer_id"]


def add_contact(api: ApiClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/v1/customers/{customer_id}/contacts", {"name": "Dana Scully", **fields})
    assert response.status == 201, response.body
    return response.body


def champion_of(api: ApiClient, customer_id: str) -> str | None:
    return api.get(f"/v1/customers/{customer_id}").body["champion_contact_id"]


def test_created_contact_is_listed_under_its_customer(admin_api: ApiClient, customer_id: str) -> None:
    created = add_contact(admin_api, customer_id, email="Dana@ACME.com", title="VP Ops", phone="+1 555 0100")

    assert created["contact_id"].startswith("con_")
    assert created["email"] == "Dana@acme.com"
    assert created["is_champion"] is False
    listed = admin_api.get(f"/v1/customers/{customer_id}/contacts")
    assert listed.status == 200
    assert listed.body["items"] == [created]


def test_making_a_contact_champion_unsets_the_previous_one(admin_api: ApiClient, customer_id: str) -> None:
    first = add_contact(admin_api, customer_id, name="First", is_champion=True)
    assert champion_of(admin_api, customer_id) == first["contact_id"]

    second = add_contact(admin_api, customer_id, name="Second")
    response = admin_api.patch(f"/v1/customers/{customer_id}/contacts/{second['contact_id']}", {"is_champion": True})

    assert response.status == 200
    assert response.body["is_champion"] is True
    assert champion_of(admin_api, customer_id) == second["contact_id"]
    flags = {c["name"]: c["is_champion"] for c in admin_api.get(f"/v1/customers/{customer_id}/contacts").body["items"]}
    assert flags == {"First": False, "Second": True}


def test_creating_a_champion_contact_replaces_the_current_champion(admin_api: ApiClient, customer_id: str) -> None:
    add_contact(admin_api, customer_id, name="Old", is_champion=True)
    new = add_contact(admin_api, customer_id, name="New", is_champion=True)
    assert champion_of(admin_api, customer_id) == new["contact_id"]
    champions = [
        c["name"] for c in admin_api.get(f"/v1/customers/{customer_id}/contacts").body["items"] if c["is_champion"]
    ]
    assert champions == ["New"]


def test_unsetting_the_champion_leaves_the_customer_without_one(admin_api: ApiClient, customer_id: str) -> None:
    champ = add_contact(admin_api, customer_id, is_champion=True)
    response = admin_api.patch(f"/v1/customers/{customer_id}/contacts/{champ['contact_id']}", {"is_champion": False})
    assert response.status == 200
    assert champion_of(admin_api, customer_id) is None


def test_deleting_the_champion_clears_it_on_the_customer(admin_api: ApiClient, customer_id: str) -> None:
    champ = add_contact(admin_api, customer_id, is_champion=True)
    other = add_contact(admin_api, customer_id, name="Other")

    response = admin_api.delete(f"/v1/customers/{customer_id}/contacts/{champ['contact_id']}")

    assert response.status == 204
    assert champion_of(admin_api, customer_id) is None
    assert [c["contact_id"] for c in admin_api.get(f"/v1/customers/{customer_id}/contacts").body["items"]] == [
        other["contact_id"]
    ]


def test_champion_switch_does_not_break_a_later_customer_patch(admin_api: ApiClient, customer_id: str) -> None:
    add_contact(admin_api, customer_id, is_champion=True)  # bumps the customer's version
    response = admin_api.patch(f"/v1/customers/{customer_id}", {"tier": "gold"})
    assert response.status == 200
    assert response.body["champion_contact_id"] is not None


def test_patch_changes_sent_fields_and_a_new_title_records_a_role_change(
    admin_api: ApiClient, customer_id: str
) -> None:
    contact = add_contact(admin_api, customer_id, title="Head of CS", phone="+1 555 0100")
    path = f"/v1/customers/{customer_id}/contacts/{contact['contact_id']}"

    response = admin_api.patch(path, {"title": "COO", "phone": None, "email_bounced": True})

    assert response.status == 200
    assert response.body["title"] == "COO"
    assert response.body["phone"] is None
    assert response.body["email_bounced"] is True
    assert response.body["role_change_recorded_at"] == "2026-11-20T09:30:00.000Z"
    assert response.body["name"] == contact["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"is_champion": "yes"}, "is_champion"),
        ({"phone": "call me"}, "phone"),
        ({"nickname": "D"}, "nickname"),
    ],
)
def test_invalid_contact_is_rejected_naming_the_field_and_nothing_saved(
    admin_api: ApiClient, customer_id: str, body: dict[str, Any], field: str
) -> None:
    before = table_items()
    response = admin_api.post(f"/v1/customers/{customer_id}/contacts", {"name": "Dana", **body})
    assert response.status == 400
    assert field in {d["field"] for d in response.body["error"]["details"]}
    assert table_items() == before


def test_unknown_customer_or_contact_is_404(admin_api: ApiClient, customer_id: str) -> None:
    contact = add_contact(admin_api, customer_id)
    assert admin_api.get("/v1/customers/cus_missing/contacts").status == 404
    assert admin_api.post("/v1/customers/cus_missing/contacts", {"name": "X"}).status == 404
    assert admin_api.patch(f"/v1/customers/{customer_id}/contacts/con_missing", {"name": "X"}).status == 404
    assert admin_api.delete(f"/v1/customers/{customer_id}/contacts/con_missing").status == 404
    # A real contact addressed under another customer is not found either.
    other = admin_api.post("/v1/customers", {"name": "Other"}).body["customer_id"]
    assert admin_api.delete(f"/v1/customers/{other}/contacts/{contact['contact_id']}").status == 404


def test_other_workspace_customer_is_404_on_every_contact_route_and_nothing_written(
    admin_api: ApiClient, other_admin_api: ApiClient
) -> None:
    theirs = other_admin_api.post("/v1/customers", {"name": "Globex Client"}).body["customer_id"]
    their_contact = add_contact(other_admin_api, theirs, name="Fox Mulder", is_champion=True)["contact_id"]
    before = table_items()

    calls = [
        admin_api.get(f"/v1/customers/{theirs}/contacts"),
        admin_api.post(f"/v1/customers/{theirs}/contacts", {"name": "Intruder", "is_champion": True}),
        admin_api.patch(f"/v1/customers/{theirs}/contacts/{their_contact}", {"name": "Changed"}),
        admin_api.delete(f"/v1/customers/{theirs}/contacts/{their_contact}"),
    ]

    assert [c.status for c in calls] == [404, 404, 404, 404]
    assert all("Mulder" not in str(c.body) for c in calls)
    assert table_items() == before


def test_viewer_cannot_change_contacts(admin_api: ApiClient, workspace: str, customer_id: str) -> None:
    contact = add_contact(admin_api, customer_id)
    admin_api.patch(f"/v1/customers/{customer_id}", {"co_owner_ids": ["viewer-1"]})  # assigned to the viewer
    viewer = ApiClient(Caller(workspace, "viewer-1", "viewer"))
    before = table_items()
    path = f"/v1/customers/{customer_id}/contacts"

    writes = [
        viewer.post(path, {"name": "X"}),
        viewer.patch(f"{path}/{contact['contact_id']}", {"name": "Y"}),
        viewer.delete(f"{path}/{contact['contact_id']}"),
    ]

    assert [w.status for w in writes] == [403, 403, 403]
    assert table_items() == before
    assert viewer.get(path).body["items"] == [contact]


# --- contact depth for the Relationship dimension (issue 21) ------------------------------------------
def test_contact_writes_keep_the_profiles_counters_that_the_scorers_one_read_returns(
    admin_api: ApiClient, customer_id: str, workspace: str
) -> None:
    from datetime import date

    from keepwell.domain.contacts import ContactDepth
    from keepwell.storage import health_snapshots

    def depth() -> ContactDepth | None:
        day = date(2026, 11, 20)
        return health_snapshots.read_scoring_inputs(workspace, customer_id, day, day, consistent=True).contacts

    # Counted from its creation: no contacts yet, and no data for the Relationship dimension (N/A).
    assert depth() == ContactDepth(total=0)
    from keepwell.domain.customer_scoring import relationship_signals
    from keepwell.storage import customers as customer_store

    profile = customer_store.get_customer(workspace, customer_id)
    assert profile is not None and relationship_signals(profile, depth(), ()) is None
    cfo = add_contact(admin_api, customer_id, name="Fox", title="CFO", is_champion=True)
    analyst = add_contact(admin_api, customer_id, name="Dana", title="Data analyst")
    add_contact(admin_api, customer_id, name="Walter")  # no title: counted, no level
    assert depth() == ContactDepth(total=3, executive=1, practitioner=1)

    promoted = admin_api.patch(
        f"/v1/customers/{customer_id}/contacts/{analyst['contact_id']}", {"title": "Support manager"}
    )
    assert promoted.status == 200, promoted.body
    assert depth() == ContactDepth(total=3, executive=1, manager=1)

    assert admin_api.delete(f"/v1/customers/{customer_id}/contacts/{cfo['contact_id']}").status == 204
    assert depth() == ContactDepth(total=2, manager=1)
    assert champion_of(admin_api, customer_id) is None


def test_the_backfill_counts_contacts_written_before_the_counters(
    admin_api: ApiClient, customer_id: str, workspace: str
) -> None:
    from datetime import date

    from keepwell.domain.contacts import ContactDepth
    from keepwell.storage import contacts as contact_store
    from keepwell.storage import health_snapshots, keys
    from keepwell.storage.models import ContactItem, CustomerItem

    profile = keys.customer(workspace, customer_id)  # a profile as stored before the counters existed
    CustomerItem(profile.pk, profile.sk).update(actions=[CustomerItem.contacts_total.remove()])
    stamp = "2026-11-01T00:00:00+00:00"
    with ContactItem.batch_write() as batch:  # contacts as stored before the counters existed
        for n, title in enumerate(["CTO", "Engineer", None]):
            contact = contact_store.Contact(
                contact_id=f"con_{n}",
                customer_id=customer_id,
                workspace_id=workspace,
                name=f"P{n}",
                title=title,
                created_at=stamp,
                updated_at=stamp,
            )
            batch.save(contact_store.to_item(contact))
    day = date(2026, 11, 20)
    assert health_snapshots.read_scoring_inputs(workspace, customer_id, day, day).contacts is None

    assert contact_store.backfill_contact_counters(workspace) == 1
    assert contact_store.backfill_contact_counters(workspace) == 1  # idempotent: the same figures
    expected = ContactDepth(total=3, executive=1, practitioner=1)
    assert health_snapshots.read_scoring_inputs(workspace, customer_id, day, day, consistent=True).contacts == expected
