"""A local API Gateway (REST, Lambda proxy) in front of the template's functions.

Each request is matched to a template route (unknown path → 404, known path with another method
→ 405). Routes behind the authorizer first run the template's TOKEN authorizer function: its
"Unauthorized" → 401, a policy that does not allow the method ARN → 403 (bodies from the template's
GatewayResponses), otherwise the policy's context becomes `requestContext.authorizer`. Then the
route's function gets the proxy event and its response is written back.

Paths under `/_local/` are not API routes: they go to the local stack's control handler.

Whatever a client sends, the gateway itself answers 4xx in the error envelope, never http.server's HTML
nor a 5xx: any method name is routed like the known ones (`QUERY /v1/customers` → 405 naming the allowed
methods, an unknown path → 404), a malformed request line, an oversized header or `HTTP/2.0` on this
HTTP/1.1 server → 400 (or http.server's own 4xx), a bad `Content-Length` → 400, a body over API
Gateway's 10 MB → 413. Only a failing function (502) or authorizer (500) is a 5xx.

`POST /local/cognito-idp` is not one either: it forwards a browser's Cognito call (sign-in) to the
local user pool on moto (infra/identity.py).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from infra.apigw import match_route, path_exists, proxy_event
from infra.identity import BROWSER_TARGETS, COGNITO_PROXY_PATH, TARGET_PREFIX
from infra.invoker import Invoker
from infra.template import ApiRoute, api_routes, load_template, resources_of_type

log = logging.getLogger("infra.local")

CONTROL_PREFIX = "/_local/"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota (REST APIs)
# (status, JSON body) for a control request; None when the control handler does not know the path.
ControlHandler = Callable[[str, str, dict[str, str], bytes], tuple[int, Any] | None]


def envelope(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def authorizer_config(template: dict[str, Any]) -> tuple[str, str] | None:
    """(authorizer function id, identity header) of the API's default TOKEN authorizer."""
    for api in resources_of_type(template, "AWS::Serverless::Api").values():
        auth = api["Properties"].get("Auth") or {}
        name = auth.get("DefaultAuthorizer")
        if not name:
            continue
        spec = auth["Authorizers"][name]
        function_id = spec["FunctionArn"]["Fn::GetAtt"][0]
        header = (spec.get("Identity") or {}).get("Header", "Authorization")
        return function_id, header
    return None


def reauthorize_every(template: dict[str, Any]) -> int:
    """Seconds API Gateway caches the default authorizer's policy per token (`ReauthorizeEvery`, 300 if
    unset, as API Gateway's default)."""
    for api in resources_of_type(template, "AWS::Serverless::Api").values():
        auth = api["Properties"].get("Auth") or {}
        name = auth.get("DefaultAuthorizer")
        if name:
            identity = auth["Authorizers"][name].get("Identity") or {}
            return int(identity.get("ReauthorizeEvery", 300))
    return 0


def gateway_response(
    template: dict[str, Any], kind: str, status: int, code: str, message: str, context: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The body the template's GatewayResponses declare for `kind`, else the envelope. `context`: the
    `$context.<name>` values its template may name inside a string (`httpMethod`, `path`)."""
    for api in resources_of_type(template, "AWS::Serverless::Api").values():
        response = (api["Properties"].get("GatewayResponses") or {}).get(kind) or {}
        body = (response.get("ResponseTemplates") or {}).get("application/json")
        if body:
            body = body.replace("$context.error.messageString", json.dumps(message))
            for name, value in (context or {}).items():
                body = body.replace(f"$context.{name}", json.dumps(value)[1:-1])
            parsed: dict[str, Any] = json.loads(body)
            return parsed
    return envelope(code, message)


def policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    """IAM evaluation of an authorizer policy for one method ARN: an explicit Deny wins."""
    allowed = False
    statements = (policy.get("policyDocument") or {}).get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


class Gateway:
    def __init__(
        self,
        invoker: Invoker,
        host: str = "127.0.0.1",
        port: int = 3000,
        stage: str = "local",
        region: str = "us-east-1",
        account_id: str = "123456789012",
        control: ControlHandler | None = None,
    ) -> None:
        self.invoker = invoker
        self.stage = stage
        self.region = region
        self.account_id = account_id
        self.control = control
        self.cognito_endpoint: str | None = None  # moto's endpoint, once the local pool exists
        self.template = load_template()
        self.routes: list[ApiRoute] = api_routes(self.template)
        self.authorizer = authorizer_config(self.template)
        # API Gateway caches the authorizer's policy per token for ReauthorizeEvery seconds; locally
        # every request is authorized again unless this is set (bench/api_latency sets the template's
        # value, so it measures what a deployed API does; make run and the tests see a role change at once).
        self.authorizer_cache_seconds = 0.0
        self._authorized: dict[str, tuple[float, dict[str, Any]]] = {}
        self._authorized_lock = threading.Lock()
        gateway = self

        class RequestHandler(_RequestHandler):
            owner = gateway

        self.server = _Server((host, port), RequestHandler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def method_arn(self, method: str, path: str) -> str:
        resource = f"local/{self.stage}/{method}/{path.lstrip('/')}"
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{resource}"

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: dict[str, str],
        body: bytes,
        source_ip: str,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request in, (status, headers, body) out."""
        split = urlsplit(raw_path)
        path = split.path or "/"
        if path.startswith(CONTROL_PREFIX) and self.control is not None:
            handled = self.control(method, path, headers, body)
            if handled is not None:
                return _json(*handled)
        if path == COGNITO_PROXY_PATH and self.cognito_endpoint is not None:
            return self._forward_to_cognito(method, headers, body)
        matched = match_route(method, path, self.routes)
        if matched is None:
            if path_exists(path, self.routes):
                allowed = sorted({r.method for r in self.routes if _route_matches(r, path)})
                status, head, payload = _json(
                    405,
                    envelope("method_not_allowed", f"{method} is not allowed on {path}", [{"allowed": allowed}]),
                )
                head["Allow"] = ", ".join(allowed)
                return status, head, payload
            asked = {"httpMethod": method, "path": path}
            message = f"No route for {method} {path}"
            unknown = gateway_response(self.template, "MISSING_AUTHENTICATION_TOKEN", 404, "not_found", message, asked)
            return _json(404, unknown)
        route, params = matched
        authorizer_context: dict[str, Any] | None = None
        if route.authorized and self.authorizer is not None:
            outcome = self._authorize(route, path, headers)
            if isinstance(outcome, tuple):
                return outcome
            authorizer_context = outcome
        event = proxy_event(
            route,
            path,
            {k: unquote(v) for k, v in params.items()},
            split.query,
            headers,
            body or None,
            authorizer=authorizer_context,
            stage=self.stage,
            source_ip=source_ip,
        )
        try:
            result = self.invoker.invoke(route.function_id, event)
            return _proxy_result(result)
        except Exception:
            log.exception("%s failed on %s %s", route.function_id, method, path)
            return _json(502, envelope("internal_error", "The function failed; see the local stack's log"))

    def _forward_to_cognito(
        self, method: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """One Cognito user-pool call (AWS JSON 1.1) from a browser to the local pool, answered as Cognito
        answers it. Only the unauthenticated sign-in calls pass; administration stays with the stack."""
        if method != "POST":
            status, head, payload = _json(405, envelope("method_not_allowed", f"{method} is not allowed; POST"))
            head["Allow"] = "POST"
            return status, head, payload
        target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
        if not target.startswith(TARGET_PREFIX) or target.removeprefix(TARGET_PREFIX) not in BROWSER_TARGETS:
            return _cognito_error(
                400, "InvalidParameterException", f"X-Amz-Target {target or '(none)'} is not allowed here"
            )
        assert self.cognito_endpoint is not None
        request = urllib.request.Request(
            f"{self.cognito_endpoint}/",
            data=body,
            method="POST",
            headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, {"Content-Type": "application/x-amz-json-1.1"}, raw

    def _authorize(
        self,
        route: ApiRoute,
        path: str,
        headers: dict[str, str],
    ) -> dict[str, Any] | tuple[int, dict[str, str], bytes]:
        assert self.authorizer is not None
        function_id, header = self.authorizer
        token = next((v for k, v in headers.items() if k.lower() == header.lower()), "")
        method_arn = self.method_arn(route.method, path)
        with self._authorized_lock:
            expires, cached = self._authorized.get(token, (0.0, None))
        try:
            if cached is not None and time.monotonic() < expires:
                policy: Any = cached
            else:
                policy = self.invoker.invoke(
                    function_id, {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
                )
                if self.authorizer_cache_seconds > 0 and isinstance(policy, dict):
                    with self._authorized_lock:
                        self._authorized[token] = (time.monotonic() + self.authorizer_cache_seconds, policy)
        except Exception as error:
            if str(error) == "Unauthorized":
                return _json(401, gateway_response(self.template, "UNAUTHORIZED", 401, "unauthorized", "Unauthorized"))
            log.exception("authorizer failed")
            return _json(500, envelope("authorizer_failure", "The authorizer failed; see the local stack's log"))
        if not isinstance(policy, dict) or not policy_allows(policy, method_arn):
            return _json(403, gateway_response(self.template, "ACCESS_DENIED", 403, "forbidden", "Access denied"))
        # API Gateway hands the function the context values plus the principal id.
        context = {k: v for k, v in (policy.get("context") or {}).items()}
        context["principalId"] = policy.get("principalId")
        return context


def _route_matches(route: ApiRoute, path: str) -> bool:
    return match_route(route.method, path, [route]) is not None


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _content_length(value: str | None) -> int | tuple[int, dict[str, str], bytes]:
    """The body's length, or the 4xx answer for a Content-Length no server could honour."""
    if value is None or value.strip() == "":
        return 0
    if not value.strip().isdigit():
        return _json(400, envelope("bad_request", f"Content-Length must be a non-negative integer, not {value[:40]!r}"))
    length = int(value)
    if length > MAX_PAYLOAD_BYTES:
        return _json(
            413, envelope("payload_too_large", f"Request body of {length} bytes; the limit is {MAX_PAYLOAD_BYTES}")
        )
    return length


def _cognito_error(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """An error in Cognito's own shape (what the browser's Cognito client parses)."""
    return (
        status,
        {"Content-Type": "application/x-amz-json-1.1"},
        json.dumps({"__type": kind, "message": message}).encode(),
    )


def _proxy_result(result: Any) -> tuple[int, dict[str, str], bytes]:
    if not isinstance(result, dict) or "statusCode" not in result:
        log.error("function returned a malformed proxy response: %r", result)
        return _json(502, envelope("internal_error", "Malformed Lambda proxy response"))
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return int(result["statusCode"]), headers, body


class _Server(ThreadingHTTPServer):
    """A client that hangs up before its answer is written (a browser leaving the page, a test's client
    timing out) is not the gateway's error: no traceback for it, as API Gateway logs none."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    owner: Gateway
    server_version = "keepwell-local-gateway"

    def _dispatch(self) -> None:
        started = time.perf_counter()
        length = _content_length(self.headers.get("Content-Length"))
        if isinstance(length, tuple):
            status, response_headers, payload = length
            self.close_connection = True  # the body (if any) was not read: the stream cannot be trusted
        else:
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            status, response_headers, payload = self.owner.handle(
                self.command, self.path, headers, body, self.client_address[0]
            )
        self.send_response(status)
        for name, value in response_headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        log.info("%s %s → %d (%.0f ms)", self.command, self.path, status, (time.perf_counter() - started) * 1000)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, PROPFIND, …) is routed too: a 405/404 envelope like the known
        # ones get, where http.server would answer an HTML 501 (it looks up `do_<METHOD>` with hasattr).
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (malformed request line, header too long, HTTP/2.0) in the error
        envelope, and a 4xx: the request was the client's to fix."""
        status = HTTPStatus(code if 400 <= code < 500 else 400)
        text = message or status.phrase
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            text = f"HTTP version {self.requestline.split()[-1][:20]} is not supported; use HTTP/1.1"
        # A request line refused before its version was read leaves http.server at HTTP/0.9, which writes
        # no status line or headers at all; API Gateway speaks HTTP/1.x only.
        self.request_version = "HTTP/1.1" if self.request_version == "HTTP/0.9" else self.request_version
        payload = json.dumps(envelope(status.phrase.lower().replace(" ", "_").replace("-", "_"), text)).encode()
        self.close_connection = True
        self.send_response(status.value, status.phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        log.info("%s → %d (%s)", self.requestline or "(no request line)", status.value, text)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _dispatch logs one line per request
