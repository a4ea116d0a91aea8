"""Outbound webhooks: fan domain events out to subscriptions and deliver them signed (Standard Webhooks).

Fan-out: a domain event becomes one delivery per enabled subscription to its webhook type. The delivery
record is created with a conditional put keyed by a delivery id derived from (event, subscription), so an
event the bus hands over twice is queued once.

Delivery (one queue message = one attempt): re-check the URL with the SSRF guard and connect to the address
it checked; sign the exact body bytes with every active secret; POST with a 15 s timeout, no redirects.
2xx succeeds; 410 disables the subscription; anything else is retried per `retry.py` by re-enqueueing the
message (SQS delay hops of ≤ 900 s until `not_before`), the same `webhook-id` each time and a fresh
`webhook-timestamp`. After the last attempt the message is put on the DLQ (ready to be redriven as a fresh
round), the subscription is marked failing and a `webhook.subscription_failing` domain event names the
workspace admins to notify. Every attempt is appended to the delivery log.

Slack: messages for the workspace's Slack incoming webhook (playbook `slack` steps, health alerts) are
deliveries too, addressed to the reserved pseudo-subscription `slack` (`queue_slack_message`): the same
log, retries, SSRF pinning and redirect refusal, but sent unsigned with Slack's own JSON body, to the URL
read from Secrets Manager at each attempt. That URL is a credential: it is never stored, logged or put in
a domain event; the log and the log lines say "slack". A 410 stops posting to Slack until an admin sets
the webhook again; exhausting the retries marks the Slack channel failing (docs/webhooks.md).
"""

from __future__ import annotations

import json
import random
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from keepwell import clock, ids
from keepwell.adapters import event_bus, queues, secrets
from keepwell.adapters.aws import client
from keepwell.domain.signatures.outbound import envelope_bytes, sign
from keepwell.domain.webhooks import retry, ssrf
from keepwell.domain.webhooks import subscriptions as rules
from keepwell.domain.webhooks.retry import Outcome, TransportError
from keepwell.domain.webhooks.subscriptions import Attempt, Delivery, DeliveryStatus, Subscription
from keepwell.observability import logger, metrics
from keepwell.schemas.messages import DomainEventIn, WebhookDeliveryMessage
from keepwell.settings import get_settings
from keepwell.storage import keys
from keepwell.storage import notifications as channel_store
from keepwell.storage import webhooks as store

if TYPE_CHECKING:
    import httpx

ATTEMPT_TIMEOUT_SECONDS = 15.0
# A record is only started when the invocation has this much time left (one attempt plus its writes);
# otherwise it fails back to the queue and is retried on a later invocation.
MIN_REMAINING_MS = 20_000
MAX_RESPONSE_BYTES = 4 * rules.MAX_RESPONSE_CHARS
USER_AGENT = "Keepwell-Webhooks/1.0"
SLACK_LABEL = "slack"  # what logs and the delivery log say instead of the Slack webhook URL (a credential)
FAILING_EVENT = "webhook.subscription_failing"

# Jitter of the retry schedule; tests seed or replace it.
rng = random.Random()


class NotEnoughTime(RuntimeError):
    """Raised before an attempt when the invocation is about to time out: the message is retried later."""


@dataclass(frozen=True)
class SendResult:
    status: int | None
    headers: dict[str, str]
    response_body: str | None
    latency_ms: int | None
    error: TransportError | None = None


@dataclass(frozen=True)
class Destination:
    """Where one delivery goes: a subscription (signed Standard Webhooks envelope) or the workspace's
    Slack incoming webhook (unsigned, Slack's body; the URL never leaves this object)."""

    workspace_id: str
    subscription_id: str
    url: str
    enabled: bool
    failing_since: str | None
    signing: bool

    @property
    def is_slack(self) -> bool:
        return not self.signing


def _destination(workspace_id: str, subscription_id: str) -> Destination | None:
    if rules.is_slack_channel(subscription_id):
        settings = channel_store.slack_settings(workspace_id)
        url = secrets.get_secret(keys.slack_webhook_secret_name(workspace_id)) if settings else None
        if settings is None or not url:
            return None
        return Destination(
            workspace_id,
            subscription_id,
            url,
            enabled=not settings.get("gone_at"),
            failing_since=settings.get("failing_since"),
            signing=False,
        )
    subscription = store.get_subscription(workspace_id, subscription_id)
    if subscription is None:
        return None
    return Destination(
        workspace_id,
        subscription_id,
        subscription.url,
        enabled=subscription.enabled,
        failing_since=subscription.failing_since,
        signing=True,
    )


# --- Slack ---------------------------------------------------------------------------------------
def slack_connected(workspace_id: str) -> bool:
    """Whether the workspace set a Slack webhook that has not answered 410 since."""
    settings = channel_store.slack_settings(workspace_id)
    return bool(settings) and not (settings or {}).get("gone_at")


def queue_slack_message(workspace_id: str, source_id: str, occurred_at: datetime, message: dict[str, Any]) -> bool:
    """Queue one Slack message (`{"text": …, "blocks": …}`) as a delivery to the workspace's Slack
    channel, once per `source_id` (a playbook step, an alert): the delivery id is derived from it, so a
    retried caller finds the delivery there and queues nothing twice. True if this call queued it."""
    channel = rules.SLACK_CHANNEL
    delivery_id = rules.delivery_id(workspace_id, channel, source_id, occurred_at)
    created = store.create_delivery(
        workspace_id, channel, delivery_id, rules.SLACK_EVENT_TYPE, source_id, clock.iso(occurred_at), message
    )
    if created is None:
        existing = store.get_delivery(workspace_id, channel, delivery_id)
        if existing is None or existing.queued:
            return False  # queued before: the machinery owns it now
    _send(
        WebhookDeliveryMessage(
            workspace_id=workspace_id,
            subscription_id=channel,
            delivery_id=delivery_id,
            event_type=rules.SLACK_EVENT_TYPE,
            payload=message,
            occurred_at=occurred_at,
        )
    )
    store.mark_queued(workspace_id, channel, delivery_id)
    logger.info("slack message queued", extra={"workspace_id": workspace_id, "delivery_id": delivery_id})
    return True


# --- fan-out -------------------------------------------------------------------------------------
def enqueue_deliveries_for_event(event: DomainEventIn) -> int:
    """Queue one delivery per enabled subscription of the workspace to this event's webhook type."""
    event_type = rules.webhook_event_type(event.detail_type)
    if event_type is None:
        logger.debug("no webhook type for this domain event", extra={"detail_type": event.detail_type})
        return 0
    workspace_id = event.detail.workspace_id
    wanted = [s for s in store.list_subscriptions(workspace_id) if s.wants(event_type)]
    if not wanted:
        return 0
    data: dict[str, Any] = event.detail.model_dump(mode="json", exclude_unset=True)
    occurred_at = clock.iso(event.time)
    messages: list[WebhookDeliveryMessage] = []
    for subscription in wanted:
        delivery_id = rules.delivery_id(workspace_id, subscription.subscription_id, event.event_id, event.time)
        created = store.create_delivery(
            workspace_id, subscription.subscription_id, delivery_id, event_type, event.event_id, occurred_at, data
        )
        if created is None:
            existing = store.get_delivery(workspace_id, subscription.subscription_id, delivery_id)
            if existing is None or existing.queued:
                continue  # the bus handed us this event before: already queued
        messages.append(
            WebhookDeliveryMessage(
                workspace_id=workspace_id,
                subscription_id=subscription.subscription_id,
                delivery_id=delivery_id,
                event_type=event_type,
                attempt=1,
                payload=data,
                occurred_at=event.time,
            )
        )
    queues.send_messages(get_settings().webhook_queue_url, messages)
    for message in messages:
        store.mark_queued(workspace_id, message.subscription_id, message.delivery_id)
    logger.info(
        "webhook deliveries queued",
        extra={"workspace_id": workspace_id, "event_type": event_type, "deliveries": len(messages)},
    )
    return len(messages)


def queue_test_event(subscription: Subscription) -> Delivery:
    """Queue a `webhook.test` delivery to this subscription: one attempt, logged like any other."""
    now = clock.now()
    event_id = ids.new_id("evt")
    delivery_id = rules.delivery_id(subscription.workspace_id, subscription.subscription_id, event_id, now)
    data: dict[str, Any] = {
        "subscription_id": subscription.subscription_id,
        "message": "This is a test event from Keepwell.",
    }
    created = store.create_delivery(
        subscription.workspace_id,
        subscription.subscription_id,
        delivery_id,
        rules.TEST_EVENT_TYPE,
        event_id,
        clock.iso(now),
        data,
    )
    assert created is not None, "a fresh event id cannot collide"
    _send(
        WebhookDeliveryMessage(
            workspace_id=subscription.workspace_id,
            subscription_id=subscription.subscription_id,
            delivery_id=delivery_id,
            event_type=rules.TEST_EVENT_TYPE,
            payload=data,
            occurred_at=now,
            manual=True,
        )
    )
    store.mark_queued(subscription.workspace_id, subscription.subscription_id, delivery_id)
    return created


def queue_redelivery(subscription: Subscription, delivery: Delivery) -> int:
    """Queue one more attempt of a logged delivery (same `webhook-id`, same body); returns its round."""
    round_ = store.start_round(
        subscription.workspace_id, subscription.subscription_id, delivery.delivery_id, rules.MAX_ROUNDS
    )
    _send(_message_for(delivery, round_=round_, manual=True))
    return round_


def _message_for(delivery: Delivery, *, round_: int, manual: bool) -> WebhookDeliveryMessage:
    return WebhookDeliveryMessage(
        workspace_id=delivery.workspace_id,
        subscription_id=delivery.subscription_id,
        delivery_id=delivery.delivery_id,
        event_type=delivery.event_type,
        attempt=1,
        payload=json.loads(delivery.payload_json),
        occurred_at=datetime.fromisoformat(delivery.occurred_at),
        round=round_,
        manual=manual,
    )


# --- delivery ------------------------------------------------------------------------------------
def deliver(message: WebhookDeliveryMessage) -> None:
    """Make the attempt this message stands for, log it, and schedule what follows."""
    now = clock.now()
    if message.not_before is not None and message.not_before > now:
        _send(message, delay_seconds=retry.sqs_delay(message.not_before, now))  # one more hop
        return
    ws, sub_id, delivery_id = message.workspace_id, message.subscription_id, message.delivery_id
    context = {"workspace_id": ws, "subscription_id": sub_id, "delivery_id": delivery_id}
    destination = _destination(ws, sub_id)
    if destination is None:
        if rules.is_slack_channel(sub_id) and store.get_delivery(ws, sub_id, delivery_id) is not None:
            # Slack was never connected or its secret is gone: the log says so instead of "queued" forever.
            store.set_delivery_status(ws, sub_id, delivery_id, DeliveryStatus.CANCELLED, None)
        logger.info("webhook subscription (or Slack webhook) gone; delivery dropped", extra=context)
        return
    delivery = store.get_delivery(ws, sub_id, delivery_id) or _record_unknown_delivery(message, now)
    if delivery.has_attempted(message.round, message.attempt):
        logger.info("duplicate delivery message skipped", extra={**context, "attempt": message.attempt})
        return
    if delivery.status is DeliveryStatus.SUCCEEDED and not message.manual:
        logger.info("already delivered; automatic retry skipped", extra=context)
        return
    if not destination.enabled:
        store.set_delivery_status(ws, sub_id, delivery_id, DeliveryStatus.CANCELLED, None)
        logger.info("webhook subscription disabled; delivery cancelled", extra=context)
        return

    occurred_at = message.occurred_at or datetime.fromisoformat(delivery.occurred_at)
    if destination.signing:
        body = envelope_bytes(message.event_type, occurred_at, message.payload)
        headers = sign(store.get_signing_secrets(ws, sub_id), delivery_id, now, body, now=now)
        result = post(destination.url, body, headers)
    else:
        # Slack reads its own body and verifies nothing: no envelope, no webhook-* headers.
        body = json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False).encode()
        result = _redacted(post(destination.url, body, {}, label=SLACK_LABEL), destination.url)
    decision = retry.decide(message.attempt, result.status, now, rng, error=result.error, headers=result.headers)
    outcome, status, next_attempt_at = _act_on(decision, message, destination, delivery, occurred_at, now)

    attempt = Attempt(
        round=message.round,
        attempt=message.attempt,
        attempted_at=clock.iso(now),
        outcome=outcome,
        reason=decision.reason,
        status_code=result.status,
        latency_ms=result.latency_ms,
        response_body=result.response_body,
        manual=message.manual,
    )
    store.record_attempt(ws, sub_id, delivery_id, attempt, status, next_attempt_at)
    metrics.add_metric(name=f"WebhookAttempt_{outcome}", unit=MetricUnit.Count, value=1)
    logger.info(
        "webhook attempt",
        extra={
            **context,
            "attempt": message.attempt,
            "round": message.round,
            "outcome": outcome,
            "reason": decision.reason,
            "status_code": result.status,
            "latency_ms": result.latency_ms,
        },
    )


def _redacted(result: SendResult, url: str) -> SendResult:
    """A Slack webhook's URL (its path is the credential) never reaches the delivery log."""
    if result.response_body is None:
        return result
    return SendResult(
        result.status,
        result.headers,
        rules.redact(result.response_body, url),
        result.latency_ms,
        result.error,
    )


def _act_on(
    decision: retry.Decision,
    message: WebhookDeliveryMessage,
    destination: Destination,
    delivery: Delivery,
    occurred_at: datetime,
    now: datetime,
) -> tuple[str, DeliveryStatus, str | None]:
    """Do what the attempt's verdict asks; returns the logged outcome, the delivery status, the next due time."""
    ws, sub_id = destination.workspace_id, destination.subscription_id
    if decision.outcome is Outcome.SUCCESS:
        if destination.failing_since is not None:
            if destination.is_slack:
                channel_store.record_slack_failing(ws, reason="", at_iso=None)
            else:
                store.mark_healthy(ws, sub_id)
        return decision.outcome.value, DeliveryStatus.SUCCEEDED, None
    if decision.outcome is Outcome.DISABLE:
        if destination.is_slack:
            channel_store.record_slack_gone(ws, reason=decision.reason, at_iso=clock.iso(now))
            logger.warning(
                "Slack answered 410 Gone; Slack messages stop until the webhook is set again",
                extra={"workspace_id": ws, "subscription_id": SLACK_LABEL},
            )
        else:
            store.disable_subscription(ws, sub_id, decision.reason)
            logger.warning(
                "receiver answered 410 Gone; subscription disabled",
                extra={"workspace_id": ws, "subscription_id": sub_id},
            )
        return decision.outcome.value, DeliveryStatus.GONE, None
    if message.manual:
        return "failed", DeliveryStatus.FAILED, None  # test events and manual redeliveries get one attempt
    if decision.outcome is Outcome.RETRY and decision.not_before is not None:
        follow_up = message.model_copy(
            update={"attempt": message.attempt + 1, "not_before": decision.not_before, "occurred_at": occurred_at}
        )
        _send(follow_up, delay_seconds=retry.sqs_delay(decision.not_before, now))
        return decision.outcome.value, DeliveryStatus.RETRYING, clock.iso(decision.not_before)
    _exhausted(destination, delivery, message, occurred_at, decision.reason)
    return Outcome.EXHAUSTED.value, DeliveryStatus.EXHAUSTED, None


def _record_unknown_delivery(message: WebhookDeliveryMessage, now: datetime) -> Delivery:
    """A message whose record is missing (e.g. queued by hand): log it under its own id."""
    occurred_at = clock.iso(message.occurred_at or now)
    store.create_delivery(
        message.workspace_id,
        message.subscription_id,
        message.delivery_id,
        message.event_type,
        message.delivery_id,
        occurred_at,
        message.payload,
    )
    delivery = store.get_delivery(message.workspace_id, message.subscription_id, message.delivery_id)
    assert delivery is not None
    return delivery


def _exhausted(
    destination: Destination, delivery: Delivery, message: WebhookDeliveryMessage, occurred_at: datetime, reason: str
) -> None:
    """Park the delivery on the DLQ as a fresh round (a redrive starts the schedule over), mark the
    subscription (or the Slack channel) failing and tell the workspace admins through a domain event."""
    ws, sub_id = destination.workspace_id, destination.subscription_id
    round_ = store.start_round(ws, sub_id, delivery.delivery_id, max_rounds=None)
    parked = message.model_copy(
        update={"round": round_, "attempt": 1, "not_before": None, "manual": False, "occurred_at": occurred_at}
    )
    queues.send_messages(dead_letter_queue_url(get_settings().webhook_queue_url), [parked])
    if destination.is_slack:
        channel_store.record_slack_failing(ws, reason=reason, at_iso=clock.iso(clock.now()))
    else:
        store.mark_failing(ws, sub_id, reason)
    # Imported by a subscription's exhaustion, not by every delivery (the workspace storage brings the role
    # table and the renewal rows: ~8 ms of each webhooks cold start; decision 0027).
    from keepwell.storage import workspaces

    admins = sorted(u.user_id for u in workspaces.list_users(ws) if u.role == "admin" and u.active)
    event_bus.publish(
        [
            event_bus.DomainEvent(
                FAILING_EVENT,
                {
                    "workspace_id": ws,
                    "subscription_id": sub_id,
                    # The Slack webhook's URL is a credential: the event names the channel instead.
                    "url": SLACK_LABEL if destination.is_slack else destination.url,
                    "delivery_id": delivery.delivery_id,
                    "event_type": delivery.event_type,
                    "reason": reason,
                    "attempts": message.attempt,
                    "round": round_,  # with the delivery id: this failure's identity (admins told once)
                    "notify_user_ids": admins,
                },
            )
        ]
    )
    logger.warning(
        "webhook delivery exhausted; moved to the DLQ and subscription marked failing",
        extra={"workspace_id": ws, "subscription_id": sub_id, "delivery_id": delivery.delivery_id, "reason": reason},
    )


def destination_of(record: dict[str, Any]) -> str:
    """Which destination an SQS record delivers to (workspace and subscription), so records of one batch
    to different endpoints run concurrently and those to one endpoint in order; an unreadable record is
    its own group (it fails alone)."""
    try:
        body = json.loads(record.get("body") or "")
        return f"{body['workspace_id']}/{body['subscription_id']}"
    except (ValueError, TypeError, KeyError):
        return f"record/{record.get('messageId')}"


def check_time_left(remaining_ms: int) -> None:
    """Refuse to start an attempt the invocation may not finish; the queue hands the message over again."""
    if remaining_ms < MIN_REMAINING_MS:
        raise NotEnoughTime(f"{remaining_ms} ms left; the delivery is left for a later invocation")


def _send(message: WebhookDeliveryMessage, delay_seconds: int = 0) -> None:
    queues.send_messages(get_settings().webhook_queue_url, [message], delay_seconds=delay_seconds)


@lru_cache(maxsize=4)
def dead_letter_queue_url(queue_url: str) -> str:
    """The DLQ the delivery queue's redrive policy names (template.yaml is the one place that says it)."""
    sqs = client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    account, name = arn.split(":")[4:6]
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


# --- HTTP ----------------------------------------------------------------------------------------
def resolver() -> ssrf.Resolver:
    """The DNS resolver the SSRF guard uses, looked up at each call (tests swap the answers)."""
    return ssrf.default_resolve


def http_client() -> httpx.Client:
    """One client per attempt: never reuse a connection opened for another host on the same IP.
    No proxy from the environment (it could reach internal addresses); redirects are never followed."""
    import httpx  # only a delivery needs it: the API and playbooks import this module (decision 0027)

    return httpx.Client(timeout=httpx.Timeout(ATTEMPT_TIMEOUT_SECONDS), follow_redirects=False, trust_env=False)


def post(url: str, body: bytes, signed_headers: dict[str, str], label: str | None = None) -> SendResult:
    """POST the exact signed bytes to the address the SSRF guard checked, with Host and SNI of the URL's host.
    `label` names the destination in log lines instead of its URL (the Slack webhook's URL is a credential)."""
    import httpx  # see http_client

    try:
        target = ssrf.check_before_send(url, resolver(), allow_loopback_http=get_settings().is_local)
    except ssrf.UnsafeUrl as blocked:
        logger.warning(
            "webhook destination blocked at send time",
            extra={"reason": blocked.reason if label else blocked.message, "destination": label},
        )
        return SendResult(None, {}, blocked.message, None, TransportError.BLOCKED)
    headers = {
        **signed_headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started = time.monotonic()
    try:
        with (
            http_client() as http,
            http.stream("POST", target.connect_url, content=body, headers=headers, extensions=extensions) as response,
        ):
            captured = _read_capped(response, started + ATTEMPT_TIMEOUT_SECONDS)
            return SendResult(
                response.status_code,
                dict(response.headers),
                rules.truncate_response(captured),
                _elapsed_ms(started),
            )
    except httpx.TimeoutException as error:
        return SendResult(None, {}, str(error) or "timed out", _elapsed_ms(started), TransportError.TIMEOUT)
    except httpx.HTTPError as error:
        kind = TransportError.TLS if _is_tls_error(error) else TransportError.CONNECTION
        return SendResult(None, {}, str(error)[: rules.MAX_RESPONSE_CHARS], _elapsed_ms(started), kind)


def _read_capped(response: httpx.Response, deadline: float) -> bytes:
    """At most MAX_RESPONSE_BYTES of the answer, read by `deadline`: a receiver can make us hold neither a
    huge body nor the attempt past its timeout by trickling bytes (httpx's timeout is per read)."""
    captured = bytearray()
    for chunk in response.iter_bytes():
        captured.extend(chunk)
        if len(captured) >= MAX_RESPONSE_BYTES:
            break
        if time.monotonic() > deadline:
            import httpx  # see http_client

            raise httpx.ReadTimeout("the receiver took longer than the attempt's timeout", request=response.request)
    return bytes(captured[:MAX_RESPONSE_BYTES])


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _is_tls_error(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
