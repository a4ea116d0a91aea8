"""Signed inbound webhooks (Zendesk, Jira, Intercom, HubSpot, Slack, generic), one route per template.

No bearer token here: the provider's signature over the raw body, checked by the service, is the auth.
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
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Response

from keepwell.http import create_app, json_response, public_base_url, raw_body, request_url, route
from keepwell.observability import logger, metrics
from keepwell.permissions import PROVIDER_SIGNATURE
from keepwell.services import integration_webhooks
from keepwell.settings import get_settings

app = create_app("keepwell-integrations")


@route(app, "/v1/integrations/{provider}/{workspace_id}", methods=["POST"], permission=PROVIDER_SIGNATURE)
def post_integration_webhook(provider: str, workspace_id: str) -> Response:
    request = app.current_request
    assert request is not None
    headers = dict(request.headers)
    event = request.to_original_event()
    # HubSpot v3 signs the URL as the provider called it; rebuilt from Host, the stage/base path and query.
    base = public_base_url(headers, request.context, event["path"], local=get_settings().is_local)
    url = request_url(base, event["path"], event.get("multiValueQueryStringParameters"))
    # Signatures cover the exact bytes received, so the raw body goes through, not parsed JSON.
    body = raw_body(app)
    return json_response(
        integration_webhooks.receive_webhook(provider, workspace_id, headers, body, method=request.method, url=url)
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app(event, context)


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
