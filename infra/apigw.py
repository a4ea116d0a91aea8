"""Build API Gateway REST proxy events exactly as API Gateway does for a template route.

Chalice routes on `requestContext.resourcePath`, so the event must carry the template's resource
path (`/v1/customers/{customer_id}`), the concrete path, the path parameters and, for routes behind
the Lambda authorizer, the authorizer's context.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from infra.template import ApiRoute, api_routes, path_pattern


def match_route(method: str, path: str, routes: list[ApiRoute] | None = None) -> tuple[ApiRoute, dict[str, str]] | None:
    """The template route serving `method path`, with its path parameters; None when none does."""
    for route in routes if routes is not None else api_routes():
        match = path_pattern(route.path).match(path)
        if match and route.method == method.upper():
            return route, match.groupdict()
    return None


def path_exists(path: str, routes: list[ApiRoute] | None = None) -> bool:
    return any(path_pattern(r.path).match(path) for r in (routes if routes is not None else api_routes()))


def proxy_event(
    route: ApiRoute,
    path: str,
    path_parameters: dict[str, str] | None = None,
    query_string: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    authorizer: dict[str, Any] | None = None,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    headers = dict(headers or {})
    query = parse_qs(query_string, keep_blank_values=True) if query_string else {}
    is_base64 = False
    body_text: str | None
    if isinstance(body, bytes):
        try:
            body_text = body.decode("utf-8")
        except UnicodeDecodeError:
            body_text, is_base64 = base64.b64encode(body).decode("ascii"), True
    else:
        body_text = body
    request_context: dict[str, Any] = {
        "resourcePath": route.path,
        "httpMethod": route.method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", headers.get("user-agent"))},
        "accountId": "123456789012",
        "apiId": "local",
        "protocol": "HTTP/1.1",
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body_text,
        "isBase64Encoded": is_base64,
    }
