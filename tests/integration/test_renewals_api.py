"""Renewal routes through the real API handler on moto: records, forecast changes and their audit,
the pipeline, the upcoming table and its CSV, revenue metrics, upsell rules and roles."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from keepwell.storage import audit as audit_store
from keepwell.storage import workspaces
from tests.conftest import ApiClient

# The clock is frozen at 2026-11-20 (tests/conftest.py).


def customer(api: ApiClient, name: str, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": name, **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def renewal(api: ApiClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/v1/customers/{customer_id}/renewals", fields)
    assert response.status == 201, response.body
    return dict(response.body)


def close(api: ApiClient, customer_id: str, renewal_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/v1/customers/{customer_id}/renewals/{renewal_id}/close", fields)
    assert response.status == 200, response.body
    return dict(response.body)


# --- records ------------------------------------------------------------------------------------
def test_an_account_renewal_takes_the_customer_arr_and_a_subscription_its_own_mrr(admin_api: ApiClient) -> None:
    cid = customer(admin_api, "Initech", arr=120_000, owner_id="csm-1")
    account = renewal(admin_api, cid, renewal_date="2026-12-10", proposed_arr=132_000)
    assert (account["current_arr"], account["mrr"], account["product"]) == (120_000, 10_000, None)
    assert (account["days_left"], account["colour"], account["forecast_category"]) == (20, "red", "probable")
    assert account["proposed_delta"] == {"renewal_arr": 132_000, "delta": 12_000, "percent": 10.0, "kind": "expansion"}

    sub = renewal(admin_api, cid, product="Analytics", mrr=500, renewal_date="2027-03-01", auto_renew=True)
    assert (sub["current_arr"], sub["colour"], sub["auto_renew"]) == (6_000, "green", True)

    missing = admin_api.post(f"/v1/customers/{cid}/renewals", {"product": "Data Hub", "renewal_date": "2027-01-01"})
    assert missing.status == 400 and missing.body["error"]["details"][0]["field"] == "mrr"

    listed = admin_api.get(f"/v1/customers/{cid}/renewals")
    assert [r["renewal_id"] for r in listed.body["items"]] == [account["renewal_id"], sub["renewal_id"]]
    # The profile's renewal date follows the next open account-level renewal (not subscriptions).
    assert admin_api.get(f"/v1/customers/{cid}").body["renewal_date"] == "2026-12-10"
    close(admin_api, cid, account["renewal_id"], outcome="renewed", closed_arr=132_000)
    renewal(admin_api, cid, renewal_date="2027-12-10")
    assert admin_api.get(f"/v1/customers/{cid}").body["renewal_date"] == "2027-12-10"


def test_the_forecast_category_cannot_be_set_by_a_plain_patch(admin_api: ApiClient) -> None:
    cid = customer(admin_api, "Initech", arr=1200)
    rid = renewal(admin_api, cid, renewal_date="2027-01-10")["renewal_id"]
    response = admin_api.patch(f"/v1/customers/{cid}/renewals/{rid}", {"forecast_category": "commit"})
    assert response.status == 400
    assert response.body["error"]["details"][0]["field"] == "forecast_category"
    patched = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}", {"proposed_arr": 1000, "renewal_date": "2027-01-20"}
    )
    assert patched.status == 200
    assert patched.body["proposed_delta"]["kind"] == "downsell" and patched.body["version"] == 2


# --- forecast changes and their audit --------------------------------------------------------------
def test_a_forecast_change_without_a_reason_is_a_400_and_nothing_is_written(
    admin_api: ApiClient, workspace: str
) -> None:
    cid = customer(admin_api, "Initech", arr=1200, owner_id="csm-1")
    created = renewal(admin_api, cid, renewal_date="2027-01-10")
    rid = created["renewal_id"]

    for body in ({"forecast_category": "at_risk"}, {"forecast_category": "at_risk", "reason": "  "}):
        response = admin_api.patch(f"/v1/customers/{cid}/renewals/{rid}/forecast", body)
        assert response.status == 400
        assert response.body["error"]["details"][0]["field"] == "reason"

    after = admin_api.get(f"/v1/customers/{cid}/renewals/{rid}").body
    assert (after["forecast_category"], after["version"], after["forecast_history"]) == ("probable", 1, [])
    assert audit_store.list_by_target(workspace, f"renewal:{rid}") == []


def test_a_forecast_change_with_a_reason_writes_an_audit_entry_with_actor_before_after_and_reason(
    admin_api: ApiClient, csm1: ApiClient, director: ApiClient, workspace: str
) -> None:
    cid = customer(admin_api, "Initech", arr=1200, owner_id="csm-1")
    rid = renewal(admin_api, cid, renewal_date="2027-01-10")["renewal_id"]

    response = csm1.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast",
        {"forecast_category": "at_risk", "reason": "Champion left; budget frozen"},
    )

    assert response.status == 200 and response.body["forecast_category"] == "at_risk"
    [entry] = audit_store.list_by_target(workspace, f"renewal:{rid}")
    assert (entry.actor_id, entry.action, entry.reason) == (
        "csm-1",
        "renewal.forecast_changed",
        "Champion left; budget frozen",
    )
    assert (entry.before, entry.after) == ({"forecast_category": "probable"}, {"forecast_category": "at_risk"})
    assert entry.occurred_at == "2026-11-20T09:30:00.000Z"
    history = admin_api.get(f"/v1/customers/{cid}/renewals/{rid}").body["forecast_history"]
    assert [(h["actor_id"], h["before"], h["after"]) for h in history] == [
        ("csm-1", {"forecast_category": "probable"}, {"forecast_category": "at_risk"})
    ]
    # The director's view lists it; a CSM may not read it.
    changes = director.get("/v1/renewals/forecast-changes")
    assert changes.status == 200 and [c["target"] for c in changes.body["items"]] == [f"renewal:{rid}"]
    assert csm1.get("/v1/renewals/forecast-changes").status == 403


def test_an_unknown_category_is_refused_and_a_workspace_can_configure_its_list(admin_api: ApiClient) -> None:
    cid = customer(admin_api, "Initech", arr=1200)
    rid = renewal(admin_api, cid, renewal_date="2027-01-10")["renewal_id"]
    bad = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast", {"forecast_category": "pipeline", "reason": "x"}
    )
    assert bad.status == 400 and bad.body["error"]["details"][0]["field"] == "forecast_category"

    categories = [
        {"key": "commit", "label": "Commit"},
        {"key": "best_case", "label": "Best case"},
        {"key": "pipeline", "label": "Pipeline"},
        {"key": "omit", "label": "Omit"},
    ]
    put = admin_api.request(
        "PUT",
        "/v1/renewals/forecast-categories",
        body={"categories": categories, "default_category": "pipeline", "best_case_category": "best_case"},
    )
    assert put.status == 200 and put.body["at_risk_category"] is None
    assert admin_api.get("/v1/renewals/forecast-categories").body["default_category"] == "pipeline"
    ok = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast", {"forecast_category": "pipeline", "reason": "x"}
    )
    assert ok.status == 200
    wrong = admin_api.request(
        "PUT", "/v1/renewals/forecast-categories", body={"categories": categories, "default_category": "nope"}
    )
    assert wrong.status == 400


def test_best_case_on_a_sales_handoff_customer_adds_the_account_executive_as_co_owner(admin_api: ApiClient) -> None:
    cid = customer(admin_api, "Initech", arr=1200, owner_id="csm-1", tags=["sales_handoff"])
    rid = renewal(admin_api, cid, renewal_date="2027-01-10", account_executive_id="director-1")["renewal_id"]
    response = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast", {"forecast_category": "best_case", "reason": "AE upsell"}
    )
    assert response.status == 200
    assert admin_api.get(f"/v1/customers/{cid}").body["co_owner_ids"] == ["director-1"]


def test_marking_at_risk_can_open_a_save_task(admin_api: ApiClient) -> None:
    cid = customer(admin_api, "Initech", arr=1200, owner_id="csm-1")
    rid = renewal(admin_api, cid, renewal_date="2027-01-10")["renewal_id"]
    response = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast",
        {"forecast_category": "at_risk", "reason": "usage collapsed", "open_save_task": True},
    )
    assert response.status == 200
    tasks = admin_api.get("/v1/tasks", customer_id=cid)
    assert tasks.status == 200
    assert [t["title"] for t in tasks.body["items"]] == ["Save Initech: renewal on 2027-01-10 is at risk"]


@pytest.mark.parametrize("owner", ["demoted-1", "gone-1"])
def test_a_save_task_whose_owner_cannot_work_it_goes_to_the_caller_and_the_forecast_change_answers_200(
    admin_api: ApiClient, workspace: str, owner: str
) -> None:
    """The forecast is saved before the task is made: a customer whose owner was since made a viewer or
    deactivated made the task 400 after the change was written (a 4xx that had written something)."""
    workspaces.put_user(workspace, "gone-1", "gone@acme.test", "Gone", "csm")
    workspaces.put_user(workspace, "demoted-1", "demoted@acme.test", "Demoted", "csm")
    cid = customer(admin_api, "Initech", arr=1200, owner_id=owner)
    assert admin_api.post("/v1/users/gone-1/deactivate").status == 200
    workspaces.put_user(workspace, "demoted-1", "demoted@acme.test", "Demoted", "viewer")
    rid = renewal(admin_api, cid, renewal_date="2027-01-10")["renewal_id"]
    response = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast",
        {"forecast_category": "at_risk", "reason": "usage collapsed", "open_save_task": True},
    )
    assert response.status == 200, response.body
    tasks = admin_api.get("/v1/tasks", customer_id=cid).body["items"]
    title = "Save Initech: renewal on 2027-01-10 is at risk"
    assert [(t["title"], t["owner_id"]) for t in tasks] == [(title, "admin-1")]


# --- pipeline and the upcoming table ----------------------------------------------------------------
def test_the_pipeline_groups_renewals_by_date_with_the_row_fields(admin_api: ApiClient) -> None:
    a = customer(admin_api, "Alpha", arr=12_000, owner_id="csm-1")
    b = customer(admin_api, "Beta", arr=24_000, owner_id="csm-2")
    this_month = renewal(admin_api, a, renewal_date="2026-11-28", proposed_arr=12_000)
    overdue = renewal(admin_api, b, product="Add-on", mrr=100, renewal_date="2026-11-01")
    soon = renewal(admin_api, b, renewal_date="2027-01-15", proposed_arr=20_000)
    later = renewal(admin_api, a, product="Analytics", mrr=200, renewal_date="2027-04-01")
    renewal(admin_api, a, product="Far", mrr=1, renewal_date="2027-09-01")  # beyond 180 days
    done = renewal(admin_api, b, product="Old", mrr=50, renewal_date="2026-08-01")
    close(admin_api, b, done["renewal_id"], outcome="renewed", closed_arr=900, closed_on="2026-07-10")

    body = admin_api.get("/v1/renewals").body

    ids = {g: [r["renewal_id"] for r in rows] for g, rows in body["groups"].items()}
    assert ids == {
        "this_month": [overdue["renewal_id"], this_month["renewal_id"]],
        "next_90_days": [soon["renewal_id"]],
        "next_180_days": [later["renewal_id"]],
        "historical": [done["renewal_id"]],
    }
    row = body["groups"]["next_90_days"][0]
    assert row["customer_name"] == "Beta" and row["current_arr"] == 24_000 and row["days_left"] == 56
    assert row["forecast_category"] == "probable" and row["forecast_label"] == "Probable"
    assert row["proposed_delta"]["kind"] == "downsell" and row["colour"] == "amber"
    assert row["last_activity"] is None and "next_action" in row
    assert body["groups"]["this_month"][0]["days_left"] == -19
    assert body["totals"]["this_month"] == {"count": 2, "current_arr": 13_200}


def test_a_csm_sees_only_their_book_in_the_pipeline(admin_api: ApiClient, csm1: ApiClient) -> None:
    a = customer(admin_api, "Alpha", arr=12_000, owner_id="csm-1")
    b = customer(admin_api, "Beta", arr=12_000, owner_id="csm-2")
    renewal(admin_api, a, renewal_date="2026-12-01")
    renewal(admin_api, b, renewal_date="2026-12-01")
    rows = csm1.get("/v1/renewals").body["groups"]["next_90_days"]
    assert [r["customer_name"] for r in rows] == ["Alpha"]
    director_rows = admin_api.get("/v1/renewals", owner_id="csm-2").body["groups"]["next_90_days"]
    assert [r["customer_name"] for r in director_rows] == ["Beta"]


def test_an_owner_filter_narrows_a_csms_book_as_the_customer_list_does(admin_api: ApiClient, csm1: ApiClient) -> None:
    """`owner_id` on a CSM's renewals keeps their own book and narrows it to that user's customers: another
    CSM's id gives what the caller co-owns of theirs, never the rest of that CSM's book."""
    own = customer(admin_api, "Alpha", arr=12_000, owner_id="csm-1")
    shared = customer(admin_api, "Gamma", arr=12_000, owner_id="csm-2", co_owner_ids=["csm-1"])
    theirs = customer(admin_api, "Beta", arr=12_000, owner_id="csm-2")
    for cid in (own, shared, theirs):
        renewal(admin_api, cid, renewal_date="2026-12-01")

    def names(path: str, key: str, **query: Any) -> list[str]:
        response = csm1.get(path, **query)
        assert response.status == 200, response.body
        items = response.body["groups"]["next_90_days"] if key == "groups" else response.body["items"]
        return sorted(r["customer_name"] if key == "groups" else r["account"] for r in items)

    assert names("/v1/renewals", "groups") == ["Alpha", "Gamma"]
    assert names("/v1/renewals", "groups", owner_id="csm-2") == ["Gamma"]
    assert names("/v1/renewals/upcoming", "items", owner_id="csm-2", within=90) == ["Gamma"]
    assert names("/v1/renewals", "groups", owner_id="csm-1") == ["Alpha"]
    customers = csm1.get("/v1/customers", owner_id="csm-2").body["items"]
    assert [c["name"] for c in customers] == ["Gamma"]  # the customer list's answer to the same filter


def test_the_upcoming_table_filters_by_window_and_colours_days_left(admin_api: ApiClient) -> None:
    cid = customer(admin_api, "Alpha", arr=12_000, owner_id="csm-1")
    for date_ in ("2026-11-10", "2026-12-15", "2027-01-30", "2027-04-30"):
        renewal(admin_api, cid, product=f"P{date_}", mrr=10, renewal_date=date_)

    def window(days: int) -> list[tuple[int, str]]:
        response = admin_api.get("/v1/renewals/upcoming", within=days)
        assert response.status == 200
        return [(r["days_left"], r["colour"]) for r in response.body["items"]]

    assert window(30) == [(-10, "red"), (25, "red")]
    assert window(90) == [(-10, "red"), (25, "red"), (71, "amber")]
    assert window(180) == [(-10, "red"), (25, "red"), (71, "amber"), (161, "green")]
    assert admin_api.get("/v1/renewals/upcoming", within=45).status == 400


def test_the_csv_export_is_utf8_text_csv_with_a_header_row_and_quoting(admin_api: ApiClient) -> None:
    cid = customer(admin_api, 'Smith, Jones & "Sons" Zürich', arr=1200, owner_id="csm-1")
    renewal(admin_api, cid, product="Analytics, Pro", mrr=99.5, renewal_date="2026-12-01", auto_renew=True)

    response = admin_api.get("/v1/renewals/upcoming/export", within=30)

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.body
    assert text.splitlines()[1].startswith(
        '"Smith, Jones & ""Sons"" Zürich","Analytics, Pro",99.50,2026-12-01,11,red,yes'
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "account",
        "product",
        "mrr",
        "renewal_date",
        "days_left",
        "colour",
        "auto_renew",
        "owner",
        "forecast_category",
        "customer_id",
        "renewal_id",
    ]
    assert rows[1][:8] == [
        'Smith, Jones & "Sons" Zürich',
        "Analytics, Pro",
        "99.50",
        "2026-12-01",
        "11",
        "red",
        "yes",
        "csm-1",
    ]
    text.encode("utf-8")  # the body is plain text, not base64


# --- revenue metrics --------------------------------------------------------------------------------
def test_revenue_metrics_of_a_book_match_the_hand_computation(admin_api: ApiClient, csm1: ApiClient) -> None:
    a = customer(admin_api, "A", arr=10_000, owner_id="csm-1")
    b = customer(admin_api, "B", arr=20_000, owner_id="csm-1")
    c = customer(admin_api, "C", arr=15_000, owner_id="csm-2")
    d = customer(admin_api, "D", arr=5_000, owner_id="csm-2")
    # a: renewed flat 27 days early; b: +5 000 (target 4 000) 11 days early; c: -3 000 20 days early; d: churned
    ra = renewal(admin_api, a, renewal_date="2026-02-28")
    rb = renewal(admin_api, b, renewal_date="2026-03-31", expansion_target_arr=4_000)
    rc = renewal(admin_api, c, renewal_date="2026-04-30")
    rd = renewal(admin_api, d, renewal_date="2026-05-15")
    renewal(admin_api, d, product="Open", mrr=100, renewal_date="2026-06-01")  # still open: not counted
    close(admin_api, a, ra["renewal_id"], outcome="renewed", closed_arr=10_000, closed_on="2026-02-01")
    close(admin_api, b, rb["renewal_id"], outcome="renewed", closed_arr=25_000, closed_on="2026-03-20")
    close(admin_api, c, rc["renewal_id"], outcome="renewed", closed_arr=12_000, closed_on="2026-04-10")
    close(admin_api, d, rd["renewal_id"], outcome="churned")

    body = admin_api.get("/v1/metrics/revenue", **{"from": "2026-01-01", "to": "2026-06-30"}).body

    # start 50 000; end 47 000; expansion 5 000; contraction 3 000; churn 5 000
    workspace = body["workspace"]
    assert workspace["grr_percent"] == 84.0  # (50 000 - 3 000 - 5 000) / 50 000
    assert workspace["nrr_percent"] == 94.0  # 47 000 / 50 000
    assert workspace["early_close_percent"] == 66.7  # a and c of 3 renewed
    assert workspace["expansion_ratio_percent"] == 125.0  # 5 000 / 4 000
    assert (workspace["renewals_open"], workspace["open_arr"]) == (1, 1_200)
    books = {b["owner_id"]: b for b in body["books"]}
    assert (books["csm-1"]["grr_percent"], books["csm-1"]["nrr_percent"]) == (100.0, 116.7)  # 35 000 / 30 000
    assert (books["csm-2"]["grr_percent"], books["csm-2"]["nrr_percent"]) == (60.0, 60.0)  # 12 000 / 20 000

    own = csm1.get("/v1/metrics/revenue", **{"from": "2026-01-01", "to": "2026-06-30"}).body
    assert own["workspace"] is None and [b["owner_id"] for b in own["books"]] == ["csm-1"]
    assert admin_api.get("/v1/metrics/revenue", **{"from": "2026-06-30", "to": "2026-01-01"}).status == 400
    assert admin_api.get("/v1/metrics/revenue", to="2026-01-01").status == 400


# --- roles and tenancy --------------------------------------------------------------------------------
def test_another_csms_customer_and_another_workspaces_ids_answer_404(
    admin_api: ApiClient, csm2: ApiClient, other_admin_api: ApiClient
) -> None:
    cid = customer(admin_api, "Initech", arr=1200, owner_id="csm-1")
    rid = renewal(admin_api, cid, renewal_date="2027-01-10")["renewal_id"]
    for api in (csm2, other_admin_api):
        assert api.get(f"/v1/customers/{cid}/renewals").status == 404
        assert api.get(f"/v1/customers/{cid}/renewals/{rid}").status == 404
        assert api.get(f"/v1/customers/{cid}/flags").status == 404
        assert api.post(f"/v1/customers/{cid}/renewals", {"renewal_date": "2027-01-01"}).status == 404
    assert other_admin_api.get("/v1/renewals").body["groups"]["next_90_days"] == []


def test_a_viewer_reads_but_cannot_write(admin_api: ApiClient, viewer: ApiClient) -> None:
    cid = customer(admin_api, "Initech", arr=1200, owner_id="csm-1", co_owner_ids=["viewer-1"])
    rid = renewal(admin_api, cid, renewal_date="2027-01-10")["renewal_id"]
    assert viewer.get(f"/v1/customers/{cid}/renewals").status == 200
    assert viewer.get("/v1/renewals").status == 200
    writes = [
        viewer.post(f"/v1/customers/{cid}/renewals", {"renewal_date": "2027-01-01"}),
        viewer.patch(f"/v1/customers/{cid}/renewals/{rid}", {"notes": "x"}),
        viewer.patch(f"/v1/customers/{cid}/renewals/{rid}/forecast", {"forecast_category": "commit", "reason": "x"}),
        viewer.post(f"/v1/customers/{cid}/renewals/{rid}/close", {"outcome": "churned"}),
        viewer.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price"}),
    ]
    assert [w.status for w in writes] == [403] * len(writes)
    assert admin_api.get(f"/v1/customers/{cid}/renewals/{rid}").body["version"] == 1


# --- upsell -----------------------------------------------------------------------------------------------
RULE = {
    "name": "Analytics Pro",
    "product": "Analytics Pro",
    "prerequisites": ["Growth"],
    "base_score": 40,
    "triggers": [{"type": "renewal_within_days", "days": 60, "weight": 20}],
}


def test_upsell_rules_are_changed_by_admins_and_read_by_directors(admin_api: ApiClient, director: ApiClient) -> None:
    assert director.post("/v1/upsell/rules", RULE).status == 403
    assert director.get("/v1/upsell/rules").body == {"items": []}
    created = admin_api.post("/v1/upsell/rules", RULE)
    assert created.status == 201 and created.body["rule_id"].startswith("ups_")
    rule_id = created.body["rule_id"]
    patched = admin_api.patch(f"/v1/upsell/rules/{rule_id}", {"active": False, "version": 1})
    assert patched.status == 200 and patched.body["active"] is False and patched.body["version"] == 2
    assert admin_api.patch(f"/v1/upsell/rules/{rule_id}", {"active": True, "version": 1}).status == 409
    assert admin_api.post("/v1/upsell/rules", {**RULE, "base_score": 140}).status == 400
    assert [r["rule_id"] for r in admin_api.get("/v1/upsell/rules").body["items"]] == [rule_id]
    assert admin_api.delete(f"/v1/upsell/rules/{rule_id}").status == 204
    assert admin_api.get(f"/v1/upsell/rules/{rule_id}").status == 404


def test_recommendations_show_the_top_three_with_score_and_why_and_an_opportunity_makes_a_task(
    admin_api: ApiClient, csm1: ApiClient
) -> None:
    cid = customer(admin_api, "Initech", arr=1200, owner_id="csm-1", plan="Growth")
    renewal(admin_api, cid, renewal_date="2026-12-20")
    rule_ids = [
        admin_api.post("/v1/upsell/rules", {**RULE, "name": f"R{i}", "product": f"P{i}", "base_score": 10 * i}).body[
            "rule_id"
        ]
        for i in range(1, 5)
    ]
    admin_api.post(
        "/v1/upsell/rules", {**RULE, "name": "Needs Data Hub", "prerequisites": ["Data Hub"], "base_score": 99}
    )

    response = csm1.get(f"/v1/customers/{cid}/recommendations")

    assert response.status == 200
    items = response.body["items"]
    assert [(i["rule_name"], i["score"]) for i in items] == [("R4", 60), ("R3", 50), ("R2", 40)]
    assert items[0]["why"] == ["base score 40 for P4", "+20: renewal in 30 days (within 60)"]

    opportunity = csm1.post(f"/v1/customers/{cid}/recommendations/{rule_ids[3]}/opportunity")
    assert opportunity.status == 201, opportunity.body
    assert opportunity.body["task"]["title"] == "Upsell opportunity: P4 for Initech"
    assert opportunity.body["task"]["owner_id"] == "csm-1"
    tasks = admin_api.get("/v1/tasks", customer_id=cid).body["items"]
    assert [t["title"] for t in tasks] == ["Upsell opportunity: P4 for Initech"]
