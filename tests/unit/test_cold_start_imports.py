"""What a cold start imports (issue 23, docs/decisions/0027-cold-starts.md): every first request of a container
pays its function's imports, so a library only some requests use is imported by those requests.

Each check starts a fresh interpreter, as Lambda does, and imports the function's handler module with the
settings every function needs."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from typing import Any

import pytest

from infra.functions import function_ids, handler_spec
from infra.template import ROOT

# What every function needs to start (keepwell/settings.py; the authorizer, deployed, its issuer); the values
# are never used here.
REQUIRED_SETTINGS = {
    name: "t"
    for name in ("TABLE_NAME", "EVENT_BUS_NAME", "SCORING_QUEUE_URL", "PLAYBOOK_QUEUE_URL", "WEBHOOK_QUEUE_URL")
} | {"JWT_ISSUER": "https://issuer.test", "JWT_AUDIENCE": "console", "JWKS_URL": "https://issuer.test/jwks.json"}
# PyJWT and cryptography verify bearer tokens (the authorizer, and an invitation's acceptance); httpx talks
# to HubSpot and webhook receivers; the X-Ray SDK is built by the asynchronous workers' tracer only.
TOKEN_VERIFICATION = ("jwt", "cryptography")
OUTBOUND_HTTP = ("httpx",)
XRAY_SDK = ("aws_xray_sdk",)
# The users service (email, the identity pool, the audit log): the authorizer accepts invitations with it,
# on an invited person's first sign-in only.
INVITATION_ACCEPTANCE = ("keepwell.services.users", "keepwell.adapters.email")
# pydantic: the authorizer's path defines and validates no model (its settings are a dataclass).
PYDANTIC = ("pydantic", "pydantic_core")
# powertools' event classes (its package imports ~40 of them); the HTTP functions read their events as dicts.
EVENT_CLASSES = ("aws_lambda_powertools.utilities.data_classes",)
# Inbound webhook signatures (and standardwebhooks): the integrations function verifies them, no other.
INBOUND_SIGNATURES = ("keepwell.domain.signatures", "standardwebhooks")
# The signal log and the health engine's signal classes: entries of emails, meetings, tickets and NPS fold
# into it; ingestion records product activity only, and reads no signal.
SIGNAL_LOG = ("keepwell.domain.signal_log", "keepwell.storage.signal_logs", "keepwell.domain.health.signals")
# Ingestion names customers by domain (keepwell.domain.domain_names) and verifies API keys: it imports neither
# the customer model with its churn types nor the audit log an admin's key changes write.
CUSTOMER_MODEL = ("keepwell.domain.customers", "keepwell.domain.churn")
AUDIT_LOG = ("keepwell.storage.audit",)

# Neither the api's nor ingestion's first request needs any of these.
API_AND_INGEST = TOKEN_VERIFICATION + OUTBOUND_HTTP + XRAY_SDK + EVENT_CLASSES + INBOUND_SIGNATURES + SIGNAL_LOG
# The workers read their events with the few powertools event classes they name (keepwell/batching.py): the
# batch utility's SQS, Kinesis, DynamoDB-stream and Kafka modules, not the package's ~40 (API Gateway's is one
# of those), nor the parser's pydantic models of every event source, which the batch utility imports for type
# hints when pydantic is loaded before it.
ALL_EVENT_CLASSES = (
    "aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event",
    "aws_lambda_powertools.utilities.data_classes.appsync_resolver_event",
    "aws_lambda_powertools.utilities.parser",
)
# The workspace storage (with the role table and the renewal rows): a webhook subscription's exhaustion reads
# the workspace's admins from it, no delivery does.
WORKSPACE_STORAGE = ("keepwell.storage.workspaces", "keepwell.permissions")
# The providers' webhook parsers (with the generic source's pydantic models): the integrations function parses
# deliveries; the others import HubSpot's sync rules of that package (through the customers service) only.
PROVIDER_PARSERS = ("keepwell.domain.integrations.deliveries", "keepwell.domain.integrations.generic_events")
# HubSpot's sync (customers, renewals, the CRM client): the HubSpot function's scheduled runs and write-back
# batches use it; its most frequent event, `health.scored`, only queues a write-back message.
HUBSPOT_SYNC = ("keepwell.services.hubspot_sync", "keepwell.services.customers", "keepwell.adapters.hubspot")
# The success plans and tasks services: playbook steps of those kinds use them, the domain events that start
# runs do not.
PLAYBOOK_STEP_SERVICES = ("keepwell.services.success_plans", "keepwell.services.tasks")
# The hourly schedule queues a workspace's scoring one hour a day: its runs that find no workspace due
# import neither the scoring queue's service (its messages, the segment tally) nor pydantic.
SCORING_QUEUE = ("keepwell.services.scoring_queue", "keepwell.schemas.messages")

NOT_IMPORTED_AT_START = {
    "ApiFunction": API_AND_INGEST + PROVIDER_PARSERS,
    "IngestFunction": API_AND_INGEST + CUSTOMER_MODEL + AUDIT_LOG,
    "IntegrationsFunction": TOKEN_VERIFICATION + OUTBOUND_HTTP + XRAY_SDK + EVENT_CLASSES,
    "AuthorizerFunction": (
        OUTBOUND_HTTP + XRAY_SDK + EVENT_CLASSES + INVITATION_ACCEPTANCE + PYDANTIC + INBOUND_SIGNATURES
    ),
    "WebhooksFunction": ALL_EVENT_CLASSES + WORKSPACE_STORAGE,
    "ScorerFunction": ALL_EVENT_CLASSES + PROVIDER_PARSERS,
    "PlaybooksFunction": ALL_EVENT_CLASSES + PROVIDER_PARSERS + PLAYBOOK_STEP_SERVICES,
    "ImportFunction": ALL_EVENT_CLASSES + PROVIDER_PARSERS,
    "HubSpotSyncFunction": ALL_EVENT_CLASSES + PROVIDER_PARSERS + HUBSPOT_SYNC,
    "ScheduleFunction": EVENT_CLASSES + SCORING_QUEUE + PYDANTIC,
}


def run_probe(code: str, *args: str, code_dir: str | None = None, environment: dict[str, str] | None = None) -> Any:
    """Run `code` in a fresh interpreter with the layer (and `code_dir`, a function's folder, first) on the
    path and the template's required settings, and return the JSON of its last printed line."""
    path = f"{code_dir}:{ROOT / 'shared'}" if code_dir else str(ROOT / "shared")
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=code_dir,
        env={"PYTHONPATH": path, **REQUIRED_SETTINGS, "AWS_DEFAULT_REGION": "us-east-1", **(environment or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def probe_in_function(function_id: str, code: str, *args: str) -> Any:
    """`run_probe` set up as the function's: `code` gets the handler's module name as `sys.argv[1]`, then
    `args`."""
    code_dir, handler = handler_spec(function_id)
    return run_probe(code, handler.rsplit(".", 1)[0], *args, code_dir=code_dir)


@functools.cache  # one interpreter per function for the tests below
def modules_after_import(function_id: str) -> frozenset[str]:
    """The modules loaded once the function's handler module is imported."""
    probe = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"
    return frozenset(probe_in_function(function_id, probe))


@pytest.mark.parametrize("function_id", sorted(NOT_IMPORTED_AT_START))
def test_a_cold_start_does_not_import_what_only_some_requests_use(function_id: str) -> None:
    loaded = modules_after_import(function_id)
    assert "keepwell.settings" in loaded  # the probe did import the function
    unwanted = NOT_IMPORTED_AT_START[function_id]
    assert not sorted(m for m in loaded if m in unwanted or m.startswith(tuple(f"{u}." for u in unwanted)))


# boto3 (with s3transfer and multiprocessing): the clients of SQS, EventBridge and the other services are
# botocore's; only S3's managed upload is boto3's, built by the first request that uploads a file.
BOTO3 = ("boto3", "s3transfer")


@pytest.mark.parametrize("function_id", function_ids())
def test_no_function_imports_boto3_to_start(function_id: str) -> None:
    loaded = modules_after_import(function_id)
    assert "keepwell.settings" in loaded
    assert not sorted(m for m in loaded if m in BOTO3 or m.startswith(tuple(f"{u}." for u in BOTO3)))


COLLECTOR_PROBE = r"""
import gc, importlib, json, sys
gc.collect()
before = gc.get_freeze_count()
importlib.import_module(sys.argv[1])
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count() - before}))
"""


@pytest.mark.parametrize("function_id", function_ids())
def test_a_handler_module_loads_without_the_collector_and_freezes_what_it_loaded(function_id: str) -> None:
    """Decision 0027: the collector is off while a function's modules load, and on again after, with them
    frozen out of its passes (otherwise its first pass would scan every one of them)."""
    found = probe_in_function(function_id, COLLECTOR_PROBE)
    assert found["enabled"]
    assert found["frozen"] > 10_000  # the libraries' and keepwell's objects, not a handful


TRACED_PROBE = r"""
import json, sys, scorer_handler
from aws_xray_sdk.core import patcher
at_start = {"patched": sorted(patcher._PATCHED_MODULES), "loaded": sorted(sys.modules)}
import httpx  # as a webhook delivery or a HubSpot call does on first use
from aws_xray_sdk.ext.httpx.patch import _InstrumentedClient
print(json.dumps({**at_start, "patched later": sorted(patcher._PATCHED_MODULES),
                  "client": type(httpx.Client()).__name__, "instrumented": _InstrumentedClient.__name__}))
"""


def test_a_traced_worker_patches_the_libraries_its_calls_go_through_and_imports_no_other() -> None:
    """The scorer builds its tracer at import, as deployed (Tracing: Active): AWS (botocore, pynamodb) and
    outbound HTTP (httpx) calls get their subsegments; httpx is patched when first imported, and requests and
    sqlite3, which nothing calls, are not imported to be patched."""
    code_dir, _ = handler_spec("ScorerFunction")
    lambda_like = {
        "AWS_LAMBDA_FUNCTION_NAME": "keepwell-scorer",
        "LAMBDA_TASK_ROOT": code_dir,
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    found = run_probe(TRACED_PROBE, code_dir=code_dir, environment=lambda_like)
    assert found["patched"] == ["botocore", "pynamodb"]
    assert not {"httpx", "requests", "sqlite3"} & set(found["loaded"])
    assert found["patched later"] == ["botocore", "httpx", "pynamodb"]
    assert found["client"] == found["instrumented"]  # the clients a delivery builds then are traced


DEFERRED_PROBE = r"""
import json, sys
if sys.argv[1] == "pydantic first":
    import pydantic.main  # e.g. a library imported before keepwell
from keepwell.schemas.customers import CustomerCreateIn, CustomerOut
at_import = [CustomerCreateIn.__pydantic_complete__, CustomerOut.__pydantic_complete__]
name = CustomerCreateIn.model_validate({"name": "Acme"}).name
print(json.dumps({"at_import": at_import, "validated": name, "built": CustomerCreateIn.__pydantic_complete__,
                  "other": CustomerOut.__pydantic_complete__}))
"""


@pytest.mark.parametrize("order", ["keepwell first", "pydantic first"])
def test_a_model_builds_its_validator_when_first_used_not_when_imported(order: str) -> None:
    """keepwell/__init__.py defers every model's build (decision 0027) whichever of keepwell and pydantic a
    process imports first, without importing pydantic itself."""
    found = run_probe(DEFERRED_PROBE, order)
    assert found == {"at_import": [False, False], "validated": "Acme", "built": True, "other": False}


EVENT_CLASSES_PROBE = r"""
import json, sys
import keepwell.batching  # first, as the workers import it
loaded_first = sorted(m for m in sys.modules if m.startswith("aws_lambda_powertools.utilities.data_classes."))
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event, SQSEvent
partial = "aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event" in sys.modules
from aws_lambda_powertools.utilities import data_classes
from aws_lambda_powertools.utilities.data_classes import *  # every name powertools' __init__ defines
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEvent as Direct
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
event = APIGatewayProxyEvent({"path": "/v1/me", "headers": {}})
missing = not hasattr(data_classes, "NoSuchEvent")
print(json.dumps({
    "loaded first": len(loaded_first), "all loaded after the names": partial,
    "same classes": [SQSEvent is data_classes.SQSEvent, SQSRecord is keepwell.batching.SQSRecord,
                     EventBridgeEvent is keepwell.batching.EventBridgeEvent, APIGatewayProxyEvent is Direct],
    "names": sorted(set(data_classes.__all__) - set(globals())), "path": event.path, "missing": missing,
}))
"""


def test_powertools_event_classes_load_when_asked_for_and_every_name_is_still_there() -> None:
    """keepwell.batching registers powertools' data_classes package without running its __init__ (decision
    0027): the batch utility's modules load alone, and any other name runs the package as powertools wrote it."""
    found = run_probe(EVENT_CLASSES_PROBE)
    assert 0 < found["loaded first"] < 12  # the batch utility's few modules, not the ~40 event classes
    assert found["all loaded after the names"] is False
    assert found["same classes"] == [True, True, True, True]
    assert found["names"] == []
    assert found["path"] == "/v1/me"
    assert found["missing"] is True  # an unknown name is an AttributeError, as before


def test_pydantic_plugins_are_not_looked_for_and_none_would_be_missed() -> None:
    """template.yaml turns pydantic's plugin discovery off (each function's first model build looked through the
    metadata of every package of the layer for one): no installed package provides a plugin, so none is
    dropped. Adding one (an observability plugin, say) means removing PYDANTIC_DISABLE_PLUGINS."""
    from importlib.metadata import entry_points

    from infra.template import load_template

    env = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    assert not list(entry_points(group="pydantic"))
