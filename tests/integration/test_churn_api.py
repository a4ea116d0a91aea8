"""Churn, flags and scores through the real API handler on moto."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain.signal_log import SignalLog
from keepwell.storage import audit as audit_store
from keepwell.storage import keys, signal_logs
from keepwell.storage.metrics import DailyMetricsItem
from tests.conftest import ApiClient

TODAY = date(2026, 11, 20)  # the frozen clock


def customer(api: ApiClient, name: str = "Initech", **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": name, "arr": 120_000, "owner_id": "csm-1", **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def put_usage(workspace: str, customer_id: str, previous_per_day: int, recent_per_day: int) -> None:
    """60 complete days of product events before today: days 31-60 and days 1-30 at two rates."""
    with DailyMetricsItem.batch_write() as batch:
        for n in range(1, 61):
            day = TODAY - timedelta(days=n)
            key = keys.daily_metrics(workspace, customer_id, day)
            batch.save(
                DailyMetricsItem(
                    key.pk,
                    key.sk,
                    entity="daily_metrics",
                    workspace_id=workspace,
                    customer_id=customer_id,
                    day=day.isoformat(),
                    events=previous_per_day if n > 30 else recent_per_day,
                    logins=5,
                    version=1,
                )
            )


def put_signals(workspace: str, customer_id: str, log: SignalLog) -> None:
    signal_logs.put_signal_logs(workspace, {customer_id: log}, clock.iso(clock.now()))


def at(days_ago: int) -> str:
    return (clock.now() - timedelta(days=days_ago)).isoformat()


# --- churn ---------------------------------------------------------------------------------------------
def test_churn_needs_a_reason_from_the_list(admin_api: ApiClient) -> None:
    cid = customer(admin_api)
    assert admin_api.post(f"/v1/customers/{cid}/churn", {}).body["error"]["details"][0]["field"] == "churn_reason"
    unknown = admin_api.post(f"/v1/customers/{cid}/churn", {"churn_reason": "weather"})
    assert unknown.status == 400 and unknown.body["error"]["details"][0]["field"] == "churn_reason"
    other = admin_api.post(f"/v1/customers/{cid}/churn", {"churn_reason": "other"})
    assert other.status == 400 and other.body["error"]["details"][0]["field"] == "churn_note"
    assert admin_api.get(f"/v1/customers/{cid}").body["status"] == "active"


def test_a_churned_customer_has_its_reason_its_open_renewals_closed_and_an_audit_entry(
    admin_api: ApiClient, workspace: str
) -> None:
    cid = customer(admin_api)
    open_ = admin_api.post(f"/v1/customers/{cid}/renewals", {"renewal_date": "2027-02-01"}).body
    response = admin_api.post(
        f"/v1/customers/{cid}/churn", {"churn_reason": "competition", "churn_note": "Moved to RivalCo"}
    )

    assert response.status == 200, response.body
    assert response.body["renewals_closed"] == [open_["renewal_id"]]
    assert response.body["arr_lost"] == 120_000
    profile = admin_api.get(f"/v1/customers/{cid}").body
    # version 2: the renewal set the profile's renewal date; 3: churned
    assert (profile["status"], profile["churn_reason"], profile["version"]) == ("churned", "competition", 3)
    closed = admin_api.get(f"/v1/customers/{cid}/renewals/{open_['renewal_id']}").body
    assert (closed["status"], closed["closed_arr"], closed["closed_on"]) == ("churned", 0, "2026-11-20")
    [entry] = audit_store.list_by_target(workspace, f"customer:{cid}")
    assert (entry.actor_id, entry.before["status"], entry.after["status"], entry.reason) == (
        "admin-1",
        "active",
        "churned",
        "Moved to RivalCo",
    )
    assert admin_api.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price"}).status == 409


def test_a_churned_customers_timeline_is_frozen_reads_work_and_a_new_note_is_a_409(admin_api: ApiClient) -> None:
    cid = customer(admin_api)
    assert admin_api.post(f"/v1/customers/{cid}/notes", {"body": "before churn"}).status == 201
    assert admin_api.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price"}).status == 200

    rejected = admin_api.post(f"/v1/customers/{cid}/notes", {"body": "after churn"})

    assert rejected.status == 409 and rejected.error_code == "conflict"
    timeline = admin_api.get(f"/v1/customers/{cid}/timeline")
    assert timeline.status == 200
    # Both at the frozen clock's instant: compare without order.
    assert sorted(i["title"] for i in timeline.body["items"]) == ["Marked churned: price", "before churn"]


def test_churn_respects_roles_and_portfolios(admin_api: ApiClient, workspace: str, other_admin_api: ApiClient) -> None:
    cid = customer(admin_api)
    csm2 = ApiClient(Caller(workspace, "csm-2", "csm"))
    assert csm2.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price"}).status == 404
    assert other_admin_api.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price"}).status == 404
    csm1 = ApiClient(Caller(workspace, "csm-1", "csm"))
    assert csm1.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price", "version": 7}).status == 409
    assert csm1.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price", "version": 1}).status == 200


# --- flags (acceptance) -------------------------------------------------------------------------------
def test_usage_down_35_percent_and_a_critical_ticket_open_8_days_show_both_red_flags_and_suggest_at_risk(
    admin_api: ApiClient, workspace: str
) -> None:
    cid = customer(admin_api)
    rid = admin_api.post(f"/v1/customers/{cid}/renewals", {"renewal_date": "2027-03-01"}).body["renewal_id"]
    put_usage(workspace, cid, previous_per_day=100, recent_per_day=65)
    put_signals(
        workspace,
        cid,
        SignalLog(
            tickets={"ZD-1": {"at": at(8), "st": "open", "pr": "critical", "id": "tl_ticket1"}},
            meetings={"tl_meet": {"at": at(2), "min": 30.0}},
        ),
    )

    response = admin_api.get(f"/v1/customers/{cid}/flags")

    assert response.status == 200, response.body
    red = {f["code"]: f for f in response.body["red"]}
    assert set(red) == {"usage_drop", "stale_severe_tickets"}
    assert red["usage_drop"]["facts"]["change_percent"] == -35.0
    assert red["usage_drop"]["evidence"][0]["text"].startswith("1950 events from 2026-10-21 to 2026-11-19")
    assert red["stale_severe_tickets"]["evidence"] == [
        {"text": "critical ticket open for 8 days (since 2026-11-12)", "ref": "tl_ticket1", "at": "2026-11-12"}
    ]
    escalation = response.body["escalation"]
    assert escalation["suggested"] is True
    assert (escalation["suggested_category"], escalation["renewal_id"]) == ("at_risk", rid)
    assert escalation["reasons"] == ["2 red flags at the same time: usage_drop, stale_severe_tickets"]


def test_a_healthy_customer_has_no_red_flags_and_no_suggestion(admin_api: ApiClient, workspace: str) -> None:
    cid = customer(admin_api)
    admin_api.post(f"/v1/customers/{cid}/renewals", {"renewal_date": "2027-03-01"})
    put_usage(workspace, cid, previous_per_day=100, recent_per_day=100)
    put_signals(
        workspace, cid, SignalLog(meetings={"m1": {"at": at(2), "min": 30.0}, "m2": {"at": at(9), "min": 45.0}})
    )

    body = admin_api.get(f"/v1/customers/{cid}/flags").body

    assert body["red"] == []
    assert [f["code"] for f in body["green"]] == ["high_engagement"]
    assert body["escalation"]["suggested"] is False


# --- scores ---------------------------------------------------------------------------------------------------
def test_scores_explain_churn_risk_and_cltv(admin_api: ApiClient, workspace: str) -> None:
    cid = customer(admin_api)
    admin_api.post(f"/v1/customers/{cid}/renewals", {"renewal_date": "2026-12-10"})
    put_usage(workspace, cid, previous_per_day=100, recent_per_day=65)
    put_signals(workspace, cid, SignalLog(meetings={"m1": {"at": at(2), "min": 30.0}}))

    body = admin_api.get(f"/v1/customers/{cid}/scores").body

    parts = {p["factor"]: p["points"] for p in body["churn_risk"]["parts"]}
    # no health score yet: 25; one red flag (usage drop): 10; renewal in 20 days: 10
    assert parts == {"health": 25.0, "red_flags": 10.0, "renewal": 10.0}
    assert body["churn_risk"]["score"] == 45.0
    # 120 000 x 0.8 / 0.45
    assert body["cltv"]["value"] == 213_333.33
    assert body["cltv"]["expected_lifetime_years"] == 2.22
    assert "ARR 120,000.00 x gross margin 0.8" in body["cltv"]["explanation"]
    json.dumps(body)


@pytest.mark.parametrize("path", ["flags", "scores", "recommendations"])
def test_customer_reads_answer_404_for_an_unknown_customer(admin_api: ApiClient, path: str) -> None:
    assert admin_api.get(f"/v1/customers/cus_0000000000000000/{path}").status == 404


def test_every_writer_through_the_recording_service_respects_the_freeze(admin_api: ApiClient, workspace: str) -> None:
    from keepwell.domain.timeline import TimelineEntry
    from keepwell.services.timeline_recording import record_timeline_entries

    cid = customer(admin_api)
    assert admin_api.post(f"/v1/customers/{cid}/churn", {"churn_reason": "price"}).status == 200
    email = TimelineEntry(customer_id=cid, kind="email", occurred_at=clock.now(), title="Re: renewal")
    run = TimelineEntry(
        customer_id=cid, kind="playbook_run", occurred_at=clock.now(), title="Playbook Win-back started"
    )

    record_timeline_entries(workspace, [email, run])

    titles = sorted(i["title"] for i in admin_api.get(f"/v1/customers/{cid}/timeline").body["items"])
    assert titles == ["Marked churned: price", "Playbook Win-back started"]
