"""Admin routes for integration webhooks: signing secrets (set, never shown), webhook URLs, and the
events no customer matched (listed and mapped)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell import permissions
from keepwell.auth import Caller
from keepwell.domain.integrations.urls import public_base_url
from keepwell.http import current_caller, json_response, parse_body, parse_query, route
from keepwell.schemas.integrations import IntegrationSecretIn, MapUnmatchedIn, UnmatchedQuery
from keepwell.services import integration_webhooks
from keepwell.settings import get_settings

blueprint = Blueprint(__name__)


def _admin() -> Caller:
    caller = current_caller(blueprint)
    permissions.require_admin(caller)
    return caller


def _base_url() -> str:
    request = blueprint.current_request
    assert request is not None
    path = request.to_original_event()["path"]
    return public_base_url(dict(request.headers), request.context, path, local=get_settings().is_local)


@route(blueprint, "/v1/integrations", methods=["GET"])
def list_integrations() -> Response:
    return json_response(integration_webhooks.list_integrations(_admin(), _base_url()))


@route(blueprint, "/v1/integrations/{provider}/secret", methods=["PUT"])
def put_integration_secret(provider: str) -> Response:
    caller = _admin()
    body = parse_body(blueprint, IntegrationSecretIn)
    return json_response(integration_webhooks.set_secret(caller, provider, body, _base_url()))


@route(blueprint, "/v1/integrations/{provider}/secret", methods=["DELETE"])
def delete_integration_secret(provider: str) -> Response:
    integration_webhooks.delete_secret(_admin(), provider)
    return Response(body="", status_code=204)


@route(blueprint, "/v1/integrations/unmatched", methods=["GET"])
def list_unmatched_integration_events() -> Response:
    caller = _admin()
    return json_response(integration_webhooks.list_unmatched(caller, parse_query(blueprint, UnmatchedQuery)))


@route(blueprint, "/v1/integrations/unmatched/{unmatched_id}/map", methods=["POST"])
def map_unmatched_integration_event(unmatched_id: str) -> Response:
    caller = _admin()
    body = parse_body(blueprint, MapUnmatchedIn)
    return json_response(integration_webhooks.map_unmatched(caller, unmatched_id, body))
