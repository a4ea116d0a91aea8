"""Admin routes for integration webhooks: signing secrets (set, never shown), webhook URLs, and the
events no customer matched (listed and mapped)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, parse_query, public_base_url, route
from keepwell.permissions import Permission
from keepwell.schemas.integrations import IntegrationSecretIn, MapUnmatchedIn, UnmatchedQuery
from keepwell.services import integration_webhooks
from keepwell.settings import get_settings

blueprint = Blueprint(__name__)


def _base_url() -> str:
    request = blueprint.current_request
    assert request is not None
    path = request.to_original_event()["path"]
    return public_base_url(dict(request.headers), request.context, path, local=get_settings().is_local)


@route(blueprint, "/v1/integrations", methods=["GET"], permission=Permission("integrations", "read"))
def list_integrations() -> Response:
    return json_response(integration_webhooks.list_integrations(current_caller(blueprint), _base_url()))


@route(
    blueprint,
    "/v1/integrations/{provider}/secret",
    methods=["PUT"],
    permission=Permission("integrations", "configure"),
)
def put_integration_secret(provider: str) -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, IntegrationSecretIn)
    return json_response(integration_webhooks.set_secret(caller, provider, body, _base_url()))


@route(
    blueprint,
    "/v1/integrations/{provider}/secret",
    methods=["DELETE"],
    permission=Permission("integrations", "configure"),
)
def delete_integration_secret(provider: str) -> Response:
    integration_webhooks.delete_secret(current_caller(blueprint), provider)
    return Response(body="", status_code=204)


@route(blueprint, "/v1/integrations/unmatched", methods=["GET"], permission=Permission("integrations", "read"))
def list_unmatched_integration_events() -> Response:
    caller = current_caller(blueprint)
    return json_response(integration_webhooks.list_unmatched(caller, parse_query(blueprint, UnmatchedQuery)))


@route(
    blueprint,
    "/v1/integrations/unmatched/{unmatched_id}/map",
    methods=["POST"],
    permission=Permission("integrations", "configure"),
)
def map_unmatched_integration_event(unmatched_id: str) -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, MapUnmatchedIn)
    return json_response(integration_webhooks.map_unmatched(caller, unmatched_id, body))
