"""Admin routes for ingestion API keys (shown once at creation, stored only as a hash)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, route
from keepwell.permissions import Permission
from keepwell.schemas.api_keys import ApiKeyCreatedOut, ApiKeyIn, ApiKeyListOut, ApiKeyOut
from keepwell.services import api_keys

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/api-keys", methods=["GET"], permission=Permission("api_keys", "read"))
def list_api_keys() -> Response:
    caller = current_caller(blueprint)
    return json_response(ApiKeyListOut(items=[ApiKeyOut.model_validate(k) for k in api_keys.list_api_keys(caller)]))


@route(blueprint, "/v1/api-keys", methods=["POST"], permission=Permission("api_keys", "configure"))
def create_api_key() -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, ApiKeyIn)
    summary, plaintext = api_keys.create_api_key(caller.workspace_id, body.name, caller.user_id)
    return json_response(ApiKeyCreatedOut.model_validate({**summary, "api_key": plaintext}), status=201)


@route(blueprint, "/v1/api-keys/{key_id}/rotate", methods=["POST"], permission=Permission("api_keys", "configure"))
def rotate_api_key(key_id: str) -> Response:
    caller = current_caller(blueprint)
    summary, plaintext = api_keys.rotate_api_key(caller, key_id)
    return json_response(ApiKeyCreatedOut.model_validate({**summary, "api_key": plaintext}), status=201)


@route(blueprint, "/v1/api-keys/{key_id}", methods=["DELETE"], permission=Permission("api_keys", "configure"))
def revoke_api_key(key_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(ApiKeyOut.model_validate(api_keys.revoke_api_key(caller, key_id)))
