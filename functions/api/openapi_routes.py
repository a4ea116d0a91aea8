"""GET /v1/openapi.json: the API's OpenAPI 3.1 document, public (no authorizer), built once per container."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import route
from keepwell.permissions import PUBLIC

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/openapi.json", methods=["GET"], permission=PUBLIC)
def get_openapi_document() -> Response:
    # Imported here: building the document touches every schema, which no other route needs on a cold start.
    from keepwell.openapi import document_json

    return Response(body=document_json(), status_code=200, headers={"Content-Type": "application/json"})
