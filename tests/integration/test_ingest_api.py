"""POST /v1/events (and its alias /v1/ingest/events) through the real ingest handler, with full API
Gateway proxy events built from the template's routes, on moto."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.functions import FakeLambdaContext, load_handler
from keepwell.domain.customers import Customer
from keepwell.storage import metrics
from tests.conftest import FROZEN_NOW, ApiClient

TODAY = FROZEN_NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
CUSTOMERS = 40
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "ingest"


def customer(workspace_id: str, n: int) -> Customer:
    return Customer(
        customer_id=f"cus_{n:04d}",
        workspace_id=workspace_id,
        name=f"Customer {n}",
        domain=f"customer{n}.test",
        external_id=f"crm-{n:03d}",
        seats=50,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )


@pytest.fixture
def customers(workspace: str) -> list[Customer]:
    from keepwell.storage.customers import put_customers_batch

    made = [customer(workspace, n) for n in range(CUSTOMERS)]
    put_customers_batch(workspace, made)
    return made


@pytest.fixture
def api_key(workspace: str) -> str:
    from keepwell.services.api_keys import create_api_key

    return create_api_key(workspace, "tests", "admin-1")[1]


@pytest.fixture
def sender(api_key: str, customers: list[Customer]) -> ApiClient:
    """A customer's application: no bearer token, the workspace API key in X-Api-Key."""
    return ApiClient(None, headers={"X-Api-Key": api_key})


def event(n: int, **overrides: Any) -> dict[str, Any]:
    """Event n of a realistic stream: customers in turn, a few users each, logins and feature use."""
    names = ("user_logged_in", "report_exported", "dashboard_viewed", "user_logged_in", "alert_created")
    day = TODAY if n % 3 else YESTERDAY
    base = {
        "event_id": f"evt-{n:05d}",
        "event": names[n % len(names)],
        "customer_external_id": f"crm-{n % CUSTOMERS:03d}",
        "user_id": f"u-{n % 7}",
        "timestamp": f"{day.isoformat()}T0{n % 9}:{n % 60:02d}:00Z",
        "properties": {"plan": "pro"} if n % 2 else {},
    }
    return base | overrides


def batch_with_three_bad_events() -> list[dict[str, Any]]:
    events = [event(n) for n in range(1000)]
    events[17]["timestamp"] = "yesterday-ish"
    events[500]["customer_external_id"] = "crm-999"
    events[999]["event"] = ""
    return events


def stored_items(prefixes: tuple[str, ...] = ("METRICS#", "RAW#", "TL#")) -> list[dict[str, Any]]:
    """Ingestion's items in the table (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(i for i in page["Items"] if i["sk"].startswith(prefixes))
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def expected_days(events: list[dict[str, Any]], skip: set[int]) -> Counter[tuple[str, date]]:
    return Counter(
        (f"cus_{int(e['customer_external_id'][4:]):04d}", date.fromisoformat(e["timestamp"][:10]))
        for i, e in enumerate(events)
        if i not in skip
    )


# ---- the acceptance batch ------------------------------------------------------------------------
def test_1000_events_with_3_bad_ones_accept_997_report_each_bad_index_and_update_each_day_once(
    workspace: str, sender: ApiClient
) -> None:
    events = batch_with_three_bad_events()

    response = sender.post("/v1/events", {"events": events})

    assert response.status == 200, response.body
    assert response.body["accepted"] == 997
    assert response.body["duplicates"] == 0
    rejected = response.body["rejected"]
    assert [(r["index"], r["code"]) for r in rejected] == [
        (17, "invalid_timestamp"),
        (500, "unknown_customer"),
        (999, "invalid_event"),
    ]
    assert "crm-999" in rejected[1]["message"]
    assert rejected[2]["message"].startswith("event:")
    wanted = expected_days(events, skip={17, 500, 999})
    days = metrics.get_days(workspace, wanted)
    assert {key: day.events for key, day in days.items()} == dict(wanted)
    assert {day.version for day in days.values()} == {1}  # one conditional update per customer-day
    assert sum(day.events for day in days.values()) == 997
    some = days[("cus_0001", TODAY)]
    assert some.logins == some.event_counts.get("user_logged_in", 0)
    assert some.features <= {"report_exported", "dashboard_viewed", "alert_created"}


def test_the_same_batch_sent_again_changes_nothing_and_reports_duplicates(workspace: str, sender: ApiClient) -> None:
    events = batch_with_three_bad_events()
    first = sender.post("/v1/events", {"events": events})
    before = stored_items()

    again = sender.post("/v1/events", {"events": events})

    assert again.status == 200
    assert (again.body["accepted"], again.body["duplicates"]) == (0, 997)
    assert again.body["rejected"] == first.body["rejected"]
    assert stored_items() == before


def test_an_event_id_counts_once_even_in_a_batch_of_other_events(workspace: str, sender: ApiClient) -> None:
    sender.post("/v1/events", {"events": [event(1), event(2)]})

    response = sender.post("/v1/events", {"events": [event(2), event(4), event(4)]})

    assert (response.body["accepted"], response.body["duplicates"]) == (1, 2)
    day = metrics.get_days(workspace, [("cus_0002", TODAY)])[("cus_0002", TODAY)]
    assert day.events == 1


def test_events_without_an_id_count_once_by_content(workspace: str, sender: ApiClient) -> None:
    anonymous = [event(n, event_id=None) for n in (1, 2)]
    anonymous[1]["timestamp"] = anonymous[0]["timestamp"].replace("Z", "+00:00")  # same instant, other spelling
    anonymous[1]["customer_external_id"] = anonymous[0]["customer_external_id"]
    anonymous[1]["user_id"], anonymous[1]["event"] = anonymous[0]["user_id"], anonymous[0]["event"]
    anonymous[1]["properties"] = anonymous[0]["properties"]

    response = sender.post("/v1/events", {"events": anonymous})

    assert (response.body["accepted"], response.body["duplicates"]) == (1, 1)


def test_the_alias_path_behaves_the_same_and_shares_exactly_once(workspace: str, sender: ApiClient) -> None:
    events = [event(n) for n in range(10)] + [{"event": "x"}]

    via_alias = sender.post("/v1/ingest/events", {"events": events})
    via_main = sender.post("/v1/events", {"events": events})

    assert via_alias.status == 200
    assert (via_alias.body["accepted"], via_alias.body["duplicates"]) == (10, 0)
    assert (via_main.body["accepted"], via_main.body["duplicates"]) == (0, 10)
    assert via_alias.body["rejected"] == via_main.body["rejected"]
    assert via_alias.body["rejected"][0]["index"] == 10


def test_a_bare_json_array_of_events_is_accepted(sender: ApiClient) -> None:
    response = sender.post("/v1/events", [event(1), event(2)])
    assert (response.status, response.body["accepted"]) == (200, 2)


def test_customers_can_be_named_by_domain_or_id(workspace: str, sender: ApiClient) -> None:
    by_domain = event(1, customer_external_id=None, customer_domain="https://WWW.Customer5.test/app")
    by_id = event(2, customer_external_id=None, customer_id="cus_0005")
    by_unknown_id = event(3, customer_external_id=None, customer_id="cus_9999")

    response = sender.post("/v1/events", {"events": [by_domain, by_id, by_unknown_id]})

    assert response.body["accepted"] == 2
    assert [(r["index"], r["code"]) for r in response.body["rejected"]] == [(2, "unknown_customer")]
    assert metrics.get_days(workspace, [("cus_0005", TODAY)])[("cus_0005", TODAY)].events == 2


# ---- timestamps ------------------------------------------------------------------------------------
def test_events_ahead_of_now_or_older_than_90_days_are_rejected_and_backfill_is_kept(
    workspace: str, sender: ApiClient
) -> None:
    def at(delta: timedelta) -> str:
        return (FROZEN_NOW + delta).isoformat()

    events = [
        event(1, timestamp=at(timedelta(minutes=6))),
        event(2, timestamp=at(timedelta(minutes=4))),
        event(3, timestamp=at(-timedelta(days=89))),
        event(4, timestamp=at(-timedelta(days=91))),
        event(5, timestamp="2026-11-20T09:00:00"),
    ]

    response = sender.post("/v1/events", {"events": events})

    assert response.body["accepted"] == 2
    assert [(r["index"], r["code"]) for r in response.body["rejected"]] == [
        (0, "timestamp_in_future"),
        (3, "too_old"),
        (4, "invalid_timestamp"),
    ]
    backfilled = TODAY - timedelta(days=89)
    assert metrics.get_days(workspace, [("cus_0003", backfilled)])[("cus_0003", backfilled)].events == 1


# ---- authentication --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Key": "not-a-key"},
        {"X-Api-Key": "kwk.ws_acme.0123456789abcdefghijklmnopqrstuvwxyzABCDEF"},  # well-formed, unknown
    ],
    ids=["missing", "malformed", "unknown"],
)
def test_a_missing_or_wrong_key_is_401_and_nothing_is_stored(
    customers: list[Customer], headers: dict[str, str]
) -> None:
    response = ApiClient(None, headers=headers).post("/v1/events", {"events": [event(1)]})

    assert response.status == 401
    assert response.error_code == "unauthorized"
    assert stored_items() == []


def test_a_revoked_key_is_401_and_nothing_is_stored(workspace: str, customers: list[Customer], api_key: str) -> None:
    from keepwell.auth import Caller
    from keepwell.services.api_keys import list_api_keys, revoke_api_key

    admin = Caller(workspace, "admin-1", "admin")
    revoke_api_key(admin, str(list_api_keys(admin)[0]["key_id"]))

    response = ApiClient(None, headers={"X-Api-Key": api_key}).post("/v1/events", {"events": [event(1)]})

    assert (response.status, response.error_code) == (401, "unauthorized")
    assert "revoked" in response.body["error"]["message"]
    assert stored_items() == []


def test_another_workspaces_key_cannot_reach_this_workspaces_customers(
    other_workspace: str, customers: list[Customer]
) -> None:
    from keepwell.services.api_keys import create_api_key

    other_key = create_api_key(other_workspace, "globex", "admin-9")[1]

    response = ApiClient(None, headers={"X-Api-Key": other_key}).post("/v1/events", {"events": [event(1)]})

    assert response.status == 200
    assert response.body["accepted"] == 0
    assert [r["code"] for r in response.body["rejected"]] == ["unknown_customer"]
    assert stored_items() == []


# ---- the body --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"events": "page_viewed"}, "validation_error", "events"),
        ({"events": []}, "validation_error", "events"),
        ({"evnts": [{}]}, "validation_error", "evnts"),
        (42, "validation_error", "events"),
    ],
    ids=["events-not-a-list", "no-events", "misspelt", "a-number"],
)
def test_a_body_that_is_not_a_batch_is_400_naming_the_field_and_nothing_is_stored(
    sender: ApiClient, body: Any, code: str, field: str
) -> None:
    response = sender.post("/v1/events", body)

    assert response.status == 400
    assert response.error_code == code
    assert field in {d["field"] for d in response.body["error"]["details"]}
    assert field in response.body["error"]["message"]
    assert stored_items() == []


@pytest.mark.parametrize(("raw", "code"), [('{"events": [', "malformed_json"), ("", "empty_body")])
def test_malformed_json_or_an_empty_body_is_400(sender: ApiClient, raw: str, code: str) -> None:
    response = sender.request("POST", "/v1/events", raw=raw)
    assert (response.status, response.error_code) == (400, code)
    assert stored_items() == []


def test_more_than_1000_events_is_413_saying_the_limit_and_nothing_is_stored(sender: ApiClient) -> None:
    response = sender.post("/v1/events", {"events": [event(n) for n in range(1001)]})

    assert (response.status, response.error_code) == (413, "too_many_events")
    assert "1001" in response.body["error"]["message"] and "1000" in response.body["error"]["message"]
    assert stored_items() == []


def test_a_body_over_1_mb_is_413_and_nothing_is_stored(sender: ApiClient) -> None:
    padded = [event(n, properties={"pad": "x" * 7000}) for n in range(160)]  # ~1.1 MB

    response = sender.post("/v1/events", {"events": padded})

    assert (response.status, response.error_code) == (413, "payload_too_large")
    assert stored_items() == []


def test_one_malformed_event_never_sinks_the_batch(sender: ApiClient) -> None:
    events: list[Any] = [
        event(1),
        "not an object",
        event(2, user_id=""),
        event(3, surprise=True),
        event(4, properties={"blob": "x" * 9000}),
        event(5, customer_external_id=None),
        event(6, customer_external_id=None, customer_domain="not a domain"),
        event(7),
    ]

    response = sender.post("/v1/events", {"events": events})

    assert response.status == 200
    assert response.body["accepted"] == 2
    by_index = {r["index"]: r for r in response.body["rejected"]}
    assert set(by_index) == {1, 2, 3, 4, 5, 6}
    assert {r["code"] for r in by_index.values()} == {"invalid_event"}
    assert by_index[2]["message"].startswith("user_id:")
    assert "surprise" in by_index[3]["message"]
    assert "properties" in by_index[4]["message"]
    assert "customer" in by_index[5]["message"]
    assert "customer_domain" in by_index[6]["message"]


# ---- what is stored besides the counts -------------------------------------------------------------
def test_each_customer_day_has_one_timeline_entry_with_the_days_totals(
    workspace: str, sender: ApiClient, admin_api: ApiClient
) -> None:
    mine = [e for e in (event(n) for n in range(0, 400)) if e["customer_external_id"] == "crm-001"]
    today = [e for e in mine if e["timestamp"].startswith(TODAY.isoformat())]
    sender.post("/v1/events", {"events": today[:4]})
    sender.post("/v1/events", {"events": today[4:]})

    timeline = admin_api.get("/v1/customers/cus_0001/timeline", kind="product_event")

    assert timeline.status == 200
    entries = {e["item_id"]: e for e in timeline.body["items"]}
    assert set(entries) == {f"pa-{TODAY.isoformat()}"}
    entry = entries[f"pa-{TODAY.isoformat()}"]
    counts = Counter(e["event"] for e in today)
    assert entry["attributes"]["events"] == len(today)
    assert entry["attributes"]["event_counts"] == dict(counts)
    assert entry["attributes"]["logins"] == counts["user_logged_in"]
    assert entry["attributes"]["active_users"] == len({e["user_id"] for e in today})
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert entry["title"] == f"{len(today)} product events: " + ", ".join(f"{n} x{c}" for n, c in top)
    assert entry["occurred_at"] == f"{TODAY.isoformat()}T00:00:00.000Z"


def test_raw_events_are_kept_with_a_ttl_so_explanations_can_cite_them(
    workspace: str, sender: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAW_EVENT_RETENTION_DAYS", "7")
    sender.post("/v1/events", {"events": [event(1), event(41, properties={"format": "csv"})]})

    kept = metrics.list_raw_events(workspace, "cus_0001", TODAY, FROZEN_NOW)

    assert [(r["event_id"], r["event"], r["user_id"], r["properties"]) for r in kept] == [
        ("evt-00001", "report_exported", "u-1", {"plan": "pro"}),
        ("evt-00041", "report_exported", "u-6", {"format": "csv"}),
    ]
    raw_items = stored_items(("RAW#",))
    assert {int(i["expires_at"]) for i in raw_items} == {int((FROZEN_NOW + timedelta(days=7)).timestamp())}
    assert metrics.list_raw_events(workspace, "cus_0001", TODAY, FROZEN_NOW + timedelta(days=8)) == []


# ---- the sample event, as API Gateway delivers it --------------------------------------------------
@pytest.mark.parametrize("sample", ["post-events.json", "post-ingest-events-alias.json"])
def test_the_sample_api_gateway_event_with_a_real_key_is_ingested(workspace: str, api_key: str, sample: str) -> None:
    from keepwell.storage.customers import put_customers_batch

    put_customers_batch(
        workspace,
        [
            customer(workspace, 1).model_copy(update={"external_id": "acct-4417", "domain": None}),
            customer(workspace, 2).model_copy(update={"domain": "northwind.example", "external_id": None}),
        ],
    )
    proxy_event = json.loads((SAMPLES / sample).read_text())
    proxy_event["headers"]["X-Api-Key"] = api_key
    proxy_event["multiValueHeaders"]["X-Api-Key"] = [api_key]

    result = load_handler("IngestFunction")(proxy_event, FakeLambdaContext("IngestFunction"))

    assert result["statusCode"] == 200, result["body"]
    assert json.loads(result["body"]) == {"accepted": 2, "duplicates": 0, "rejected": []}


def test_events_of_a_churned_customer_are_rejected_by_index_and_never_reach_its_timeline(
    sender: ApiClient, admin_api: ApiClient, customers: list[Customer]
) -> None:
    churned, active = customers[1], customers[2]
    assert admin_api.post(f"/v1/customers/{churned.customer_id}/churn", {"churn_reason": "price"}).status == 200
    events = [
        event(1, customer_external_id=churned.external_id),
        event(2, customer_external_id=active.external_id),
        event(3, customer_external_id=None, customer_id=churned.customer_id),
    ]

    response = sender.post("/v1/events", {"events": events})

    assert response.status == 200, response.body
    assert response.body["accepted"] == 1
    assert [(r["index"], r["code"]) for r in response.body["rejected"]] == [
        (0, "customer_churned"),
        (2, "customer_churned"),
    ]
    items = admin_api.get(f"/v1/customers/{churned.customer_id}/timeline").body["items"]
    assert [i["kind"] for i in items] == ["system"]  # only "Marked churned"
    assert admin_api.get(f"/v1/customers/{active.customer_id}/timeline", kind="product_event").body["items"]
