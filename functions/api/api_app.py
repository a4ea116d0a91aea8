"""The Customer 360 HTTP API. Each view: parse → one call into keepwell.services → respond."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Response

from keepwell.http import create_app, current_caller, json_response, route
from keepwell.observability import logger, metrics, tracer
from keepwell.services import profile

app = create_app("keepwell-api")


@route(app, "/v1/me", methods=["GET"])
def get_me() -> Response:
    return json_response(profile.who_am_i(current_caller(app)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app(event, context)  # type: ignore[no-any-return]
