"""The Customer 360 HTTP API. Each view: parse → one call into keepwell.services → respond.

`GET /v1/me` is here; every other route group is a module of this folder with a Blueprint, imported and
registered by the first request to one of its paths (cold starts, docs/decisions/0027-cold-starts.md): a
container imports the groups its requests use, not all.
"""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

import importlib
import threading
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Response

from keepwell.http import create_app, current_caller, json_response, route
from keepwell.observability import logger, metrics
from keepwell.permissions import SIGNED_IN
from keepwell.services import profile

app = create_app("keepwell-api")

# Resource path prefix → the route module serving every path under it (the longest prefix wins; a path
# under none is served here). tests/unit/test_api_route_groups.py checks each route against this table.
ROUTE_GROUPS: dict[str, str] = {
    "/v1/customers": "customers_routes",  # customers, their contacts, timeline and notes
    "/v1/custom-fields": "custom_fields_routes",
    "/v1/api-keys": "api_keys_routes",  # admin only
    "/v1/audit": "audit_routes",  # directors and admins
    "/v1/blueprints": "success_plans_routes",
    "/v1/capabilities": "success_plans_routes",
    "/v1/customers/{customer_id}/benchmark": "segments_routes",
    "/v1/customers/{customer_id}/capabilities": "success_plans_routes",
    "/v1/customers/{customer_id}/churn": "renewals_routes",
    "/v1/customers/{customer_id}/engagement": "success_plans_routes",
    "/v1/customers/{customer_id}/flags": "renewals_routes",
    "/v1/customers/{customer_id}/health": "health_routes",
    "/v1/customers/{customer_id}/recommendations": "renewals_routes",
    "/v1/customers/{customer_id}/renewals": "renewals_routes",
    "/v1/customers/{customer_id}/scores": "renewals_routes",
    "/v1/customers/{customer_id}/success-plan": "success_plans_routes",
    "/v1/health/model": "health_model_routes",
    "/v1/health/presets": "health_model_routes",
    "/v1/health/recalculate": "health_routes",
    "/v1/health/recalculations": "health_routes",
    "/v1/hubspot": "hubspot_routes",  # admin only (issue 20)
    "/v1/imports": "imports_routes",  # admin only (issue 20)
    "/v1/integrations": "integrations_routes",  # admin only
    "/v1/invitations": "users_routes",
    "/v1/metrics": "renewals_routes",
    "/v1/my-day": "tasks_routes",
    "/v1/notifications": "notifications_routes",  # the caller's own
    "/v1/openapi.json": "openapi_routes",  # public
    "/v1/people": "users_routes",  # every role: members' names
    "/v1/playbooks": "playbooks_routes",
    "/v1/renewals": "renewals_routes",
    "/v1/segments": "segments_routes",
    "/v1/settings/slack": "playbooks_routes",
    "/v1/settings/workspace": "workspace_routes",  # admin only
    "/v1/shared/plans": "success_plans_routes",  # a success plan's share link (public)
    "/v1/tasks": "tasks_routes",
    "/v1/upsell": "renewals_routes",
    "/v1/users": "users_routes",  # admins; directors read
    "/v1/webhook-event-types": "webhooks_routes",  # the catalogue subscriptions choose from
    "/v1/webhooks": "webhooks_routes",  # admin only
}
_registered: set[str] = set()
_registering = threading.Lock()  # the local gateway may serve two requests at once


def route_group(resource_path: str) -> str | None:
    """The route module serving `resource_path` (a route's path as API Gateway names it), or None."""
    prefixes = [p for p in ROUTE_GROUPS if resource_path == p or resource_path.startswith(p + "/")]
    return ROUTE_GROUPS[max(prefixes, key=len)] if prefixes else None


def register_route_group(module_name: str) -> None:
    """Import a route module and register its Blueprint into the app, once per container."""
    with _registering:
        if module_name not in _registered:
            app.register_blueprint(importlib.import_module(module_name).blueprint)
            _registered.add(module_name)


def register_all_route_groups() -> None:
    """Every route of the API registered (what tests and tools that read `app.routes` need)."""
    for module_name in dict.fromkeys(ROUTE_GROUPS.values()):
        register_route_group(module_name)


@route(app, "/v1/me", methods=["GET"], permission=SIGNED_IN)
def get_me() -> Response:
    return json_response(profile.who_am_i(current_caller(app)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Chalice dispatches on the resource path too: its route group is registered before it looks.
    group = route_group(str((event.get("requestContext") or {}).get("resourcePath") or ""))
    if group is not None:
        register_route_group(group)
    return app(event, context)


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
