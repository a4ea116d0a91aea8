"""Chalice glue shared by the HTTP functions: one error envelope, body/query parsing, the caller.

Views are registered with `route(app, ...)`, which maps domain errors to their status code; a
middleware rewrites Chalice's own error shapes (415, 500, …) into the same envelope.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

from chalice import Blueprint, Chalice, Response
from pydantic import BaseModel, ValidationError

from keepwell import permissions
from keepwell.auth import WORKSPACE_HEADER, Caller
from keepwell.errors import (
    BadRequest,
    InvalidInput,
    KeepwellError,
    PayloadTooLarge,
    ServiceUnavailable,
    from_validation_error,
    transient_aws_error,
)
from keepwell.observability import logger
from keepwell.permissions import Permission, RoutePermission

MAX_BODY_BYTES = 1_048_576  # API Gateway's own limit is 10 MB; ours is 1 MB per request.
RETRY_AFTER_SECONDS = "1"  # with a 503 when AWS throttles us

Model = TypeVar("Model", bound=BaseModel)
View = Callable[..., Any]
# Views live on the app or on a Blueprint registered into it; both expose current_request.
Routable = Chalice | Blueprint
# Whether the running view read its query string with `parse_query` (one request per thread at a time).
_query = threading.local()


def create_app(name: str) -> Chalice:
    app = Chalice(app_name=name)
    app.api.binary_types = []  # JSON only: bodies arrive as text

    @app.middleware("http")
    def envelope_chalice_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
        response = get_response(event)
        body = response.body
        if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
            code = str(body["Code"])
            message = str(body.get("Message", code))
            return error_response(response.status_code, _snake(code), message)
        return response

    return app


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out.removesuffix("_error") or "error"


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    return Response(
        body={"error": {"code": code, "message": message, "details": details or []}},
        status_code=status,
        headers={"Content-Type": "application/json"},
    )


def json_response(payload: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> Response:
    if isinstance(payload, BaseModel):
        body: Any = payload.model_dump(mode="json")
    else:
        body = payload
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


PERMISSION_ATTRIBUTE = "keepwell_permission"  # where a registered view keeps what it needs
READS_QUERY_ATTRIBUTE = "keepwell_reads_query"  # a write registered to read its query string


def route(
    app: Routable, path: str, methods: list[str], *, permission: RoutePermission, reads_query: bool = False
) -> Callable[[View], View]:
    """Register a view whose domain errors become enveloped 4xx responses.

    `permission` is required: a (feature, action) of the permission table, checked here before the
    view runs (403 `forbidden` otherwise), or a `NoRole` marker for routes authenticated another way.
    A write of the API (POST, PUT, PATCH, DELETE with a `Permission`) that sent query parameters to a
    view not registered with `reads_query` is refused before the view runs, so nothing is written; a GET
    is checked after its view (`_ignored_query`). Provider webhooks (`NoRole`) take what they are sent.
    """
    if not isinstance(permission, Permission | permissions.NoRole):
        raise TypeError(f"{path}: permission must be a Permission or a NoRole marker, not {permission!r}")
    if isinstance(permission, Permission) and not permissions.allowed_roles(permission.feature, permission.action):
        raise ValueError(f"{path}: {permission} is not in the permission table")

    def register(view: View) -> View:
        @functools.wraps(view)
        def guarded(**kwargs: Any) -> Any:
            try:
                if isinstance(permission, Permission):
                    permissions.require(current_caller(app), permission.feature, permission.action)
                    if not reads_query:
                        _refuse_write_query(app)
                _query.read = False
                answer = view(**kwargs)
                ignored = _ignored_query(app, path)
                if ignored:  # a GET writes nothing, so answering 400 after the view still changes nothing
                    return error_response(
                        400,
                        "validation_error",
                        f"Invalid query: check {', '.join(sorted(ignored))}",
                        [{"field": name, "issue": "this route takes no query parameters"} for name in sorted(ignored)],
                    )
                return answer
            except KeepwellError as error:
                return error_response(error.status, error.code, error.message, error.details)
            except ValidationError as error:
                problem = from_validation_error(error)
                return error_response(problem.status, problem.code, problem.message, problem.details)
            except Exception as error:
                code = transient_aws_error(error)
                if code is None:
                    raise
                # Throttled (or an AWS 5xx) after the SDK's retries: a 503 the client may retry, since
                # every write is idempotent or conditional (ingestion counts each event_id once).
                logger.warning("AWS throttled or failed; answered 503", extra={"aws_error": code})
                busy = ServiceUnavailable("The service is busy; retry the same request shortly")
                response = error_response(busy.status, busy.code, busy.message)
                response.headers["Retry-After"] = RETRY_AFTER_SECONDS
                return response

        setattr(guarded, PERMISSION_ATTRIBUTE, permission)
        setattr(guarded, READS_QUERY_ATTRIBUTE, reads_query)
        app.route(path, methods=methods, content_types=["application/json", "text/plain"])(guarded)
        return view

    return register


def _ignored_query(app: Routable, path: str) -> list[str]:
    """The query parameters a GET of the API sent to a view that takes none (`parse_query` never ran): refused
    as a query schema refuses a parameter it does not know, rather than answered as if they filtered."""
    request = app.current_request
    if request is None or getattr(_query, "read", True) or not path.startswith("/v1/") or request.method != "GET":
        return []
    return list(request.query_params or {})


def _refuse_write_query(app: Routable) -> None:
    """400 naming the query parameters a write of the API was sent: it takes none (its input is the body)."""
    request = app.current_request
    if request is None or request.method == "GET" or not request.query_params:
        return
    names = sorted(request.query_params)
    raise InvalidInput(
        f"Invalid query: check {', '.join(names)}",
        [{"field": name, "issue": "this route takes no query parameters"} for name in names],
    )


def raw_body(app: Routable) -> bytes:
    request = app.current_request
    body = request.raw_body if request is not None else b""
    if isinstance(body, str):
        body = body.encode()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    return body


def parse_body(app: Routable, model: type[Model]) -> Model:
    """Validate the JSON body against `model`; malformed JSON and wrong types become 400s."""
    body = raw_body(app)
    if not body.strip():
        raise BadRequest("Request body is empty; a JSON object is expected", code="empty_body")
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"Malformed JSON: {error}", code="malformed_json") from error
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise from_validation_error(error) from error


def parse_query(app: Routable, model: type[Model]) -> Model:
    request = app.current_request
    params = dict(request.query_params or {}) if request is not None else {}
    _query.read = True
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise from_validation_error(error, where="query") from error


def current_caller(app: Routable) -> Caller:
    """The caller in the workspace the `X-Keepwell-Workspace` header picks (403 if not theirs), else in
    their default workspace. The authorizer's context lists every membership (keepwell.auth)."""
    request = app.current_request
    context = (request.context or {}).get("authorizer") if request is not None else None
    chosen = request.headers.get(WORKSPACE_HEADER.lower()) if request is not None and request.headers else None
    return Caller.from_authorizer_context(context, chosen.strip() if chosen else None)


# --- the public URL of a request as the caller used it -------------------------------------------------
# (behind API Gateway, a custom domain or the local gateway): HubSpot signs it, and admins are shown the
# webhook URL to give each provider.
def public_base_url(
    headers: Mapping[str, str], request_context: Mapping[str, Any], event_path: str, *, local: bool
) -> str:
    """`https://<host>[/<stage or base path>]`. API Gateway's `requestContext.path` is the path as called
    (with the stage on the execute-api host, the base path on a custom domain); the event's `path` is the
    resource path without it, so the difference is the prefix. The local gateway serves without a prefix."""
    # Header names are case-insensitive. (Not inbound.lower_headers: its module imports the signature
    # verifiers and standardwebhooks into every HTTP function's cold start.)
    h = {name.lower(): value for name, value in headers.items()}
    host = h.get("host") or str(request_context.get("domainName") or "localhost")
    scheme = h.get("x-forwarded-proto") or ("http" if local else "https")
    prefix = ""
    called = str(request_context.get("path") or event_path)
    if not local and called.endswith(event_path):
        prefix = called[: len(called) - len(event_path)]
    return f"{scheme}://{host}{prefix.rstrip('/')}"


def request_url(base_url: str, event_path: str, query: Mapping[str, list[str]] | None) -> str:
    """REST APIs pass no raw query string: it is rebuilt from the parsed parameters (give providers
    webhook URLs without one)."""
    url = f"{base_url}{event_path}"
    if query:
        url += "?" + urlencode([(k, v) for k, values in query.items() for v in values])
    return url
