"""Shared fixtures: an embedded AWS (moto) built from template.yaml, callers, and an HTTP client
that drives the real handlers with API Gateway proxy events built from the template's routes."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from infra.resources import planned_settings  # imports no keepwell

# Before any keepwell import: the table name is read when the storage models are imported.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    TABLE_NAME="keepwell-local-KeepwellTable",
    STAGE="local",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="Keepwell",
    POWERTOOLS_SERVICE_NAME="keepwell",
    POWERTOOLS_DEV="false",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
# What the template gives every function, named as the `aws` fixture's stack names it: the settings
# refuse to load without it (keepwell/settings.py).
os.environ.update(planned_settings())

import boto3
import botocore.loaders
import botocore.session
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from infra.apigw import match_route, proxy_event
from infra.functions import FakeLambdaContext, load_handler
from infra.moto_patches import install_all
from infra.resources import create_stack_resources
from infra.template import Resolver, function_environment, load_template
from keepwell import clock, ids
from keepwell.adapters import event_bus
from keepwell.adapters.aws import reset_clients
from keepwell.auth import Caller
from keepwell.services import scoring_jobs
from keepwell.settings import reset_settings
from keepwell.storage import health_models

FROZEN_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

# The same embedded moto as the local stack and the benchmarks: the patches keep its semantics and drop
# its per-table and per-attribute costs (transactions back up what they touch, not the table).
install_all()

# Each botocore session parses the service JSON again (~30,000 objects for DynamoDB), pynamodb opens one
# session per model class and every test opens more: the cyclic GC then rescanned about a million
# long-lived objects several times a test, half the suite's time. The models are read-only: one loader.
botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)

# Property tests must prove the same thing on every run and every worker: examples come from a hash of
# the test (derandomize, which also means no example database), and no wall-clock deadline or slowness
# check, which a loaded machine or a second pytest worker would trip at random. Counts stay per test.
settings.register_profile("keepwell", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("keepwell")


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[datetime]:
    ids.seed(1234)
    with clock.frozen(FROZEN_NOW):
        yield FROZEN_NOW
    ids.seed(None)


@pytest.fixture(autouse=True)
def fresh_scoring_caches() -> Iterator[None]:
    """Scoring caches the model and the workspace clock per container; each test starts cold."""
    scoring_jobs.reset_caches()
    health_models.reset_cache()
    yield
    scoring_jobs.reset_caches()
    health_models.reset_cache()


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[event_bus.DomainEvent]:
    """Domain events put on the bus (they still go to moto's bus)."""
    sent: list[event_bus.DomainEvent] = []
    real = event_bus.publish

    def record(events: Any) -> int:
        events = list(events)
        sent.extend(events)
        return real(events)

    monkeypatch.setattr(event_bus, "publish", record)
    return sent


@pytest.fixture
def aws() -> Iterator[Resolver]:
    """A fresh embedded AWS with every table, queue and bus of template.yaml, env wired as deployed."""
    with mock_aws():
        resolver = create_stack_resources(boto3.Session(region_name="us-east-1"))
        template = load_template()
        saved = dict(os.environ)
        os.environ.update(function_environment(template, "ApiFunction", resolver))
        reset_settings()
        reset_clients()
        try:
            yield resolver
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_settings()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server for what only HTTP reaches: the user pool's JWKS, fetched by the authorizer's own
    JWKS client (moto serves every pool's keys; the pools themselves live in the `aws` fixture)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class PoolSignIn:
    """Signs Keepwell users in through the template's user pool on moto: real RS256 ID tokens."""

    def __init__(self, resolver: Resolver):
        from infra.identity import pool_ids

        self.pool_id, self.client_id = pool_ids(resolver)
        self.cognito = boto3.client("cognito-idp", region_name="us-east-1")
        self.subjects: dict[tuple[str, str], str] = {}

    def enrol(self, workspace_id: str, user_id: str) -> str:
        from infra.identity import enrol_user

        if (workspace_id, user_id) not in self.subjects:
            self.subjects[(workspace_id, user_id)] = enrol_user(self.cognito, self.pool_id, workspace_id, user_id)
        return self.subjects[(workspace_id, user_id)]

    def token(self, workspace_id: str, user_id: str) -> str:
        """An ID token of the person behind this user (enrolled in the pool on first use)."""
        from infra.identity import sign_in
        from keepwell.storage import workspaces

        self.enrol(workspace_id, user_id)
        user = workspaces.get_user(workspace_id, user_id)
        assert user is not None
        return sign_in(self.cognito, self.client_id, user.email)

    def bearer(self, workspace_id: str, user_id: str) -> str:
        return f"Bearer {self.token(workspace_id, user_id)}"


@pytest.fixture
def pool(aws: Resolver, moto_endpoint: str) -> PoolSignIn:
    """Sign-in through the template's user pool; the authorizer reads the pool's JWKS from moto."""
    from infra.identity import pool_ids

    os.environ["JWKS_URL"] = f"{moto_endpoint}/{pool_ids(aws)[0]}/.well-known/jwks.json"
    reset_settings()
    return PoolSignIn(aws)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error_code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


class ApiClient:
    """Calls the template's routes with full API Gateway proxy events, as a given caller."""

    def __init__(self, caller: Caller | None, headers: dict[str, str] | None = None):
        self.caller = caller
        self.headers = headers or {}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        raw: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        matched = match_route(method, path)
        assert matched is not None, f"no template route for {method} {path}"
        route, params = matched
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        all_headers = {"Content-Type": "application/json", **self.headers, **(headers or {})}
        event = proxy_event(
            route,
            path,
            params,
            urlencode(query or {}, doseq=True),
            all_headers,
            payload,
            authorizer=self.caller.as_authorizer_context() if (self.caller and route.authorized) else None,
        )
        result = load_handler(route.function_id)(event, FakeLambdaContext(route.function_id))
        text = result.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return ApiResponse(result["statusCode"], result.get("headers") or {}, parsed)

    def get(self, path: str, **query: Any) -> ApiResponse:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("PATCH", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def workspace(aws: Resolver) -> str:
    """A workspace with one user per role (ids: admin-1, director-1, csm-1, csm-2, viewer-1)."""
    from keepwell.storage import workspaces

    workspace_id = "ws_acme"
    workspaces.create_workspace(workspace_id, "Acme CS")
    for user_id, role in [
        ("admin-1", "admin"),
        ("director-1", "director"),
        ("csm-1", "csm"),
        ("csm-2", "csm"),
        ("viewer-1", "viewer"),
    ]:
        workspaces.put_user(workspace_id, user_id, f"{user_id}@acme.test", user_id.title(), role)
    return workspace_id


@pytest.fixture
def other_workspace(aws: Resolver) -> str:
    from keepwell.storage import workspaces

    workspace_id = "ws_globex"
    workspaces.create_workspace(workspace_id, "Globex CS")
    workspaces.put_user(workspace_id, "admin-9", "admin@globex.test", "Globex Admin", "admin")
    return workspace_id


@pytest.fixture
def admin_api(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "admin-1", "admin"))


# The workspace's other seeded roles, as the API tests sign in (each test module may define its own).
@pytest.fixture
def csm1(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "csm-1", "csm"))


@pytest.fixture
def csm2(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "csm-2", "csm"))


@pytest.fixture
def director(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "director-1", "director"))


@pytest.fixture
def viewer(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "viewer-1", "viewer"))


@pytest.fixture
def other_admin_api(other_workspace: str) -> ApiClient:
    return ApiClient(Caller(other_workspace, "admin-9", "admin"))
