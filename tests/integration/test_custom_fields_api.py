"""Custom field definition routes through the real API handler on moto."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest

from keepwell.auth import Caller
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


SELECT = {
    "key": "contract_type",
    "label": "Contract type",
    "type": "select",
    "options": ["annual", "monthly"],
}


def test_created_fields_are_listed(admin_api: ApiClient) -> None:
    created = admin_api.post("/v1/custom-fields", SELECT)
    admin_api.post("/v1/custom-fields", {"key": "sla_hours", "label": "SLA (hours)", "type": "number"})

    assert created.status == 201
    assert created.body == {**SELECT, "created_at": "2026-11-20T09:30:00.000Z"}
    listed = admin_api.get("/v1/custom-fields").body["items"]
    assert [(f["key"], f["type"], f["options"]) for f in listed] == [
        ("contract_type", "select", ["annual", "monthly"]),
        ("sla_hours", "number", None),
    ]


def test_duplicate_key_is_409_and_keeps_the_first_definition(admin_api: ApiClient) -> None:
    admin_api.post("/v1/custom-fields", SELECT)
    response = admin_api.post("/v1/custom-fields", {"key": "contract_type", "label": "Other", "type": "text"})
    assert response.status == 409
    assert admin_api.get("/v1/custom-fields").body["items"][0]["label"] == "Contract type"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "Contract", "label": "C", "type": "text"}, "key"),
        ({"key": "1st", "label": "C", "type": "text"}, "key"),
        ({"key": "a" * 41, "label": "C", "type": "text"}, "key"),
        ({"key": "ok", "label": "", "type": "text"}, "label"),
        ({"key": "ok", "label": "C", "type": "money"}, "type"),
        ({"key": "ok", "label": "C", "type": "select"}, "options"),
        ({"key": "ok", "label": "C", "type": "select", "options": ["a", "a"]}, "options"),
        ({"key": "ok", "label": "C", "type": "text", "options": ["a"]}, "options"),
        ({"key": "ok", "label": "C", "type": "text", "required": True}, "required"),
    ],
)
def test_invalid_definition_is_rejected_naming_the_field_and_nothing_saved(
    admin_api: ApiClient, body: dict[str, Any], field: str
) -> None:
    before = table_items()
    response = admin_api.post("/v1/custom-fields", body)
    assert response.status == 400
    assert field in {d["field"] for d in response.body["error"]["details"]}
    assert table_items() == before


def test_deleted_field_is_gone_and_no_longer_accepted_on_customers(admin_api: ApiClient) -> None:
    admin_api.post("/v1/custom-fields", SELECT)

    assert admin_api.delete("/v1/custom-fields/contract_type").status == 204

    assert admin_api.get("/v1/custom-fields").body["items"] == []
    response = admin_api.post("/v1/customers", {"name": "Acme", "custom_fields": {"contract_type": "annual"}})
    assert response.status == 400


def test_deleting_an_unknown_field_is_404(admin_api: ApiClient) -> None:
    assert admin_api.delete("/v1/custom-fields/nothing_here").status == 404


def test_fields_belong_to_their_workspace(admin_api: ApiClient, other_admin_api: ApiClient) -> None:
    admin_api.post("/v1/custom-fields", SELECT)
    assert other_admin_api.get("/v1/custom-fields").body["items"] == []
    assert other_admin_api.delete("/v1/custom-fields/contract_type").status == 404
    assert len(admin_api.get("/v1/custom-fields").body["items"]) == 1
    # Globex may define the same key independently.
    assert other_admin_api.post("/v1/custom-fields", SELECT).status == 201


def test_viewer_can_list_but_not_change_fields(admin_api: ApiClient, workspace: str) -> None:
    admin_api.post("/v1/custom-fields", SELECT)
    viewer = ApiClient(Caller(workspace, "viewer-1", "viewer"))
    before = table_items()

    writes = [
        viewer.post("/v1/custom-fields", {"key": "x", "label": "X", "type": "text"}),
        viewer.delete("/v1/custom-fields/contract_type"),
    ]

    assert [w.status for w in writes] == [403, 403]
    assert table_items() == before
    assert len(viewer.get("/v1/custom-fields").body["items"]) == 1
