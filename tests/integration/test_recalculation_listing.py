"""A recalculation's customers are listed by the scorer, a chunk at a time, not by the request that
starts it; its progress is read from the job item and the pages still open, not from every page.
(Issue 23: nothing that grows with the workspace's size per request.)"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from bench.recalc import count_aws_requests
from infra.template import Resolver
from keepwell import clock
from keepwell.auth import Caller
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import recalculation, scoring_jobs, scoring_queue, segment_baselines
from keepwell.storage import keys, recalculations
from keepwell.storage.recalculations import RecalculationItem, RecalculationPageItem
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import add_customer, queued, score, usage_days


def admin(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "admin-1", "admin"))


def customers(workspace: str, n: int) -> list[str]:
    return [add_customer(workspace, f"p{i:02d}", usage=usage_days(days=5)) for i in range(n)]


def run_queue(aws: Resolver, *, twice: bool = False) -> Counter[str]:
    """Hand every queued scoring message to the scorer (each twice, in two batches, with `twice`) until
    the queue is empty; what kinds of message it handled."""
    kinds: Counter[str] = Counter()
    while bodies := queued(aws):
        for body in bodies:
            kind = "customer" if body.get("customer_id") else "listing" if body.get("listing") else "page"
            kinds[kind] += 1
            for _ in range(2 if twice else 1):
                assert score(ScoringRequest.model_validate(body)) == {"batchItemFailures": []}
    return kinds


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 2 customers, listed 3 customers (two pages) at a time."""
    monkeypatch.setattr(recalculations, "PAGE_SIZE", 2)
    monkeypatch.setattr(scoring_queue, "FAN_OUT_PAGE", 3)


# --- starting -------------------------------------------------------------------------------------------
def test_starting_makes_the_same_few_requests_whatever_the_workspaces_size(workspace: str) -> None:
    def start() -> dict[str, int]:
        with count_aws_requests() as requests:
            response = admin(workspace).post("/v1/health/recalculate", {})
        assert response.status == 202 and response.body["listing"] == "running"
        return {**requests.operations("dynamodb"), **requests.operations("sqs")}

    customers(workspace, 2)
    start()  # the first reads the workspace's clock too (then cached by the container)
    small = start()
    for i in range(2, 14):
        add_customer(workspace, f"p{i:02d}", usage=usage_days(days=1))
    large = start()
    assert small == large
    # The job item and its audit entry (one PutItem each), one listing message; no customer listed.
    assert "Query" not in large and "BatchWriteItem" not in large
    assert large.get("PutItem") == 2 and large.get("SendMessageBatch", 0) + large.get("SendMessage", 0) == 1


# --- listing and progress -----------------------------------------------------------------------------
def test_a_job_of_several_listings_finishes_with_exact_counts_whatever_the_redeliveries(
    aws: Resolver, workspace: str, small_pages: None
) -> None:
    ids = customers(workspace, 7)
    add_customer(workspace, "gone", archived=True)
    job = recalculation.start_recalculation(workspace, "admin-1")

    kinds = run_queue(aws, twice=True)  # every listing, page and customer message delivered twice

    # 7 customers: listed 3 + 3 + 1, in pages of 2 (0-1, 2-3, 4); each page fanned out once.
    assert kinds == {"listing": 3, "page": 2, "customer": 7}
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None
    assert (found.listing, found.total, found.pages, found.done, found.failed) == ("done", 7, 5, 7, 0)
    assert found.status == "finished"
    summary = recalculation.job_summary(found)
    assert (summary["percent"], summary["total"]) == (100.0, len(ids))


def test_while_listing_the_total_counts_the_customers_listed_so_far(
    aws: Resolver, workspace: str, small_pages: None
) -> None:
    customers(workspace, 5)
    job = recalculation.start_recalculation(workspace, "admin-1")
    (listing,) = queued(aws)
    assert score(ScoringRequest.model_validate(listing)) == {"batchItemFailures": []}  # lists 3 of 5
    polled = admin(workspace).get(f"/v1/health/recalculations/{job['job_id']}").body
    assert (polled["status"], polled["listing"], polled["total"], polled["percent"]) == ("running", "running", 3, None)
    run_queue(aws)
    polled = admin(workspace).get(f"/v1/health/recalculations/{job['job_id']}").body
    assert (polled["status"], polled["listing"], polled["total"], polled["done"]) == ("finished", "done", 5, 5)


def test_the_job_is_not_finished_while_customers_are_still_to_be_listed(
    aws: Resolver, workspace: str, small_pages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers(workspace, 3)
    monkeypatch.setattr(scoring_queue, "FAN_OUT_PAGE", 2)  # one page a listing: p00-p01, then p02
    job = recalculation.start_recalculation(workspace, "admin-1")
    (listing,) = queued(aws)
    request = ScoringRequest.model_validate(listing)
    assert score(request) == {"batchItemFailures": []}
    bodies = queued(aws)
    assert sorted(b.get("customer_id") or "next listing" for b in bodies) == ["next listing", "p00", "p01"]
    for body in sorted(bodies, key=lambda b: bool(b.get("listing"))):  # the customers, then the listing
        if body.get("listing"):
            found = recalculations.get_job(workspace, job["job_id"])
            # Every page listed so far is complete, yet more customers are to be listed.
            assert found is not None and (found.done, found.total, found.status) == (2, 2, "running")
        assert score(ScoringRequest.model_validate(body)) == {"batchItemFailures": []}
    run_queue(aws)
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None and (found.done, found.total, found.status) == (3, 3, "finished")


def test_a_listing_that_fails_for_good_finishes_the_job_with_what_was_listed(
    aws: Resolver, workspace: str, small_pages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers(workspace, 5)
    job = recalculation.start_recalculation(workspace, "admin-1")
    (first,) = queued(aws)
    assert score(ScoringRequest.model_validate(first)) == {"batchItemFailures": []}  # p00-p02 listed
    bodies = queued(aws)
    (page_one,) = [b for b in bodies if b.get("customer_id") is None]
    for body in bodies:
        if body.get("customer_id"):
            assert score(ScoringRequest.model_validate(body)) == {"batchItemFailures": []}
    assert score(ScoringRequest.model_validate(page_one)) == {"batchItemFailures": []}
    bodies = queued(aws)
    (second_listing,) = [b for b in bodies if b.get("listing")]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the customer listing is unreadable")

    monkeypatch.setattr(segment_baselines, "refresh_page", broken)
    failed = score(ScoringRequest.model_validate(second_listing), receive_count=scoring_jobs.MAX_RECEIVES)
    assert len(failed["batchItemFailures"]) == 1  # on its way to the DLQ: the job is told
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None and (found.listing, found.status) == ("failed", "running")  # page 1 is open
    for body in bodies:
        if body.get("customer_id"):
            assert score(ScoringRequest.model_validate(body)) == {"batchItemFailures": []}
    polled = admin(workspace).get(f"/v1/health/recalculations/{job['job_id']}").body
    assert (polled["status"], polled["listing"], polled["total"], polled["done"], polled["failed"]) == (
        "finished",
        "failed",
        3,
        3,
        0,
    )
    assert polled["percent"] == 100.0


def test_a_first_listing_that_fails_for_good_finishes_the_job_at_once(
    aws: Resolver, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers(workspace, 2)
    job = recalculation.start_recalculation(workspace, "admin-1")
    (listing,) = queued(aws)
    monkeypatch.setattr(segment_baselines, "refresh_page", lambda *a, **k: (_ for _ in ()).throw(RuntimeError()))
    score(ScoringRequest.model_validate(listing), receive_count=scoring_jobs.MAX_RECEIVES)
    found = recalculations.get_job(workspace, job["job_id"])
    assert found is not None and (found.listing, found.status, found.total) == ("failed", "finished", 0)


def test_a_customer_redriven_from_the_dlq_and_scored_counts_as_done(workspace: str) -> None:
    """docs/operations.md: a redriven history message counts as done when it succeeds, and `failed`
    goes down again, though its page was counted when it completed."""
    recalculations.create_job(
        workspace, "rc_dlq", reason="manual", requested_by="admin-1", model_version=0, started_at=clock.now()
    )
    assert recalculations.add_listed_pages(workspace, "rc_dlq", 0, ["a", "b"], None, None)
    recalculations.record_progress(workspace, "rc_dlq", 0, ["a"])
    assert recalculations.record_progress(workspace, "rc_dlq", 0, ["b"], failed=True)  # finishes the job
    found = recalculations.get_job(workspace, "rc_dlq")
    assert found is not None and (found.status, found.done, found.failed) == ("finished", 1, 1)
    for _ in range(2):  # the redriven message succeeds, and is delivered twice
        assert not recalculations.record_progress(workspace, "rc_dlq", 0, ["b"])
        found = recalculations.get_job(workspace, "rc_dlq")
        assert found is not None and (found.status, found.done, found.failed) == ("finished", 2, 0)


# --- polling --------------------------------------------------------------------------------------------
def listed_job(workspace: str, job_id: str, customers: int, settled_pages: int) -> None:
    """A job listed by the scorer with `customers` (made-up ids: nobody is scored), the first
    `settled_pages` of its pages complete and one more half done."""
    recalculations.create_job(
        workspace, job_id, reason="manual", requested_by="admin-1", model_version=0, started_at=clock.now()
    )
    ids = [f"x{job_id}{n:04d}" for n in range(customers)]
    assert recalculations.add_listed_pages(workspace, job_id, 0, ids, "cursor", {})
    size = recalculations.PAGE_SIZE
    for page in range(settled_pages):
        recalculations.record_progress(workspace, job_id, page, ids[page * size : (page + 1) * size])
    recalculations.record_progress(
        workspace, job_id, settled_pages, ids[settled_pages * size : settled_pages * size + 1]
    )


@pytest.mark.parametrize("customers", [20, 190])
def test_a_poll_reads_the_job_and_one_batch_of_open_pages_whatever_the_jobs_size(
    workspace: str, monkeypatch: pytest.MonkeyPatch, customers: int
) -> None:
    monkeypatch.setattr(recalculations, "PAGE_SIZE", 2)  # 10 or 95 pages
    listed_job(workspace, "rc_poll", customers, settled_pages=4)
    with count_aws_requests() as requests:
        found = recalculations.get_job(workspace, "rc_poll")
    assert found is not None and (found.total, found.done, found.failed) == (customers, 9, 0)
    assert requests.operations("dynamodb") == {"GetItem": 1, "BatchGetItem": 1}


def test_a_poll_reads_no_page_beyond_the_first_hundred_open_ones(
    workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recalculations, "PAGE_SIZE", 1)
    monkeypatch.setattr(recalculations, "OPEN_PAGES_READ", 3)
    listed_job(workspace, "rc_many", 8, settled_pages=2)  # pages 0-1 complete, page 2 done, 3-7 open
    with count_aws_requests() as requests:
        found = recalculations.get_job(workspace, "rc_many")
    assert found is not None and (found.done, found.status) == (3, "running")
    assert requests.keys_read == {"GetItem": 1, "BatchGetItem": 3}  # pages 2-4 of the six open


# --- jobs written before the listing moved to the scorer ------------------------------------------------
def old_layout_job(workspace: str, job_id: str, pages: list[list[str]], done: list[list[str]]) -> None:
    """Items as `create_job` wrote them before: the job (no `listing`, no counters) and every page."""
    started = clock.now()
    key = keys.recalculation(workspace, job_id)
    RecalculationItem(
        key.pk,
        key.sk,
        entity="recalculation",
        workspace_id=workspace,
        job_id=job_id,
        total=sum(len(p) for p in pages),
        pages=len(pages),
        reason="manual",
        requested_by="admin-1",
        model_version=0,
        started_at=clock.iso(started),
        status="running",
        expires_at=started + timedelta(days=30),
    ).save()
    for number, (ids, scored) in enumerate(zip(pages, done, strict=True)):
        page_key = keys.recalculation_page(workspace, job_id, number)
        RecalculationPageItem(
            page_key.pk,
            page_key.sk,
            entity="recalculation_page",
            workspace_id=workspace,
            job_id=job_id,
            page=number,
            customer_ids=set(ids),
            done_ids=set(scored) or None,
            expires_at=started + timedelta(days=30),
        ).save()
        if set(scored) == set(ids):  # the page completed: the job's set said so
            RecalculationItem(key.pk, key.sk).update(actions=[RecalculationItem.completed_pages.add({number})])


def test_a_job_of_the_old_layout_reads_and_finishes_through_the_new_code(aws: Resolver, workspace: str) -> None:
    add_customer(workspace, "c2", usage=usage_days(days=5))
    old_layout_job(workspace, "rc_old", [["a", "b"], ["c1", "c2"]], [["a", "b"], ["c1"]])
    polled = admin(workspace).get("/v1/health/recalculations/rc_old").body
    assert (polled["status"], polled["listing"], polled["total"], polled["done"], polled["percent"]) == (
        "running",
        "done",
        4,
        3,
        75.0,
    )
    # Its page message still in the queue at the deploy: fans out as before, and the job finishes.
    page = ScoringRequest(
        workspace_id=workspace, reason="manual", job_id="rc_old", page=1, history=True, model_version=0
    )
    assert score(page) == {"batchItemFailures": []}
    assert sorted(b["customer_id"] for b in queued(aws)) == ["c1", "c2"]  # no listing follows
    scoring_jobs.run_scoring_request(page.model_copy(update={"customer_id": "c2"}))
    polled = admin(workspace).get("/v1/health/recalculations/rc_old").body
    assert (polled["status"], polled["done"], polled["failed"], polled["percent"]) == ("finished", 4, 0, 100.0)
