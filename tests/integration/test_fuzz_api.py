"""Schemathesis fuzzes the served OpenAPI document against the running local stack (gateway, authorizer,
handlers, moto): a fixed seed, derandomized, a bounded number of cases per operation, as the demo admin.

Nothing may answer 5xx; every 4xx is the error envelope; every answer conforms to its declared schema.
Locally: `.venv/bin/python -m pytest tests/integration/test_fuzz_api.py -q -s` (prints the figures).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import events

from infra.local import LocalStack, start_stack

pytestmark = pytest.mark.slow  # about a minute of requests; still part of make test

TODAY = date(2026, 11, 20)
# CI keeps these fixed; a deeper local run: KEEPWELL_FUZZ_SEED=7 KEEPWELL_FUZZ_EXAMPLES=60 KEEPWELL_FUZZ_COVERAGE=1
SEED = int(os.environ.get("KEEPWELL_FUZZ_SEED", "20261120"))
# For each of ~100 operations, positive and negative: > 1,000 cases in about a minute.
EXAMPLES_PER_OPERATION = int(os.environ.get("KEEPWELL_FUZZ_EXAMPLES", "14"))
# Schemathesis's coverage phase adds boundary values of every constraint (many more cases).
COVERAGE_PHASE = os.environ.get("KEEPWELL_FUZZ_COVERAGE") == "1"
MIN_CASES = 1_000
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # A small demo: the fuzzer needs real ids and a seeded admin, not volume; no pollers or schedules, so
    # every request is answered by the gateway and handlers alone and the run is repeatable.
    local = start_stack(port=0, moto_port=0, customers=3, today=TODAY, run_schedules=False, start_pollers=False)
    try:
        yield local
    finally:
        local.stop()


@dataclass
class FuzzRun:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    not_enveloped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stop_reason: str = ""
    elapsed: Counter[str] = field(default_factory=Counter)
    server: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, str] = field(default_factory=dict)


def fuzz_config(stack: LocalStack) -> schemathesis.Config:
    assert stack.ingest_api_key is not None and stack.seed is not None
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": stack.api_url,
            # The admin's bearer token everywhere, and the ingestion key for /v1/events.
            "headers": {"Authorization": f"Bearer {stack.admin_token}", "X-Api-Key": stack.ingest_api_key},
            "workers": 1,
            "request-timeout": 30,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": False},
                # Methods the gateway serves; infra/gateway.py answers http.server's HTML 501 to TRACE.
                "coverage": {
                    "enabled": COVERAGE_PHASE,
                    "unexpected-methods": ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"],
                },
                "stateful": {"enabled": False},
                "fuzzing": {"enabled": True},
            },
            "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
        }
    )


def is_envelope(body: Any) -> bool:
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return False
    error = body["error"]
    return (
        set(error) == {"code", "message", "details"}
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
        and isinstance(error["details"], list)
    )


def run_fuzzer(stack: LocalStack) -> FuzzRun:
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/v1/openapi.json", config=fuzz_config(stack))
    run = FuzzRun()
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            if event.skip_reason:
                run.skipped[recorder.label] = event.skip_reason
            run.elapsed[recorder.label] += event.elapsed_time
            run.server[recorder.label] += sum(
                i.response.elapsed for i in recorder.interactions.values() if i.response is not None
            )
            for case_id, interaction in recorder.interactions.items():
                response = interaction.response
                run.cases += 1
                run.per_operation[recorder.label] += 1
                if response is None:
                    run.errors.append(f"{recorder.label}: no response")
                    continue
                run.statuses[response.status_code] += 1
                if response.status_code >= 400:
                    try:
                        body = json.loads(response.content or b"null")
                    except ValueError:
                        body = response.content[:200]
                    if not is_envelope(body):
                        run.not_enveloped.append(f"{recorder.label} → {response.status_code}: {body!r:.300}")
                for check in recorder.checks.get(case_id, []):
                    if check.failure_info is not None:
                        request = interaction.request
                        run.failures.append(
                            f"{recorder.label} [{check.name}] {response.status_code} {request.method} {request.uri}"
                            f" body={request.body!r:.200}: {check.failure_info.failure.title}"
                        )
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.format()[:500]}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            run.stop_reason = str(event.stop_reason)
    run.seconds = time.monotonic() - started
    return run


def test_fuzzing_the_served_document_finds_no_server_error_and_only_enveloped_4xx(stack):
    document = json.loads(urllib.request.urlopen(f"{stack.api_url}/v1/openapi.json", timeout=30).read())
    operations = {f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods}

    run = run_fuzzer(stack)

    print(
        f"\nfuzzed {len(operations)} operations: {run.cases} cases in {run.seconds:.1f}s "
        f"({run.cases / max(run.seconds, 0.001):.0f}/s); statuses {dict(sorted(run.statuses.items()))}"
    )
    slowest = ", ".join(f"{label} {spent:.1f}s" for label, spent in run.elapsed.most_common(3))
    print(f"stopped: {run.stop_reason}; {sum(run.server.values()):.1f}s answering; slowest: {slowest}")
    print(f"skipped: {run.skipped}")
    for line in (run.failures + run.not_enveloped + run.errors)[:40]:
        print(f"  {line}")
    assert not [status for status in run.statuses if status >= 500], run.failures[:20]
    assert not run.not_enveloped, run.not_enveloped[:20]
    assert not run.failures, "\n".join(run.failures[:30])
    assert not run.errors, "\n".join(run.errors[:10])
    assert run.cases >= MIN_CASES
    # Every operation was reached, but the document itself (loaded above; it has no inputs, so
    # schemathesis may count it as covered by loading the schema).
    missed = operations - set(run.per_operation) - {"GET /v1/openapi.json"}
    assert not missed, f"not fuzzed: {sorted(missed)}; skipped: {run.skipped}"
    # The admin's token worked: a good share of the cases got past validation and were answered.
    assert sum(count for status, count in run.statuses.items() if status < 300) >= run.cases // 6


def test_the_envelope_check_refuses_other_error_shapes():
    assert is_envelope({"error": {"code": "not_found", "message": "No customer", "details": []}})
    assert not is_envelope({"Code": "NotFoundError", "Message": "x"})  # Chalice's own shape
    assert not is_envelope({"message": "Unauthorized"})  # API Gateway's default
    assert not is_envelope({"error": {"code": "x", "message": "y"}})
    assert not is_envelope({"error": {"code": "x", "message": "y", "details": None}})
