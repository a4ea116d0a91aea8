"""HubSpot both ways, against a local stub of HubSpot's CRM v3 API (tests/hubspot_stub.py): connecting,
the first full sync (paged, resumable), a company change arriving by the periodic sync and by a signed
webhook, HubSpot-owned fields read-only in the API, the score written back once per change, a 429
storm survived, and deleted and merged companies."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.functions import FakeLambdaContext, load_handler
from infra.template import Resolver, function_environment, load_template
from keepwell.adapters import hubspot as hubspot_adapter
from keepwell.schemas.messages import HubSpotWriteBack
from keepwell.services import hubspot_sync, hubspot_write_back
from keepwell.settings import reset_settings
from keepwell.storage import hubspot as hubspot_store
from keepwell.storage import keys
from keepwell.storage.models import CustomerItem
from tests.conftest import FROZEN_NOW, ApiClient
from tests.hubspot_stub import HubSpotStub, serve
from tests.integration.test_integrations_webhooks import HUBSPOT_SECRET, configure, hubspot_headers, post
from tests.unit.test_integration_parsers import body, hubspot_events

TOKEN = "pat-na1-00000000-0000-4000-8000-000000000000"
MAPPING = [
    {"hubspot_property": "name", "field": "name", "owner": "hubspot"},
    {"hubspot_property": "domain", "field": "domain", "owner": "hubspot"},
    {"hubspot_property": "industry", "field": "industry", "owner": "hubspot"},
    {"hubspot_property": "annualrevenue", "field": "arr", "owner": "keepwell"},
    {"hubspot_property": "hubspot_owner_email", "field": "owner_email", "owner": "hubspot"},
]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubSpotStub]:
    hub = HubSpotStub(token=TOKEN, clock_ms=int(FROZEN_NOW.timestamp() * 1000))  # HubSpot's clock agrees with ours
    server, url = serve(hub)
    monkeypatch.setenv("HUBSPOT_API_URL", url)
    monkeypatch.setattr(hubspot_adapter, "REQUEST_INTERVAL_SECONDS", 0.0)
    monkeypatch.setattr(hubspot_adapter, "SEARCH_INTERVAL_SECONDS", 0.0)
    # HubSpot's pages and batches are 100; 10 here shows the same paging with fewer customers to write
    monkeypatch.setattr(hubspot_adapter, "PAGE_SIZE", 10)
    monkeypatch.setattr(hubspot_sync, "BATCH_LIMIT", 10)
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the client asked for (not slept: the test would take minutes)."""
    asked: list[float] = []
    monkeypatch.setattr(hubspot_adapter, "_sleep", asked.append)
    return asked


@pytest.fixture
def connected(admin_api: ApiClient, stub: HubSpotStub, waits: list[float]) -> ApiClient:
    response = admin_api.request("PUT", "/v1/hubspot/connection", body={"token": TOKEN, "mapping": MAPPING})
    assert response.status == 200, response.body
    return admin_api


def run_schedule() -> None:
    """What EventBridge Scheduler does every 15 minutes (no input: `{}`)."""
    assert load_handler("HubSpotSyncFunction")({}, FakeLambdaContext("HubSpotSyncFunction")) is None


def customers(api: ApiClient) -> dict[str, dict[str, Any]]:
    """Every linked customer by its HubSpot company id (all pages of the list)."""
    found: dict[str, dict[str, Any]] = {}
    query: dict[str, Any] = {"limit": 200}
    while True:
        page = api.get("/v1/customers", **query).body
        found.update({c["external_id"]: c for c in page["items"] if c["external_id"]})
        if not page["next_cursor"]:
            return found
        query["cursor"] = page["next_cursor"]


def score(workspace: str, customer_id: str, value: float, band: str) -> None:
    """What the scorer leaves on a profile (the scoring pipeline itself is tested elsewhere)."""
    key = keys.customer(workspace, customer_id)
    CustomerItem(key.pk, key.sk).update(
        actions=[CustomerItem.health_score.set(value), CustomerItem.health_band.set(band)]
    )


def test_connecting_stores_the_token_as_a_secret_and_never_shows_it(connected: ApiClient, workspace: str) -> None:
    shown = connected.get("/v1/hubspot/connection")
    assert shown.status == 200
    assert shown.body["connected"] is True
    assert shown.body["hubspot_owned_fields"] == ["domain", "industry", "name", "owner_id"]
    assert TOKEN not in str(shown.body)
    stored = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=f"keepwell/{workspace}/integrations/hubspot-api-token"
    )
    assert stored["SecretString"] == TOKEN
    csm = ApiClient(connected.caller.__class__(workspace, "csm-1", "csm"))  # type: ignore[union-attr]
    assert csm.get("/v1/hubspot/connection").status == 403
    bad = connected.request(
        "PUT", "/v1/hubspot/connection", body={"mapping": [{"hubspot_property": "x", "field": "health_score"}]}
    )
    assert bad.status == 400 and bad.body["error"]["details"][0]["field"].startswith("mapping")


def test_a_property_mapped_to_a_custom_field_the_workspace_lacks_is_refused_and_nothing_changes(
    connected: ApiClient, workspace: str
) -> None:
    """Saved, it made the sync skip every company with a value for it, with no error anywhere."""
    before = connected.get("/v1/hubspot/connection").body
    tier = {"hubspot_property": "plan_tier", "field": "custom_fields.tier_code", "owner": "hubspot"}
    refused = connected.request("PUT", "/v1/hubspot/connection", body={"mapping": [*MAPPING, tier]})
    assert (refused.status, refused.body["error"]) == (400, {
        "code": "validation_error",
        "message": "Invalid body: check mapping.5.field",
        "details": [{"field": "mapping.5.field", "issue": "tier_code is not a custom field of this workspace"}],
    })  # fmt: skip
    assert connected.get("/v1/hubspot/connection").body == before
    defined = connected.post("/v1/custom-fields", {"key": "tier_code", "label": "Tier code", "type": "text"})
    assert defined.status == 201, defined.body
    accepted = connected.request("PUT", "/v1/hubspot/connection", body={"mapping": [*MAPPING, tier]})
    assert accepted.status == 200 and accepted.body["mapping"][-1] == tier


@pytest.mark.parametrize("token", ["pat-na1", "p" * 501])
def test_a_token_of_the_wrong_length_is_refused_in_words_and_nothing_changes(connected: ApiClient, token: str) -> None:
    """The admin read pydantic's "Value should have at least 10 items after validation" under the field."""
    before = connected.get("/v1/hubspot/connection").body
    refused = connected.request("PUT", "/v1/hubspot/connection", body={"token": token})
    assert refused.status == 400
    assert [(d["field"], d["issue"]) for d in refused.body["error"]["details"]] == [
        ("token", "A HubSpot private-app token is 10 to 500 characters")
    ]
    assert connected.get("/v1/hubspot/connection").body == before


def test_the_first_full_sync_pages_through_every_company_and_resumes_after_a_failure(
    connected: ApiClient, stub: HubSpotStub, workspace: str
) -> None:
    for n in range(1, 26):
        stub.put_company(str(n), name=f"Company {n}", domain=f"company{n}.example", industry="SaaS")
    stub.fail_from_call = 3  # pages 1 and 2 answer, then an outage longer than the retries
    run_schedule()
    state = hubspot_store.get_state(workspace)
    assert state.full_sync_done is False and state.full_sync_after == "20"
    assert "502" in (state.last_error or "")
    assert len(customers(connected)) == 20
    stub.fail_from_call = None
    run_schedule()
    state = hubspot_store.get_state(workspace)
    assert state.full_sync_done is True and state.last_error is None
    synced = customers(connected)
    assert len(synced) == 25
    assert (synced["25"]["name"], synced["25"]["domain"], synced["25"]["industry"]) == (
        "Company 25",
        "company25.example",
        "SaaS",
    )
    assert [p for m, p, _ in stub.requests].count("/crm/v3/objects/companies/search") == 0


def test_a_company_change_arrives_by_the_periodic_sync(connected: ApiClient, stub: HubSpotStub) -> None:
    stub.put_company("77", name="Initech", domain="initech.example", industry="Software")
    run_schedule()  # the full sync
    stub.put_company("77", industry="Fintech", annualrevenue="999999")
    run_schedule()  # incremental: search by hs_lastmodifieddate
    searches = [b for m, p, b in stub.requests if p.endswith("/search")]
    assert searches and searches[-1]["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    initech = customers(connected)["77"]
    assert initech["industry"] == "Fintech"
    assert initech["arr"] == 0  # annualrevenue → arr is owned by Keepwell: HubSpot's value is not taken


def test_a_company_change_arrives_by_signed_webhook(connected: ApiClient, stub: HubSpotStub, workspace: str) -> None:
    stub.put_company("9001", name="Acme", domain="acme.example", industry="Retail")
    run_schedule()
    configure(connected, "hubspot")
    url = f"https://api.keepwell.example/v1/integrations/hubspot/{workspace}"
    raw = body(
        hubspot_events({"eventId": 501, "objectId": 9001, "propertyName": "industry", "propertyValue": "Travel"})
    )
    answer = post("hubspot", workspace, raw, hubspot_headers(HUBSPOT_SECRET, raw, url))
    assert answer.status == 200, answer.body
    assert customers(connected)["9001"]["industry"] == "Travel"


def test_a_hubspot_owned_field_is_read_only_in_the_api_for_a_linked_customer(
    connected: ApiClient, stub: HubSpotStub
) -> None:
    stub.put_company("5", name="Globex", domain="globex.example")
    run_schedule()
    customer_id = customers(connected)["5"]["customer_id"]
    refused = connected.patch(f"/v1/customers/{customer_id}", {"industry": "Energy", "tier": "Gold"})
    assert refused.status == 400
    assert refused.body["error"]["details"] == [{"field": "industry", "issue": "owned by HubSpot"}]
    assert customers(connected)["5"]["tier"] is None  # nothing written
    assert connected.patch(f"/v1/customers/{customer_id}", {"arr": 120000, "tier": "Gold"}).status == 200
    unlinked = connected.post("/v1/customers", {"name": "Local only"}).body["customer_id"]
    assert connected.patch(f"/v1/customers/{unlinked}", {"industry": "Energy"}).status == 200


def test_a_departing_owners_linked_customer_keeps_the_owner_hubspot_sets_and_the_rest_of_the_book_moves(
    connected: ApiClient, stub: HubSpotStub
) -> None:
    stub.put_company("7", name="Initech", domain="initech.example", hubspot_owner_email="csm-2@acme.test")
    run_schedule()
    linked = customers(connected)["7"]
    assert linked["owner_id"] == "csm-2"
    local = connected.post("/v1/customers", {"name": "Local only", "owner_id": "csm-2"}).body["customer_id"]
    left = connected.post("/v1/users/csm-2/deactivate", {"transfer_to": "csm-1"})
    assert left.status == 200, left.body
    assert left.body["handed_over"] == {
        "to": "csm-1", "owned": 1, "co_owned": 0, "tasks": 0, "kept_by_hubspot": [linked["customer_id"]]
    }  # fmt: skip
    assert customers(connected)["7"]["owner_id"] == "csm-2"  # HubSpot's to change
    assert connected.get(f"/v1/customers/{local}").body["owner_id"] == "csm-1"


def test_scores_are_written_back_batched_and_once_per_change(
    connected: ApiClient, stub: HubSpotStub, workspace: str
) -> None:
    for n in range(1, 16):
        stub.put_company(str(n), name=f"C{n}", domain=f"c{n}.example")
    run_schedule()
    ids = {k: v["customer_id"] for k, v in customers(connected).items()}
    for customer_id in ids.values():
        score(workspace, customer_id, 72.0, "green")
    run_schedule()
    batches = [b for m, p, b in stub.requests if p.endswith("/batch/update")]
    assert [len(b["inputs"]) for b in batches] == [10, 5]
    assert stub.companies["7"]["keepwell_health_score"] == "72.0"
    assert stub.companies["7"]["keepwell_health_band"] == "green"
    run_schedule()  # nothing changed: nothing written
    assert len([p for _, p, _ in stub.requests if p.endswith("/batch/update")]) == 2
    score(workspace, ids["7"], 41.5, "red")
    run_schedule()
    last = [b for m, p, b in stub.requests if p.endswith("/batch/update")][-1]
    assert last["inputs"] == [
        {
            "id": "7",
            "properties": {"keepwell_health_score": "41.5", "keepwell_health_band": "red", "keepwell_churn_risk": ""},
        }
    ]


def test_a_429_storm_is_waited_out_with_retry_after_and_nothing_is_lost(
    connected: ApiClient, stub: HubSpotStub, workspace: str, waits: list[float]
) -> None:
    for n in range(1, 31):
        stub.put_company(str(n), name=f"C{n}", domain=f"c{n}.example")
    run_schedule()
    for customer in customers(connected).values():
        score(workspace, customer["customer_id"], 55.0, "yellow")
    stub.failures = [(429, 2), (429, 2), (429, 1), (503, None), (429, 2), (429, 1)]
    run_schedule()
    assert waits[:6] == [2.0, 2.0, 1.0, 8.0, 2.0, 1.0]  # Retry-After as sent; the 5xx backs off exponentially
    assert hubspot_store.get_state(workspace).last_error is None
    assert all(stub.companies[str(n)].get("keepwell_health_score") == "55.0" for n in range(1, 31))
    assert len({u["id"] for u in stub.updates}) == 30


def test_a_deleted_company_unlinks_its_customer_and_a_merged_one_follows_the_survivor(
    connected: ApiClient, stub: HubSpotStub, workspace: str
) -> None:
    stub.put_company("10", name="Hooli", domain="hooli.example")
    stub.put_company("11", name="Hooli EU", domain="hooli.eu.example")
    stub.put_company("12", name="Pied Piper", domain="piedpiper.example")
    run_schedule()
    configure(connected, "hubspot")
    url = f"https://api.keepwell.example/v1/integrations/hubspot/{workspace}"
    events = hubspot_events(
        {"eventId": 601, "subscriptionType": "company.deletion", "objectId": 12},
        {
            "eventId": 602,
            "subscriptionType": "company.merge",
            "objectId": 13,
            "primaryObjectId": 13,
            "mergedObjectIds": [11, 99],
            "newObjectId": 13,
        },
    )
    raw = body(events)
    assert post("hubspot", workspace, raw, hubspot_headers(HUBSPOT_SECRET, raw, url)).status == 200
    by_name = {c["name"]: c for c in connected.get("/v1/customers", limit=200).body["items"]}
    assert by_name["Pied Piper"]["external_id"] is None  # kept, no longer linked
    assert by_name["Hooli EU"]["external_id"] == "13"  # follows the surviving company
    assert by_name["Hooli"]["external_id"] == "10"
    # no longer linked: its fields are Keepwell's again, and nothing is written back to the deleted company
    pied = by_name["Pied Piper"]["customer_id"]
    assert connected.patch(f"/v1/customers/{pied}", {"industry": "Compression"}).status == 200


def test_the_schedule_skips_workspaces_not_connected(aws: Resolver, workspace: str) -> None:
    run_schedule()
    assert hubspot_store.get_state(workspace).last_run_at is None


def test_an_open_renewal_deal_sets_its_customers_account_renewal(connected: ApiClient, stub: HubSpotStub) -> None:
    deals = {"enabled": True, "pipeline": "renewals"}
    assert connected.request("PUT", "/v1/hubspot/connection", body={"deals": deals}).status == 200
    stub.put_company("40", name="Umbrella", domain="umbrella.example")
    stub.put_deal(
        "900", companies=["40"], pipeline="renewals", dealstage="contractsent", closedate="2027-03-31", amount="48000"
    )
    stub.put_deal(
        "901", companies=["40"], pipeline="newbiz", dealstage="contractsent", closedate="2027-01-01", amount="5"
    )
    run_schedule()  # full sync of companies first
    run_schedule()  # then deals
    customer = customers(connected)["40"]
    renewals = connected.get(f"/v1/customers/{customer['customer_id']}/renewals").body["items"]
    assert [(r["product"], r["renewal_date"], r["proposed_arr"]) for r in renewals] == [(None, "2027-03-31", 48000)]
    version = renewals[0]["version"]
    run_schedule()  # nothing changed: the renewal is not touched
    assert connected.get(f"/v1/customers/{customer['customer_id']}/renewals").body["items"][0]["version"] == version
    stub.put_deal("900", closedate="2027-04-30")
    run_schedule()
    moved = connected.get(f"/v1/customers/{customer['customer_id']}/renewals").body["items"]
    assert [(r["renewal_date"], r["proposed_arr"]) for r in moved] == [("2027-04-30", 48000)]
    assert customers(connected)["40"]["renewal_date"] == "2027-04-30"  # the profile follows its account renewal


# --- write-back after each score: health.scored → HubSpotWriteBackQueue → batches -----------------
@pytest.fixture
def write_back_queue(aws: Resolver, monkeypatch: pytest.MonkeyPatch) -> str:
    """The HubSpot function's queue URL as the template wires it; no delay (the churn-risk margin)."""
    url = function_environment(load_template(), "HubSpotSyncFunction", aws)["HUBSPOT_WRITEBACK_QUEUE_URL"]
    monkeypatch.setenv("HUBSPOT_WRITEBACK_QUEUE_URL", url)
    monkeypatch.setattr(hubspot_write_back, "WRITE_BACK_DELAY_S", 0)
    reset_settings()
    return url


def scored_event(workspace: str, customer_id: str) -> dict[str, Any]:
    """`health.scored` as the template's EventBridge rule delivers it."""
    return {
        "version": "0",
        "id": f"evt-{customer_id}-{next(_event_numbers)}",
        "detail-type": "health.scored",
        "source": "keepwell",
        "account": "123456789012",
        "time": FROZEN_NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {"workspace_id": workspace, "customer_id": customer_id, "scored_day": FROZEN_NOW.date().isoformat()},
    }


_event_numbers = itertools.count()


def publish_scored(workspace: str, customer_id: str) -> None:
    handler = load_handler("HubSpotSyncFunction")
    assert handler(scored_event(workspace, customer_id), FakeLambdaContext("HubSpotSyncFunction")) is None


def drain(queue_url: str, rounds: int = 10) -> list[dict[str, Any]]:
    """Deliver the write-back queue to the handler as Lambda's poller does (up to 10 a batch here), deleting
    only what succeeded; a failed message is made visible again at once. The responses, in order."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    handler = load_handler("HubSpotSyncFunction")
    responses = []
    for _ in range(rounds):
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795166940000"},
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:HubSpotWriteBackQueue",
                    "awsRegion": "us-east-1",
                }
                for m in got
            ]
        }
        response = handler(event, FakeLambdaContext("HubSpotSyncFunction"))
        responses.append(response)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in got:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return responses


def batch_updates(stub: HubSpotStub) -> list[dict[str, Any]]:
    return [b for _, p, b in stub.requests if p.endswith("/batch/update")]


def test_a_score_change_is_written_back_after_the_score_once_and_an_unchanged_one_writes_nothing(
    connected: ApiClient, stub: HubSpotStub, workspace: str, write_back_queue: str
) -> None:
    for n in range(1, 4):
        stub.put_company(str(n), name=f"C{n}", domain=f"c{n}.example")
    run_schedule()  # links the three companies; nothing scored yet, nothing written
    ids = {k: v["customer_id"] for k, v in customers(connected).items()}
    assert batch_updates(stub) == []
    score(workspace, ids["2"], 63.0, "yellow")
    score(workspace, ids["3"], 81.0, "green")
    publish_scored(workspace, ids["2"])
    publish_scored(workspace, ids["3"])
    assert drain(write_back_queue) == [{"batchItemFailures": []}]
    updates = batch_updates(stub)
    assert len(updates) == 1  # one batch for both, without waiting for the 15-minute run
    assert sorted(updates[0]["inputs"], key=lambda i: i["id"]) == [
        {
            "id": "2",
            "properties": {
                "keepwell_health_score": "63.0",
                "keepwell_health_band": "yellow",
                "keepwell_churn_risk": "",
            },
        },
        {
            "id": "3",
            "properties": {
                "keepwell_health_score": "81.0",
                "keepwell_health_band": "green",
                "keepwell_churn_risk": "",
            },
        },
    ]
    # scored again with the same values (and the scheduled run after it): nothing is written again
    publish_scored(workspace, ids["2"])
    drain(write_back_queue)
    run_schedule()
    assert len(batch_updates(stub)) == 1
    again = HubSpotWriteBack(workspace_id=workspace, customer_id=ids["3"])
    assert hubspot_sync.write_back([again]) == hubspot_sync.WriteBackResult(written=0, retry=set())
    score(workspace, ids["2"], 58.5, "yellow")
    publish_scored(workspace, ids["2"])
    publish_scored(workspace, ids["2"])  # two scores before the batch: written once
    drain(write_back_queue)
    assert [sorted(i["id"] for i in b["inputs"]) for b in batch_updates(stub)] == [["2", "3"], ["2"]]
    assert stub.companies["2"]["keepwell_health_score"] == "58.5"
    assert stub.companies["1"].get("keepwell_health_score") is None  # never scored: never written


def test_a_workspace_not_connected_queues_nothing(aws: Resolver, workspace: str, write_back_queue: str) -> None:
    publish_scored(workspace, "cus_00000000000000000000000001")
    sqs = boto3.client("sqs", region_name="us-east-1")
    assert sqs.receive_message(QueueUrl=write_back_queue).get("Messages", []) == []


def test_a_429_storm_during_the_write_back_after_a_score_loses_nothing(
    connected: ApiClient, stub: HubSpotStub, workspace: str, write_back_queue: str, waits: list[float]
) -> None:
    for n in range(1, 13):
        stub.put_company(str(n), name=f"C{n}", domain=f"c{n}.example")
    run_schedule()
    for customer in customers(connected).values():
        score(workspace, customer["customer_id"], 47.0, "yellow")
        publish_scored(workspace, customer["customer_id"])
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(QueueUrl=write_back_queue, MessageBody='{"workspace_id": "nope"}')  # a poison message
    # longer than the client's own retries (8 attempts): the first batch is given back to the queue
    stub.failures = [(429, 1)] * (hubspot_adapter.MAX_ATTEMPTS + 2)
    responses = drain(write_back_queue, rounds=20)
    assert any(len(r["batchItemFailures"]) >= 9 for r in responses)  # a whole batch deferred, then retried
    assert all(stub.companies[str(n)].get("keepwell_health_score") == "47.0" for n in range(1, 13))
    assert len({u["id"] for u in stub.updates}) == 12
    assert 1.0 in waits  # Retry-After was honoured
    assert responses[-1]["batchItemFailures"] and len(responses[-1]["batchItemFailures"]) == 1  # the poison only


def test_a_deal_webhook_updates_its_customers_renewal_when_the_deal_mapping_is_on(
    connected: ApiClient, stub: HubSpotStub, workspace: str
) -> None:
    stub.put_company("40", name="Umbrella", domain="umbrella.example")
    run_schedule()
    customer_id = customers(connected)["40"]["customer_id"]
    configure(connected, "hubspot")
    url = f"https://api.keepwell.example/v1/integrations/hubspot/{workspace}"

    def deal_webhook(event_id: int, **event: Any) -> None:
        raw = body(hubspot_events({"eventId": event_id, "objectId": 900, **event}))
        assert post("hubspot", workspace, raw, hubspot_headers(HUBSPOT_SECRET, raw, url)).status == 200

    def renewals() -> list[tuple[str | None, str, Any]]:
        items = connected.get(f"/v1/customers/{customer_id}/renewals").body["items"]
        return [(r["product"], r["renewal_date"], r["proposed_arr"]) for r in items]

    stub.put_deal("900", companies=["40"], pipeline="renewals", dealstage="contractsent", closedate="2027-03-31")
    stub.put_deal("900", amount="48000")
    deal_webhook(701, subscriptionType="deal.creation")
    assert renewals() == []  # the deal mapping is off: the timeline only
    deals = {"enabled": True, "pipeline": "renewals"}
    assert connected.request("PUT", "/v1/hubspot/connection", body={"deals": deals}).status == 200
    deal_webhook(702, subscriptionType="deal.propertyChange", propertyName="amount", propertyValue="48000")
    assert renewals() == [(None, "2027-03-31", 48000)]
    stub.put_deal("900", closedate="2027-04-30")
    deal_webhook(703, subscriptionType="deal.propertyChange", propertyName="closedate", propertyValue="1808956800000")
    assert renewals() == [(None, "2027-04-30", 48000)]  # the same renewal, moved
    assert customers(connected)["40"]["renewal_date"] == "2027-04-30"
    version = connected.get(f"/v1/customers/{customer_id}/renewals").body["items"][0]["version"]
    deal_webhook(704, subscriptionType="deal.propertyChange", propertyName="hs_next_step", propertyValue="call")
    assert connected.get(f"/v1/customers/{customer_id}/renewals").body["items"][0]["version"] == version
    deal_webhook(705, subscriptionType="deal.propertyChange", objectId=999, propertyName="amount", propertyValue="1")
    assert renewals() == [(None, "2027-04-30", 48000)]  # a deal HubSpot does not have: nothing changes
    deal_gets = [p for m, p, _ in stub.requests if m == "GET" and p.startswith("/crm/v3/objects/deals/")]
    assert deal_gets == ["/crm/v3/objects/deals/900"] * 3 + ["/crm/v3/objects/deals/999"]


def test_the_schedulers_own_event_runs_the_sync_and_is_not_taken_for_a_domain_event(
    connected: ApiClient, stub: HubSpotStub, workspace: str
) -> None:
    # What the scheduler (and the local stack, infra/schedules.py) sends: EventBridge's "Scheduled Event".
    event = {
        "version": "0",
        "id": "0d1c5b3e-1111-4222-8333-944455556666",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-11-20T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/hubspot-sync"],
        "detail": {},
    }
    assert load_handler("HubSpotSyncFunction")(event, FakeLambdaContext("HubSpotSyncFunction")) is None
    assert hubspot_store.get_state(workspace).last_run_at is not None
