"""The permission table is the one place roles are decided, and every route declares what it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.template import api_routes
from keepwell import permissions
from keepwell.auth import ROLES, Caller
from keepwell.domain.customers import Customer
from keepwell.errors import Forbidden
from keepwell.http import create_app, route
from keepwell.permissions import (
    INGEST_API_KEY,
    INVITATION_TOKEN,
    PROVIDER_SIGNATURE,
    PUBLIC,
    SHARE_LINK,
    NoRole,
    Permission,
)
from tests.rbac_routes import registered_routes

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
ROUTES = registered_routes()
# Routes the gateway lets through without the bearer-token authorizer: each proves itself another way.
UNAUTHORIZED_MARKERS = {INGEST_API_KEY, PROVIDER_SIGNATURE, INVITATION_TOKEN, PUBLIC, SHARE_LINK}


def test_the_apps_register_routes_of_all_three_functions():
    assert {r.function_id for r in ROUTES} == {"ApiFunction", "IngestFunction", "IntegrationsFunction"}
    assert len(ROUTES) >= 90


@pytest.mark.parametrize("registered", ROUTES, ids=str)
def test_every_registered_route_declares_a_permission_of_the_table_or_a_marker(registered):
    permission = registered.permission
    assert isinstance(permission, Permission | NoRole), f"{registered} declares no permission"
    if isinstance(permission, Permission):
        assert permissions.allowed_roles(permission.feature, permission.action), f"{registered}: {permission}"


def test_routes_without_the_authorizer_are_exactly_the_routes_marked_as_authenticated_otherwise():
    # The web console's pages are public by nature (tests/unit/test_console_site.py checks them).
    without_authorizer = {
        (r.method, r.path) for r in api_routes() if not r.authorized and r.function_id != "WebFunction"
    }
    marked = {(r.method, r.path) for r in ROUTES if r.permission in UNAUTHORIZED_MARKERS}
    assert without_authorizer == marked


def test_route_refuses_a_view_without_a_permission_or_with_one_outside_the_table():
    app = create_app("permission-probe")
    with pytest.raises(TypeError):
        route(app, "/v1/things", methods=["GET"])  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="not in the permission table"):
        route(app, "/v1/things", methods=["GET"], permission=Permission("things", "read"))
    with pytest.raises(ValueError, match="not in the permission table"):
        route(app, "/v1/things", methods=["POST"], permission=Permission("audit", "write"))


@pytest.mark.parametrize("role", ROLES)
def test_require_allows_exactly_the_roles_of_the_table(role):
    caller = Caller("ws_acme", f"{role}-1", role)
    for feature, actions in permissions.TABLE.items():
        for action, allowed in actions.items():
            if role in allowed:
                permissions.require(caller, feature, action)
            else:
                with pytest.raises(Forbidden):
                    permissions.require(caller, feature, action)


def test_the_roles_rights_follow_the_issue():
    assert all(permissions.is_allowed("admin", f, a) for f, actions in permissions.TABLE.items() for a in actions)
    assert all(
        permissions.is_allowed("director", f, "read")
        for f in permissions.TABLE
        if f not in {"integrations", "api_keys", "webhooks", "settings"}
    )
    assert [a for f, actions in permissions.TABLE.items() for a in actions if permissions.is_allowed("viewer", f, a)]
    viewer_rights = [(f, a) for f, actions in permissions.TABLE.items() for a in actions if a != "read"]
    assert not any(permissions.is_allowed("viewer", f, a) for f, a in viewer_rights)
    assert permissions.is_allowed("director", "health_model", "configure")
    assert permissions.is_allowed("director", "playbooks", "configure")
    assert not permissions.is_allowed("csm", "users", "read")


def _customer(owner: str | None, co_owners: list[str], workspace_id: str = "ws_acme") -> Customer:
    return Customer.model_validate(
        {
            "customer_id": "cus_1",
            "workspace_id": workspace_id,
            "name": "Aurora",
            "owner_id": owner,
            "co_owner_ids": co_owners,
            "created_at": "2026-11-20T09:30:00.000Z",
            "updated_at": "2026-11-20T09:30:00.000Z",
            "version": 1,
        }
    )


@pytest.mark.parametrize(
    ("role", "owner", "co_owners", "sees"),
    [
        ("csm", "csm-1", [], True),
        ("csm", "csm-2", ["csm-1"], True),
        ("csm", "csm-2", [], False),
        ("viewer", "csm-2", ["viewer-1"], True),
        ("viewer", "csm-2", [], False),
        ("director", "csm-2", [], True),
        ("admin", None, [], True),
    ],
)
def test_csms_and_viewers_see_only_the_customers_they_own_or_co_own(role, owner, co_owners, sees):
    caller = Caller("ws_acme", "viewer-1" if role == "viewer" else f"{role}-1", role)
    assert permissions.can_see_customer(caller, _customer(owner, co_owners)) is sees


def test_nobody_sees_a_customer_of_another_workspace():
    admin = Caller("ws_acme", "admin-1", "admin")
    assert not permissions.can_see_customer(admin, _customer("admin-1", [], workspace_id="ws_globex"))


def test_docs_permissions_md_is_the_rendering_of_the_table():
    assert DOCS.read_text() == permissions.render_markdown(), (
        "docs/permissions.md is stale: PYTHONPATH=shared python -m keepwell.permissions > docs/permissions.md"
    )
