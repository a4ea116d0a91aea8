"""The OpenAPI 3.1 document: served publicly at GET /v1/openapi.json, generated from keepwell.api_contract,
which must name exactly the routes the Chalice apps and template.yaml serve; and the input limits it
declares (every request string, list and map is bounded) hold on the real handlers."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from openapi_spec_validator import validate

from infra.checks import chalice_routes
from infra.functions import chalice_app, handler_spec
from infra.template import ROOT, api_routes, load_template, resources_of_type
from keepwell.api_contract import OPERATIONS, Operation
from keepwell.auth import Caller
from keepwell.openapi import build_document
from tests.conftest import ApiClient

# Request fields without a bound of their own, each with its reason.
UNBOUNDED_BY_DESIGN = {
    "EventBatchIn.events[]": "each event is validated on its own (and rejected by index); ≤ 1,000 per batch",
}


# The web console's pages and files are not API operations (docs/decisions/0023): no contract, not documented.
CONSOLE_FUNCTION = "WebFunction"


def registered_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the Chalice apps of template.yaml's HTTP API functions register."""
    served: set[tuple[str, str]] = set()
    for function_id in sorted({route.function_id for route in api_routes()} - {CONSOLE_FUNCTION}):
        app = chalice_app(function_id)
        served |= {(method, path) for path, methods in chalice_routes(app).items() for method in methods}
    return served


def contract_gaps(contract: tuple[Operation, ...], served: set[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(routes served without a contract, contracts of routes nobody serves)."""
    declared = {operation.key for operation in contract}
    return sorted(f"{m} {p}" for m, p in served - declared), sorted(f"{m} {p}" for m, p in declared - served)


# ---- the registry is the routes ------------------------------------------------------------------
def test_every_served_route_has_exactly_one_contract_and_every_contract_a_route():
    keys = [operation.key for operation in OPERATIONS]
    assert len(keys) == len(set(keys)), "a (method, path) is declared twice"
    template = {(route.method, route.path) for route in api_routes() if route.function_id != CONSOLE_FUNCTION}
    served = registered_routes()
    assert served == template  # test_route_parity says why; here it makes both sides one set
    missing, stale = contract_gaps(OPERATIONS, served)
    assert not missing, f"routes without a contract in keepwell/api_contract.py: {missing}"
    assert not stale, f"contracts for routes nobody serves: {stale}"


def test_a_new_route_without_a_contract_is_reported():
    served = {("GET", "/v1/me"), ("GET", "/v1/brand-new")}
    me = next(o for o in OPERATIONS if o.key == ("GET", "/v1/me"))
    contract = (me, Operation("DELETE", "/v1/gone", "gone", "x"))
    assert contract_gaps(contract, served) == (["GET /v1/brand-new"], ["DELETE /v1/gone"])


def test_public_operations_in_the_contract_are_the_routes_without_the_authorizer():
    public = {(r.method, r.path) for r in api_routes() if not r.authorized and r.function_id != CONSOLE_FUNCTION}
    assert {o.key for o in OPERATIONS if o.auth != "bearer"} == public


# ---- the document ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_operation_answers_errors_with_the_envelope_and_declares_its_path_parameters(document):
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            assert spec["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorEnvelope"
            }, f"{method} {path}"
            names = {p["name"] for p in spec.get("parameters", []) if p["in"] == "path"}
            assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}, f"{method} {path}"


def test_security_is_the_bearer_token_except_the_api_key_and_public_routes(document):
    assert document["security"] == [{"BearerAuth": []}]
    assert document["paths"]["/v1/events"]["post"]["security"] == [{"ApiKeyAuth": []}]
    assert document["paths"]["/v1/openapi.json"]["get"]["security"] == []
    assert "security" not in document["paths"]["/v1/customers"]["post"]


def test_every_bearer_operation_declares_the_optional_workspace_header_and_no_other_does(document):
    bearer = {(op.method.lower(), op.path) for op in OPERATIONS if op.auth == "bearer"}
    assert ("get", "/v1/customers") in bearer
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            headers = [p for p in spec.get("parameters", []) if p["in"] == "header"]
            if (method, path) in bearer:
                assert [(h["name"], h["required"]) for h in headers] == [("X-Keepwell-Workspace", False)], path
            else:  # the API key, the providers' signatures, the invitee and the public routes pick none
                assert headers == [], f"{method} {path}"


def test_the_customer_body_schema_comes_from_the_pydantic_model(document):
    body = document["paths"]["/v1/customers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    model = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert model["required"] == ["name"]
    assert model["additionalProperties"] is False
    assert model["properties"]["name"]["maxLength"] == 200
    limit = next(p for p in document["paths"]["/v1/customers"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["in"], limit["required"], limit["schema"]["maximum"]) == ("query", False, 200)


# What every function needs to start (keepwell/settings.py); the values are never used here.
REQUIRED_SETTINGS = {
    name: "t"
    for name in ("TABLE_NAME", "EVENT_BUS_NAME", "SCORING_QUEUE_URL", "PLAYBOOK_QUEUE_URL", "WEBHOOK_QUEUE_URL")
}


def test_the_api_function_does_not_build_or_import_the_document_on_a_cold_start():
    probe = "import sys, api_app; print('keepwell.openapi' in sys.modules, 'keepwell.api_contract' in sys.modules)"
    code_dir, _ = handler_spec("ApiFunction")
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=code_dir,
        env={"PYTHONPATH": f"{code_dir}:{ROOT / 'shared'}", **REQUIRED_SETTINGS, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["False", "False"]


def test_the_document_is_served_without_a_token(aws):
    response = ApiClient(None).get("/v1/openapi.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.body == build_document()


# ---- input limits ------------------------------------------------------------------------------
def unbounded_request_fields(document: dict[str, Any]) -> set[str]:
    """Request body / query fields whose strings, lists or maps have no upper bound."""
    components = document["components"]["schemas"]
    found: set[str] = set()

    def bounded_pattern(schema: dict[str, Any]) -> bool:
        pattern = schema.get("pattern", "")
        return pattern.startswith("^") and pattern.endswith("$") and not any(c in pattern for c in "+*")

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], name, seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for alternative in schema.get(key, []):
                walk(alternative, where, seen)
        kind = schema.get("type")
        if kind == "string" and not ({"maxLength", "enum", "const", "format"} & set(schema) or bounded_pattern(schema)):
            found.add(where)
        if kind == "array":
            if "maxItems" not in schema:
                found.add(where)
            walk(schema.get("items", {"type": "null"}), where + "[]", seen)
        if kind == "object":
            for name, field in schema.get("properties", {}).items():
                walk(field, f"{where}.{name}", seen)
            extra = schema.get("additionalProperties")
            if extra not in (False, None) and "maxProperties" not in schema:
                found.add(where)
        if not schema and where:
            found.add(where)  # anything at all

    for methods in document["paths"].values():
        for spec in methods.values():
            if "requestBody" in spec:
                walk(spec["requestBody"]["content"]["application/json"]["schema"], "", frozenset())
            for parameter in spec.get("parameters", []):
                if parameter["in"] == "query":
                    walk(parameter["schema"], f"?{parameter['name']}", frozenset())
    return found


def test_every_request_string_list_and_map_is_bounded(document):
    assert unbounded_request_fields(document) <= set(UNBOUNDED_BY_DESIGN)


def test_the_bound_checker_reports_an_unbounded_field():
    sample = {
        "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/c/M"}}}}}}},
        "components": {
            "schemas": {
                "M": {
                    "type": "object",
                    "properties": {
                        "ok": {"type": "string", "maxLength": 5},
                        "free": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
                        "extra": {"type": "object", "additionalProperties": True},
                    },
                }
            }
        },
    }
    assert unbounded_request_fields(sample) == {"M.free", "M.tags", "M.extra"}


def customer_count(api: ApiClient) -> int:
    return len(api.get("/v1/customers", limit=200).body["items"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/customers", {"name": "x" * 201}, "name"),
        ("/v1/customers", {"name": "Initech", "tags": [f"t{i}" for i in range(51)]}, "tags"),
        ("/v1/customers", {"name": "Initech", "custom_fields": {f"k{i}": 1 for i in range(101)}}, "custom_fields"),
        ("/v1/segments", {"name": "Big", "condition": {f"k{i}": 1 for i in range(21)}}, "condition.dict[str,any]"),
    ],
)
def test_a_body_over_a_limit_is_a_400_naming_the_field_and_writes_nothing(admin_api, path, body, field):
    customers_before = customer_count(admin_api)
    segments_before = admin_api.get("/v1/segments").body["items"]

    response = admin_api.post(path, body)

    assert response.status == 400, response.body
    assert response.error_code == "validation_error"
    assert field in {detail["field"] for detail in response.body["error"]["details"]}
    assert customer_count(admin_api) == customers_before
    assert admin_api.get("/v1/segments").body["items"] == segments_before


def test_a_note_over_the_free_text_limit_is_refused_and_not_on_the_timeline(admin_api):
    customer_id = admin_api.post("/v1/customers", {"name": "Initech"}).body["customer_id"]
    before = admin_api.get(f"/v1/customers/{customer_id}/timeline").body["items"]

    response = admin_api.post(f"/v1/customers/{customer_id}/notes", {"body": "n" * 10_001})

    assert (response.status, response.error_code) == (400, "validation_error")
    assert admin_api.get(f"/v1/customers/{customer_id}/timeline").body["items"] == before


def test_a_body_over_one_megabyte_is_a_413_in_the_envelope(admin_api):
    response = admin_api.request("POST", "/v1/customers", raw='{"name": "' + "x" * 1_048_576 + '"}')
    assert (response.status, response.error_code) == (413, "payload_too_large")


def test_a_viewer_still_reads_the_document_like_anyone(workspace):
    viewer = ApiClient(Caller(workspace, "viewer-1", "viewer"))
    assert viewer.get("/v1/openapi.json").status == 200


def test_the_api_stage_throttles_every_method_and_answers_429_in_the_envelope():
    template = load_template()
    (api,) = resources_of_type(template, "AWS::Serverless::Api").values()
    settings = api["Properties"]["MethodSettings"]
    assert {"ResourcePath": "/*", "HttpMethod": "*"}.items() <= settings[0].items()
    assert settings[0]["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert settings[0]["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    assert (
        0
        < template["Parameters"]["ApiThrottleRateLimit"]["Default"]
        <= template["Parameters"]["ApiThrottleBurstLimit"]["Default"]
    )
    throttled = api["Properties"]["GatewayResponses"]["THROTTLED"]
    assert throttled["StatusCode"] == "429"
    body = json.loads(throttled["ResponseTemplates"]["application/json"])
    assert body["error"]["code"] == "throttled" and set(body["error"]) == {"code", "message", "details"}


def test_deployed_an_unknown_path_is_a_404_not_found_naming_what_was_asked() -> None:
    """API Gateway's own answer to a path or method no route declares is a 403 "Missing Authentication
    Token" (DEFAULT_4XX passed it on as bad_request); the template answers as the local gateway does."""
    template = load_template()
    (api,) = resources_of_type(template, "AWS::Serverless::Api").values()
    unknown = api["Properties"]["GatewayResponses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["StatusCode"] == "404"
    body = json.loads(unknown["ResponseTemplates"]["application/json"])
    assert body == {
        "error": {"code": "not_found", "message": "No route for $context.httpMethod $context.path", "details": []}
    }
