"""Manual recalculation and a customer's health through the real API handler, with the scoring queue
drained by the real scorer handler (as the local stack's poller would)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from infra.invoker import Invoker
from infra.pollers import QueuePoller, sqs_event_sources
from infra.template import Resolver, load_template
from keepwell.auth import Caller
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import recalculation, scoring_jobs, scoring_queue
from keepwell.storage import health_snapshots as snapshots
from keepwell.storage import recalculations
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import add_customer, usage_days

TODAY = date(2026, 11, 20)


def api(workspace: str, user_id: str, role: str) -> ApiClient:
    return ApiClient(Caller(workspace, user_id, role))


def scorer_poller(resolver: Resolver) -> QueuePoller:
    source = next(s for s in sqs_event_sources(load_template(), resolver) if s.function_id == "ScorerFunction")
    return QueuePoller(replace(source, batching_window_s=0.0), boto3.client("sqs", region_name="us-east-1"), Invoker())


def drain(resolver: Resolver, limit: int = 100) -> QueuePoller:
    poller = scorer_poller(resolver)
    for _ in range(limit):
        if not poller.poll_once(wait_seconds=0):
            break
    return poller


@pytest.fixture
def portfolio(workspace: str) -> list[str]:
    """Three customers of csm-1, one of csm-2, one archived."""
    ids = [add_customer(workspace, f"c{n}", usage=usage_days(days=40)) for n in range(3)]
    ids.append(add_customer(workspace, "other", owner="csm-2", usage=usage_days(days=40)))
    add_customer(workspace, "archived", archived=True)
    return ids


# --- starting and following a recalculation ----------------------------------------------------------
@pytest.mark.parametrize(("user_id", "role"), [("csm-1", "csm"), ("viewer-1", "viewer")])
def test_csms_and_viewers_may_not_start_a_recalculation(workspace: str, user_id: str, role: str):
    response = api(workspace, user_id, role).post("/v1/health/recalculate", {})
    assert (response.status, response.error_code) == (403, "forbidden")


def test_a_director_starts_a_recalculation_and_follows_it_to_the_end(
    aws: Resolver, workspace: str, portfolio: list[str]
):
    director = api(workspace, "director-1", "director")
    started = director.post("/v1/health/recalculate", {})
    assert started.status == 202, started.body
    job = started.body
    assert job["job_id"].startswith("rc_") and job["status"] == "running"
    # The customers are listed by the scorer, after the answer: how many is not known yet.
    assert (job["listing"], job["total"], job["done"], job["failed"], job["percent"]) == ("running", 0, 0, 0, None)
    assert job["started_at"] == "2026-11-20T09:30:00.000Z" and job["finished_at"] is None
    assert (job["reason"], job["requested_by"], job["model_version"]) == ("manual", "director-1", 0)

    drain(aws)

    progress = director.get(f"/v1/health/recalculations/{job['job_id']}")
    assert progress.status == 200
    assert progress.body["status"] == "finished" and progress.body["finished_at"] is not None
    assert (progress.body["listing"], progress.body["total"]) == ("done", 4)  # archived left out
    assert (progress.body["done"], progress.body["failed"], progress.body["percent"]) == (4, 0, 100.0)
    for customer_id in portfolio:
        history = snapshots.get_snapshots(workspace, customer_id, TODAY - timedelta(days=100), TODAY)
        assert len(history) == 90 and history[-1].date == TODAY
    assert snapshots.get_snapshots(workspace, "archived", TODAY - timedelta(days=100), TODAY) == []
    # Any role of the workspace may follow it; another workspace may not even see it.
    assert api(workspace, "viewer-1", "viewer").get(f"/v1/health/recalculations/{job['job_id']}").status == 200
    other = ApiClient(Caller("ws_globex", "admin-9", "admin"))
    assert other.get(f"/v1/health/recalculations/{job['job_id']}").status == 404


def test_a_finished_recalculation_tallies_the_segments_with_its_new_scores(
    aws: Resolver, workspace: str, portfolio: list[str]
):
    """The segment tally (what the benchmark and the misalignment alert compare with) is taken when the
    job lists its customers, from the scores before it; when the job finishes it is taken again, so a
    new workspace's first recalculation (nobody scored yet) or a model change does not leave it a day
    behind."""
    from keepwell.storage import customers as customer_store
    from keepwell.storage import segments as segment_store
    from tests.integration.test_segments_api import create_segment

    admin = api(workspace, "admin-1", "admin")
    create_segment(admin, "Everyone active", 'status = "active"')
    assert admin.post("/v1/health/recalculate", {}).status == 202
    assert segment_store.get_segment_baselines(workspace) is None  # the request lists nobody
    assert scorer_poller(aws).poll_once(wait_seconds=0)  # the listing: tallies, then fans out page 0
    at_start = segment_store.get_segment_baselines(workspace)
    assert at_start is not None and [(t.count, t.total) for t in at_start.segments] == [(0, 0.0)]

    drain(aws)

    after = segment_store.get_segment_baselines(workspace)
    scores = [customer_store.get_customer(workspace, c).health_score for c in portfolio]  # type: ignore[union-attr]
    assert after is not None and [t.count for t in after.segments] == [4]
    assert after.segments[0].total == pytest.approx(sum(s for s in scores if s is not None))


def test_progress_is_counted_once_per_customer_whatever_the_redeliveries(
    aws: Resolver, workspace: str, portfolio: list[str]
):
    job = recalculation.start_recalculation(workspace, "admin-1")
    poller = scorer_poller(aws)
    poller.poll_once(wait_seconds=0)  # the listing: lists the four customers and fans out their page
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=poller.source.queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    assert sorted(b["customer_id"] for b in bodies) == sorted(portfolio)
    assert all(b["history"] and b["job_id"] == job["job_id"] and b["page"] == 0 for b in bodies)
    first = bodies[0]
    for body in [first, first]:  # delivered twice
        scoring_jobs.run_scoring_request(ScoringRequest.model_validate(body))
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None and (found.done, found.failed, found.status) == (1, 0, "running")


def test_a_customer_failing_its_last_receive_is_counted_failed_and_the_job_still_finishes(
    aws: Resolver, workspace: str, portfolio: list[str], monkeypatch: pytest.MonkeyPatch
):
    real = scoring_jobs.score_customer

    def broken_for_c1(request: Any) -> Any:
        if request.customer_id == "c1":
            raise RuntimeError("corrupt inputs")
        return real(request)

    monkeypatch.setattr(scoring_jobs, "score_customer", broken_for_c1)
    job = recalculation.start_recalculation(workspace, "admin-1")
    poller = drain(aws)
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None
    assert (found.done, found.failed, found.status) == (3, 1, "finished")
    assert poller.stats.failed == scoring_jobs.MAX_RECEIVES
    dead = boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=poller.source.dlq_url)["Messages"]
    assert json.loads(dead[0]["Body"])["customer_id"] == "c1"


def test_a_workspace_without_customers_has_its_job_finished_by_the_listing(aws: Resolver, workspace: str):
    admin = api(workspace, "admin-1", "admin")
    response = admin.post("/v1/health/recalculate", {})
    assert response.status == 202
    assert (response.body["status"], response.body["listing"]) == ("running", "running")
    assert drain(aws).stats.succeeded == 1  # one listing, nobody to fan out
    found = admin.get(f"/v1/health/recalculations/{response.body['job_id']}").body
    assert (found["total"], found["status"], found["listing"], found["percent"]) == (0, "finished", "done", 100.0)


def test_an_unknown_recalculation_is_404(workspace: str):
    admin = api(workspace, "admin-1", "admin")
    assert admin.get("/v1/health/recalculations/rc_nope").status == 404
    assert admin.get("/v1/health/recalculations/bad%23id").status == 404


def test_big_workspaces_are_fanned_out_a_page_at_a_time(aws: Resolver, workspace: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(recalculations, "PAGE_SIZE", 2)
    monkeypatch.setattr(scoring_queue, "FAN_OUT_PAGE", 3)  # listed 3 customers (two pages) at a time
    for n in range(5):
        add_customer(workspace, f"p{n}", usage=usage_days(days=5))
    job = recalculation.start_recalculation(workspace, "admin-1")
    assert recalculations.page_count(workspace, job["job_id"]) == 0  # nobody listed in the request
    poller = scorer_poller(aws)
    sqs = boto3.client("sqs", region_name="us-east-1")
    depths = []
    while poller.poll_once(wait_seconds=0):
        depths.append(
            int(
                sqs.get_queue_attributes(QueueUrl=poller.source.queue_url, AttributeNames=["All"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
        )
    assert max(depths) <= 3  # one page of customers and the next page's (or listing's) message
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None and (found.total, found.pages, found.done, found.status) == (5, 3, 5, "finished")


# --- a customer's health ------------------------------------------------------------------------------
def test_current_health_has_the_breakdown_and_when_it_was_scored(aws: Resolver, workspace: str, portfolio: list[str]):
    recalculation.start_recalculation(workspace, "admin-1")
    drain(aws)
    response = api(workspace, "csm-1", "csm").get("/v1/customers/c0/health")
    assert response.status == 200, response.body
    body = response.body
    assert body["customer_id"] == "c0" and body["scored_day"] == "2026-11-20"
    assert body["scored_at"] == "2026-11-20T09:30:00.000Z" and body["model_version"] == 0
    assert body["band"] in ("Healthy", "Neutral", "At risk") and body["band_color"]
    keys = [d["key"] for d in body["dimensions"]]
    assert keys == ["usage", "engagement", "support", "sentiment"]
    contributions = sum(d["contribution"] for d in body["dimensions"])
    assert round(contributions, 1) == body["score"]
    assert body["explanation"].startswith("Customer c0 scores")


def test_health_history_has_the_overall_and_per_dimension_series(aws: Resolver, workspace: str, portfolio: list[str]):
    recalculation.start_recalculation(workspace, "admin-1")
    drain(aws)
    director = api(workspace, "director-1", "director")
    response = director.get("/v1/customers/c1/health/history", days="30")
    assert response.status == 200, response.body
    body = response.body
    assert (body["start"], body["end"]) == ("2026-10-22", "2026-11-20")
    assert len(body["overall"]) == 30 and body["overall"][-1]["date"] == "2026-11-20"
    assert set(body["dimensions"]) == {"usage", "engagement", "support", "sentiment"}
    assert len(body["dimensions"]["usage"]["points"]) == 30 and body["dimensions"]["usage"]["label"] == "Usage"
    assert len(director.get("/v1/customers/c1/health/history").body["overall"]) == 90
    for bad in ("0", "91", "ninety"):
        assert director.get("/v1/customers/c1/health/history", days=bad).status == 400


def test_a_customer_never_scored_has_no_score_yet(workspace: str, portfolio: list[str]):
    body = api(workspace, "admin-1", "admin").get("/v1/customers/c2/health").body
    assert body["score"] is None and body["scored_at"] is None and body["dimensions"] == []
    history = api(workspace, "admin-1", "admin").get("/v1/customers/c2/health/history").body
    assert history["overall"] == [] and history["dimensions"] == {}


def test_csms_see_the_health_of_their_own_customers_only(workspace: str, portfolio: list[str]):
    csm = api(workspace, "csm-1", "csm")
    assert csm.get("/v1/customers/c0/health").status == 200
    response = csm.get("/v1/customers/other/health")
    # Outside the portfolio is the same answer as no such customer (docs/permissions.md).
    assert (response.status, response.error_code) == (404, "not_found")
    assert csm.get("/v1/customers/other/health/history").status == 404
    assert api(workspace, "csm-2", "csm").get("/v1/customers/other/health").status == 200
    assert api(workspace, "viewer-1", "viewer").get("/v1/customers/other/health").status == 404
    assert api(workspace, "director-1", "director").get("/v1/customers/other/health").status == 200


def test_another_workspaces_customer_is_not_found(workspace: str, other_workspace: str, portfolio: list[str]):
    other = ApiClient(Caller(other_workspace, "admin-9", "admin"))
    for path in ("/v1/customers/c0/health", "/v1/customers/c0/health/history"):
        response = other.get(path)
        assert (response.status, response.error_code) == (404, "not_found")
