"""The OpenAPI 3.1 document of the HTTP API, generated from keepwell.api_contract and the pydantic models.

Every model goes through pydantic's own JSON Schema generator (`models_json_schema`, the many-model form
of `model_json_schema`, so two models with one class name get distinct component names); every 4xx
answer is the one error envelope of keepwell.errors / keepwell.http.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from keepwell.api_contract import Operation, operations
from keepwell.auth import WORKSPACE_HEADER

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
PATH_PARAMETER = re.compile(r"{([^}]+)}")
BEARER, API_KEY = "BearerAuth", "ApiKeyAuth"
# Ids in paths are ours (cus_…, numbers, provider names): bounded so a path stays a path.
PATH_PARAMETER_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 200}
# The workspace a person in several picks per request (docs/api.md "Workspace").
WORKSPACE_PARAMETER = {
    "name": WORKSPACE_HEADER,
    "in": "header",
    "required": False,
    "description": "The workspace to work in, for a person in several; without it, their only (or "
    "default) one. A workspace the caller is not an active member of answers 403 naming this header.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable: validation_error, not_found, forbidden, …")
    message: str = Field(description="for a person; names the offending fields")
    details: list[dict[str, Any]] = Field(description="e.g. one {field, issue, type} per invalid field")


class ErrorEnvelope(BaseModel):
    """The one shape of every error answer."""

    error: ErrorBody


def build_document(contract: tuple[Operation, ...] | None = None) -> dict[str, Any]:
    """The whole document as a JSON-ready dict."""
    contract = contract if contract is not None else operations()
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorEnvelope, "serialization")]
    for operation in contract:
        wanted += [(m, "validation") for m in (operation.body, operation.query) if m is not None]
        if operation.answer is not None:
            wanted.append((operation.answer, "serialization"))
    wanted = list(dict.fromkeys(wanted))  # keep order, drop repeats
    refs, definitions = models_json_schema(wanted, ref_template=REF_TEMPLATE)
    components: dict[str, Any] = definitions.get("$defs", {})
    error_ref = refs[(ErrorEnvelope, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for operation in contract:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(
            operation, refs, components, error_ref
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Keepwell API",
            "version": "1",
            "description": "Customer-success platform. Every error answer is "
            '`{"error": {"code", "message", "details"}}`; see docs/api.md.',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                API_KEY: {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
        "security": [{BEARER: []}],
    }


def _operation(
    operation: Operation,
    refs: Mapping[tuple[type[BaseModel] | Any, JsonSchemaMode], dict[str, Any]],
    components: dict[str, Any],
    error_ref: dict[str, Any],
) -> dict[str, Any]:
    method_and_path = f"{operation.method} {operation.path}"
    spec: dict[str, Any] = {
        "operationId": _operation_id(operation),
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": dict(PATH_PARAMETER_SCHEMA)}
        for name in PATH_PARAMETER.findall(operation.path)
    ]
    if operation.query is not None:
        parameters += _query_parameters(refs[(operation.query, "validation")], components)
    if operation.auth == "bearer":
        parameters.append(dict(WORKSPACE_PARAMETER))
    if parameters:
        spec["parameters"] = parameters
    if operation.body is not None:
        spec["requestBody"] = {
            "required": operation.body_required,
            "content": {"application/json": {"schema": refs[(operation.body, "validation")]}},
        }
    success: dict[str, Any] = {"description": method_and_path}
    if operation.answer is not None:
        success["content"] = {operation.media_type: {"schema": refs[(operation.answer, "serialization")]}}
    elif operation.media_type != "application/json":
        success["content"] = {operation.media_type: {"schema": {"type": "string"}}}
    elif operation.status != 204:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    spec["responses"] = {
        str(operation.status): success,
        "4XX": {
            "description": "The error envelope",
            "content": {"application/json": {"schema": error_ref}},
        },
    }
    security: dict[str, list[dict[str, list[str]]]] = {
        "api_key": [{API_KEY: []}],
        "invitation": [{BEARER: []}],  # the invitee's token, checked by the service, not the authorizer
        "signature": [],
        "public": [],
    }
    if operation.auth in security:
        spec["security"] = security[operation.auth]
    return spec


def _operation_id(operation: Operation) -> str:
    words = re.sub(r"[{}]", "", operation.path).replace("/v1/", "").replace(".", "_")
    return operation.method.lower() + "_" + re.sub(r"[^A-Za-z0-9]+", "_", words).strip("_")


def _query_parameters(ref: Mapping[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as `in: query` parameters (the model itself stays a component)."""
    model = components[ref["$ref"].rsplit("/", 1)[-1]]
    required = set(model.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": schema}
        for name, schema in model.get("properties", {}).items()
    ]


@cache
def document_json() -> str:
    """The document as JSON text, built on the first request of a container (not on import)."""
    return json.dumps(build_document(), separators=(",", ":"), sort_keys=False)
