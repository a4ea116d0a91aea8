"""Custom fields: the workspace's own customer attributes (read by everyone, configured by admins)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, route
from keepwell.permissions import Permission
from keepwell.schemas.custom_fields import CustomFieldIn, CustomFieldListOut, CustomFieldOut
from keepwell.services import custom_fields

blueprint = Blueprint(__name__)


# --- custom fields ------------------------------------------------------------------------------
@route(blueprint, "/v1/custom-fields", methods=["GET"], permission=Permission("custom_fields", "read"))
def list_custom_fields() -> Response:
    items = custom_fields.list_custom_fields(current_caller(blueprint))
    return json_response(CustomFieldListOut(items=[CustomFieldOut.of(d) for d in items]))


@route(blueprint, "/v1/custom-fields", methods=["POST"], permission=Permission("custom_fields", "configure"))
def create_custom_field() -> Response:
    caller = current_caller(blueprint)
    definition = custom_fields.create_custom_field(caller, parse_body(blueprint, CustomFieldIn))
    return json_response(CustomFieldOut.of(definition), status=201)


@route(
    blueprint, "/v1/custom-fields/{field_key}", methods=["DELETE"], permission=Permission("custom_fields", "configure")
)
def delete_custom_field(field_key: str) -> Response:
    caller = current_caller(blueprint)
    custom_fields.delete_custom_field(caller, field_key)
    return Response(body="", status_code=204)
