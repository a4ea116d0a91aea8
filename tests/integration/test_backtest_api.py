"""Backtesting a health model through the real API handler, the scoring queue drained by the real scorer
handler; the figures are checked against a plain reference computation over the same fixture."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from infra.template import Resolver
from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain.customers import Customer
from keepwell.domain.health.snapshot import DimensionSnapshot, HealthSnapshot
from keepwell.domain.renewals import Renewal
from keepwell.storage import customers as customer_store
from keepwell.storage import health_snapshots, keys
from keepwell.storage import renewals as renewal_store
from keepwell.storage.renewals import ChurnRecordItem
from tests.conftest import ApiClient
from tests.integration.test_recalculation_api import drain
from tests.rbac_routes import table_items

TODAY = date(2026, 11, 20)
# (customer, outcome, days before TODAY, usage drop: days before the outcome it fell from 80 to 20)
CHURNERS = [("ch_a", 20, 20), ("ch_b", 45, 45), ("ch_c", 100, 75), ("ch_d", 200, 120)]
# (customer, outcome kind, days before TODAY, usage level, engagement)
OTHERS = [
    ("rn_a", "renewed", 10, 90.0),
    ("rn_b", "renewed", 60, 65.0),
    ("rn_c", "expanded", 150, 85.0),
    ("rn_d", "contracted", 250, 55.0),
    ("rn_e", "renewed", 300, 75.0),
    ("rn_f", "expanded", 33, 40.0),
]
SUPPORT = {c: random.Random(f"support:{c}").uniform(20, 95) for c, *_ in CHURNERS + OTHERS}


def usage_of(customer: str, days_before: int) -> float:
    churner = next((c for c in CHURNERS if c[0] == customer), None)
    if churner is not None:
        return 20.0 if days_before <= churner[2] else 80.0
    return next(o[3] for o in OTHERS if o[0] == customer)


def engagement_of(customer: str) -> float:
    """Perfectly predicts churn: every churner 30, every other customer 75."""
    return 30.0 if customer.startswith("ch_") else 75.0


def outcome_day(customer: str) -> date:
    back = next(c[1] for c in CHURNERS if c[0] == customer) if customer.startswith("ch_") else None
    back = back if back is not None else next(o[2] for o in OTHERS if o[0] == customer)
    return TODAY - timedelta(days=back)


def _snapshot(customer: str, day: date) -> HealthSnapshot:
    before = (outcome_day(customer) - day).days
    values = {"usage": usage_of(customer, before), "engagement": engagement_of(customer), "support": SUPPORT[customer]}
    return HealthSnapshot(
        date=day,
        score=50.0,
        display_score=50.0,
        smoothed_score=50.0,
        band="Neutral",
        band_color="yellow",
        dimensions=[
            DimensionSnapshot(key=k, label=k, value=v, weight=0, effective_weight=0, contribution=0, na=False)
            for k, v in values.items()
        ],
        na_dimensions=[],
        coverage=1.0,
        model_version=0,
        explanation=f"stored explanation of {customer} on {day}",
    )


def write_fixture(workspace: str) -> None:
    now = clock.iso(clock.now())
    people = [c for c, *_ in CHURNERS] + [o[0] for o in OTHERS] + ["no_outcome"]
    customer_store.put_customers_batch(
        workspace,
        [
            Customer(
                customer_id=c,
                workspace_id=workspace,
                name=f"Customer {c}",
                owner_id="csm-1",
                status="churned" if c.startswith("ch_") else "active",
                arr=10_000,
                created_at=now,
                updated_at=now,
            )
            for c in people
        ],
    )
    for customer in people[:-1]:
        end = outcome_day(customer) - timedelta(days=1)
        history = [_snapshot(customer, end - timedelta(days=n)) for n in range(125)]
        health_snapshots.write_history(workspace, customer, history, version=0, inputs="fixture")
    for customer, *_ in CHURNERS:
        key = keys.churn_record(workspace, customer)
        churned_at = f"{outcome_day(customer).isoformat()}T12:00:00.000Z"
        ChurnRecordItem(
            key.pk,
            key.sk,
            entity="churn_record",
            workspace_id=workspace,
            customer_id=customer,
            churn_reason="price",
            churned_at=churned_at,
            churned_by="csm-1",
            arr_lost=10_000,
            previous_status="active",
        ).save()
    for customer, kind, _, _ in OTHERS:
        closed = outcome_day(customer)
        arr = {"renewed": 10_000.0, "expanded": 12_000.0, "contracted": 8_000.0}[kind]
        renewal_store.create_renewal(
            Renewal(
                renewal_id=f"rnw_{customer}",
                workspace_id=workspace,
                customer_id=customer,
                renewal_date=closed + timedelta(days=3),
                current_arr=10_000,
                mrr=833,
                forecast_category="commit",
                status="renewed",
                closed_on=closed,
                closed_arr=arr,
                created_by="csm-1",
                created_at=now,
                updated_at=now,
            )
        )


def api(workspace: str, user_id: str, role: str) -> ApiClient:
    return ApiClient(Caller(workspace, user_id, role))


@pytest.fixture
def fixture(workspace: str) -> str:
    write_fixture(workspace)
    return workspace


# --- the reference: plain Python over the fixture, not the production code path --------------------
def reference(weights: dict[str, float]) -> dict[str, Any]:
    def score(customer: str, days_before: int) -> float:
        values = {
            "usage": usage_of(customer, days_before),
            "engagement": engagement_of(customer),
            "support": SUPPORT[customer],
        }
        stored = {k: w for k, w in weights.items() if k in values}
        return sum(values[k] * w for k, w in stored.items()) / sum(stored.values())

    def band(value: float) -> str:
        return "Healthy" if round(value, 1) >= 70 else "Neutral" if round(value, 1) >= 50 else "At risk"

    everyone = [c for c, *_ in CHURNERS] + [o[0] for o in OTHERS]
    churners = [c for c, *_ in CHURNERS]
    risky = [score(c, n) for c in churners for n in range(1, 91)]
    safe = [score(c, n) for c in everyone if c not in churners for n in range(1, 91)]
    pairs = [1.0 if s > r else 0.5 if s == r else 0.0 for r in risky for s in safe]
    rates, lead = {}, {}
    for label in ("Healthy", "Neutral", "At risk"):
        members = [c for c in everyone if band(score(c, 30)) == label]
        rates[label] = (sum(1 for c in members if c in churners) / len(members)) if members else None
        lead[label] = {
            f"{h}d": sum(1 for c in churners if band(score(c, h)) == label) / len(churners) for h in (30, 60, 90)
        }
    return {"auc": sum(pairs) / len(pairs), "rates": rates, "lead": lead}


def run(aws: Resolver, workspace: str, body: dict[str, Any] | None) -> dict[str, Any]:
    director = api(workspace, "director-1", "director")
    started = director.post("/v1/health/model/backtest", body)
    assert started.status == 202, started.body
    assert started.body["status"] == "running" and started.body["total"] == 10
    drain(aws)
    finished = director.get(f"/v1/health/model/backtest/{started.body['job_id']}")
    assert finished.status == 200 and finished.body["status"] == "finished", finished.body
    return finished.body


def test_the_backtest_agrees_with_a_reference_computation_for_both_models(aws: Resolver, fixture: str):
    before = table_items()
    body = {"dimensions": [{"key": "usage", "weight": 70}, {"key": "support", "weight": 30}]}
    job = run(aws, fixture, body)
    assert (job["done"], job["percent"]) == (10, 100.0)
    current, proposed = job["models"]
    assert (current["label"], current["version"], proposed["label"]) == ("current", 0, "proposed")
    for report, weights in (
        (current["report"], {"usage": 40, "engagement": 30, "support": 20, "sentiment": 10}),
        (proposed["report"], {"usage": 70, "support": 30}),
    ):
        expected = reference(weights)
        assert report["outcomes"] == {"churned": 4, "renewed": 3, "expanded": 2, "contracted": 1}
        assert report["roc_auc"] == pytest.approx(expected["auc"])
        for row in report["bands"]:
            assert row["churn_rate"] == pytest.approx(expected["rates"][row["band"]]), row["band"]
            assert row["lead_time"] == pytest.approx(expected["lead"][row["band"]]), row["band"]
    # the balanced model asks for sentiment, which was never stored: N/A on each of 10 x 90 customer-days
    assert current["report"]["not_stored_days"] == {"sentiment": 900}
    assert proposed["report"]["not_stored_days"] == {}
    # a churner whose usage fell 20 days out was still fine 30 days out: missed, with that day's story
    missed = {m["customer_id"]: m for m in proposed["report"]["missed"]}
    assert "ch_a" in missed and missed["ch_a"]["day"] == (outcome_day("ch_a") - timedelta(30)).isoformat()
    assert missed["ch_a"]["explanation_that_day"] == f"stored explanation of ch_a on {missed['ch_a']['day']}"
    assert missed["ch_a"]["why"].startswith("Customer ch_a scored")
    # nothing but the job and its pages was written, and they expire
    added = [i for i in table_items() if i not in before]
    assert {i["entity"] for i in added} == {"backtest", "backtest_page"}
    assert all("expires_at" in i for i in added)


def test_a_dimension_that_predicts_churn_perfectly_scores_auc_1(aws: Resolver, fixture: str):
    job = run(
        aws,
        fixture,
        {"dimensions": [{"key": "engagement", "weight": 100}], "period": {"from": "2025-11-20", "to": "2026-11-20"}},
    )
    report = job["models"][1]["report"]
    assert report["roc_auc"] == 1.0
    assert report["at_risk"]["recall"] == 1.0 and report["at_risk"]["precision"] == 1.0
    assert (
        report["headline"] == "AUC 1.00; 100% of 4 churned customers flagged 'At risk' >= 30 days ahead (10 outcomes)"
    )


def test_a_period_picks_the_outcomes_in_it_and_no_body_backtests_the_model_in_force(aws: Resolver, fixture: str):
    director = api(fixture, "director-1", "director")
    started = director.post("/v1/health/model/backtest", {"period": {"from": "2026-09-01", "to": "2026-11-20"}})
    assert started.status == 202 and started.body["total"] == 5  # ch_a, ch_b, rn_a, rn_b, rn_f
    empty = director.request("POST", "/v1/health/model/backtest", raw="")
    assert empty.status == 202 and [m["label"] for m in empty.body["models"]] == ["current"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dimensions": [{"key": "usage", "weight": 99}]}, "dimensions"),
        ({"period": {"from": "2026-11-20", "to": "2026-01-01"}}, "period"),
        ({"period": {"from": "2026-11-20"}}, "period.to"),
        ({"smoothing_window": 5}, "smoothing_window"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_writes_nothing(workspace: str, body: dict[str, Any], field: str):
    before = table_items()
    response = api(workspace, "admin-1", "admin").post("/v1/health/model/backtest", body)
    assert response.status == 400, response.body
    assert any(str(d.get("field", "")).startswith(field) for d in response.body["error"]["details"]), response.body
    assert table_items() == before


@pytest.mark.parametrize(("user_id", "role"), [("csm-1", "csm"), ("viewer-1", "viewer")])
def test_csms_and_viewers_may_neither_start_nor_read_a_backtest(workspace: str, user_id: str, role: str):
    job = api(workspace, "admin-1", "admin").post("/v1/health/model/backtest", {}).body["job_id"]
    caller = api(workspace, user_id, role)
    assert caller.post("/v1/health/model/backtest", {}).status == 403
    assert caller.get(f"/v1/health/model/backtest/{job}").status == 403


def test_another_workspaces_backtest_reads_as_not_found(workspace: str, other_admin_api: ApiClient):
    job = api(workspace, "admin-1", "admin").post("/v1/health/model/backtest", {}).body["job_id"]
    response = other_admin_api.get(f"/v1/health/model/backtest/{job}")
    assert (response.status, response.error_code) == (404, "not_found")


def test_a_redelivered_page_counts_once_and_a_page_failing_its_last_try_fails_the_job(
    fixture: str, monkeypatch: pytest.MonkeyPatch
):
    from keepwell.schemas.messages import BacktestRequest
    from keepwell.services import backtest_runs
    from keepwell.storage import backtests

    director = api(fixture, "director-1", "director")
    job_id = director.post("/v1/health/model/backtest", {}).body["job_id"]
    page = BacktestRequest(workspace_id=fixture, backtest_id=job_id, page=0)
    backtest_runs.run_page(page)
    backtest_runs.run_page(page)  # the same message again
    job = director.get(f"/v1/health/model/backtest/{job_id}").body
    assert (job["status"], job["done"], job["total"]) == ("finished", 10, 10)

    other = director.post("/v1/health/model/backtest", {}).body["job_id"]

    def broken(*_: object) -> list:
        raise RuntimeError("snapshot read failed")

    monkeypatch.setattr(backtests, "stored_days", broken)
    body = BacktestRequest(workspace_id=fixture, backtest_id=other, page=0).model_dump_json()
    with pytest.raises(RuntimeError):
        backtest_runs.run_message(body, receives=1)
    assert director.get(f"/v1/health/model/backtest/{other}").body["status"] == "running"  # retried
    with pytest.raises(RuntimeError):
        backtest_runs.run_message(body, receives=5)  # the last try: on its way to the DLQ
    failed = director.get(f"/v1/health/model/backtest/{other}").body
    assert (failed["status"], failed["error"]) == ("failed", "page 0 failed")
