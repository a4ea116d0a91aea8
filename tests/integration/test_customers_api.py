"""Customer routes through the real API handler (API Gateway proxy events) on moto."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import boto3
import pytest

from keepwell.auth import Caller
from keepwell.domain.customers import Customer
from keepwell.storage import customers as customer_store
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


def customer_count(api: ApiClient) -> int:
    response = api.get("/v1/customers", limit=200, include_archived="true")
    assert response.status == 200
    return len(response.body["items"])


def create(api: ApiClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/customers", {"name": "Acme Corp", **fields})
    assert response.status == 201, response.body
    return response.body


def fields_named(response: Any) -> set[str]:
    return {d["field"] for d in response.body["error"]["details"]}


# --- create and read ---------------------------------------------------------------------------
def test_created_customer_gets_mrr_derived_from_arr_and_normalised_domain(admin_api: ApiClient) -> None:
    created = create(
        admin_api,
        domain="https://WWW.Acme.COM/pricing",
        arr=120000,
        owner_id="csm-1",
        renewal_date="2027-03-31",
        tags=["b", "a", "a"],
        status="trial",
        nps=35,
    )

    assert created["customer_id"].startswith("cus_")
    assert created["mrr"] == 10000.0
    assert created["domain"] == "acme.com"
    assert created["tags"] == ["a", "b"]
    assert created["version"] == 1
    assert created["created_at"] == "2026-11-20T09:30:00.000Z"
    fetched = admin_api.get(f"/v1/customers/{created['customer_id']}")
    assert fetched.status == 200
    assert fetched.body == created


def test_arr_is_derived_from_mrr_when_only_mrr_is_given(admin_api: ApiClient) -> None:
    assert create(admin_api, mrr=833.33)["arr"] == 9999.96


def test_arr_and_mrr_that_disagree_are_rejected_naming_mrr_and_nothing_saved(admin_api: ApiClient) -> None:
    response = admin_api.post("/v1/customers", {"name": "Acme", "arr": 120000, "mrr": 9000})

    assert response.status == 400
    assert "mrr" in fields_named(response)
    assert customer_count(admin_api) == 0


def test_arr_and_mrr_agreeing_within_a_cent_are_accepted(admin_api: ApiClient) -> None:
    created = create(admin_api, arr=100000, mrr=8333.33)
    assert (created["arr"], created["mrr"]) == (100000.0, 8333.33)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("arr", "lots"),
        ("employee_count", "12"),
        ("status", "happy"),
        ("renewal_date", "next spring"),
        ("tags", "vip"),
        ("nps", 101),
        ("domain", "not a domain"),
        ("name", "   "),
    ],
)
def test_wrong_type_is_rejected_naming_the_field_and_customer_count_unchanged(
    admin_api: ApiClient, field: str, value: Any
) -> None:
    create(admin_api, name="Existing")

    response = admin_api.post("/v1/customers", {"name": "New", field: value})

    assert response.status == 400
    assert response.error_code == "validation_error"
    assert field in fields_named(response)
    assert field in response.body["error"]["message"]
    assert customer_count(admin_api) == 1


def test_malformed_json_is_rejected_and_nothing_saved(admin_api: ApiClient) -> None:
    before = table_items()
    response = admin_api.request("POST", "/v1/customers", raw='{"name": "Acme",')

    assert response.status == 400
    assert response.error_code == "malformed_json"
    assert table_items() == before


@pytest.mark.parametrize("field", ["health_score", "champion_contact_id", "colour"])
def test_unknown_or_read_only_field_is_rejected_naming_it(admin_api: ApiClient, field: str) -> None:
    response = admin_api.post("/v1/customers", {"name": "Acme", field: "x"})

    assert response.status == 400
    assert field in fields_named(response)
    assert customer_count(admin_api) == 0


def test_duplicate_domain_is_409_naming_the_domain_and_writes_nothing(admin_api: ApiClient) -> None:
    create(admin_api, name="First", domain="acme.com", external_id="crm-1")
    before = table_items()

    response = admin_api.post("/v1/customers", {"name": "Second", "domain": "ACME.com", "external_id": "crm-2"})

    assert response.status == 409
    assert response.error_code == "conflict"
    assert "acme.com" in response.body["error"]["message"]
    assert fields_named(response) == {"domain"}
    assert table_items() == before  # neither the profile nor the crm-2 alias was written


def test_duplicate_external_id_is_409_naming_it(admin_api: ApiClient) -> None:
    create(admin_api, name="First", external_id="crm-1")
    response = admin_api.post("/v1/customers", {"name": "Second", "external_id": "crm-1"})
    assert response.status == 409
    assert fields_named(response) == {"external_id"}
    assert customer_count(admin_api) == 1


def test_same_domain_in_another_workspace_is_allowed(admin_api: ApiClient, other_admin_api: ApiClient) -> None:
    create(admin_api, domain="acme.com")
    assert other_admin_api.post("/v1/customers", {"name": "Acme", "domain": "acme.com"}).status == 201


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("owner_id", "nobody", "owner_id"),
        ("owner_id", "admin-9", "owner_id"),  # a user, but of another workspace
        ("co_owner_ids", ["csm-1", "ghost"], "co_owner_ids.1"),
    ],
)
def test_owners_must_be_users_of_the_workspace(
    admin_api: ApiClient, other_workspace: str, field: str, value: Any, named: str
) -> None:
    response = admin_api.post("/v1/customers", {"name": "Acme", field: value})
    assert response.status == 400
    assert named in fields_named(response)
    assert customer_count(admin_api) == 0


def test_alias_lookup_finds_the_created_customer(admin_api: ApiClient) -> None:
    created = create(admin_api, domain="acme.com", external_id="crm-1")
    assert customer_store.find_customer_id("ws_acme", domain="ACME.com") == created["customer_id"]
    assert customer_store.find_customer_id("ws_acme", external_id="crm-1") == created["customer_id"]
    assert customer_store.find_customer_id("ws_globex", domain="acme.com") is None


# --- update and archive ------------------------------------------------------------------------
def test_patch_changes_only_sent_fields_and_null_clears_optional_ones(admin_api: ApiClient) -> None:
    created = create(admin_api, tier="gold", region="EMEA", arr=12000)
    path = f"/v1/customers/{created['customer_id']}"

    response = admin_api.patch(path, {"tier": None, "mrr": 2000, "name": "Acme Group"})

    assert response.status == 200
    body = response.body
    assert body["tier"] is None
    assert body["region"] == "EMEA"
    assert (body["arr"], body["mrr"]) == (24000.0, 2000.0)
    assert body["name"] == "Acme Group"
    assert body["version"] == 2
    assert admin_api.get(path).body == body


def test_patch_cannot_null_a_required_field(admin_api: ApiClient) -> None:
    created = create(admin_api)
    response = admin_api.patch(f"/v1/customers/{created['customer_id']}", {"name": None})
    assert response.status == 400
    assert "name" in fields_named(response)
    assert admin_api.get(f"/v1/customers/{created['customer_id']}").body["name"] == "Acme Corp"


def test_patch_moves_the_domain_alias_freeing_the_old_domain(admin_api: ApiClient) -> None:
    created = create(admin_api, domain="old.com")

    response = admin_api.patch(f"/v1/customers/{created['customer_id']}", {"domain": "new.com"})

    assert response.status == 200
    assert customer_store.find_customer_id("ws_acme", domain="new.com") == created["customer_id"]
    assert customer_store.find_customer_id("ws_acme", domain="old.com") is None
    assert admin_api.post("/v1/customers", {"name": "Reuses old", "domain": "old.com"}).status == 201


def test_patch_to_a_taken_domain_is_409_and_leaves_the_customer_unchanged(admin_api: ApiClient) -> None:
    create(admin_api, name="Taken", domain="taken.com")
    mine = create(admin_api, name="Mine", domain="mine.com")
    before = table_items()

    response = admin_api.patch(f"/v1/customers/{mine['customer_id']}", {"domain": "taken.com", "tier": "gold"})

    assert response.status == 409
    assert "taken.com" in response.body["error"]["message"]
    assert table_items() == before


def test_patch_with_a_stale_version_is_409(admin_api: ApiClient) -> None:
    created = create(admin_api)
    path = f"/v1/customers/{created['customer_id']}"
    assert admin_api.patch(path, {"tier": "gold", "version": 1}).status == 200

    response = admin_api.patch(path, {"tier": "silver", "version": 1})

    assert response.status == 409
    assert admin_api.get(path).body["tier"] == "gold"


def test_patch_unknown_customer_is_404(admin_api: ApiClient) -> None:
    assert admin_api.patch("/v1/customers/cus_missing", {"tier": "gold"}).status == 404


def test_archived_customer_is_hidden_from_the_list_unless_asked_for(admin_api: ApiClient) -> None:
    kept = create(admin_api, name="Kept")
    gone = create(admin_api, name="Gone")

    response = admin_api.post(f"/v1/customers/{gone['customer_id']}/archive")

    assert response.status == 200
    assert response.body["archived"] is True
    listed = [c["customer_id"] for c in admin_api.get("/v1/customers").body["items"]]
    assert listed == [kept["customer_id"]]
    everything = admin_api.get("/v1/customers", include_archived="true").body["items"]
    assert {c["customer_id"] for c in everything} == {kept["customer_id"], gone["customer_id"]}
    assert admin_api.get(f"/v1/customers/{gone['customer_id']}").body["archived"] is True


# --- list, filters, pagination -----------------------------------------------------------------
def test_list_is_sorted_by_name_and_pages_through_every_customer_once(admin_api: ApiClient) -> None:
    names = ["delta", "Alpha", "echo", "charlie", "Bravo", "golf", "foxtrot", "hotel"]
    for name in names:
        create(admin_api, name=name)

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": 3}
        if cursor:
            query["cursor"] = cursor
        response = admin_api.get("/v1/customers", **query)
        assert response.status == 200
        seen += [c["name"] for c in response.body["items"]]
        pages += 1
        cursor = response.body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == sorted(names, key=str.lower)


@pytest.fixture
def portfolio(admin_api: ApiClient) -> dict[str, str]:
    specs = {
        "Aurora": {
            "status": "active",
            "owner_id": "csm-1",
            "tier": "gold",
            "industry": "fintech",
            "region": "EMEA",
            "country": "DE",
            "plan": "enterprise",
            "renewal_date": "2027-01-15",
        },
        "Boreal": {
            "status": "trial",
            "owner_id": "csm-2",
            "tier": "silver",
            "industry": "retail",
            "region": "AMER",
            "country": "US",
            "plan": "growth",
            "renewal_date": "2027-06-01",
        },
        "Cirrus": {
            "status": "churned",
            "owner_id": "csm-1",
            "tier": "silver",
            "industry": "fintech",
            "region": "APAC",
            "country": "JP",
            "plan": "growth",
        },
    }
    return {name: create(admin_api, name=name, **spec)["customer_id"] for name, spec in specs.items()}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "trial"}, ["Boreal"]),
        ({"owner_id": "csm-1"}, ["Aurora", "Cirrus"]),
        ({"owner_id": "csm-1", "status": "churned"}, ["Cirrus"]),
        ({"tier": "silver"}, ["Boreal", "Cirrus"]),
        ({"industry": "fintech"}, ["Aurora", "Cirrus"]),
        ({"region": "AMER"}, ["Boreal"]),
        ({"country": "JP"}, ["Cirrus"]),
        ({"plan": "enterprise"}, ["Aurora"]),
        ({"renewal_before": "2027-03-01"}, ["Aurora"]),
        ({"owner_id": "director-1"}, []),
    ],
)
def test_each_filter_narrows_the_list(
    admin_api: ApiClient, portfolio: dict[str, str], query: dict[str, str], expected: list[str]
) -> None:
    response = admin_api.get("/v1/customers", **query)
    assert response.status == 200
    assert [c["name"] for c in response.body["items"]] == expected
    assert response.body["next_cursor"] is None


def test_owner_change_moves_the_customer_between_portfolios(admin_api: ApiClient, portfolio: dict[str, str]) -> None:
    admin_api.patch(f"/v1/customers/{portfolio['Aurora']}", {"owner_id": "csm-2"})
    assert [c["name"] for c in admin_api.get("/v1/customers", owner_id="csm-1").body["items"]] == ["Cirrus"]
    assert [c["name"] for c in admin_api.get("/v1/customers", owner_id="csm-2").body["items"]] == [
        "Aurora",
        "Boreal",
    ]


def test_selective_filter_still_returns_full_pages(admin_api: ApiClient) -> None:
    # 1 in 5 customers is gold: each page of 2 needs reading far past 2 index entries.
    customer_store.put_customers_batch(
        "ws_acme",
        [
            Customer(
                customer_id=f"cus_{i:03d}",
                workspace_id="ws_acme",
                name=f"Account {i:03d}",
                tier="gold" if i % 5 == 0 else "bronze",
                created_at="x",
                updated_at="x",
            )
            for i in range(30)
        ],
    )
    seen: list[str] = []
    cursor = None
    page_sizes = []
    while True:
        query: dict[str, Any] = {"tier": "gold", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = admin_api.get("/v1/customers", **query).body
        page_sizes.append(len(body["items"]))
        seen += [c["name"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"Account {i:03d}" for i in range(0, 30, 5)]
    assert page_sizes[:3] == [2, 2, 2]


def _cursor_of(api: ApiClient, **query: Any) -> str:
    cursor = api.get("/v1/customers", limit=1, **query).body["next_cursor"]
    assert cursor
    return cursor


@pytest.mark.parametrize("cursor", ["not-base64!!", base64.urlsafe_b64encode(b"[1,2]").decode(), "e30"])
def test_malformed_cursor_is_400(admin_api: ApiClient, cursor: str) -> None:
    create(admin_api)
    response = admin_api.get("/v1/customers", cursor=cursor)
    assert response.status == 400
    assert response.error_code == "invalid_cursor"


def test_cursor_of_another_workspace_is_400(admin_api: ApiClient, other_admin_api: ApiClient) -> None:
    for name in ("A", "B"):
        create(other_admin_api, name=name)
    foreign = _cursor_of(other_admin_api)
    assert admin_api.get("/v1/customers", cursor=foreign).status == 400


def test_forged_cursor_pointing_at_another_workspace_is_400(admin_api: ApiClient, other_admin_api: ApiClient) -> None:
    for name in ("A", "B"):
        create(admin_api, name=name)
    mine = json.loads(base64.urlsafe_b64decode(_cursor_of(admin_api) + "=="))
    mine["pk"]["S"] = mine["pk"]["S"].replace("ws_acme", "ws_globex")
    forged = base64.urlsafe_b64encode(json.dumps(mine).encode()).decode().rstrip("=")
    assert admin_api.get("/v1/customers", cursor=forged).status == 400


def test_cursor_of_the_name_index_is_rejected_for_an_owner_listing(admin_api: ApiClient) -> None:
    for name in ("A", "B"):
        create(admin_api, name=name, owner_id="csm-1")
    by_name = _cursor_of(admin_api)
    assert admin_api.get("/v1/customers", owner_id="csm-1", cursor=by_name).status == 400
    by_owner = _cursor_of(admin_api, owner_id="csm-1")
    assert admin_api.get("/v1/customers", owner_id="csm-2", cursor=by_owner).status == 400
    assert admin_api.get("/v1/customers", owner_id="csm-1", cursor=by_owner).status == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"renewal_before": "soon"}, "renewal_before"),
        ({"status": "happy"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_query_parameters_are_400_naming_them(admin_api: ApiClient, query: dict[str, Any], field: str) -> None:
    response = admin_api.get("/v1/customers", **query)
    assert response.status == 400
    assert field in fields_named(response)


# --- custom fields on customers -----------------------------------------------------------------
@pytest.fixture
def fields(admin_api: ApiClient) -> None:
    for spec in [
        {"key": "contract_type", "label": "Contract", "type": "select", "options": ["annual", "monthly"]},
        {"key": "sla_hours", "label": "SLA", "type": "number"},
        {"key": "pilot", "label": "Pilot", "type": "boolean"},
        {"key": "kickoff", "label": "Kickoff", "type": "date"},
    ]:
        assert admin_api.post("/v1/custom-fields", spec).status == 201


def test_custom_field_values_matching_their_definitions_are_saved(admin_api: ApiClient, fields: None) -> None:
    values = {"contract_type": "annual", "sla_hours": 4, "pilot": False, "kickoff": "2026-12-01"}
    created = create(admin_api, custom_fields=values)
    assert created["custom_fields"] == values
    assert admin_api.get(f"/v1/customers/{created['customer_id']}").body["custom_fields"] == values


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"favourite_colour": "red"}, "custom_fields.favourite_colour"),
        ({"sla_hours": "four"}, "custom_fields.sla_hours"),
        ({"sla_hours": True}, "custom_fields.sla_hours"),
        ({"pilot": "yes"}, "custom_fields.pilot"),
        ({"contract_type": "weekly"}, "custom_fields.contract_type"),
        ({"kickoff": "31/12/2026"}, "custom_fields.kickoff"),
    ],
)
def test_custom_field_values_that_do_not_fit_are_rejected_naming_the_key(
    admin_api: ApiClient, fields: None, values: dict[str, Any], named: str
) -> None:
    response = admin_api.post("/v1/customers", {"name": "Acme", "custom_fields": values})
    assert response.status == 400
    assert named in fields_named(response)
    assert customer_count(admin_api) == 0


def test_patching_custom_fields_merges_and_null_removes_a_key(admin_api: ApiClient, fields: None) -> None:
    created = create(admin_api, custom_fields={"contract_type": "annual", "sla_hours": 4})
    path = f"/v1/customers/{created['customer_id']}"

    response = admin_api.patch(path, {"custom_fields": {"sla_hours": None, "pilot": True}})
    assert response.status == 200
    assert response.body["custom_fields"] == {"contract_type": "annual", "pilot": True}

    bad = admin_api.patch(path, {"custom_fields": {"pilot": "no"}})
    assert bad.status == 400
    assert admin_api.get(path).body["custom_fields"] == {"contract_type": "annual", "pilot": True}


# --- tenancy and roles ---------------------------------------------------------------------------
def test_other_workspace_customer_is_404_on_every_customer_route_and_nothing_written(
    admin_api: ApiClient, other_admin_api: ApiClient
) -> None:
    theirs = create(other_admin_api, name="Globex Client", domain="globex.com")["customer_id"]
    before = table_items()

    calls = [
        admin_api.get(f"/v1/customers/{theirs}"),
        admin_api.patch(f"/v1/customers/{theirs}", {"tier": "gold"}),
        admin_api.post(f"/v1/customers/{theirs}/archive"),
    ]

    assert [c.status for c in calls] == [404, 404, 404]
    assert all("Globex" not in json.dumps(c.body) for c in calls)
    assert table_items() == before
    assert admin_api.get("/v1/customers").body["items"] == []


def test_viewer_cannot_write_but_can_read(admin_api: ApiClient, workspace: str) -> None:
    created = create(admin_api, co_owner_ids=["viewer-1"])  # a viewer reads the customers assigned to them
    unassigned = create(admin_api, name="Not theirs")
    viewer = ApiClient(Caller(workspace, "viewer-1", "viewer"))
    before = table_items()
    path = f"/v1/customers/{created['customer_id']}"

    writes = [
        viewer.post("/v1/customers", {"name": "Sneaky"}),
        viewer.patch(path, {"tier": "gold"}),
        viewer.post(f"{path}/archive"),
    ]

    assert [w.status for w in writes] == [403, 403, 403]
    assert {w.error_code for w in writes} == {"forbidden"}
    assert table_items() == before
    assert viewer.get(path).status == 200
    assert viewer.get("/v1/customers").status == 200
    assert viewer.get(f"/v1/customers/{unassigned['customer_id']}").status == 404


def test_csm_can_create_customers(workspace: str) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    assert csm.post("/v1/customers", {"name": "Mine", "owner_id": "csm-1"}).status == 201


def test_a_csms_new_customer_is_in_their_own_book(workspace: str, admin_api: ApiClient) -> None:
    """Without an owner it was created unowned and answered 404 to its creator at once; for another CSM
    it landed in a book the creator cannot see. A CSM only writes in their own book."""
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    created = csm.post("/v1/customers", {"name": "Initech"})
    assert created.status == 201 and created.body["owner_id"] == "csm-1"
    assert csm.get(f"/v1/customers/{created.body['customer_id']}").status == 200
    before = table_items()
    for body in ({"name": "Hooli", "owner_id": "csm-2"}, {"name": "Hooli", "owner_id": None}):
        refused = csm.post("/v1/customers", body)
        assert (refused.status, refused.error_code) == (403, "forbidden"), refused.body
    assert table_items() == before
    shared = csm.post("/v1/customers", {"name": "Hooli", "owner_id": "csm-2", "co_owner_ids": ["csm-1"]})
    assert shared.status == 201 and csm.get(f"/v1/customers/{shared.body['customer_id']}").status == 200
    assert admin_api.post("/v1/customers", {"name": "Unowned"}).body["owner_id"] is None  # admins: as before
