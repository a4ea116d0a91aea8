"""The local stack (`infra.local`): moto server + template resources + gateway + event sources + seed,
started in-process on ephemeral ports and driven over real HTTP and real SQS/EventBridge calls."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infra.invoker import Invoker
from infra.local import CONTROL_HEADER, LocalStack, backtest_lines, portfolio_lines, start_stack
from infra.pollers import QueueEventSource, QueuePoller, failed_message_ids, queue_depth

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = start_stack(port=0, moto_port=0, customers=20, today=TODAY)
    try:
        # Start-up scores the demo through the queues; tests begin once that work has settled.
        assert local.drain(timeout=300)
        yield local
    finally:
        local.stop()


def call(
    stack: LocalStack,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(stack.api_url + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, response_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, dict(error.headers), error.read()
    return status, response_headers, json.loads(raw) if raw else None


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# ---- gateway -------------------------------------------------------------------------------------
def test_me_with_the_admin_token_answers_for_the_demo_admin(stack):
    status, _, body = call(stack, "GET", "/v1/me", stack.admin_token)
    assert status == 200
    assert body["workspace_id"] == "ws_demo"
    assert body["role"] == "admin"
    assert body["user_id"] == stack.seed.admin_id


def test_every_role_token_is_answered_with_that_role(stack):
    assert set(stack.tokens) == {"admin", "director", "csm", "viewer"}
    for role, token in stack.tokens.items():
        status, _, body = call(stack, "GET", "/v1/me", token)
        assert (status, body["role"]) == (200, role)


def test_request_without_a_token_is_401_in_the_error_envelope(stack):
    status, _, body = call(stack, "GET", "/v1/me")
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    assert set(body["error"]) == {"code", "message", "details"}


def test_a_token_with_the_pools_claims_but_signed_with_another_key_is_401(stack):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    genuine = jwt.decode(stack.admin_token, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        genuine, key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(stack.admin_token)["kid"]}
    )
    status, _, body = call(stack, "GET", "/v1/customers", forged)
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def cognito_call(stack: LocalStack, target: str, body: dict[str, Any]) -> tuple[int, Any]:
    """What a browser's Cognito client sends: AWS JSON 1.1 to the gateway's /local/cognito-idp."""
    request = urllib.request.Request(
        stack.api_url + "/local/cognito-idp",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_each_demo_person_signs_in_through_the_pool_proxy_and_the_api_knows_their_role(stack):
    from infra.identity import console_auth_config

    config = console_auth_config(stack)
    assert (config["mode"], config["cognito_endpoint"]) == ("local", "/local/cognito-idp")
    people = config["demo_users"]
    assert sorted((p["workspace_id"], p["role"]) for p in people) == [
        ("ws_demo", "admin"),
        ("ws_demo", "csm"),
        ("ws_demo", "csm"),
        ("ws_demo", "director"),
        ("ws_demo", "viewer"),
        ("ws_other", "admin"),
    ]
    for person in people:
        status, answer = cognito_call(
            stack,
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": config["client_id"],
                "AuthParameters": {"USERNAME": person["username"], "PASSWORD": person["password"]},
            },
        )
        assert status == 200, answer
        status, _, me = call(stack, "GET", "/v1/me", answer["AuthenticationResult"]["IdToken"])
        assert status == 200, me
        assert (me["workspace_id"], me["role"], me["email"]) == (
            person["workspace_id"],
            person["role"],
            person["username"],
        )


def test_the_pool_proxy_refuses_a_wrong_password_and_every_administrative_call(stack):
    from infra.identity import console_auth_config

    config = console_auth_config(stack)
    person = config["demo_users"][0]
    status, answer = cognito_call(
        stack,
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": config["client_id"],
            "AuthParameters": {"USERNAME": person["username"], "PASSWORD": "not-the-password-1"},
        },
    )
    assert (status, answer["__type"]) == (400, "NotAuthorizedException")
    status, answer = cognito_call(
        stack, "AdminCreateUser", {"UserPoolId": stack.user_pool_id, "Username": "intruder@evil.test"}
    )
    assert (status, answer["__type"]) == (400, "InvalidParameterException")
    assert "AdminCreateUser" in answer["message"]


def test_local_json_tokens_are_rs256_id_tokens_of_the_local_pool(stack):
    import jwt

    for token in [*stack.tokens.values(), stack.other_workspace_token]:
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"].endswith(stack.user_pool_id) and claims["aud"] == stack.console_client_id


def test_policy_that_denies_the_method_is_403_in_the_error_envelope(stack):
    def deny(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "principalId": "someone",
            "context": {"workspace_id": "ws_demo", "user_id": "x", "role": "admin"},
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [event["methodArn"]]}],
            },
        }

    with stack.invoker.override("AuthorizerFunction", deny):
        status, _, body = call(stack, "GET", "/v1/me", stack.admin_token)
    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_other_workspace_token_cannot_see_demo_customers(stack):
    demo_ids = {c.customer_id for c in stack.seed.customers}
    status, _, listing = call(stack, "GET", "/v1/customers?limit=100", stack.other_workspace_token)
    assert status == 200
    seen = {c["customer_id"] for c in listing["items"]}
    assert seen and not seen & demo_ids
    demo_customer = stack.seed.customers[0].customer_id
    status, _, body = call(stack, "GET", f"/v1/customers/{demo_customer}", stack.other_workspace_token)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _, body = call(stack, "GET", f"/v1/customers/{demo_customer}", stack.admin_token)
    assert (status, body["customer_id"]) == (200, demo_customer)


def test_unknown_path_is_404_in_the_error_envelope(stack):
    """As the template's MISSING_AUTHENTICATION_TOKEN gateway response answers it deployed (API Gateway's own
    answer is a 403 "Missing Authentication Token"), with what was asked in its message."""
    status, _, body = call(stack, "GET", "/v1/does-not-exist", stack.admin_token)
    assert (status, body) == (
        404,
        {"error": {"code": "not_found", "message": "No route for GET /v1/does-not-exist", "details": []}},
    )


def test_known_path_with_another_method_is_405_naming_the_allowed_ones(stack):
    status, headers, body = call(stack, "PUT", "/v1/customers", stack.admin_token, body={})
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    assert headers["Allow"] == "GET, POST"


def test_routes_without_the_authorizer_reach_their_function_without_running_it(stack):
    received: list[dict[str, Any]] = []

    def ingest(event: dict[str, Any], context: Any) -> dict[str, Any]:
        received.append(event)
        return {"statusCode": 202, "headers": {"Content-Type": "application/json"}, "body": '{"accepted": 1}'}

    authorizations = stack.invoker.invocations["AuthorizerFunction"]
    with stack.invoker.override("IngestFunction", ingest):
        status, _, body = call(
            stack, "POST", "/v1/events?dry_run=1", body={"events": [{}]}, headers={"X-Api-Key": "kwk.demo"}
        )
    assert (status, body) == (202, {"accepted": 1})
    assert stack.invoker.invocations["AuthorizerFunction"] == authorizations
    event = received[0]
    assert "authorizer" not in event["requestContext"]
    assert (event["resource"], event["httpMethod"], event["queryStringParameters"]) == (
        "/v1/events",
        "POST",
        {"dry_run": "1"},
    )
    assert event["headers"]["X-Api-Key"] == "kwk.demo"
    assert json.loads(event["body"]) == {"events": [{}]}


def test_function_crash_is_a_502_envelope_and_the_gateway_keeps_serving(stack):
    def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    with stack.invoker.override("ApiFunction", crash):
        status, _, body = call(stack, "GET", "/v1/me", stack.admin_token)
    assert (status, body["error"]["code"]) == (502, "internal_error")
    assert call(stack, "GET", "/v1/me", stack.admin_token)[0] == 200


def test_local_json_holds_what_a_developer_needs(stack, tmp_path: Path):
    from keepwell.services.api_keys import verify_api_key

    config = json.loads(stack.write_config(tmp_path / "local.json").read_text())
    assert config["api_url"] == stack.api_url
    assert config["workspace_id"] == "ws_demo"
    assert config["moto_endpoint"].startswith("http://127.0.0.1:")
    assert set(config["tokens"]) == {"admin", "director", "csm", "viewer"}
    assert call(stack, "GET", "/v1/me", config["other_workspace_token"])[2]["workspace_id"] == "ws_other"
    assert verify_api_key(config["ingest_api_key"]) == "ws_demo"


def test_the_demos_recent_product_events_went_through_post_v1_events(stack):
    from keepwell import clock
    from keepwell.storage import metrics

    if not stack.seed.live_days:
        pytest.skip("the seed's date is outside ingestion's 90-day window: its usage was all imported")
    sent = stack.product_events
    assert sent["sent"] > 0 and sent["accepted"] == sent["sent"] and sent["rejected"] == 0
    demo = next(c for c in stack.seed.data.demo.customers if any(u.users for u in c.usage[-2:]))
    usage = next(u for u in reversed(demo.usage) if u.users and u.day in stack.seed.live_days)
    customer_id = demo.customer.customer_id
    status, _, timeline = call(
        stack, "GET", f"/v1/customers/{customer_id}/timeline?kind=product_event", stack.admin_token
    )
    assert status == 200
    entry = next(e for e in timeline["items"] if e["attributes"]["day"] == usage.day.isoformat())
    assert entry["attributes"]["active_users"] == len(usage.users)
    assert entry["attributes"]["event_counts"]["user_logged_in"] == usage.logins
    day = metrics.get_days("ws_demo", [(customer_id, usage.day)])[(customer_id, usage.day)]
    assert (day.logins, day.active_users) == (usage.logins, set(usage.users))
    # Resending the demo's events changes nothing: each one was counted once.
    status, _, again = call(
        stack,
        "POST",
        "/v1/events",
        body={"events": stack.seed.live_product_events(clock.now())[:200]},  # the handlers' (test) clock
        headers={"X-Api-Key": stack.ingest_api_key},
    )
    assert (status, again["accepted"], again["duplicates"]) == (200, 0, 200)


def test_the_demos_recent_tickets_went_through_the_signed_zendesk_endpoint(stack):
    tickets = stack.seed.live_tickets()
    if not tickets:
        pytest.skip("the seed has no ticket in its live window")
    ticket = tickets[0]
    status, _, timeline = call(
        stack, "GET", f"/v1/customers/{ticket.customer_id}/timeline?kind=ticket&limit=100", stack.admin_token
    )
    assert status == 200
    number = str(ticket.attributes["ticket_id"]).removeprefix("ZD-")
    landed = [e for e in timeline["items"] if e["source"] == "zendesk" and number in e["title"]]
    assert len(landed) == 1, [e["title"] for e in timeline["items"]]
    assert landed[0]["attributes"]["status"] == ticket.attributes["status"]
    assert landed[0]["attributes"]["zendesk_event"] in ("created", "status_changed")  # set by the webhook
    # Every demo ticket matched its customer: nothing waits in the unmatched list.
    status, _, unmatched = call(stack, "GET", "/v1/integrations/unmatched", stack.admin_token)
    assert status == 200 and unmatched["items"] == []


def test_start_up_scores_every_demo_customer_and_reports_bands_risks_and_playbooks(stack):
    status, _, page = call(stack, "GET", "/v1/customers?limit=200", stack.admin_token)
    assert status == 200 and len(page["items"]) == 20
    assert all(c["health_band"] for c in page["items"]), [c["name"] for c in page["items"] if not c["health_band"]]
    report = portfolio_lines(stack)
    bands = report[1 : report.index("")]
    assert sum(int(re.findall(r"\b\d+\b", line)[0]) for line in bands) == 20  # "  Healthy   7  ####" → 7
    assert "not scored" not in "\n".join(bands)
    savable = [c for c in page["items"] if c["status"] in ("active", "trial")]
    lowest = min(savable, key=lambda c: c["health_score"])
    assert any(lowest["name"] in line for line in report)
    lost_or_paused = {c["name"] for c in page["items"] if c["status"] in ("churned", "paused")}
    start = report.index("most at risk (active and trial)")
    at_risk = report[start : report.index("", start)]
    assert len(at_risk) == 11 and lost_or_paused
    assert not any(name in line for name in lost_or_paused for line in at_risk)
    assert sum(line.strip().startswith("why: ") and len(line.strip()) > 5 for line in report) == 5
    for playbook in ("At-risk", "Expansion", "Onboarding", "Renewal", "Win-back"):
        assert any(line.strip().startswith(playbook) for line in report), playbook


def test_start_up_gives_every_demo_customer_its_90_day_trend_and_7_day_change(stack):
    """The demo holds 90 days of signals: after start-up the portfolio shows a 7-day change for every
    customer and Customer 360 a 90-day trend (not one point), as the console's screens promise."""
    status, _, page = call(stack, "GET", "/v1/customers?limit=200", stack.admin_token)
    assert status == 200
    assert all(c["health_change_7d"] is not None for c in page["items"]), [
        c["name"] for c in page["items"] if c["health_change_7d"] is None
    ]
    customer = page["items"][0]
    status, _, history = call(
        stack, "GET", f"/v1/customers/{customer['customer_id']}/health/history", stack.admin_token
    )
    assert status == 200 and len(history["overall"]) == 90


def test_make_runs_backtest_headline_judges_the_model_on_the_demos_year_of_outcomes(stack):
    lines = backtest_lines(stack.local_config())
    assert lines[0].startswith("Health model backtest, outcomes 2025-11-20 to 2026-11-20"), lines
    # 20 demo customers: 3 former customers churned, 4 renewals of former customers and the last year's
    # renewed terms of current ones (the renewal pipeline's history), over the year before the last 90 days
    headline = re.fullmatch(
        r"  AUC (0\.\d\d|1\.00); \d+% of 3 churned customers flagged 'At risk' >= 30 days ahead \((\d+) outcomes\)",
        lines[1],
    )
    assert headline and int(headline.group(2)) >= 7, lines
    assert lines[-1].startswith("  details: GET /v1/health/model/backtest/bt_")


def test_the_demo_shows_a_renewal_pipeline_to_the_admin_and_to_a_csm_over_http(stack):
    status, _, admin = call(stack, "GET", "/v1/renewals", stack.admin_token)
    assert status == 200
    counts = {group: total["count"] for group, total in admin["totals"].items()}
    assert sum(counts.values()) > 0 and counts["historical"] > 0, counts
    assert all(type(count) is int for count in counts.values())  # 3, not 3.0
    status, _, mine = call(stack, "GET", "/v1/renewals", stack.tokens["csm"])
    rows = [row for group in mine["groups"].values() for row in group]
    assert status == 200 and rows and 0 < len(rows) < sum(counts.values())


# ---- schedules -----------------------------------------------------------------------------------
def test_schedule_control_endpoint_invokes_the_scheduled_function_with_a_scheduled_event(stack):
    received: list[dict[str, Any]] = []
    with stack.invoker.override("ScheduleFunction", lambda event, context: received.append(event)):
        status, _, outcome = call(
            stack,
            "POST",
            "/_local/schedule/ScheduleFunction",
            body={"time": "2026-11-20T05:00:00+00:00", "wait": 5},
            headers={CONTROL_HEADER: stack.control_token},
        )
    assert status == 200 and outcome["ok"] and outcome["drained"]
    assert len(received) == 1
    event = received[0]
    assert (event["detail-type"], event["source"], event["time"]) == (
        "Scheduled Event",
        "aws.scheduler",
        "2026-11-20T05:00:00Z",
    )
    assert event["resources"][0].startswith("arn:aws:scheduler:us-east-1:123456789012:schedule/")


def test_schedule_control_endpoint_refuses_a_missing_token_and_unknown_functions(stack):
    status, _, body = call(stack, "POST", "/_local/schedule/ScheduleFunction", body={})
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, _, body = call(
        stack, "POST", "/_local/schedule/ApiFunction", body={}, headers={CONTROL_HEADER: stack.control_token}
    )
    assert (status, body["error"]["code"]) == (404, "not_found")


# ---- EventBridge rules → functions --------------------------------------------------------------
def test_domain_events_reach_exactly_the_functions_whose_rule_pattern_matches(stack):
    # Only this test's events count (a real scorer run could publish its own meanwhile).
    seen: dict[str, list[dict[str, Any]]] = {"PlaybooksFunction": [], "WebhooksFunction": []}

    def record(function_id: str) -> Callable[[dict[str, Any], Any], None]:
        def handler(event: dict[str, Any], context: Any) -> None:
            if event["detail"].get("test") == "routing":
                seen[function_id].append(event)

        return handler

    def entry(source: str, detail_type: str, customer_id: str) -> Any:
        detail = json.dumps({"test": "routing", "customer_id": customer_id})
        return {
            "Source": source,
            "DetailType": detail_type,
            "Detail": detail,
            "EventBusName": stack.resolver.physical["DomainEventBus"]["Name"],
        }

    with (
        stack.invoker.override("PlaybooksFunction", record("PlaybooksFunction")),
        stack.invoker.override("WebhooksFunction", record("WebhooksFunction")),
    ):
        boto3.client("events", region_name="us-east-1").put_events(
            Entries=[
                entry("keepwell", "health.band_changed", "c1"),
                entry("keepwell", "customer.created", "c2"),
                entry("someone-else", "health.scored", "c3"),
            ]
        )
        assert wait_for(lambda: len(seen["WebhooksFunction"]) == 2 and len(seen["PlaybooksFunction"]) == 1)
        time.sleep(0.5)  # nothing else may arrive
    assert [e["detail-type"] for e in seen["PlaybooksFunction"]] == ["health.band_changed"]
    webhook_types = sorted(e["detail-type"] for e in seen["WebhooksFunction"])
    assert webhook_types == ["customer.created", "health.band_changed"]
    delivered = seen["PlaybooksFunction"][0]
    assert delivered["detail"] == {"test": "routing", "customer_id": "c1"}
    assert delivered["source"] == "keepwell"
    assert "ingestion-time" not in delivered


def test_failing_domain_event_is_retried_then_parked_in_the_rules_dead_letter_queue(stack):
    attempts: list[str] = []

    def fail(event: dict[str, Any], context: Any) -> None:
        if event["detail"].get("test") == "retry":  # other events (a real scorer's) succeed
            attempts.append(event["id"])
            raise RuntimeError("webhook target down")

    poller = next(p for p in stack.pollers if p.source.name == "WebhooksFunction.DomainEvents")
    sqs = stack.sqs()
    bus = stack.resolver.physical["DomainEventBus"]["Name"]
    with (
        stack.invoker.override("WebhooksFunction", fail),
        stack.invoker.override("PlaybooksFunction", lambda e, c: None),
    ):
        boto3.client("events", region_name="us-east-1").put_events(
            Entries=[
                {
                    "Source": "keepwell",
                    "DetailType": "customer.changed",
                    "Detail": '{"test": "retry"}',
                    "EventBusName": bus,
                }
            ]
        )
        assert wait_for(lambda: queue_depth(sqs, poller.source.dlq_url) == 1, timeout=15)
    assert len(attempts) == 3 and len(set(attempts)) == 1  # the first try and Lambda's 2 async retries
    sqs.purge_queue(QueueUrl=poller.source.dlq_url)


# ---- SQS event sources: partial batch responses and redrive ---------------------------------------
@pytest.fixture
def test_queue(stack) -> Iterator[tuple[QueueEventSource, Any]]:
    """A queue pair on the stack's moto, redriving after 3 receives, outside the stack's own pollers."""
    sqs = stack.sqs()
    dlq_url = sqs.create_queue(QueueName="local-test-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="local-test",
        Attributes={
            "VisibilityTimeout": "360",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
    )["QueueUrl"]
    source = QueueEventSource(
        "ScorerFunction",
        "TestWork",
        "sqs",
        url,
        "arn:aws:sqs:us-east-1:123456789012:local-test",
        batch_size=10,
        report_batch_item_failures=True,
        dlq_url=dlq_url,
    )
    try:
        yield source, sqs
    finally:
        sqs.delete_queue(QueueUrl=url)
        sqs.delete_queue(QueueUrl=dlq_url)


def dlq_bodies(sqs: Any, dlq_url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def test_failed_record_goes_to_the_dlq_after_max_receives_while_its_good_batch_mate_is_processed_once(
    test_queue,
):
    source, sqs = test_queue
    batches: list[list[str]] = []

    def score(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batches.append([r["body"] for r in event["Records"]])
        assert all(r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == source.queue_arn for r in event["Records"])
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]
        }

    invoker = Invoker()
    with invoker.override("ScorerFunction", score):
        sqs.send_message_batch(
            QueueUrl=source.queue_url,
            Entries=[{"Id": "good", "MessageBody": "good"}, {"Id": "poison", "MessageBody": "poison"}],
        )
        poller = QueuePoller(source, sqs, invoker)
        for _ in range(5):
            poller.poll_once(wait_seconds=0)
    assert sorted(batches[0]) == ["good", "poison"]
    assert [body for batch in batches for body in batch].count("good") == 1
    assert [body for batch in batches for body in batch].count("poison") == 3
    assert dlq_bodies(sqs, source.dlq_url) == ["poison"]
    assert queue_depth(sqs, source.queue_url) == 0
    assert (poller.stats.succeeded, poller.stats.failed) == (1, 3)


def test_receive_count_is_passed_to_the_function_on_each_retry(test_queue):
    source, sqs = test_queue
    counts: list[str] = []

    def fail_all(event: dict[str, Any], context: Any) -> dict[str, Any]:
        counts.extend(r["attributes"]["ApproximateReceiveCount"] for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    invoker = Invoker()
    with invoker.override("ScorerFunction", fail_all):
        sqs.send_message(
            QueueUrl=source.queue_url,
            MessageBody="again",
            MessageAttributes={"reason": {"DataType": "String", "StringValue": "schedule"}},
        )
        for _ in range(4):
            QueuePoller(source, sqs, invoker).poll_once(wait_seconds=0)
    assert counts == ["1", "2", "3"]
    assert dlq_bodies(sqs, source.dlq_url) == ["again"]


def test_handler_that_raises_keeps_the_whole_batch(test_queue):
    source, sqs = test_queue

    def crash(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("scorer bug")

    invoker = Invoker()
    with invoker.override("ScorerFunction", crash):
        sqs.send_message_batch(
            QueueUrl=source.queue_url,
            Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}],
        )
        poller = QueuePoller(source, sqs, invoker)
        poller.poll_once(wait_seconds=0)
        assert (poller.stats.succeeded, poller.stats.invocation_errors) == (0, 1)
        assert queue_depth(sqs, source.queue_url) == 2
        for _ in range(3):
            poller.poll_once(wait_seconds=0)
    assert dlq_bodies(sqs, source.dlq_url) == ["a", "b"]


def test_malformed_batch_item_failure_fails_the_whole_batch_as_lambda_does():
    batch = ["m1", "m2", "m3"]
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, batch, True) == {"m2"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}, batch, True) == set(batch)
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, batch, True) == set(batch)
    assert failed_message_ids({"batchItemFailures": []}, batch, True) == set()
    # Without ReportBatchItemFailures a successful return means the whole batch succeeded.
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, batch, False) == set()


def test_template_sqs_sources_are_polled_with_their_batch_settings(stack):
    by_name = {p.source.name: p.source for p in stack.pollers}
    scoring = by_name["ScorerFunction.ScoringWork"]
    assert scoring.queue_url == stack.resolver.physical["ScoringQueue"]["QueueUrl"]
    assert scoring.dlq_url == stack.resolver.physical["ScoringDLQ"]["QueueUrl"]
    assert (scoring.batch_size, scoring.batching_window_s, scoring.report_batch_item_failures) == (
        10,
        2.0,
        True,
    )
    assert {
        "PlaybooksFunction.PlaybookActions",
        "WebhooksFunction.Deliveries",
        "PlaybooksFunction.DomainEvents",
        "WebhooksFunction.DomainEvents",
    } <= set(by_name)


# ---- bulk import (issue 20): the presigned upload goes to moto's S3, the jobs run on the import queue ----
def test_a_csv_import_runs_through_the_local_stack_s3_and_import_queue(stack):
    status, _, created = call(
        stack, "POST", "/v1/imports", stack.admin_token, {"kind": "customers", "filename": "local.csv"}
    )
    assert status == 201, created
    form = created["upload"]
    content = b"Company,External ID,ARR\r\nLocal Import Co,local-import-1,24000\r\n"
    uploaded = requests.post(form["url"], data=form["fields"], files={"file": ("local.csv", content)}, timeout=10)
    assert uploaded.status_code in (200, 204), uploaded.text
    path = f"/v1/imports/{created['import_id']}"
    assert call(stack, "GET", path, stack.admin_token)[2]["status"] == "uploaded"
    assert call(stack, "POST", path + "/dry-run", stack.admin_token)[0] == 202
    assert wait_for(lambda: call(stack, "GET", path, stack.admin_token)[2]["status"] == "validated", timeout=30)
    assert call(stack, "POST", path + "/commit", stack.admin_token)[0] == 202
    assert wait_for(lambda: call(stack, "GET", path, stack.admin_token)[2]["status"] == "completed", timeout=30)
    status, _, listed = call(stack, "GET", "/v1/customers?limit=200", stack.admin_token)
    imported = [c for c in listed["items"] if c["external_id"] == "local-import-1"]
    assert [(c["name"], c["arr"]) for c in imported] == [("Local Import Co", 24000)]


# ---- the gateway never answers a client's input with HTML or a 5xx (issue #16) --------------------------
def raw_exchange(stack: LocalStack, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send bytes as they are over a socket and read the whole answer (the gateway closes after it)."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(stack.api_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines if ":" in line)}
    return int(status_line.split()[1]), headers, json.loads(payload) if payload else None


@pytest.mark.parametrize("method", ["QUERY", "PROPFIND", "TRACE", "CONNECT", "FOO"])
def test_an_unknown_http_method_is_a_405_envelope_naming_the_allowed_ones_not_an_html_501(stack, method):
    status, headers, body = call(stack, method, "/v1/customers", stack.admin_token)

    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    assert headers["Content-Type"] == "application/json" and headers["Allow"] == "GET, POST"


def test_an_unknown_method_on_an_unknown_path_is_a_404_envelope(stack):
    status, _, body = call(stack, "QUERY", "/v1/nowhere", stack.admin_token)
    assert (status, body["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /v1/customers HTTP/2.0\r\nHost: x\r\n\r\n", 400),  # http.server: 505
        (b"GET /v1/customers HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
        (b"GET /v1/customers HTTP/x.y\r\nHost: x\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n{}", 400),
        (b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}", 400),
        (b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}", 413),
        (b"GET /v1/customers HTTP/1.1\r\n" + b"X-Long: " + b"h" * 70_000 + b"\r\n\r\n", 431),
    ],
    ids=["http2", "extra-word", "bad-version", "long-line", "length-text", "length-negative", "length-huge", "header"],
)
def test_malformed_requests_get_a_4xx_envelope_from_the_gateway_never_html_or_5xx(stack, request_bytes, status):
    answered, headers, body = raw_exchange(stack, request_bytes)

    assert answered == status, body
    assert headers["content-type"] == "application/json"
    assert set(body["error"]) == {"code", "message", "details"}
    # ... and it keeps serving.
    assert call(stack, "GET", "/v1/customers", stack.admin_token)[0] == 200


def test_a_deactivated_person_is_refused_at_once_and_cannot_sign_in_again(stack):
    """Last in the module: it deactivates the second CSM of the demo."""
    from infra.identity import console_auth_config

    config = console_auth_config(stack)
    second_csm = next(p for p in stack.demo_people if p.role == "csm" and p.user_id != stack.seed.token_users["csm"])
    csm_id = second_csm.user_id
    person = next(p for p in config["demo_users"] if p["username"] == second_csm.username)
    sign_in = {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": config["client_id"],
        "AuthParameters": {"USERNAME": person["username"], "PASSWORD": person["password"]},
    }
    status, answer = cognito_call(stack, "InitiateAuth", sign_in)
    token = answer["AuthenticationResult"]["IdToken"]
    assert call(stack, "GET", "/v1/me", token)[0] == 200
    status, _, body = call(stack, "POST", f"/v1/users/{csm_id}/deactivate", stack.admin_token)
    assert (status, body["active"]) == (200, False)
    status, _, body = call(stack, "GET", "/v1/me", token)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, answer = cognito_call(stack, "InitiateAuth", sign_in)
    assert (status, answer["__type"]) == (400, "NotAuthorizedException")


def test_every_invocation_runs_in_one_warm_thread_whoever_asks_and_a_nested_one_at_once():
    """As a warm Lambda container: the gateway's per-connection threads and the pollers hand their
    invocations to one thread, so what a handler keeps per thread (its AWS clients) is built once."""
    seen: list[threading.Thread] = []
    invoker = Invoker()

    def target(event: dict[str, Any], context: Any) -> str:
        seen.append(threading.current_thread())
        return "delivered"

    def outer(event: dict[str, Any], context: Any) -> str:
        seen.append(threading.current_thread())
        return invoker.invoke("PlaybooksFunction", {})  # as the local bus delivers to a rule's target

    def boom(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("handler bug")

    with invoker.override("ScorerFunction", outer), invoker.override("PlaybooksFunction", target):
        callers = [threading.Thread(target=invoker.invoke, args=("ScorerFunction", {})) for _ in range(3)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(timeout=10)
        assert invoker.invoke("ScorerFunction", {}) == "delivered"
    with invoker.override("ScorerFunction", boom), pytest.raises(RuntimeError, match="handler bug"):
        invoker.invoke("ScorerFunction", {})
    invoker.close()
    assert len(seen) == 8 and len(set(seen)) == 1 and seen[0] not in (threading.current_thread(), *callers)
    assert invoker.invocations["ScorerFunction"] == 5 and invoker.errors["ScorerFunction"] == 1
