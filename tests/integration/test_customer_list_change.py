"""The customer list's `health_change_7d` (issue #19): the latest score minus the score 7 days
before it, both as shown, read from the scoring state on the profile — no further request per row."""

from __future__ import annotations

from datetime import timedelta

from bench.recalc import count_aws_requests
from keepwell.storage import health_snapshots as snapshots
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import TODAY, add_customer, request, score, usage_days


def listed(api: ApiClient, **query: str) -> dict[str, dict]:
    response = api.get("/v1/customers", limit=50, **query)
    assert response.status == 200, response.body
    return {c["customer_id"]: c for c in response.body["items"]}


def test_the_list_shows_the_7_day_change_of_the_scores_the_history_holds(admin_api: ApiClient, workspace: str):
    add_customer(workspace, "c1", usage=usage_days(days=120, quiet_from=20))  # nobody logged in lately
    add_customer(workspace, "c2")  # never scored
    assert score(request("c1", reason="manual", history=True, scoring_day=TODAY)) == {"batchItemFailures": []}
    history = {
        s.date: s.display_score for s in snapshots.get_snapshots(workspace, "c1", TODAY - timedelta(days=9), TODAY)
    }
    expected = round(history[TODAY] - history[TODAY - timedelta(days=7)], 1)
    assert expected < 0  # the score is sliding

    with count_aws_requests() as requests:
        rows = listed(admin_api)

    assert rows["c1"]["health_change_7d"] == expected
    assert rows["c2"]["health_change_7d"] is None
    assert requests.operations("dynamodb").get("Query", 0) <= 2  # the list's own read(s), nothing per row
    # one owner's book, by name (the owner index) and sorted in memory: the same figure
    assert listed(admin_api, owner_id="csm-1")["c1"]["health_change_7d"] == expected
    assert listed(admin_api, owner_id="csm-1", sort="-health_score")["c1"]["health_change_7d"] == expected


def test_one_scored_day_has_no_7_day_change(admin_api: ApiClient, workspace: str):
    add_customer(workspace, "c1")
    score(request("c1", scoring_day=TODAY))
    assert listed(admin_api)["c1"]["health_change_7d"] is None
    assert admin_api.get("/v1/customers/c1").body["health_change_7d"] is None  # the list only
