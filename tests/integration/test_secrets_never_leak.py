"""Secrets are shown once, when they are made, and never again: not in any later answer of the API, not
in any log line (powertools writes JSON to stdout; Chalice and the standard loggers too), even with the
functions logging at DEBUG. The secrets: an ingestion API key, integration signing secrets (a
provider's and a Standard Webhooks `whsec_` one), the Slack incoming-webhook URL, an outbound webhook
secret and its rotation, and an invitation token when the invitations API is there."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
from collections.abc import Iterator

import pytest

from infra.apigw import match_route
from keepwell.observability import logger as powertools_logger
from tests.conftest import ApiClient, ApiResponse
from tests.integration.test_integrations_webhooks import post as post_inbound
from tests.integration.test_integrations_webhooks import standard_headers, zendesk_headers
from tests.integration.test_webhook_delivery import Receiver, Reply, domain_event, invoke, sqs_batch
from tests.unit.test_integration_parsers import body, generic_event, zendesk_ticket_event

ZENDESK_SECRET = "zd-signing-secret-7f3c9a1e5b2d4f60"
GENERIC_SECRET = "whsec_" + base64.b64encode(b"generic-key-0123456789ab").decode()


def forms(secret: str) -> set[str]:
    """The secret and the shapes it could leak in: its base64, the key inside a `whsec_` secret (and
    that key's bytes), the random part of a `kwk.<workspace>.<random>` API key."""
    found = {secret, base64.b64encode(secret.encode()).decode()}
    if secret.startswith("whsec_"):
        key = secret.removeprefix("whsec_")
        found.add(key)
        with contextlib.suppress(ValueError):
            found.add(base64.b64decode(key).decode("latin-1"))
    if secret.startswith("kwk."):
        found.add(secret.rsplit(".", 1)[1])
    return {f for f in found if len(f) >= 12}  # short fragments would match by chance


class Leaks:
    """The secrets made so far, and every answer that came after each one was shown."""

    def __init__(self) -> None:
        self.secrets: dict[str, set[str]] = {}
        self.answers: list[tuple[str, str]] = []

    def shown(self, name: str, secret: str) -> None:
        assert secret and secret not in self.secrets, name
        self.secrets[name] = forms(secret)

    def answer(self, what: str, response: ApiResponse) -> ApiResponse:
        self.answers.append((what, json.dumps(response.body) + json.dumps(response.headers)))
        return response

    def found_in(self, text: str) -> list[str]:
        return sorted(name for name, variants in self.secrets.items() if any(v in text for v in variants))


class CapturedLogs:
    """Every log line the functions write: the powertools JSON lines exactly as they reach stdout, and
    every record of any logger with all its fields (extras, arguments, formatted exceptions)."""

    def __init__(self, caplog: pytest.LogCaptureFixture, stdout: io.StringIO):
        self.caplog = caplog
        self.stdout = stdout

    def text(self) -> str:
        plain = logging.Formatter("%(levelname)s %(name)s %(message)s")
        records = [json.dumps(vars(r), default=str) + "\n" + plain.format(r) for r in self.caplog.records]
        return self.stdout.getvalue() + "\n".join(records)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[CapturedLogs]:
    """The functions' loggers at DEBUG, as with the template's LogLevel=DEBUG. The powertools handler
    holds the stdout of import time, so a second handler with its formatter copies its lines here."""
    level = powertools_logger.log_level
    powertools_logger.setLevel(logging.DEBUG)
    stdout = io.StringIO()
    copy = logging.StreamHandler(stdout)
    copy.setFormatter(powertools_logger.registered_formatter)
    powertools_logger.addHandler(copy)
    caplog.set_level(logging.DEBUG, logger=powertools_logger.name)
    for name in ("keepwell-api", "keepwell-ingest", "keepwell-integrations"):
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        yield CapturedLogs(caplog, stdout)
    finally:
        powertools_logger.removeHandler(copy)
        powertools_logger.setLevel(level)


def route_exists(method: str, path: str) -> bool:
    return match_route(method, path) is not None


def test_no_secret_appears_in_any_later_answer_or_any_log_line(
    admin_api: ApiClient,
    workspace: str,
    debug_logs: CapturedLogs,
    capfd: pytest.CaptureFixture[str],
) -> None:
    leaks = Leaks()
    answer = leaks.answer

    # --- made, and shown once ----------------------------------------------------------------------
    created_key = admin_api.post("/v1/api-keys", {"name": "Product events"})
    assert created_key.status == 201, created_key.body
    api_key, key_id = created_key.body["api_key"], created_key.body["key_id"]
    leaks.shown("api key", api_key)

    for provider, secret in (("zendesk", ZENDESK_SECRET), ("generic", GENERIC_SECRET)):
        leaks.shown(f"{provider} secret", secret)
        configured = answer(
            f"PUT {provider} secret",
            admin_api.request("PUT", f"/v1/integrations/{provider}/secret", body={"secret": secret}),
        )
        assert configured.status == 200, configured.body

    slack_url = "http://127.0.0.1:9/services/T0KEEPWELL/B0KEEPWELL/xoxSlackHookSecret24chars"
    leaks.shown("slack webhook url", slack_url)
    slack = answer("PUT slack", admin_api.request("PUT", "/v1/settings/slack", body={"webhook_url": slack_url}))
    assert slack.status == 200, slack.body

    receiver = Receiver(Reply(200))
    try:
        created_hook = admin_api.post(
            "/v1/webhooks", {"url": receiver.url, "event_types": ["customer.health.band_changed"]}
        )
        assert created_hook.status == 201, created_hook.body
        subscription_id = created_hook.body["subscription_id"]
        leaks.shown("webhook secret", created_hook.body["secret"])
        rotated = admin_api.post(f"/v1/webhooks/{subscription_id}/rotate-secret")
        assert rotated.status == 200, rotated.body
        assert leaks.found_in(json.dumps(rotated.body)) == []  # the old secret is not shown again
        leaks.shown("rotated webhook secret", rotated.body["secret"])

        if route_exists("POST", "/v1/invitations"):
            invited = admin_api.post("/v1/invitations", {"email": "new@acme.test", "name": "New Csm", "role": "csm"})
            assert invited.status == 201, invited.body
            leaks.shown("invitation token", invited.body["token"])

        # --- used: ingestion, signed inbound webhooks (good and bad), an outbound delivery ---------------
        sender = ApiClient(None, headers={"X-Api-Key": api_key})
        answer("POST /v1/events", sender.post("/v1/events", {"events": [{"event": "login", "customer_id": "nope"}]}))
        wrong = api_key[:-4] + ("aaaa" if not api_key.endswith("aaaa") else "bbbb")
        refused = answer(
            "POST /v1/events, wrong key", ApiClient(None, headers={"X-Api-Key": wrong}).post("/v1/events", [])
        )
        assert refused.status == 401

        ticket = body(zendesk_ticket_event())
        answer("zendesk", post_inbound("zendesk", workspace, ticket, zendesk_headers(ZENDESK_SECRET, ticket)))
        tampered = answer(
            "zendesk, bad", post_inbound("zendesk", workspace, ticket + b" ", zendesk_headers(ZENDESK_SECRET, ticket))
        )
        assert tampered.status == 401
        nps = body(generic_event("nps", {"score": 9, "customer": {"domain": "acme.test"}}))
        answer("generic", post_inbound("generic", workspace, nps, standard_headers(GENERIC_SECRET, nps, "msg_leak_1")))

        assert invoke(domain_event(workspace_id=workspace)) is None
        from keepwell.services import webhook_deliveries
        from keepwell.storage import webhooks as webhook_store

        (delivery,) = webhook_store.list_deliveries(workspace, subscription_id, 10, None)[0]
        message = webhook_deliveries._message_for(delivery, round_=0, manual=False)
        assert invoke(sqs_batch(message)) == {"batchItemFailures": []}
        assert len(receiver.requests) == 1 and receiver.requests[0].headers["webhook-signature"].startswith("v1,")
    finally:
        receiver.close()

    # --- every list and get of those resources, and the audit log ------------------------------------
    reads = [
        "/v1/api-keys",
        "/v1/integrations",
        "/v1/integrations/unmatched",
        "/v1/webhooks",
        f"/v1/webhooks/{subscription_id}",
        f"/v1/webhooks/{subscription_id}/deliveries",
        "/v1/invitations",
        "/v1/users",
        "/v1/audit",
        "/v1/me",
        "/v1/settings/slack",
    ]
    for path in reads:
        if route_exists("GET", path):
            read = answer(f"GET {path}", admin_api.get(path))
            assert read.status == 200, (path, read.body)
    patched = answer(
        f"PATCH {subscription_id}", admin_api.patch(f"/v1/webhooks/{subscription_id}", {"description": "x"})
    )
    assert patched.status == 200, patched.body
    answer("DELETE api key", admin_api.delete(f"/v1/api-keys/{key_id}"))

    # --- nothing anywhere ------------------------------------------------------------------------------
    assert len(leaks.secrets) >= 6
    leaked = {what: leaks.found_in(text) for what, text in leaks.answers if leaks.found_in(text)}
    assert leaked == {}
    captured = capfd.readouterr()
    logs = captured.out + captured.err + debug_logs.text()
    assert "webhook attempt" in logs and "event batch ingested" in logs  # the capture saw the functions' logs
    assert leaks.found_in(logs) == [], [line for line in logs.splitlines() if leaks.found_in(line)][:3]
