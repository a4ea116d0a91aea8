"""Every function answers its sample events (events/<function-folder>/*.json) the way its event source
expects, the samples agree with template.yaml, and the thin handlers route each shape to its service."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from infra.functions import FakeLambdaContext, load_handler
from infra.template import ROOT, api_routes, load_template, path_pattern, resources_of_type

EVENTS = ROOT / "events"
TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
FOLDER_OF = {fid: Path(f["Properties"]["CodeUri"]).name for fid, f in FUNCTIONS.items()}
SAMPLES = sorted((fid, path) for fid, folder in FOLDER_OF.items() for path in (EVENTS / folder).glob("*.json"))
# What Chalice answers (enveloped by keepwell.http) when a request reaches no view.
ROUTING_FAILURES = {"method_not_allowed", "internal_server"}


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def invoke(function_id: str, event: dict[str, Any]) -> Any:
    return load_handler(function_id)(event, FakeLambdaContext(function_id))


def kind(event: dict[str, Any]) -> str:
    if "httpMethod" in event and "requestContext" in event:
        return "api"
    if event.get("type") == "TOKEN":
        return "token"
    if "Records" in event:
        return "sqs"
    if "detail-type" in event:
        return "eventbridge"
    if "RequestType" in event and "ResponseURL" in event:
        return "custom_resource"
    return "scheduler"


def sample_id(item: tuple[str, Path]) -> str:
    return f"{item[0]}:{item[1].parent.name}/{item[1].name}"


def event_types(function_id: str) -> set[str]:
    return {e["Type"] for e in (FUNCTIONS[function_id]["Properties"].get("Events") or {}).values()}


# ------------------------------------------------------------------------------------- coverage
def test_every_template_function_has_at_least_one_sample():
    missing = [fid for fid, folder in FOLDER_OF.items() if not list((EVENTS / folder).glob("*.json"))]
    assert not missing, f"functions without events/<folder>/*.json: {missing}"


def test_every_sample_folder_belongs_to_a_template_function():
    folders = {p.name for p in EVENTS.iterdir() if p.is_dir()}
    assert folders <= set(FOLDER_OF.values()), folders - set(FOLDER_OF.values())


def test_every_event_source_of_a_function_has_a_sample_of_its_shape():
    expected_kind = {"Api": "api", "SQS": "sqs", "EventBridgeRule": "eventbridge", "ScheduleV2": "scheduler"}
    for function_id, folder in FOLDER_OF.items():
        kinds = {kind(load(p)) for p in (EVENTS / folder).glob("*.json")}
        wanted = {expected_kind[t] for t in event_types(function_id) if t in expected_kind}
        if function_id == "AuthorizerFunction":
            wanted = {"token"}
        # A scheduled rule-style event has detail-type too; count it as the schedule's shape.
        if "scheduler" in wanted and "eventbridge" in kinds:
            kinds.add("scheduler")
        assert wanted <= kinds, f"{function_id}: no sample for {wanted - kinds}"


# ------------------------------------------------------------------------------------- samples vs template
@pytest.mark.parametrize(("function_id", "path"), SAMPLES, ids=map(sample_id, SAMPLES))
def test_sample_matches_the_template_source_of_its_function(function_id, path):
    event = load(path)
    shape = kind(event)
    if shape == "api":
        routes = [r for r in api_routes() if r.function_id == function_id]
        context = event["requestContext"]
        matching = [r for r in routes if (r.method, r.path) == (event["httpMethod"], context["resourcePath"])]
        route = matching[0] if matching else None
        assert route is not None, f"{path.name}: {event['httpMethod']} {context['resourcePath']} is no route"
        assert event["resource"] == route.path
        concrete = path_pattern(route.path).match(event["path"])
        assert concrete, "concrete path does not fit resourcePath"
        assert (event.get("pathParameters") or {}) == concrete.groupdict()
        if route.authorized:
            assert set(context["authorizer"]) >= {"workspace_id", "user_id", "role"}
        else:
            assert "authorizer" not in context, "routes with Auth: NONE get no authorizer context"
    elif shape == "sqs":
        queues = {
            e["Properties"]["Queue"]["Fn::GetAtt"][0]
            for e in FUNCTIONS[function_id]["Properties"]["Events"].values()
            if e["Type"] == "SQS"
        }
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            assert any(record["eventSourceARN"].endswith(q) for q in queues), record["eventSourceARN"]
            json.loads(record["body"])
    elif shape == "eventbridge" and "EventBridgeRule" in event_types(function_id):
        events = FUNCTIONS[function_id]["Properties"]["Events"].values()
        patterns = [e["Properties"]["Pattern"] for e in events if e["Type"] == "EventBridgeRule"]
        delivered = [
            p
            for p in patterns
            if event["source"] in p["source"] and event["detail-type"] in p.get("detail-type", [event["detail-type"]])
        ]
        assert delivered, "the function's rule would not deliver this event"
    elif shape == "token":
        assert event["methodArn"].startswith("arn:aws:execute-api:")


# ------------------------------------------------------------------------------------- handlers answer
@pytest.mark.parametrize(("function_id", "path"), SAMPLES, ids=map(sample_id, SAMPLES))
def test_handler_answers_its_sample_as_the_event_source_expects(aws, workspace, function_id, path, request):
    event = load(path)
    shape = kind(event)
    if shape == "token" and "valid" not in path.stem.split("-"):
        # The documented way to make API Gateway answer 401 from a TOKEN authorizer.
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            invoke(function_id, event)
        return
    if shape == "custom_resource":
        # CloudFormation's answer goes to its pre-signed URL: keep it instead of sending it.
        answers: list[tuple[str, str]] = []
        module = sys.modules[load_handler(function_id).__module__]
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setattr(
            module, "respond", lambda e, status, physical, data, reason="": answers.append((status, physical))
        )
        assert invoke(function_id, event) is None
        assert answers == [("SUCCESS", event["ResourceProperties"]["WorkspaceId"])]
        return
    if shape == "token":
        # ID tokens come from a pool whose id and keys exist only while the test runs: sign csm-1 in.
        event["authorizationToken"] = request.getfixturevalue("pool").bearer(workspace, "csm-1")
    result = invoke(function_id, event)
    if shape == "api" and function_id == "WebFunction":
        assert result["statusCode"] == 200, result["body"][:500]  # the console's page, not JSON
        assert result["headers"]["Content-Type"] == "text/html; charset=utf-8"
    elif shape == "api":
        assert isinstance(result["statusCode"], int)
        assert result["headers"]["Content-Type"] == "application/json"
        body = json.loads(result["body"])
        if result["statusCode"] >= 400:
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
            assert body["error"]["code"] not in ROUTING_FAILURES, f"the sample reached no view: {body}"
            assert result["statusCode"] < 500 or result["statusCode"] == 501, body
        else:
            assert result["statusCode"] < 300 and isinstance(body, dict | list)
    elif shape == "token":
        context = result["context"]
        assert result["principalId"] == context["subject"]
        assert (context["workspace_id"], context["user_id"], context["role"]) == (workspace, "csm-1", "csm")
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    elif shape == "sqs":
        # Every sample record is a valid message: none may be reported back as failed.
        assert result == {"batchItemFailures": []}
    else:
        assert result is None  # EventBridge and the scheduler invoke asynchronously and ignore it


def test_api_samples_reach_their_views(aws, workspace):
    me = invoke("ApiFunction", load(EVENTS / "api" / "get-me.json"))
    assert me["statusCode"] == 200
    assert json.loads(me["body"])["workspace_id"] == workspace
    customers = invoke("ApiFunction", load(EVENTS / "api" / "list-customers.json"))
    assert customers["statusCode"] == 200, customers["body"]


def test_the_console_page_on_the_execute_api_host_names_its_assets_under_the_stage(aws):
    page = invoke("WebFunction", load(EVENTS / "web" / "get-customer-page.json"))
    html = page["body"]
    assert '<meta name="kw-base" content="/prod">' in html
    assert '<script type="module" src="/prod/assets/app.' in html
    assert "script-src 'self' 'sha256-" in page["headers"]["Content-Security-Policy"]


# ------------------------------------------------------------------------------------- HTTP functions
def test_ingest_passes_the_api_key_and_raw_body_to_its_service(aws, monkeypatch):
    from keepwell.schemas.events import EventBatchOut
    from keepwell.services import ingest_requests

    calls: list[tuple[str | None, bytes]] = []

    def fake(api_key: str | None, raw_body: bytes) -> EventBatchOut:
        calls.append((api_key, raw_body))
        return EventBatchOut(accepted=2, duplicates=0, rejected=[])

    monkeypatch.setattr(ingest_requests, "receive_event_batch", fake)
    event = load(EVENTS / "ingest" / "post-events.json")
    result = invoke("IngestFunction", event)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert calls == [(event["headers"]["X-Api-Key"], event["body"].encode())]


def test_integration_webhook_passes_provider_workspace_signature_and_exact_body(aws, monkeypatch):
    from keepwell.services import integration_webhooks

    seen: dict[str, Any] = {}

    def fake(provider: str, workspace_id: str, headers: Any, raw_body: bytes, **request: Any) -> dict[str, Any]:
        seen.update(provider=provider, workspace_id=workspace_id, headers=dict(headers), raw_body=raw_body)
        return {"received": True}

    monkeypatch.setattr(integration_webhooks, "receive_webhook", fake)
    event = load(EVENTS / "integrations" / "zendesk-ticket-status-changed.json")
    result = invoke("IntegrationsFunction", event)
    assert result["statusCode"] == 200
    assert seen["provider"] == "zendesk" and seen["workspace_id"] == "ws_acme"
    assert seen["raw_body"] == event["body"].encode()  # byte-exact: the signature covers it
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-zendesk-webhook-signature"] == event["headers"]["X-Zendesk-Webhook-Signature"]


# ------------------------------------------------------------------------------------- SQS consumers
SQS_CONSUMERS = [
    ("ScorerFunction", "scorer/sqs-scoring-batch.json", "keepwell.services.scoring_jobs", "run_scoring_request"),
    ("PlaybooksFunction", "playbooks/sqs-action-batch.json", "keepwell.services.playbook_runs", "execute_action"),
    ("WebhooksFunction", "webhooks/sqs-delivery-batch.json", "keepwell.services.webhook_deliveries", "deliver"),
]


def with_extra_records(batch: dict[str, Any], bodies: list[str]) -> dict[str, Any]:
    event = copy.deepcopy(batch)
    template = event["Records"][0]
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"bad-{index}"
        record["body"] = body
        event["Records"].append(record)
    return event


@pytest.mark.parametrize(("function_id", "sample", "module", "function"), SQS_CONSUMERS)
def test_invalid_records_fail_alone_and_valid_ones_reach_the_service(
    aws, monkeypatch, function_id, sample, module, function
):
    import importlib

    received: list[Any] = []
    monkeypatch.setattr(importlib.import_module(module), function, received.append)
    batch = load(EVENTS / sample)
    bad = ["not json", json.dumps({"workspace_id": "ws#evil"}), "{}"]
    result = invoke(function_id, with_extra_records(batch, bad))
    assert result == {"batchItemFailures": [{"itemIdentifier": f"bad-{i}"} for i in range(len(bad))]}
    # Each valid body reaches the service once, in order, field for field.
    assert [m.model_dump(mode="json", exclude_unset=True) for m in received] == [
        json.loads(r["body"]) for r in batch["Records"]
    ]


@pytest.mark.parametrize(("function_id", "sample", "module", "function"), SQS_CONSUMERS)
def test_a_batch_of_only_invalid_records_reports_each_of_them(aws, function_id, sample, module, function):
    event = with_extra_records(load(EVENTS / sample), ["[]", "null"])
    event["Records"] = [r for r in event["Records"] if r["messageId"].startswith("bad-")]
    result = invoke(function_id, event)
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-0"}, {"itemIdentifier": "bad-1"}]}


def test_a_failing_service_fails_only_its_record(aws, monkeypatch):
    from keepwell.services import scoring_jobs

    def explode_for_one_customer(request: Any) -> None:
        if request.customer_id is not None:
            raise RuntimeError("storage unavailable")

    monkeypatch.setattr(scoring_jobs, "run_scoring_request", explode_for_one_customer)
    batch = load(EVENTS / "scorer" / "sqs-scoring-batch.json")
    failing = [r["messageId"] for r in batch["Records"] if json.loads(r["body"]).get("customer_id")]
    assert failing and len(failing) < len(batch["Records"])
    result = invoke("ScorerFunction", batch)
    assert result == {"batchItemFailures": [{"itemIdentifier": m} for m in failing]}


# ------------------------------------------------------------------------------------- EventBridge consumers
EVENT_CONSUMERS = [
    (
        "PlaybooksFunction",
        "playbooks/eventbridge-health-band-changed.json",
        "keepwell.services.playbook_runs",
        "start_runs_for_event",
    ),
    (
        "WebhooksFunction",
        "webhooks/eventbridge-health-band-changed.json",
        "keepwell.services.webhook_deliveries",
        "enqueue_deliveries_for_event",
    ),
]


@pytest.mark.parametrize(("function_id", "sample", "module", "function"), EVENT_CONSUMERS)
def test_domain_events_reach_their_service_parsed(aws, monkeypatch, function_id, sample, module, function):
    import importlib

    received: list[Any] = []
    monkeypatch.setattr(importlib.import_module(module), function, received.append)
    event = load(EVENTS / sample)
    assert invoke(function_id, event) is None
    (domain_event,) = received
    assert domain_event.event_id == event["id"]
    assert domain_event.detail_type == "health.band_changed"
    assert domain_event.detail.workspace_id == "ws_acme"
    assert domain_event.detail.customer_id == event["detail"]["customer_id"]
    assert domain_event.detail.model_extra["band"] == "yellow"  # type-specific fields are kept


@pytest.mark.parametrize(("function_id", "sample", "module", "function"), EVENT_CONSUMERS)
def test_domain_event_without_a_workspace_fails_the_invocation(aws, function_id, sample, module, function):
    event = load(EVENTS / sample)
    del event["detail"]["workspace_id"]
    with pytest.raises(ValidationError, match="workspace_id"):
        invoke(function_id, event)


@pytest.mark.parametrize("function_id", ["PlaybooksFunction", "WebhooksFunction"])
def test_an_event_of_unknown_shape_is_rejected(aws, function_id):
    with pytest.raises(ValueError, match=r"Records.*detail-type"):
        invoke(function_id, {"hello": "world"})


# ------------------------------------------------------------------------------------- schedule
def test_the_schedule_runs_for_the_time_in_the_event(aws, monkeypatch):
    from keepwell.services import schedule_runs

    received: list[Any] = []
    monkeypatch.setattr(schedule_runs, "fan_out_due_workspaces", received.append)
    event = load(EVENTS / "schedule" / "hourly-scheduled-event.json")
    assert invoke("ScheduleFunction", event) is None
    assert [moment.isoformat() for moment in received] == ["2026-11-20T09:00:00+00:00"]


def test_the_schedule_without_input_runs_for_now(aws, monkeypatch, frozen_clock):
    from keepwell.services import schedule_runs

    received: list[Any] = []
    monkeypatch.setattr(schedule_runs, "fan_out_due_workspaces", received.append)
    invoke("ScheduleFunction", load(EVENTS / "schedule" / "scheduler-no-input.json"))
    invoke("ScheduleFunction", {"scheduled_time": "2026-11-20T08:00:00Z"})
    assert received == [frozen_clock, frozen_clock.replace(hour=8, minute=0)]


def test_the_schedule_rejects_a_time_without_timezone(aws):
    with pytest.raises(ValueError, match="no timezone"):
        invoke("ScheduleFunction", {"scheduled_time": "2026-11-20T08:00:00"})
