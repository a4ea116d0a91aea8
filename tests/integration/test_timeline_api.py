"""Timeline routes and the timeline storage functions used by ingestion, on moto."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from keepwell.auth import Caller
from keepwell.domain.timeline import TimelineEntry, TimelineKind
from keepwell.storage import timeline as timeline_store
from tests.conftest import ApiClient


def table_items() -> list[dict[str, Any]]:
    """Every item of the table (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
KINDS: list[TimelineKind] = ["email", "meeting", "ticket", "product_event", "system"]


@pytest.fixture
def customer_id(admin_api: ApiClient) -> str:
    response = admin_api.post("/v1/customers", {"name": "Acme Corp"})
    assert response.status == 201
    return response.body["customer_id"]


def history(customer_id: str, count: int) -> list[TimelineEntry]:
    """`count` entries, one every 5 hours, kinds rotating; written in shuffled order."""
    entries = [
        TimelineEntry(
            customer_id=customer_id,
            kind=KINDS[i % len(KINDS)],
            occurred_at=START + timedelta(hours=5 * i),
            title=f"event {i:02d}",
            item_id=f"tl_{i:02d}",
            source="zendesk",
            attributes={"n": i},
        )
        for i in range(count)
    ]
    return entries[::2] + entries[1::2]


def read_all(api: ApiClient, customer_id: str, **query: Any) -> tuple[list[str], int]:
    titles: list[str] = []
    pages = 0
    cursor = None
    while True:
        response = api.get(f"/v1/customers/{customer_id}/timeline", **query, **({"cursor": cursor} if cursor else {}))
        assert response.status == 200, response.body
        titles += [item["title"] for item in response.body["items"]]
        pages += 1
        cursor = response.body["next_cursor"]
        if not cursor:
            return titles, pages


def test_timeline_lists_newest_first_across_pages(admin_api: ApiClient, customer_id: str) -> None:
    timeline_store.add_timeline_items("ws_acme", history(customer_id, 11))

    titles, pages = read_all(admin_api, customer_id, limit=4)

    assert titles == [f"event {i:02d}" for i in reversed(range(11))]
    assert pages == 3


def test_timeline_item_carries_every_field(admin_api: ApiClient, customer_id: str) -> None:
    timeline_store.add_timeline_item(
        "ws_acme",
        TimelineEntry(
            customer_id=customer_id,
            kind="ticket",
            occurred_at=START,
            title="Ticket #42 opened",
            body="Login fails",
            actor="jane@acme.com",
            source="zendesk",
            source_event_id="zd-42",
            item_id="tl_zd42",
            attributes={"priority": "high", "tags": ["sso"]},
        ),
    )

    item = admin_api.get(f"/v1/customers/{customer_id}/timeline").body["items"][0]

    assert item == {
        "item_id": "tl_zd42",
        "customer_id": customer_id,
        "kind": "ticket",
        "occurred_at": "2026-11-01T08:00:00.000Z",
        "title": "Ticket #42 opened",
        "body": "Login fails",
        "actor": "jane@acme.com",
        "source": "zendesk",
        "source_event_id": "zd-42",
        "attributes": {"priority": "high", "tags": ["sso"]},
        "created_at": "2026-11-20T09:30:00.000Z",
    }


def test_kind_filter_returns_only_that_kind_in_full_pages(admin_api: ApiClient, customer_id: str) -> None:
    timeline_store.add_timeline_items("ws_acme", history(customer_id, 25))

    response = admin_api.get(f"/v1/customers/{customer_id}/timeline", kind="meeting", limit=3)
    titles, _ = read_all(admin_api, customer_id, kind="meeting", limit=3)

    assert [i["kind"] for i in response.body["items"]] == ["meeting"] * 3
    assert titles == [f"event {i:02d}" for i in reversed(range(25)) if i % 5 == 1]


def test_writing_the_same_entries_again_does_not_duplicate_them(admin_api: ApiClient, customer_id: str) -> None:
    entries = history(customer_id, 6)
    timeline_store.add_timeline_items("ws_acme", entries)
    timeline_store.add_timeline_items("ws_acme", entries)

    titles, _ = read_all(admin_api, customer_id, limit=50)

    assert len(titles) == 6


def test_note_is_added_by_the_caller_and_shows_first(admin_api: ApiClient, customer_id: str, workspace: str) -> None:
    timeline_store.add_timeline_items("ws_acme", history(customer_id, 3))
    admin_api.patch(f"/v1/customers/{customer_id}", {"owner_id": "csm-1"})  # a CSM writes in their portfolio
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))

    response = csm.post(f"/v1/customers/{customer_id}/notes", {"body": "Renewal call went well.\nFollow up in Q1."})

    assert response.status == 201
    note = response.body
    assert note["kind"] == "note"
    assert note["actor"] == "csm-1"
    assert note["title"] == "Renewal call went well."
    assert note["occurred_at"] == "2026-11-20T09:30:00.000Z"
    first = admin_api.get(f"/v1/customers/{customer_id}/timeline", limit=1).body["items"][0]
    assert first == note


def test_note_title_is_kept_when_given(admin_api: ApiClient, customer_id: str) -> None:
    response = admin_api.post(f"/v1/customers/{customer_id}/notes", {"title": "QBR", "body": "Notes"})
    assert response.body["title"] == "QBR"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 10_001}, "body"),
        ({}, "body"),
        ({"body": 42}, "body"),
        ({"body": "ok", "kind": "email"}, "kind"),
        ({"body": "ok", "title": "t" * 301}, "title"),
    ],
)
def test_invalid_note_is_rejected_naming_the_field_and_nothing_saved(
    admin_api: ApiClient, customer_id: str, body: dict[str, Any], field: str
) -> None:
    before = table_items()
    response = admin_api.post(f"/v1/customers/{customer_id}/notes", body)
    assert response.status == 400
    assert field in {d["field"] for d in response.body["error"]["details"]}
    assert table_items() == before


def test_note_of_exactly_10000_characters_is_accepted(admin_api: ApiClient, customer_id: str) -> None:
    assert admin_api.post(f"/v1/customers/{customer_id}/notes", {"body": "x" * 10_000}).status == 201


def test_timeline_cursor_of_another_customer_is_400(admin_api: ApiClient, customer_id: str) -> None:
    other = admin_api.post("/v1/customers", {"name": "Other"}).body["customer_id"]
    timeline_store.add_timeline_items("ws_acme", history(other, 3))
    cursor = admin_api.get(f"/v1/customers/{other}/timeline", limit=1).body["next_cursor"]
    assert cursor

    response = admin_api.get(f"/v1/customers/{customer_id}/timeline", cursor=cursor)

    assert response.status == 400
    assert response.error_code == "invalid_cursor"


@pytest.mark.parametrize(
    ("query", "field"), [({"kind": "tweet"}, "kind"), ({"limit": 0}, "limit"), ({"cursor": "%%%"}, "cursor")]
)
def test_bad_timeline_query_is_400(admin_api: ApiClient, customer_id: str, query: dict[str, Any], field: str) -> None:
    response = admin_api.get(f"/v1/customers/{customer_id}/timeline", **query)
    assert response.status == 400
    assert field in {d["field"] for d in response.body["error"]["details"]}


def test_other_workspace_customer_is_404_on_timeline_routes_and_nothing_written(
    admin_api: ApiClient, other_admin_api: ApiClient
) -> None:
    theirs = other_admin_api.post("/v1/customers", {"name": "Globex Client"}).body["customer_id"]
    timeline_store.add_timeline_items("ws_globex", history(theirs, 3))
    before = table_items()

    calls = [
        admin_api.get(f"/v1/customers/{theirs}/timeline"),
        admin_api.post(f"/v1/customers/{theirs}/notes", {"body": "sneaky"}),
    ]

    assert [c.status for c in calls] == [404, 404]
    assert all("event" not in str(c.body) for c in calls)
    assert table_items() == before


def test_unknown_customer_timeline_is_404(admin_api: ApiClient) -> None:
    assert admin_api.get("/v1/customers/cus_missing/timeline").status == 404


def test_viewer_can_read_the_timeline_but_not_add_notes(admin_api: ApiClient, workspace: str, customer_id: str) -> None:
    admin_api.patch(f"/v1/customers/{customer_id}", {"co_owner_ids": ["viewer-1"]})  # assigned to the viewer
    viewer = ApiClient(Caller(workspace, "viewer-1", "viewer"))
    before = table_items()
    response = viewer.post(f"/v1/customers/{customer_id}/notes", {"body": "hello"})
    assert response.status == 403
    assert response.error_code == "forbidden"
    assert table_items() == before
    assert viewer.get(f"/v1/customers/{customer_id}/timeline").status == 200
