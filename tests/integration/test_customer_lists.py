"""GET /v1/customers for the console: sort (both directions), band, saved segment, name prefix, all
combinable with the other filters and cursor paging, for the workspace (indexes) and for a book, with
the portfolio rule in every combination."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bench.recalc import count_aws_requests
from keepwell.auth import Caller
from keepwell.storage import health_snapshots as snapshots
from tests.conftest import ApiClient

# name, owner, ARR, renewal date, health score (None: never scored)
BOOK = [
    ("alpha", "csm-1", 10_000, "2027-03-01", 82.5),
    ("Beta", "csm-1", 60_000, "2026-12-15", 45.0),
    ("beacon", "csm-2", 120_000, None, 71.0),
    ("Delta", "csm-2", 5_000, "2027-01-10", None),
    ("Echo", "csm-1", 90_000, "2026-12-01", 55.5),
    ("Foxtrot", "csm-2", 30_000, "2027-06-30", 30.0),
    ("Gamma", "csm-1", 75_000, None, None),
]
BAND = {True: "Healthy", False: "At risk"}


def band_of(score: float) -> str:
    return "Healthy" if score >= 70 else "Neutral" if score >= 50 else "At risk"


def score_profile(workspace: str, customer_id: str, score: float) -> None:
    """What the scorer writes on the profile (its own storage call), health order included."""
    latest = snapshots.LatestHealth(
        score=score,
        band=band_of(score),
        band_color=None,
        smoothed_score=score,
        scored_at="2026-11-20T06:00:00.000Z",
        day=date(2026, 11, 20),
        model_version=1,
        coverage=1.0,
        dimensions={"usage": score, "engagement": None, "support": None, "sentiment": None},
    )
    assert snapshots.apply_profile_health(
        workspace, customer_id, snapshots.ProfileHealthUpdate(state={}, digest=customer_id, latest=latest)
    )


@pytest.fixture
def book(admin_api: ApiClient, workspace: str) -> dict[str, str]:
    ids = {}
    for name, owner, arr, renewal, score in BOOK:
        body: dict[str, Any] = {"name": name, "owner_id": owner, "arr": arr}
        if renewal:
            body["renewal_date"] = renewal
        response = admin_api.post("/v1/customers", body)
        assert response.status == 201, response.body
        ids[name] = response.body["customer_id"]
        if score is not None:
            score_profile(workspace, ids[name], score)
    return ids


def names(api: ApiClient, **query: Any) -> list[str]:
    response = api.get("/v1/customers", **query)
    assert response.status == 200, response.body
    return [c["name"] for c in response.body["items"]]


def paged(api: ApiClient, limit: int = 2, **query: Any) -> list[str]:
    """Every page, following next_cursor (a short page with a cursor means keep going)."""
    found: list[str] = []
    cursor = None
    for _ in range(20):
        response = api.get("/v1/customers", limit=limit, **query, **({"cursor": cursor} if cursor else {}))
        assert response.status == 200, response.body
        found += [c["name"] for c in response.body["items"]]
        cursor = response.body["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("paging did not end")


ORDERS = {
    "name": ["alpha", "beacon", "Beta", "Delta", "Echo", "Foxtrot", "Gamma"],
    "-name": ["Gamma", "Foxtrot", "Echo", "Delta", "Beta", "beacon", "alpha"],
    # without a value (never scored / no renewal date): last in both directions
    "health_score": ["Foxtrot", "Beta", "Echo", "beacon", "alpha", "Delta", "Gamma"],
    "-health_score": ["alpha", "beacon", "Echo", "Beta", "Foxtrot", "Delta", "Gamma"],
    "arr": ["Delta", "alpha", "Foxtrot", "Beta", "Gamma", "Echo", "beacon"],
    "-arr": ["beacon", "Echo", "Gamma", "Beta", "Foxtrot", "alpha", "Delta"],
    "renewal_date": ["Echo", "Beta", "Delta", "alpha", "Foxtrot", "beacon", "Gamma"],
    "-renewal_date": ["Foxtrot", "alpha", "Delta", "Beta", "Echo", "beacon", "Gamma"],
}


@pytest.mark.parametrize("sort", list(ORDERS))
def test_the_workspace_list_sorts_both_ways_and_pages_through_the_same_order(
    admin_api: ApiClient, book: dict[str, str], sort: str
) -> None:
    assert names(admin_api, sort=sort) == ORDERS[sort]
    assert paged(admin_api, sort=sort) == ORDERS[sort]


@pytest.mark.parametrize("sort", ["name", "-health_score", "arr", "-renewal_date"])
def test_a_csm_gets_their_own_book_in_every_order_and_combination(
    workspace: str, book: dict[str, str], sort: str
) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    mine = [n for n in ORDERS[sort] if dict((b[0], b[1]) for b in BOOK)[n] == "csm-1"]

    assert names(csm, sort=sort) == mine
    assert paged(csm, limit=1, sort=sort) == mine
    assert names(csm, sort=sort, q="BE") == ["Beta"]  # beacon is csm-2's
    assert names(csm, sort=sort, band="Healthy") == ["alpha"]  # beacon (Healthy) is csm-2's
    assert names(csm, sort=sort, owner_id="csm-2") == []


def test_name_prefix_is_case_insensitive_and_combines_with_sort_and_filters(
    admin_api: ApiClient, book: dict[str, str]
) -> None:
    assert names(admin_api, q="be") == ["beacon", "Beta"]
    assert names(admin_api, q="  BE ", sort="-name") == ["Beta", "beacon"]
    assert names(admin_api, q="be", sort="-arr") == ["beacon", "Beta"]
    assert names(admin_api, q="be", owner_id="csm-1") == ["Beta"]
    assert names(admin_api, q="be", renewal_before="2027-01-01") == ["Beta"]
    assert names(admin_api, q="zz") == []


def test_band_filters_and_combines_with_sort_owner_and_paging(admin_api: ApiClient, book: dict[str, str]) -> None:
    assert names(admin_api, band="Healthy", sort="-health_score") == ["alpha", "beacon"]
    assert names(admin_api, band="at risk") == ["Beta", "Foxtrot"]
    assert paged(admin_api, limit=1, band="At risk", sort="health_score") == ["Foxtrot", "Beta"]
    assert names(admin_api, band="Healthy", owner_id="csm-2", sort="arr") == ["beacon"]


def test_segment_members_combine_with_sort_and_a_csms_book(
    admin_api: ApiClient, workspace: str, book: dict[str, str]
) -> None:
    segment = admin_api.post("/v1/segments", {"name": "Big", "condition": "arr >= 60000"})
    assert segment.status == 201, segment.body
    segment_id = segment.body["segment_id"]

    assert names(admin_api, segment_id=segment_id, sort="-arr") == ["beacon", "Echo", "Gamma", "Beta"]
    assert names(admin_api, segment_id=segment_id, band="Healthy") == ["beacon"]
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    assert names(csm, segment_id=segment_id, sort="health_score") == ["Beta", "Echo", "Gamma"]
    unknown = admin_api.get("/v1/customers", segment_id="seg_nope")
    assert unknown.status == 404 and unknown.body["error"]["details"][0]["field"] == "segment_id"


def test_bad_parameters_are_400s_naming_them(admin_api: ApiClient, book: dict[str, str]) -> None:
    bad_sort = admin_api.get("/v1/customers", sort="health")
    assert bad_sort.status == 400 and bad_sort.body["error"]["details"][0]["field"] == "sort"
    first = admin_api.get("/v1/customers", sort="arr", limit=2).body["next_cursor"]
    other = admin_api.get("/v1/customers", sort="-health_score", cursor=first)
    assert other.status == 400 and other.body["error"]["details"][0]["field"] == "cursor"


def test_a_new_score_and_a_changed_arr_or_renewal_date_move_the_customer_in_its_order(
    admin_api: ApiClient, workspace: str, book: dict[str, str]
) -> None:
    score_profile(workspace, book["Delta"], 99.0)
    admin_api.patch(f"/v1/customers/{book['alpha']}", {"arr": 500_000, "renewal_date": "2026-11-25"})

    assert names(admin_api, sort="-health_score")[0] == "Delta"
    assert names(admin_api, sort="-arr")[0] == "alpha"
    assert names(admin_api, sort="renewal_date")[0] == "alpha"


def test_a_sorted_workspace_page_reads_one_index_and_never_scans(admin_api: ApiClient, book: dict[str, str]) -> None:
    with count_aws_requests() as requests:
        assert names(admin_api, sort="-arr", band="Healthy", q="b") == ["beacon"]
    operations = requests.operations("dynamodb")
    assert "Scan" not in operations and operations.get("Query", 0) >= 1


def test_profiles_stored_before_the_orders_existed_are_listed_after_the_one_off_backfill(
    admin_api: ApiClient, workspace: str, book: dict[str, str]
) -> None:
    import boto3

    from keepwell.storage import customers as customer_store
    from keepwell.storage import keys

    table = boto3.resource("dynamodb", region_name="us-east-1").Table(customer_store.CustomerItem.Meta.table_name)
    for customer_id in book.values():  # as an older deployment stored them
        key = keys.customer(workspace, customer_id)
        table.update_item(Key={"pk": key.pk, "sk": key.sk}, UpdateExpression="REMOVE gsi3sk, gsi4sk, gsi5sk")
    assert names(admin_api, sort="arr") == []

    assert customer_store.backfill_list_orders(workspace) == len(BOOK)

    assert names(admin_api, sort="arr") == ORDERS["arr"]
    assert names(admin_api, sort="-health_score") == ORDERS["-health_score"]


def test_another_workspaces_segment_or_cursor_reads_as_unknown(
    admin_api: ApiClient, other_admin_api: ApiClient, book: dict[str, str]
) -> None:
    segment_id = admin_api.post("/v1/segments", {"name": "All", "condition": "arr >= 0"}).body["segment_id"]
    foreign = other_admin_api.get("/v1/customers", segment_id=segment_id)
    assert foreign.status == 404 and foreign.body["error"]["details"][0]["field"] == "segment_id"
    cursor = admin_api.get("/v1/customers", sort="-arr", limit=2).body["next_cursor"]
    stolen = other_admin_api.get("/v1/customers", sort="-arr", cursor=cursor)
    assert stolen.status == 400 and stolen.body["error"]["details"][0]["field"] == "cursor"
    assert names(other_admin_api, sort="-health_score", q="a") == []
