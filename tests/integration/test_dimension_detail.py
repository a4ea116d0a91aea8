"""One dimension of a customer's health through the real API handler: its daily series, its latest
value with the events behind it, its segment benchmark, and who may see it."""

from __future__ import annotations

import pytest

from keepwell.auth import Caller
from keepwell.domain import signal_log
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import add_customer, request, score, usage_days


def api(workspace: str, user_id: str, role: str) -> ApiClient:
    return ApiClient(Caller(workspace, user_id, role))


@pytest.fixture
def scored(workspace: str) -> list[str]:
    """Two customers of csm-1 and one of csm-2, each with 90 days of daily snapshots (history recompute)."""
    ids = [
        add_customer(workspace, "c1", usage=usage_days(days=120, quiet_from=20)),  # nobody logged in lately
        add_customer(workspace, "c2", usage=usage_days(days=120, active=9)),
        add_customer(workspace, "other", owner="csm-2", usage=usage_days(days=120)),
        add_customer(workspace, "c3", usage=usage_days(days=120), log=signal_log.SignalLog()),  # no emails
    ]
    for customer_id in ids:
        assert score(request(customer_id, reason="manual", history=True)) == {"batchItemFailures": []}
    return ids


def test_the_series_matches_the_historys_values_with_weights_and_the_latest_days_events(
    workspace: str, scored: list[str]
) -> None:
    director = api(workspace, "director-1", "director")
    response = director.get("/v1/customers/c1/health/dimensions/usage", days="30")
    assert response.status == 200, response.body
    body = response.body
    history = director.get("/v1/customers/c1/health/history", days="30").body
    assert (body["start"], body["end"]) == (history["start"], history["end"]) == ("2026-10-22", "2026-11-20")
    assert (body["dimension"], body["label"]) == ("usage", "Usage")
    assert [(p["date"], p["value"]) for p in body["series"]] == [
        (p["date"], p["value"]) for p in history["dimensions"]["usage"]["points"]
    ]
    assert len(body["series"]) == 30
    values = [p["value"] for p in body["series"]]
    assert values[-1] < values[0] - 15  # nobody logged in for three weeks: the series shows the drop
    # Each day's contribution is its value times its share of the score.
    for point in body["series"]:
        assert point["contribution"] == pytest.approx(point["value"] * point["effective_weight"] / 100, abs=0.06)
    # The latest value and events are those of the current health for this dimension, and only them.
    health = director.get("/v1/customers/c1/health").body
    usage = next(d for d in health["dimensions"] if d["key"] == "usage")
    assert (body["value"], body["scored_day"]) == (round(usage["value"], 1), health["scored_day"])
    assert body["top_negative"] == [e for e in health["top_negative"] if e["dimension"] == "usage"] != []
    assert body["top_positive"] == [e for e in health["top_positive"] if e["dimension"] == "usage"]
    assert len(director.get("/v1/customers/c1/health/dimensions/usage").body["series"]) == 90  # default: 90 days


def test_a_dimension_without_data_shows_nulls_and_no_weight(workspace: str, scored: list[str]) -> None:
    body = api(workspace, "csm-1", "csm").get("/v1/customers/c3/health/dimensions/sentiment", days="7").body
    assert body["value"] is None and len(body["series"]) == 7
    assert {(p["value"], p["effective_weight"], p["contribution"]) for p in body["series"]} == {(None, 0.0, 0.0)}
    assert body["top_positive"] == body["top_negative"] == []
    # Its weight went to the dimensions that had data.
    usage = api(workspace, "csm-1", "csm").get("/v1/customers/c3/health/dimensions/usage", days="7").body
    assert all(p["value"] is not None and p["effective_weight"] > 40 for p in usage["series"])


def test_the_segment_benchmark_is_the_customers_segments_in_that_dimension(
    workspace: str, admin_api: ApiClient, scored: list[str]
) -> None:
    assert admin_api.post("/v1/segments", {"name": "Active", "condition": 'status = "active"'}).status == 201
    director = api(workspace, "director-1", "director")
    body = director.get("/v1/customers/c1/health/dimensions/usage").body
    [entry] = body["benchmark"]
    assert (entry["segment"], entry["segment_size"], entry["position"]) == ("Active", 3, "below")
    assert entry["score"] == body["value"] and entry["segment_avg"] > entry["score"]
    overall = director.get("/v1/customers/c1/benchmark").body["segments"][0]
    assert entry == {"segment_id": overall["segment_id"], **overall["dimensions"]["usage"]}


def test_another_csms_customer_and_another_workspaces_customer_are_not_found(
    workspace: str, other_workspace: str, scored: list[str]
) -> None:
    for user_id, role in (("csm-1", "csm"), ("viewer-1", "viewer")):
        response = api(workspace, user_id, role).get("/v1/customers/other/health/dimensions/usage")
        assert (response.status, response.error_code) == (404, "not_found"), role
        assert "usage" not in str(response.body)  # nothing said about the dimension either
    assert api(workspace, "csm-2", "csm").get("/v1/customers/other/health/dimensions/usage").status == 200
    response = api(other_workspace, "admin-9", "admin").get("/v1/customers/c1/health/dimensions/usage")
    assert (response.status, response.error_code) == (404, "not_found")


def test_an_unknown_dimension_is_not_found_and_names_the_models_dimensions(workspace: str, scored: list[str]) -> None:
    response = api(workspace, "csm-1", "csm").get("/v1/customers/c1/health/dimensions/happiness")
    assert (response.status, response.error_code) == (404, "not_found")
    assert "usage, engagement, support, sentiment" in response.body["error"]["message"]


@pytest.mark.parametrize("days", ["0", "91", "-3", "ninety"])
def test_a_malformed_days_is_rejected(workspace: str, scored: list[str], days: str) -> None:
    response = api(workspace, "csm-1", "csm").get("/v1/customers/c1/health/dimensions/usage", days=days)
    assert response.status == 400, response.body
