"""The api function registers a route group (a `*_routes.py` module) on the first request to one of its
paths, so a cold start imports the groups its requests use (docs/decisions/0027-cold-starts.md): every
route must still be reached, through the group its path names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.functions import chalice_app, handler_spec
from infra.template import ROOT

API = "ApiFunction"
REQUIRED_SETTINGS = {
    name: "t"
    for name in ("TABLE_NAME", "EVENT_BUS_NAME", "SCORING_QUEUE_URL", "PLAYBOOK_QUEUE_URL", "WEBHOOK_QUEUE_URL")
}


def api_module() -> Any:
    chalice_app(API)  # puts the function's folder on the path, every group registered
    import api_app

    return api_app


def test_every_route_is_served_by_the_group_its_path_names() -> None:
    api_app = api_module()
    wrong = []
    for path, methods in api_app.app.routes.items():
        for method, entry in methods.items():
            served_by = entry.view_function.__module__
            expected = api_app.route_group(path) or "api_app"
            if served_by != expected:
                wrong.append(f"{method} {path}: served by {served_by}, looked up in {expected}")
    assert not wrong


def test_every_prefix_of_the_table_has_routes() -> None:
    api_app = api_module()
    paths = [path for path, methods in api_app.app.routes.items() if methods]
    stale = [p for p in api_app.ROUTE_GROUPS if not any(path == p or path.startswith(p + "/") for path in paths)]
    assert not stale


PROBE = r"""
import json, sys
import api_app

def groups():
    return sorted(m for m in sys.modules if m.endswith("_routes"))

at_start = groups()
event = json.load(open(sys.argv[1]))
event["resource"] = event["path"] = event["requestContext"]["resourcePath"] = sys.argv[2]
event["httpMethod"] = event["requestContext"]["httpMethod"] = sys.argv[3]

class Context:
    function_name, function_version, memory_limit_in_mb = "api", "$LATEST", 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id = "00000000-0000-4000-8000-000000000001"

answer = api_app.handler(event, Context())
print(json.dumps({"at_start": at_start, "status": answer["statusCode"], "body": json.loads(answer["body"] or "null"),
                  "after": groups()}))
"""


def first_request(path: str, method: str) -> dict[str, Any]:
    code_dir, _ = handler_spec(API)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "events" / "api" / "get-me.json"), path, method],
        cwd=code_dir,
        env={
            "PYTHONPATH": f"{code_dir}:{ROOT / 'shared'}",
            **REQUIRED_SETTINGS,
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(result.stdout.splitlines()[-1]))


def test_a_cold_start_imports_no_group_and_a_request_imports_its_own() -> None:
    answer = first_request("/v1/openapi.json", "GET")
    assert answer["at_start"] == []
    assert answer["status"] == 200
    assert answer["body"]["openapi"].startswith("3.1")
    assert answer["after"] == ["openapi_routes"]


def test_a_wrong_method_on_a_group_not_yet_imported_answers_the_enveloped_405() -> None:
    answer = first_request("/v1/audit", "DELETE")
    assert answer["status"] == 405
    assert answer["body"] == {
        "error": {"code": "method_not_allowed", "message": "Unsupported method: DELETE", "details": []}
    }
    assert answer["after"] == ["audit_routes"]


def test_the_function_folder_has_no_route_module_outside_the_table() -> None:
    code_dir, _ = handler_spec(API)
    api_app = api_module()
    modules = {p.stem for p in Path(code_dir).glob("*_routes.py")}
    assert modules == set(api_app.ROUTE_GROUPS.values())
