"""Product-event ingestion over HTTP: a workspace API key (X-Api-Key) instead of a bearer token.

Both paths are template routes with `Auth: Authorizer: NONE`; the key itself is checked by the service.
"""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Response

from keepwell.http import create_app, json_response, raw_body, route
from keepwell.observability import logger, metrics
from keepwell.permissions import INGEST_API_KEY
from keepwell.services import ingest_requests

app = create_app("keepwell-ingest")


def _ingest() -> Response:
    request = app.current_request
    api_key = request.headers.get("x-api-key") if request is not None else None
    answer = ingest_requests.receive_event_batch(api_key, raw_body(app))
    metrics.add_metric(name="ProductEventsAccepted", unit=MetricUnit.Count, value=answer.accepted)
    metrics.add_metric(name="ProductEventsRejected", unit=MetricUnit.Count, value=len(answer.rejected))
    return json_response(answer)


@route(app, "/v1/events", methods=["POST"], permission=INGEST_API_KEY)
def post_events() -> Response:
    return _ingest()


# Alias kept for SDKs that post to the older path; same behaviour.
@route(app, "/v1/ingest/events", methods=["POST"], permission=INGEST_API_KEY)
def post_ingest_events() -> Response:
    return _ingest()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app(event, context)


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
