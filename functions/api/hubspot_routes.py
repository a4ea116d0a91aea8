"""HubSpot two-way sync (admin): connect with a private-app token (stored, never shown) and set the
property mapping; read the sync's state. The sync itself runs on a schedule (functions/hubspot)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, route
from keepwell.permissions import Permission
from keepwell.schemas.hubspot import HubSpotConnectionIn, HubSpotConnectionOut
from keepwell.services import hubspot_sync

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/hubspot/connection", methods=["GET"], permission=Permission("integrations", "read"))
def get_hubspot_connection() -> Response:
    return json_response(HubSpotConnectionOut.of(hubspot_sync.connection(current_caller(blueprint))))


@route(blueprint, "/v1/hubspot/connection", methods=["PUT"], permission=Permission("integrations", "configure"))
def put_hubspot_connection() -> Response:
    caller = current_caller(blueprint)
    state = hubspot_sync.connect(caller, parse_body(blueprint, HubSpotConnectionIn))
    return json_response(HubSpotConnectionOut.of(state))
