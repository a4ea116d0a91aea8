"""The routes of the three HTTP functions as their Chalice apps registered them, each with the
permission it declared (used by the permission, role-matrix and cross-workspace tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from infra.apigw import match_route
from infra.functions import chalice_app
from keepwell.http import PERMISSION_ATTRIBUTE
from keepwell.permissions import (
    INGEST_API_KEY,
    INVITATION_TOKEN,
    PROVIDER_SIGNATURE,
    PUBLIC,
    SHARE_LINK,
    RoutePermission,
)
from tests.conftest import ApiClient

HTTP_FUNCTIONS = ("ApiFunction", "IngestFunction", "IntegrationsFunction")


@dataclass(frozen=True)
class RegisteredRoute:
    function_id: str
    method: str
    path: str
    permission: RoutePermission | None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def registered_routes() -> list[RegisteredRoute]:
    found = []
    for function_id in HTTP_FUNCTIONS:
        for path, methods in chalice_app(function_id).routes.items():
            for method, entry in methods.items():
                permission = getattr(entry.view_function, PERMISSION_ATTRIBUTE, None)
                found.append(RegisteredRoute(function_id, method.upper(), path, permission))
    return sorted(found, key=lambda r: (r.path, r.method))


USER_OF_ROLE = {"admin": "admin-1", "director": "director-1", "csm": "csm-1", "viewer": "viewer-1"}
WEBHOOK_URL = "https://hooks.customer.example/keepwell"
# What a caller with any role (but no API key, signature or invitee token) gets on the other routes.
MARKER_STATUS = {PUBLIC: 200, INGEST_API_KEY: 401, PROVIDER_SIGNATURE: 401, INVITATION_TOKEN: 401, SHARE_LINK: 200}
# Query strings some reads require, and valid bodies for the writes under a customer (so the portfolio
# check, not body validation, decides their answer); other writes get `{}`.
QUERIES = {"GET /v1/metrics/revenue": {"from": "2026-01-01", "to": "2026-12-31"}}
BODIES: dict[str, Any] = {
    "POST /v1/customers/{customer_id}/churn": {"churn_reason": "price"},
    "POST /v1/customers/{customer_id}/contacts": {"name": "Intruder"},
    "POST /v1/customers/{customer_id}/notes": {"body": "hello"},
    "POST /v1/customers/{customer_id}/renewals": {"renewal_date": "2027-02-01"},
    "POST /v1/customers/{customer_id}/renewals/{renewal_id}/close": {"outcome": "churned"},
    "PATCH /v1/customers/{customer_id}/renewals/{renewal_id}/forecast": {"forecast_category": "commit", "reason": "x"},
    "PUT /v1/imports/{import_id}/mapping": {"mapping": {}},
    "PUT /v1/customers/{customer_id}/success-plan": {"name": "Plan", "start_date": "2026-11-01", "version": 1},
    "POST /v1/customers/{customer_id}/success-plan/apply": {"blueprint_id": "bpr_none"},
    "POST /v1/customers/{customer_id}/success-plan/objectives/{objective_id}/outcomes": {"value": 1},
    "POST /v1/customers/{customer_id}/success-plan/objectives/{objective_id}/achieve": {"reason": "matrix"},
    "POST /v1/customers/{customer_id}/success-plan/shares": {"expires_in_days": 7},
    "POST /v1/customers/{customer_id}/engagement": {"phase": "adoption"},
}


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


def created(response: Any, key: str) -> str:
    assert response.status in (200, 201, 202), response.body
    return str(response.body[key])


def seed(admin: ApiClient, workspace: str) -> dict[str, dict[str, str]]:
    """Two customers, one in csm-1's portfolio (the viewer co-owns it), one of csm-2's, with a thing of
    every kind under them; returns the path parameters that point at each."""
    mine = created(
        admin.post("/v1/customers", {"name": "Mine", "owner_id": "csm-1", "co_owner_ids": ["viewer-1"]}), "customer_id"
    )
    theirs = created(admin.post("/v1/customers", {"name": "Theirs", "owner_id": "csm-2"}), "customer_id")
    rule_id = created(
        admin.post(
            "/v1/upsell/rules",
            {"name": "Analytics Pro", "product": "Analytics Pro", "base_score": 40, "triggers": []},
        ),
        "rule_id",
    )
    subscription_id = created(
        admin.post("/v1/webhooks", {"url": WEBHOOK_URL, "event_types": ["customer.health.band_changed"]}),
        "subscription_id",
    )
    common = {
        "rule_id": rule_id,
        "subscription_id": subscription_id,
        "delivery_id": created(admin.post(f"/v1/webhooks/{subscription_id}/test"), "delivery_id"),
        "playbook_id": admin.get("/v1/playbooks").body["items"][0]["playbook_id"],
        "segment_id": created(
            admin.post("/v1/segments", {"name": "Active", "condition": 'status = "active"'}), "segment_id"
        ),
        "key_id": created(admin.post("/v1/api-keys", {"name": "matrix"}), "key_id"),
        "job_id": created(admin.post("/v1/health/recalculate"), "job_id"),
        "backtest_id": created(admin.post("/v1/health/model/backtest"), "job_id"),
        "field_key": created(
            admin.post("/v1/custom-fields", {"key": "matrix_sla", "label": "SLA", "type": "text"}), "key"
        ),
        "blueprint_id": created(
            admin.post("/v1/blueprints", {"name": "Matrix", "objectives": [{"title": "Live"}]}), "blueprint_id"
        ),
        "capability_id": created(
            admin.post("/v1/capabilities", {"key": "matrix", "name": "M", "product": "P", "features": ["x"]}),
            "capability_id",
        ),
        "version": "1",
        "dimension": "usage",  # a dimension of the usage_heavy model set below
        "provider": "zendesk",
        "unmatched_id": "unm_none",
        "notification_id": "ntf_none",
        "user_id": "csm-2",
        "workspace_id": workspace,
        # a bulk import waiting for its file (issue 20)
        "import_id": created(admin.post("/v1/imports", {"kind": "customers", "filename": "matrix.csv"}), "import_id"),
    }
    created(admin.request("PUT", "/v1/health/model", body={"preset": "usage_heavy"}), "version")  # version 1
    params = {}
    for name, customer_id in (("mine", mine), ("theirs", theirs)):
        params[name] = {
            **common,
            "customer_id": customer_id,
            "contact_id": created(
                admin.post(f"/v1/customers/{customer_id}/contacts", {"name": "Dana Matrix"}), "contact_id"
            ),
            "renewal_id": created(
                admin.post(f"/v1/customers/{customer_id}/renewals", {"renewal_date": "2027-01-10"}), "renewal_id"
            ),
            "task_id": created(admin.post("/v1/tasks", {"title": "Call", "customer_id": customer_id}), "task_id"),
        }
        plan = {"name": "Plan", "start_date": "2026-11-01", "objectives": [{"title": "Live", "due_date": "2027-01-01"}]}
        answer = admin.request("PUT", f"/v1/customers/{customer_id}/success-plan", body=plan)
        params[name]["objective_id"] = str(answer.body["objectives"][0]["objective_id"]) if answer.status == 200 else ""
        share = admin.post(f"/v1/customers/{customer_id}/success-plan/shares", {})
        params[name] |= {"share_id": created(share, "share_id"), "token": created(share, "token")}
    return params


def call(
    api: ApiClient, registered: RegisteredRoute, params: dict[str, str], query: dict[str, str] | None = None
) -> Any:
    path = registered.path.format(**params)
    matched = match_route(registered.method, path)
    assert matched is not None and matched[0].path == registered.path, f"{registered} is reached as {path}"
    body = None if registered.method in ("GET", "DELETE") else BODIES.get(str(registered), {})
    return api.request(registered.method, path, body=body, query=query or QUERIES.get(str(registered)))


# --- references in a query string or a body (issue #16) ----------------------------------------------
# Every field of a route's query or body that names another object, with what it names. A customer
# reference is portfolio-scoped: outside a CSM's or viewer's book it must read exactly like an unknown
# id. A user reference names a workspace member (validated against the users, not a portfolio object)
# and a segment reference a workspace-wide segment: a portfolio caller's list filtered by either must
# still never show another book.
# tests/integration/test_rbac_matrix.py checks that the contract has no reference missing from here.
@dataclass(frozen=True)
class Reference:
    route: str  # "METHOD /path" as registered
    where: str  # "query" or "body"
    field: str
    names: (
        str  # "customer", "user", "segment" or "blueprint" (workspace-wide, looked up in the caller's workspace only)
    )
    extra: tuple[tuple[str, Any], ...] = ()  # other fields a valid request needs

    def request(self, api: ApiClient, params: dict[str, str], value: Any) -> Any:
        method, template = self.route.split(" ", 1)
        data = {**dict(self.extra), self.field: value}
        path = template.format(**params)
        if self.where == "query":
            return api.request(method, path, query=data, body=None if method == "GET" else {})
        return api.request(method, path, body=data)


REFERENCES = (
    Reference("POST /v1/tasks", "body", "customer_id", "customer", (("title", "Call"),)),
    Reference("GET /v1/tasks", "query", "customer_id", "customer"),
    Reference("GET /v1/playbooks/{playbook_id}/runs", "query", "customer_id", "customer"),
    Reference("POST /v1/integrations/unmatched/{unmatched_id}/map", "body", "customer_id", "customer"),
    Reference("GET /v1/tasks", "query", "owner_id", "user"),
    Reference("POST /v1/tasks", "body", "owner_id", "user", (("title", "Call"),)),
    Reference("PATCH /v1/tasks/{task_id}", "body", "owner_id", "user"),
    Reference("GET /v1/customers", "query", "owner_id", "user"),
    Reference("GET /v1/customers", "query", "segment_id", "segment"),
    Reference("POST /v1/customers", "body", "owner_id", "user", (("name", "Ref"),)),
    Reference("POST /v1/customers", "body", "co_owner_ids", "user", (("name", "Ref"),)),
    Reference("PATCH /v1/customers/{customer_id}", "body", "owner_id", "user"),
    Reference("PATCH /v1/customers/{customer_id}", "body", "co_owner_ids", "user"),
    Reference("GET /v1/renewals", "query", "owner_id", "user"),
    Reference("GET /v1/renewals/upcoming", "query", "owner_id", "user"),
    Reference("GET /v1/renewals/upcoming/export", "query", "owner_id", "user"),
    Reference("GET /v1/metrics/revenue", "query", "owner", "user", (("from", "2026-01-01"), ("to", "2026-12-31"))),
    Reference("POST /v1/customers/{customer_id}/renewals", "body", "account_executive_id", "user"),
    Reference("PATCH /v1/customers/{customer_id}/renewals/{renewal_id}", "body", "account_executive_id", "user"),
    Reference("POST /v1/customers/{customer_id}/recommendations/{rule_id}/opportunity", "body", "owner_id", "user"),
    Reference("POST /v1/customers/{customer_id}/success-plan/apply", "body", "blueprint_id", "blueprint"),
)
# Fields that look like references but are not: a customer's id in the customer's own CRM.
NOT_REFERENCES = frozenset({"external_id"})
