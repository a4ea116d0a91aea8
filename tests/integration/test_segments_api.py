"""Segment routes and the customer benchmark through the real API handler on moto."""

from __future__ import annotations

from typing import Any

import pytest

from bench.recalc import count_aws_requests
from keepwell.auth import Caller
from keepwell.storage import keys
from keepwell.storage.segments import CustomerHealthItem
from tests.conftest import ApiClient

ENTERPRISE_LATAM = 'status = "active" AND country IN ("BR", "MX", "AR") AND arr > 50000'


def create_customer(api: ApiClient, name: str, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": name, **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def create_segment(api: ApiClient, name: str, condition: Any, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/segments", {"name": name, "condition": condition, **fields})
    assert response.status == 201, response.body
    return dict(response.body)


def member_names(api: ApiClient, segment_id: str, **query: Any) -> list[str]:
    response = api.get(f"/v1/segments/{segment_id}/members", **query)
    assert response.status == 200, response.body
    return [c["name"] for c in response.body["items"]]


def set_latest_health(workspace_id: str, customer_id: str, score: float, values: dict[str, Any]) -> None:
    """What the scorer denormalises onto the profile."""
    key = keys.customer(workspace_id, customer_id)
    CustomerHealthItem(key.pk, key.sk).update(
        actions=[
            CustomerHealthItem.health_score.set(score),
            CustomerHealthItem.health_band.set("Healthy" if score >= 70 else "Neutral" if score >= 50 else "At risk"),
            CustomerHealthItem.health_dimensions.set(values),
        ]
    )


@pytest.fixture
def csm_api(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "csm-1", "csm"))


# --- CRUD ------------------------------------------------------------------------------------------
def test_a_segment_is_created_read_listed_updated_and_deleted(admin_api: ApiClient) -> None:
    created = create_segment(admin_api, "Enterprise LATAM", ENTERPRISE_LATAM, description="Big accounts in LATAM")

    assert created["segment_id"].startswith("seg_")
    assert created["condition"] == {
        "all": [
            {"field": "status", "op": "eq", "value": "active"},
            {"field": "country", "op": "in", "value": ["BR", "MX", "AR"]},
            {"field": "arr", "op": "gt", "value": 50000},
        ]
    }
    assert created["condition_text"] == '(status = "active" AND country IN ("BR", "MX", "AR") AND arr > 50000)'
    assert (created["version"], created["created_by"]) == (1, "admin-1")
    segment_id = created["segment_id"]
    assert admin_api.get(f"/v1/segments/{segment_id}").body == created
    assert [s["name"] for s in admin_api.get("/v1/segments").body["items"]] == ["Enterprise LATAM"]

    patched = admin_api.patch(f"/v1/segments/{segment_id}", {"name": "LATAM", "condition": "arr > 100000"})
    assert patched.status == 200, patched.body
    assert (patched.body["name"], patched.body["condition_text"], patched.body["version"]) == (
        "LATAM",
        "arr > 100000",
        2,
    )
    assert patched.body["description"] == "Big accounts in LATAM"

    assert admin_api.delete(f"/v1/segments/{segment_id}").status == 204
    assert admin_api.get(f"/v1/segments/{segment_id}").status == 404
    assert admin_api.get("/v1/segments").body["items"] == []


def test_a_json_condition_is_accepted_as_is(admin_api: ApiClient) -> None:
    condition = {
        "any": [
            {"field": "health_score", "op": "lt", "value": 60},
            {"field": "tags", "op": "contains", "value": "pilot"},
        ]
    }
    created = create_segment(admin_api, "Watch", condition)

    assert created["condition"] == condition
    assert created["condition_text"] == '(health_score < 60 OR tags CONTAINS "pilot")'


def test_an_invalid_text_condition_is_400_with_the_message_and_position_and_nothing_saved(
    admin_api: ApiClient,
) -> None:
    response = admin_api.post("/v1/segments", {"name": "Typo", "condition": 'status = "active" AND contry = "BR"'})

    assert response.status == 400
    error = response.body["error"]
    assert "unknown field 'contry'" in error["message"]
    assert "at position 23" in error["message"]
    assert error["details"][0]["position"] == 23
    assert admin_api.get("/v1/segments").body["items"] == []


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('arr > "lots"', "type mismatch"),
        ("status = ", "expected a value"),
        ({"all": [{"field": "arr", "op": "gt"}]}, "condition.all[0].value"),
        ("custom.plan_type = 'gold'", "unknown field 'custom.plan_type'"),
        ("dimension.happiness > 3", "unknown field 'dimension.happiness'"),
    ],
)
def test_invalid_conditions_are_rejected_with_a_clear_message(
    admin_api: ApiClient, condition: Any, expected: str
) -> None:
    response = admin_api.post("/v1/segments", {"name": "Bad", "condition": condition})

    assert response.status == 400
    assert expected in response.body["error"]["message"]


def test_custom_fields_are_typed_from_their_definitions(admin_api: ApiClient) -> None:
    admin_api.post(
        "/v1/custom-fields", {"key": "plan_type", "label": "Plan", "type": "select", "options": ["gold", "tin"]}
    )

    assert admin_api.post("/v1/segments", {"name": "Gold", "condition": 'custom.plan_type = "gold"'}).status == 201
    wrong = admin_api.post("/v1/segments", {"name": "Gold 2", "condition": "custom.plan_type > 3"})
    assert wrong.status == 400 and "type mismatch" in wrong.body["error"]["message"]


def test_a_second_segment_with_the_same_name_is_409(admin_api: ApiClient) -> None:
    create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')

    response = admin_api.post("/v1/segments", {"name": "enterprise", "condition": "arr > 1"})

    assert response.status == 409
    assert len(admin_api.get("/v1/segments").body["items"]) == 1


def test_null_name_or_condition_in_a_patch_is_400(admin_api: ApiClient) -> None:
    segment_id = create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')["segment_id"]

    assert admin_api.patch(f"/v1/segments/{segment_id}", {"condition": None}).status == 400
    assert admin_api.patch(f"/v1/segments/{segment_id}", {"name": None}).status == 400
    assert admin_api.patch(f"/v1/segments/{segment_id}", {"condition": "nope"}).status == 400
    assert admin_api.get(f"/v1/segments/{segment_id}").body["version"] == 1


@pytest.mark.parametrize(("user_id", "role"), [("csm-1", "csm"), ("viewer-1", "viewer")])
def test_csm_and_viewer_read_segments_but_cannot_write_them(
    admin_api: ApiClient, workspace: str, user_id: str, role: str
) -> None:
    segment_id = create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')["segment_id"]
    api = ApiClient(Caller(workspace, user_id, role))

    assert api.post("/v1/segments", {"name": "Mine", "condition": "arr > 1"}).status == 403
    assert api.patch(f"/v1/segments/{segment_id}", {"name": "Theirs"}).status == 403
    assert api.delete(f"/v1/segments/{segment_id}").status == 403
    assert api.get(f"/v1/segments/{segment_id}").status == 200
    assert [s["name"] for s in api.get("/v1/segments").body["items"]] == ["Enterprise"]


def test_a_director_may_write_segments(workspace: str) -> None:
    director = ApiClient(Caller(workspace, "director-1", "director"))
    assert director.post("/v1/segments", {"name": "Mine", "condition": "arr > 1"}).status == 201


def test_another_workspaces_segment_id_is_404_everywhere(admin_api: ApiClient, other_admin_api: ApiClient) -> None:
    segment_id = create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')["segment_id"]

    assert other_admin_api.get(f"/v1/segments/{segment_id}").status == 404
    assert other_admin_api.get(f"/v1/segments/{segment_id}/members").status == 404
    assert other_admin_api.patch(f"/v1/segments/{segment_id}", {"name": "Mine"}).status == 404
    assert other_admin_api.delete(f"/v1/segments/{segment_id}").status == 404
    assert other_admin_api.get("/v1/segments").body["items"] == []
    assert admin_api.get(f"/v1/segments/{segment_id}").body["name"] == "Enterprise"


# --- members -----------------------------------------------------------------------------------------
def test_members_follow_the_customers_data_as_it_changes(admin_api: ApiClient) -> None:
    create_customer(admin_api, "Acme", country="BR", arr=120000)
    birch = create_customer(admin_api, "Birch", country="MX", arr=20000)
    create_customer(admin_api, "Cobalt", country="US", arr=500000)
    segment_id = create_segment(admin_api, "Enterprise LATAM", ENTERPRISE_LATAM)["segment_id"]

    assert member_names(admin_api, segment_id) == ["Acme"]

    assert admin_api.patch(f"/v1/customers/{birch}", {"arr": 60000}).status == 200
    assert member_names(admin_api, segment_id) == ["Acme", "Birch"]

    assert admin_api.post(f"/v1/customers/{birch}/churn", {"churn_reason": "price"}).status == 200
    assert member_names(admin_api, segment_id) == ["Acme"]


def test_members_by_health_score_and_dimension_values(admin_api: ApiClient, workspace: str) -> None:
    acme = create_customer(admin_api, "Acme")
    birch = create_customer(admin_api, "Birch")
    create_customer(admin_api, "Cobalt")  # never scored: matches no health condition
    set_latest_health(workspace, acme, 45.0, {"usage": 70, "engagement": 40, "support": 30, "sentiment": None})
    set_latest_health(workspace, birch, 55.0, {"usage": 70, "engagement": 40, "support": 60, "sentiment": 50})
    low = create_segment(admin_api, "Low health", "health_score < 60")["segment_id"]
    support = create_segment(admin_api, "Support trouble", "health_score < 60 AND dimension.support < 40")["segment_id"]
    no_sentiment = create_segment(admin_api, "No sentiment data", "dimension.sentiment NOT EXISTS")["segment_id"]

    assert member_names(admin_api, low) == ["Acme", "Birch"]
    assert member_names(admin_api, support) == ["Acme"]
    assert member_names(admin_api, no_sentiment) == ["Acme", "Cobalt"]

    set_latest_health(workspace, birch, 50.0, {"usage": 70, "engagement": 40, "support": 20, "sentiment": 50})
    assert member_names(admin_api, support) == ["Acme", "Birch"]


def test_archived_customers_are_not_members(admin_api: ApiClient) -> None:
    acme = create_customer(admin_api, "Acme", arr=100)
    create_customer(admin_api, "Birch", arr=100)
    segment_id = create_segment(admin_api, "All", "arr >= 0")["segment_id"]

    admin_api.post(f"/v1/customers/{acme}/archive")

    assert member_names(admin_api, segment_id) == ["Birch"]


def test_a_csm_sees_only_the_members_in_their_portfolio(admin_api: ApiClient, csm_api: ApiClient) -> None:
    create_customer(admin_api, "Acme", tier="Enterprise", owner_id="csm-1")
    create_customer(admin_api, "Birch", tier="Enterprise", owner_id="csm-2")
    create_customer(admin_api, "Cobalt", tier="Enterprise")
    create_customer(admin_api, "Dune", tier="SMB", owner_id="csm-1")
    segment_id = create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')["segment_id"]

    assert member_names(admin_api, segment_id) == ["Acme", "Birch", "Cobalt"]
    assert member_names(csm_api, segment_id) == ["Acme"]


def test_members_are_paged_without_repeats(admin_api: ApiClient) -> None:
    for index, name in enumerate(["Acme", "Birch", "Cobalt", "Dune", "Ember", "Fjord", "Gale"]):
        create_customer(admin_api, name, arr=100 if index % 3 else 0)  # Acme, Dune, Gale have 0
    segment_id = create_segment(admin_api, "Paying", "arr > 0")["segment_id"]

    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = admin_api.get(f"/v1/segments/{segment_id}/members", **query).body
        pages.append([c["name"] for c in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [name for page in pages for name in page] == ["Birch", "Cobalt", "Ember", "Fjord"]
    assert all(len(page) <= 2 for page in pages)


def test_a_forged_members_cursor_is_400(admin_api: ApiClient) -> None:
    segment_id = create_segment(admin_api, "Paying", "arr > 0")["segment_id"]

    response = admin_api.get(f"/v1/segments/{segment_id}/members", cursor="bm90LWEtY3Vyc29y")

    assert response.status == 400
    assert response.error_code == "invalid_cursor"


# --- benchmark -----------------------------------------------------------------------------------
def test_benchmark_compares_the_customer_with_each_of_its_segments(admin_api: ApiClient, workspace: str) -> None:
    acme = create_customer(admin_api, "Acme", tier="Enterprise", country="BR", arr=120000)
    birch = create_customer(admin_api, "Birch", tier="Enterprise", country="MX", arr=90000)
    cobalt = create_customer(admin_api, "Cobalt", tier="Enterprise", country="US", arr=80000)
    dune = create_customer(admin_api, "Dune", tier="SMB", country="BR", arr=1000)
    set_latest_health(workspace, acme, 72.0, {"usage": 80, "engagement": 55, "support": 70, "sentiment": None})
    set_latest_health(workspace, birch, 60.0, {"usage": 50, "engagement": 70, "support": 60, "sentiment": 40})
    set_latest_health(workspace, cobalt, 70.0, {"usage": 60, "engagement": 50, "support": 80, "sentiment": 60})
    set_latest_health(workspace, dune, 20.0, {"usage": 10, "engagement": 10, "support": 10, "sentiment": 10})
    create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')
    create_segment(admin_api, "Enterprise LATAM", ENTERPRISE_LATAM)
    create_segment(admin_api, "SMB", 'tier = "SMB"')

    response = admin_api.get(f"/v1/customers/{acme}/benchmark")

    assert response.status == 200, response.body
    body = response.body
    assert (body["customer_id"], body["score"], body["band"]) == (acme, 72.0, "Healthy")
    by_name = {s["segment"]: s for s in body["segments"]}
    assert list(by_name) == ["Enterprise", "Enterprise LATAM"]
    enterprise = by_name["Enterprise"]
    assert (enterprise["score"], enterprise["segment_avg"], enterprise["segment_size"], enterprise["position"]) == (
        72.0,
        65.0,
        2,
        "above",
    )
    assert enterprise["dimensions"]["usage"]["segment_avg"] == 55.0
    assert enterprise["dimensions"]["support"]["position"] == "at"
    assert enterprise["dimensions"]["engagement"]["position"] == "below"
    assert enterprise["dimensions"]["sentiment"]["position"] is None  # Acme has no sentiment value
    assert enterprise["dimensions"]["sentiment"]["segment_avg"] == 50.0
    latam = by_name["Enterprise LATAM"]
    assert (latam["segment_avg"], latam["segment_size"], latam["position"]) == (60.0, 1, "above")

    birch_body = admin_api.get(f"/v1/customers/{birch}/benchmark").body
    assert [(s["segment"], s["segment_avg"], s["position"]) for s in birch_body["segments"]] == [
        ("Enterprise", 71.0, "below"),
        ("Enterprise LATAM", 72.0, "below"),
    ]


def test_a_customer_in_no_segment_has_no_benchmarks(admin_api: ApiClient) -> None:
    acme = create_customer(admin_api, "Acme", tier="SMB")
    create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')

    body = admin_api.get(f"/v1/customers/{acme}/benchmark").body

    assert body["segments"] == []


def test_benchmark_of_an_unknown_or_other_workspaces_customer_is_404(
    admin_api: ApiClient, other_admin_api: ApiClient
) -> None:
    acme = create_customer(admin_api, "Acme")

    assert admin_api.get("/v1/customers/cus_0000000000000000/benchmark").status == 404
    assert other_admin_api.get(f"/v1/customers/{acme}/benchmark").status == 404


def test_benchmark_reads_the_segment_tallies_the_scorer_keeps_with_the_same_answer_as_a_walk(
    admin_api: ApiClient, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwell import clock
    from keepwell.services import segment_baselines
    from keepwell.storage import health_models as model_store
    from keepwell.storage import segments as segment_store

    ids = {}
    for name, tier, country, score, values in (
        ("Acme", "Enterprise", "BR", 72.0, {"usage": 80, "engagement": 55, "support": 70, "sentiment": None}),
        ("Birch", "Enterprise", "MX", 60.0, {"usage": 50, "engagement": 70, "support": 60, "sentiment": 40}),
        ("Cobalt", "Enterprise", "US", 70.0, {"usage": 60, "engagement": 50, "support": 80, "sentiment": 60}),
        ("Dune", "SMB", "BR", 20.0, {"usage": 10, "engagement": 10, "support": 10, "sentiment": 10}),
        ("Elm", "Enterprise", "AR", 41.3, {"usage": 33.3, "engagement": None, "support": 49, "sentiment": 70}),
    ):
        ids[name] = create_customer(admin_api, name, tier=tier, country=country, arr=120000)
        set_latest_health(workspace, ids[name], score, values)
    create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')
    create_segment(admin_api, "Enterprise LATAM", ENTERPRISE_LATAM)
    walked = {name: admin_api.get(f"/v1/customers/{cid}/benchmark").body for name, cid in ids.items()}

    segment_baselines.refresh(workspace, clock.today())  # the daily fan-out's tally
    monkeypatch.setattr(segment_store, "iter_health_rows", lambda *a, **k: pytest.fail("walked the customers"))
    monkeypatch.setattr(model_store, "CACHE_SECONDS", 0.0)  # cold: the model comes with the BatchGetItem

    for name, cid in ids.items():
        with count_aws_requests() as requests:
            tallied = admin_api.get(f"/v1/customers/{cid}/benchmark")
        assert tallied.status == 200 and tallied.body == walked[name], name
        # The profile and the tally in one BatchGetItem, the segments in one Query; the custom field
        # definitions are not read (the tally keeps the types its segments were parsed with).
        assert requests.operations("dynamodb") == {"BatchGetItem": 1, "Query": 1}, name
    assert [s["segment_size"] for s in walked["Acme"]["segments"]] == [3, 3]


def test_a_segment_edited_since_the_tally_is_benchmarked_by_walking_the_customers(
    admin_api: ApiClient, workspace: str
) -> None:
    from keepwell import clock
    from keepwell.services import segment_baselines

    acme = create_customer(admin_api, "Acme", tier="Enterprise", arr=1)
    birch = create_customer(admin_api, "Birch", tier="Enterprise", arr=2)
    set_latest_health(workspace, acme, 80.0, {"usage": 80})
    set_latest_health(workspace, birch, 40.0, {"usage": 40})
    segment_id = create_segment(admin_api, "Big", 'tier = "Enterprise" AND arr > 1')["segment_id"]
    segment_baselines.refresh(workspace, clock.today())  # Birch alone is in it: Acme is in no segment
    assert admin_api.patch(f"/v1/segments/{segment_id}", {"condition": 'tier = "Enterprise"'}).status == 200

    [entry] = admin_api.get(f"/v1/customers/{acme}/benchmark").body["segments"]

    assert (entry["segment_avg"], entry["segment_size"]) == (40.0, 1)


def test_a_large_workspace_is_fanned_out_page_by_page_each_customer_once_and_tallied_as_by_one_walk(
    admin_api: ApiClient, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daily fan-out of a workspace larger than one page (5,000 customers; 3 here) walks it one page
    per scorer invocation, chaining a message with its cursor and running tally: every customer is
    queued once, the stored tally is the one a single walk makes, and a redelivered continuation queues
    nothing."""
    import boto3

    from keepwell import clock
    from keepwell.domain.segment_baselines import SegmentBaselines
    from keepwell.schemas.messages import ScoringRequest
    from keepwell.services import scoring_jobs, scoring_queue, segment_baselines
    from keepwell.settings import get_settings
    from keepwell.storage import segments as segment_store

    day = clock.today()
    ids = []
    for n, (tier, score) in enumerate(
        (("Enterprise", 72.0), ("SMB", 20.0), ("Enterprise", 61.5)) * 2 + (("SMB", 44.4),)
    ):
        ids.append(create_customer(admin_api, f"Customer {n}", tier=tier, arr=1000 * (n + 1)))
        set_latest_health(workspace, ids[-1], score, {"usage": score - 5, "support": None})
    create_segment(admin_api, "Enterprise", 'tier = "Enterprise"')
    create_segment(admin_api, "Big", "arr > 3500")
    segment_baselines.refresh(workspace, day)  # one walk: the reference
    one_walk = segment_store.get_segment_baselines(workspace)
    assert one_walk is not None and [t.count for t in one_walk.segments] == [4, 4]
    segment_store.put_segment_baselines(workspace, SegmentBaselines(day, {}, ()))

    monkeypatch.setattr(scoring_queue, "FAN_OUT_PAGE", 3)
    sqs, url = boto3.client("sqs", region_name="us-east-1"), get_settings().scoring_queue_url

    def drain() -> list[ScoringRequest]:
        bodies: list[ScoringRequest] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            bodies += [ScoringRequest.model_validate_json(m["Body"]) for m in messages]
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return bodies

    assert scoring_queue.enqueue_workspace(workspace, day, "schedule") == 3
    queued: list[str] = []
    pages = 1
    while True:
        bodies = drain()
        queued += [b.customer_id for b in bodies if b.customer_id]
        [following] = [b for b in bodies if b.customer_id is None] or [None]
        if following is None:
            break
        assert segment_store.get_segment_baselines(workspace) == SegmentBaselines(day, {}, ())  # not yet
        scoring_jobs.run_scoring_request(following)
        scoring_jobs.run_scoring_request(following)  # redelivered: claimed already, queues nothing
        pages += 1
    assert pages == 3
    assert sorted(queued) == sorted(ids)  # each once
    assert segment_store.get_segment_baselines(workspace) == one_walk
