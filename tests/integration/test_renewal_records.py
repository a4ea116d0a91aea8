"""A customer's renewal date opens and moves its renewal record (API, the service a bulk import calls,
the one-off backfill); churn goes through the churn route only; churned customers count in GRR/NRR."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from keepwell.auth import Caller
from keepwell.services import renewal_schedule
from keepwell.storage import customers as customer_store
from keepwell.storage import renewals as renewal_store
from tests.conftest import ApiClient

# The clock is frozen at 2026-11-20 (tests/conftest.py).


def customer(api: ApiClient, name: str, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": name, **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def open_renewals(api: ApiClient, customer_id: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/customers/{customer_id}/renewals").body["items"]
    return [r for r in items if r["status"] == "open"]


def test_a_customer_created_with_a_renewal_date_is_in_the_pipeline_for_the_admin_and_its_csm(
    admin_api: ApiClient, workspace: str
) -> None:
    customer(admin_api, "Alpha", arr=12_000, owner_id="csm-1", renewal_date="2026-12-15")
    customer(admin_api, "Beta", arr=30_000, owner_id="csm-2", renewal_date="2027-03-01")
    customer(admin_api, "Gamma", arr=5_000, owner_id="csm-1")  # no renewal date: no record

    body = admin_api.get("/v1/renewals").body
    names = {g: [r["customer_name"] for r in rows] for g, rows in body["groups"].items()}
    assert names == {"this_month": [], "next_90_days": ["Alpha"], "next_180_days": ["Beta"], "historical": []}
    row = body["groups"]["next_90_days"][0]
    assert (row["current_arr"], row["forecast_category"], row["status"], row["days_left"]) == (
        12_000,
        "probable",
        "open",
        25,
    )
    assert body["totals"]["next_90_days"] == {"count": 1, "current_arr": 12_000}
    assert all(type(total["count"]) is int for total in body["totals"].values())  # 1, not 1.0

    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    mine = csm.get("/v1/renewals").body["groups"]
    assert [r["customer_name"] for g in mine.values() for r in g] == ["Alpha"]
    upcoming = csm.get("/v1/renewals/upcoming", within=30).body["items"]
    assert [(r["account"], r["renewal_date"], r["mrr"]) for r in upcoming] == [("Alpha", "2026-12-15", 1_000)]


def test_changing_the_renewal_date_moves_the_open_renewal_and_repeating_it_creates_nothing(
    admin_api: ApiClient,
) -> None:
    cid = customer(admin_api, "Alpha", arr=12_000, renewal_date="2026-12-15")
    [first] = open_renewals(admin_api, cid)

    for _ in range(2):
        assert admin_api.patch(f"/v1/customers/{cid}", {"renewal_date": "2027-02-01"}).status == 200

    [moved] = open_renewals(admin_api, cid)
    assert (moved["renewal_id"], moved["renewal_date"]) == (first["renewal_id"], "2027-02-01")
    assert admin_api.get(f"/v1/customers/{cid}").body["renewal_date"] == "2027-02-01"


def test_a_new_term_opens_after_the_last_one_closed(admin_api: ApiClient) -> None:
    cid = customer(admin_api, "Alpha", arr=12_000, renewal_date="2026-12-15")
    [term] = open_renewals(admin_api, cid)
    closed = admin_api.post(
        f"/v1/customers/{cid}/renewals/{term['renewal_id']}/close", {"outcome": "renewed", "closed_arr": 15_000}
    )
    assert closed.status == 200
    assert open_renewals(admin_api, cid) == []  # the closed term's date stays on the profile, opening nothing

    admin_api.patch(f"/v1/customers/{cid}", {"renewal_date": "2027-12-15", "arr": 15_000})

    [next_term] = open_renewals(admin_api, cid)
    assert (next_term["renewal_date"], next_term["current_arr"]) == ("2027-12-15", 15_000)


def test_the_service_an_import_calls_is_idempotent_and_skips_churned_customers(
    admin_api: ApiClient, workspace: str
) -> None:
    cid = customer(admin_api, "Alpha", arr=12_000)
    profile = customer_store.require_customer(workspace, cid)
    imported = profile.model_copy(update={"renewal_date": date(2027, 1, 31)})
    customer_store.update_customer(profile, imported)  # an import writes the profile directly…

    first = renewal_schedule.follow_renewal_date(imported)  # …then calls the one entry point
    again = renewal_schedule.follow_renewal_date(imported)

    assert first is not None and again is None
    assert [r.renewal_id for r in renewal_store.list_customer_renewals(workspace, cid)] == [first.renewal_id]
    churned = imported.model_copy(update={"status": "churned", "renewal_date": date(2027, 1, 1)})
    assert renewal_schedule.follow_renewal_date(churned) is None


def test_patch_cannot_churn_a_customer_it_points_to_the_churn_route(admin_api: ApiClient, workspace: str) -> None:
    cid = customer(admin_api, "Alpha", arr=12_000)

    refused = admin_api.patch(f"/v1/customers/{cid}", {"status": "churned", "tier": "SMB"})

    assert refused.status == 400
    [detail] = refused.body["error"]["details"]
    assert detail["field"] == "status" and f"/v1/customers/{cid}/churn" in detail["issue"]
    after = admin_api.get(f"/v1/customers/{cid}").body
    assert (after["status"], after["tier"], after["version"]) == ("active", None, 1)  # nothing written
    assert admin_api.patch(f"/v1/customers/{cid}", {"status": "paused"}).status == 200


@pytest.mark.parametrize(("period", "counted"), [(("2026-11-01", "2026-11-30"), 1), (("2027-01-01", "2027-03-31"), 0)])
def test_a_customer_churned_mid_term_counts_in_grr_and_nrr_of_the_period_it_churned(
    admin_api: ApiClient, period: tuple[str, str], counted: int
) -> None:
    kept = customer(admin_api, "Kept", arr=30_000, owner_id="csm-1", renewal_date="2026-11-10")
    [term] = open_renewals(admin_api, kept)
    admin_api.post(
        f"/v1/customers/{kept}/renewals/{term['renewal_id']}/close",
        {"outcome": "renewed", "closed_arr": 30_000, "closed_on": "2026-11-05"},
    )
    lost = customer(admin_api, "Lost", arr=10_000, owner_id="csm-1", renewal_date="2027-02-01")
    assert admin_api.post(f"/v1/customers/{lost}/churn", {"churn_reason": "price"}).status == 200

    body = admin_api.get("/v1/metrics/revenue", **{"from": period[0], "to": period[1]}).body

    workspace = body["workspace"]
    assert workspace["churned"] == counted
    if counted:
        assert (workspace["starting_arr"], workspace["churned_arr"]) == (40_000, 10_000)
        assert (workspace["grr_percent"], workspace["nrr_percent"]) == (75.0, 75.0)
    else:
        assert workspace["renewals_closed"] == 0 and workspace["grr_percent"] is None


def test_the_one_off_backfill_opens_the_missing_records_once(admin_api: ApiClient, workspace: str) -> None:
    # Customers stored before renewal dates opened records: profiles with a date and no renewal.
    customer_store.put_customers_batch(
        workspace,
        [
            customer_store.require_customer(workspace, customer(admin_api, name)).model_copy(
                update={"renewal_date": date(2027, 1, day)}
            )
            for name, day in (("Alpha", 10), ("Beta", 20))
        ],
    )
    assert admin_api.get("/v1/renewals").body["totals"]["next_90_days"]["count"] == 0

    assert renewal_schedule.backfill_renewal_records(workspace) == 2
    assert renewal_schedule.backfill_renewal_records(workspace) == 0

    rows = admin_api.get("/v1/renewals").body["groups"]["next_90_days"]
    assert [(r["customer_name"], r["renewal_date"]) for r in rows] == [("Alpha", "2027-01-10"), ("Beta", "2027-01-20")]


def test_a_customer_churned_without_any_renewal_still_counts_its_lost_arr(admin_api: ApiClient) -> None:
    lost = customer(admin_api, "Lost", arr=24_000, owner_id="csm-1")  # no renewal date, no record

    churned = admin_api.post(f"/v1/customers/{lost}/churn", {"churn_reason": "product"})

    assert churned.status == 200, churned.body
    [term] = admin_api.get(f"/v1/customers/{lost}/renewals").body["items"]
    assert (term["status"], term["current_arr"], term["closed_arr"], term["closed_on"]) == (
        "churned",
        24_000,
        0,
        "2026-11-20",
    )
    assert churned.body["renewals_closed"] == [term["renewal_id"]]
    body = admin_api.get("/v1/metrics/revenue", **{"from": "2026-11-01", "to": "2026-11-30"}).body
    assert (body["workspace"]["churned_arr"], body["workspace"]["grr_percent"]) == (24_000, 0.0)
