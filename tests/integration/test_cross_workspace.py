"""Every route of every HTTP function, called by another workspace's admin with this workspace's ids,
finds nothing and writes nothing here: ids answer 404 (as if they did not exist), lists hold none of
this workspace's data, and this workspace's items are byte-for-byte what they were."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from keepwell.auth import Caller
from keepwell.domain.webhooks import ssrf
from keepwell.permissions import SIGNED_IN, NoRole
from tests.conftest import ApiClient
from tests.rbac_routes import call, registered_routes, seed

ROUTES = registered_routes()
# Path parameters that are not ids of one workspace's things: a provider, the default playbooks' ids and
# a health dimension's key are the same in every workspace.
NOT_IDS = {"provider", "playbook_id", "dimension"}
# Lists filtered by this workspace's ids (a customer, an owner): still nothing of this workspace.
QUERIES = {
    "GET /v1/tasks": {"customer_id": "{customer_id}"},
    "GET /v1/customers": {"owner_id": "csm-1"},
    "GET /v1/renewals": {"owner_id": "csm-1"},
    "GET /v1/metrics/revenue": {"from": "2026-01-01", "to": "2026-12-31", "owner": "csm-1"},
}


def items_of(workspace_id: str) -> list[dict[str, Any]]:
    """Every item of one workspace (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(i for i in page["Items"] if str(i["pk"]).startswith(f"WS#{workspace_id}"))
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def seeded(workspace: str, admin_api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, str]]:
    monkeypatch.setattr(ssrf, "default_resolve", lambda host, port: ["93.184.215.14"])
    return seed(admin_api, workspace)


def test_every_route_with_another_workspaces_ids_finds_nothing_and_writes_nothing(
    workspace: str, other_workspace: str, seeded: dict[str, dict[str, str]]
) -> None:
    intruder = ApiClient(Caller(other_workspace, "admin-9", "admin"))
    theirs = seeded["mine"]
    secrets = {v for k, v in theirs.items() if k not in NOT_IDS | {"version", "user_id", "workspace_id"}}
    secrets |= {"Dana Matrix"}
    before = items_of(workspace)
    wrong: list[str] = []
    # Reads first, then writes: a write that wrongly landed here would also show in later reads.
    for registered in sorted(ROUTES, key=lambda r: r.method != "GET"):
        query = {k: v.format(**theirs) for k, v in QUERIES.get(str(registered), {}).items()}
        response = call(intruder, registered, theirs, query=query or None)
        ids_in_path = [p for p in registered.path.split("/") if p.startswith("{") and p.strip("{}") not in NOT_IDS]
        text = json.dumps(response.body)
        sent = registered.path.format(**theirs) + json.dumps(query)  # an error may name what was asked for
        leaked = sorted(s for s in secrets if s in text and s not in sent)
        if response.status >= 500:
            wrong.append(f"{registered}: {response.status}")
        elif leaked:
            wrong.append(f"{registered}: answers with this workspace's {leaked}")
        elif isinstance(registered.permission, NoRole) and registered.permission != SIGNED_IN:
            continue  # API key, signature or invitation token: none of this workspace's is presented
        elif ids_in_path and registered.method == "GET" and response.status != 404:
            wrong.append(f"{registered}: {response.status}, expected 404")
        elif ids_in_path and response.status not in (400, 404):
            wrong.append(f"{registered}: {response.status}, expected 404 (or 400 for the empty body)")
    assert not wrong, "\n".join(wrong)
    assert items_of(workspace) == before
