"""The web console (docs/decisions/0023): index.html for every console URL, the hashed assets, and the
sign-in settings. Same origin as the API, so the console calls `/v1/…` without CORS. Every console
URL is declared in template.yaml like the API's routes (no catch-all)."""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

import os
from pathlib import Path
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Response

from keepwell.http import create_app, json_response, route
from keepwell.observability import logger, metrics, tracer
from keepwell.permissions import PUBLIC
from keepwell.services.console_site import ConsoleSite, auth_connect_sources, console_config, upload_connect_sources

app = create_app("keepwell-web")
# Hashed once per container (cold start): a few dozen small files.
site = ConsoleSite.load(Path(__file__).resolve().parent / "console")

# Each screen's URL (shareable; the console routes on it in the browser).
SCREENS = (
    "/",
    "/signin",
    "/callback",
    "/my-day",
    "/customers",
    "/customers/{customer_id}",
    "/renewals",
    "/settings/health",
    "/playbooks",
    "/tasks",
    "/segments",
    "/segments/{segment_id}",
    "/imports",
    "/imports/{import_id}",
    "/admin",
    "/invitations/accept",
    "/shared/plans/{token}",
)


def base_path() -> str:
    """On API Gateway's own host the stage is the first path segment; on a custom domain and locally, none."""
    request = app.current_request
    if request is None:
        return ""
    host = str(request.headers.get("host", ""))
    stage = str(request.context.get("stage", ""))
    return f"/{stage}" if stage and host.endswith(".amazonaws.com") else ""


def page_view(screen: str) -> Any:
    def page(**_: str) -> Response:
        env = dict(os.environ)
        auth = console_config(env)["auth"]
        # The sign-in's token endpoint, and the import bucket the browser posts files to (docs/import.md).
        body, headers = site.page(base_path(), auth_connect_sources(auth) + upload_connect_sources(env))
        return Response(body=body, status_code=200, headers=headers)

    page.__name__ = "page_" + (screen.strip("/").replace("/", "_").replace("{", "").replace("}", "") or "home")
    return page


for screen in SCREENS:
    route(app, screen, methods=["GET"], permission=PUBLIC)(page_view(screen))


@route(app, "/assets/{asset}", methods=["GET"], permission=PUBLIC)
def asset(asset: str) -> Response:
    body, headers = site.asset(asset)
    return Response(body=body, status_code=200, headers=headers)


@route(app, "/console/config.json", methods=["GET"], permission=PUBLIC)
def config() -> Response:
    response = json_response(console_config(dict(os.environ)))
    response.headers["Cache-Control"] = "no-cache"
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result: dict[str, Any] = app(event, context)
    return result


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
