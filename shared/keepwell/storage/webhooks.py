"""Outbound webhook subscriptions, their delivery log, and their signing secrets.

* subscription: `WS#w / WEBHOOK#<id>` (listed with the workspace's other configuration, access pattern 3);
* delivery: `WS#w#WEBHOOK#<sub> / DELIVERY#<msg id>` holding the payload and every attempt (pattern 20),
  created with a conditional put so one event is delivered once per subscription; kept 30 days (TTL);
* signing secrets: never in the table; one Secrets Manager secret per subscription,
  `keepwell/<workspace>/webhooks/<subscription>`, holding the active `whsec_` secrets (two during a rotation).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from keepwell import clock
from keepwell.adapters.aws import client
from keepwell.domain.signatures.outbound import SigningSecret
from keepwell.domain.webhooks.subscriptions import Attempt, Delivery, DeliveryStatus, Subscription
from keepwell.errors import Conflict, NotFound
from keepwell.storage import cursors, keys
from keepwell.storage.models import TableItem

SUBSCRIPTION_ENTITY = "webhook_subscription"
DELIVERY_ENTITY = "webhook_delivery"
DELIVERY_LOG_RETENTION = timedelta(days=30)
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _subscription_prefix() -> str:
    return keys.webhook_subscription("_", "").sk  # "WEBHOOK#": the key builder stays the one source


def _delivery_prefix() -> str:
    return keys.webhook_delivery("_", "_", "").sk  # "DELIVERY#"


def secret_name(workspace_id: str, subscription_id: str) -> str:
    """Secrets Manager name of a subscription's signing secrets (beside keys.integration_secret_name)."""
    keys.workspace_partition(workspace_id)  # validates the workspace id
    return f"keepwell/{workspace_id}/webhooks/{subscription_id}"


# --- items ---------------------------------------------------------------------------------------
class WebhookSubscriptionItem(TableItem):
    subscription_id = UnicodeAttribute()
    url = UnicodeAttribute()
    event_types = ListAttribute[str](of=UnicodeAttribute)  # type: ignore[arg-type]
    description = UnicodeAttribute(default="")
    enabled = BooleanAttribute(default=True)
    disabled_reason = UnicodeAttribute(null=True)
    failing_since = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    secret_rotated_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)


class AttemptMap(MapAttribute[str, Any]):
    round = NumberAttribute()
    attempt = NumberAttribute()
    attempted_at = UnicodeAttribute()
    outcome = UnicodeAttribute()
    reason = UnicodeAttribute()
    status_code = NumberAttribute(null=True)
    latency_ms = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    manual = BooleanAttribute(default=False)


class WebhookDeliveryItem(TableItem):
    delivery_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    event_id = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    payload = UnicodeAttribute()  # the `data` of the envelope, as JSON: redeliveries send the same bytes
    status = UnicodeAttribute()
    queued = BooleanAttribute(default=False)
    rounds = NumberAttribute(default=0)
    next_attempt_at = UnicodeAttribute(null=True)
    attempts = ListAttribute[AttemptMap](of=AttemptMap, default=list)
    done = UnicodeSetAttribute(null=True)  # attempt keys already made (duplicate queue messages skip)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


# --- mapping -------------------------------------------------------------------------------------
def _to_subscription(item: WebhookSubscriptionItem) -> Subscription:
    return Subscription(
        workspace_id=item.workspace_id,
        subscription_id=item.subscription_id,
        url=item.url,
        event_types=tuple(item.event_types or ()),
        description=item.description or "",
        enabled=bool(item.enabled),
        created_at=item.created_at,
        created_by=item.created_by,
        updated_at=item.updated_at,
        disabled_reason=item.disabled_reason,
        failing_since=item.failing_since,
        failure_reason=item.failure_reason,
        secret_rotated_at=item.secret_rotated_at,
        version=int(item.version),
    )


def _to_attempt(entry: AttemptMap) -> Attempt:
    return Attempt(
        round=int(entry.round),
        attempt=int(entry.attempt),
        attempted_at=entry.attempted_at,
        outcome=entry.outcome,
        reason=entry.reason,
        status_code=int(entry.status_code) if entry.status_code is not None else None,
        latency_ms=int(entry.latency_ms) if entry.latency_ms is not None else None,
        response_body=entry.response_body,
        manual=bool(entry.manual),
    )


def _to_delivery(item: WebhookDeliveryItem) -> Delivery:
    return Delivery(
        workspace_id=item.workspace_id,
        subscription_id=item.subscription_id,
        delivery_id=item.delivery_id,
        event_type=item.event_type,
        event_id=item.event_id,
        occurred_at=item.occurred_at,
        payload_json=item.payload,
        status=DeliveryStatus(item.status),
        created_at=item.created_at,
        updated_at=item.updated_at,
        queued=bool(item.queued),
        rounds=int(item.rounds or 0),
        next_attempt_at=item.next_attempt_at,
        attempts=tuple(_to_attempt(entry) for entry in item.attempts or ()),
        done=frozenset(item.done or ()),
    )


# --- subscriptions -------------------------------------------------------------------------------
def create_subscription(subscription: Subscription) -> Subscription:
    key = keys.webhook_subscription(subscription.workspace_id, subscription.subscription_id)
    item = WebhookSubscriptionItem(
        key.pk,
        key.sk,
        entity=SUBSCRIPTION_ENTITY,
        workspace_id=subscription.workspace_id,
        subscription_id=subscription.subscription_id,
        url=subscription.url,
        event_types=list(subscription.event_types),
        description=subscription.description,
        enabled=subscription.enabled,
        disabled_reason=subscription.disabled_reason,
        created_at=subscription.created_at,
        created_by=subscription.created_by,
        updated_at=subscription.updated_at,
        secret_rotated_at=subscription.secret_rotated_at,
        version=1,
    )
    try:
        item.save(condition=WebhookSubscriptionItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == _CONDITION_FAILED:
            raise Conflict(f"Webhook subscription {subscription.subscription_id} already exists") from error
        raise
    return _to_subscription(item)


def get_subscription(workspace_id: str, subscription_id: str) -> Subscription | None:
    key = keys.webhook_subscription(workspace_id, subscription_id)
    try:
        return _to_subscription(WebhookSubscriptionItem.get(key.pk, key.sk))
    except DoesNotExist:
        return None


def list_subscriptions(workspace_id: str) -> list[Subscription]:
    pk = keys.workspace_partition(workspace_id)
    condition = WebhookSubscriptionItem.sk.startswith(_subscription_prefix())
    return [_to_subscription(item) for item in WebhookSubscriptionItem.query(pk, condition)]


def _update_subscription(
    workspace_id: str, subscription_id: str, actions: list[Action], expected_version: int | None = None
) -> Subscription:
    key = keys.webhook_subscription(workspace_id, subscription_id)
    item = WebhookSubscriptionItem(key.pk, key.sk)
    condition = WebhookSubscriptionItem.pk.exists()
    if expected_version is not None:
        condition &= WebhookSubscriptionItem.version == expected_version
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code == _CONDITION_FAILED:
            if expected_version is not None and get_subscription(workspace_id, subscription_id) is not None:
                raise Conflict("The webhook subscription changed meanwhile; read it again and retry") from error
            raise NotFound(f"No webhook subscription {subscription_id}") from error
        raise
    return _to_subscription(item)


def save_subscription_changes(subscription: Subscription, expected_version: int) -> Subscription:
    """Write the editable fields of `subscription` if nobody changed it since `expected_version`."""
    attr = WebhookSubscriptionItem
    actions: list[Action] = [
        attr.url.set(subscription.url),
        attr.event_types.set(list(subscription.event_types)),
        attr.description.set(subscription.description),
        attr.enabled.set(subscription.enabled),
        attr.updated_at.set(subscription.updated_at),
        attr.version.add(1),
    ]
    for name, value in (
        ("disabled_reason", subscription.disabled_reason),
        ("failing_since", subscription.failing_since),
        ("failure_reason", subscription.failure_reason),
    ):
        attribute = getattr(attr, name)
        actions.append(attribute.set(value) if value is not None else attribute.remove())
    return _update_subscription(subscription.workspace_id, subscription.subscription_id, actions, expected_version)


def disable_subscription(workspace_id: str, subscription_id: str, reason: str) -> Subscription:
    attr = WebhookSubscriptionItem
    return _update_subscription(
        workspace_id,
        subscription_id,
        [
            attr.enabled.set(False),
            attr.disabled_reason.set(reason),
            attr.updated_at.set(clock.iso(clock.now())),
            attr.version.add(1),
        ],
    )


def mark_failing(workspace_id: str, subscription_id: str, reason: str) -> Subscription:
    """Record that a delivery exhausted its retries; keeps the first `failing_since` of a failing streak."""
    attr = WebhookSubscriptionItem
    now = clock.iso(clock.now())
    return _update_subscription(
        workspace_id,
        subscription_id,
        [
            attr.failing_since.set(attr.failing_since | now),
            attr.failure_reason.set(reason),
            attr.updated_at.set(now),
            attr.version.add(1),
        ],
    )


def mark_healthy(workspace_id: str, subscription_id: str) -> Subscription:
    attr = WebhookSubscriptionItem
    return _update_subscription(
        workspace_id,
        subscription_id,
        [attr.failing_since.remove(), attr.failure_reason.remove(), attr.version.add(1)],
    )


def set_secret_rotated_at(workspace_id: str, subscription_id: str, rotated_at: str) -> Subscription:
    attr = WebhookSubscriptionItem
    return _update_subscription(
        workspace_id,
        subscription_id,
        [attr.secret_rotated_at.set(rotated_at), attr.updated_at.set(rotated_at), attr.version.add(1)],
    )


def delete_subscription(workspace_id: str, subscription_id: str) -> None:
    key = keys.webhook_subscription(workspace_id, subscription_id)
    try:
        WebhookSubscriptionItem(key.pk, key.sk).delete(condition=WebhookSubscriptionItem.pk.exists())
    except DeleteError as error:
        if error.cause_response_code == _CONDITION_FAILED:
            raise NotFound(f"No webhook subscription {subscription_id}") from error
        raise


# --- deliveries ----------------------------------------------------------------------------------
def _expires_at(created: datetime) -> datetime:
    return created + DELIVERY_LOG_RETENTION


def create_delivery(
    workspace_id: str,
    subscription_id: str,
    delivery_id: str,
    event_type: str,
    event_id: str,
    occurred_at: str,
    payload: Any,
) -> Delivery | None:
    """Create the delivery record; None if it already exists (the event was already fanned out)."""
    key = keys.webhook_delivery(workspace_id, subscription_id, delivery_id)
    now = clock.now()
    item = WebhookDeliveryItem(
        key.pk,
        key.sk,
        entity=DELIVERY_ENTITY,
        workspace_id=workspace_id,
        subscription_id=subscription_id,
        delivery_id=delivery_id,
        event_type=event_type,
        event_id=event_id,
        occurred_at=occurred_at,
        payload=json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False),
        status=DeliveryStatus.QUEUED.value,
        queued=False,
        rounds=0,
        attempts=[],
        created_at=clock.iso(now),
        updated_at=clock.iso(now),
        expires_at=_expires_at(now),
    )
    try:
        item.save(condition=WebhookDeliveryItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == _CONDITION_FAILED:
            return None
        raise
    return _to_delivery(item)


def get_delivery(workspace_id: str, subscription_id: str, delivery_id: str) -> Delivery | None:
    key = keys.webhook_delivery(workspace_id, subscription_id, delivery_id)
    try:
        return _to_delivery(WebhookDeliveryItem.get(key.pk, key.sk))
    except DoesNotExist:
        return None


def mark_queued(workspace_id: str, subscription_id: str, delivery_id: str) -> None:
    key = keys.webhook_delivery(workspace_id, subscription_id, delivery_id)
    WebhookDeliveryItem(key.pk, key.sk).update(actions=[WebhookDeliveryItem.queued.set(True)])


def start_round(workspace_id: str, subscription_id: str, delivery_id: str, max_rounds: int | None) -> int:
    """Reserve the next round number (manual redelivery, DLQ redrive) atomically; NotFound/Conflict otherwise."""
    key = keys.webhook_delivery(workspace_id, subscription_id, delivery_id)
    item = WebhookDeliveryItem(key.pk, key.sk)
    condition = WebhookDeliveryItem.pk.exists()
    if max_rounds is not None:
        condition &= WebhookDeliveryItem.rounds < max_rounds
    try:
        item.update(
            actions=[WebhookDeliveryItem.rounds.add(1), WebhookDeliveryItem.updated_at.set(clock.iso(clock.now()))],
            condition=condition,
        )
    except UpdateError as error:
        if error.cause_response_code == _CONDITION_FAILED:
            if get_delivery(workspace_id, subscription_id, delivery_id) is None:
                raise NotFound(f"No delivery {delivery_id}") from error
            raise Conflict(f"Delivery {delivery_id} was redelivered {max_rounds} times already") from error
        raise
    return int(item.rounds)


def set_delivery_status(
    workspace_id: str, subscription_id: str, delivery_id: str, status: DeliveryStatus, next_attempt_at: str | None
) -> None:
    key = keys.webhook_delivery(workspace_id, subscription_id, delivery_id)
    attr = WebhookDeliveryItem
    actions: list[Action] = [attr.status.set(status.value), attr.updated_at.set(clock.iso(clock.now()))]
    actions.append(attr.next_attempt_at.set(next_attempt_at) if next_attempt_at else attr.next_attempt_at.remove())
    WebhookDeliveryItem(key.pk, key.sk).update(actions=actions)


def record_attempt(
    workspace_id: str,
    subscription_id: str,
    delivery_id: str,
    attempt: Attempt,
    status: DeliveryStatus,
    next_attempt_at: str | None,
) -> None:
    """Append one attempt to the log and set the delivery's status in the same write, once: a write
    whose answer was lost and is sent again (SDK retry) finds the attempt's key in `done` and adds
    nothing, so the log never shows an attempt twice."""
    key = keys.webhook_delivery(workspace_id, subscription_id, delivery_id)
    attr = WebhookDeliveryItem
    entry = AttemptMap(**dataclasses.asdict(attempt))  # the map's attributes are the domain's fields
    actions: list[Action] = [
        attr.attempts.set(attr.attempts.append([entry])),
        attr.done.add({attempt.key}),
        attr.status.set(status.value),
        attr.updated_at.set(clock.iso(clock.now())),
        attr.next_attempt_at.set(next_attempt_at) if next_attempt_at else attr.next_attempt_at.remove(),
    ]
    try:
        WebhookDeliveryItem(key.pk, key.sk).update(actions=actions, condition=~attr.done.contains(attempt.key))
    except UpdateError as error:
        if error.cause_response_code != _CONDITION_FAILED:
            raise


def list_deliveries(
    workspace_id: str, subscription_id: str, limit: int, cursor: str | None
) -> tuple[list[Delivery], str | None]:
    """A subscription's deliveries, newest first (ids are time-ordered), and the next page's cursor."""
    pk = keys.webhook_delivery(workspace_id, subscription_id, "").pk
    prefix = _delivery_prefix()
    start = cursors.decode(cursor, expected={"pk": pk}, prefixes={"sk": prefix})
    results = WebhookDeliveryItem.query(
        pk,
        WebhookDeliveryItem.sk.startswith(prefix),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start,
    )
    items = [_to_delivery(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return items, cursors.encode(next_key)


# --- signing secrets (Secrets Manager) -----------------------------------------------------------
def _secret_string(secrets: Sequence[SigningSecret]) -> str:
    return json.dumps(
        {"secrets": [{"value": s.value, "not_after": clock.iso(s.not_after) if s.not_after else None} for s in secrets]}
    )


def _parse_secrets(text: str) -> list[SigningSecret]:
    data = json.loads(text)
    return [
        SigningSecret(entry["value"], datetime.fromisoformat(entry["not_after"]) if entry.get("not_after") else None)
        for entry in data["secrets"]
    ]


def create_signing_secrets(workspace_id: str, subscription_id: str, secrets: Sequence[SigningSecret]) -> None:
    client("secretsmanager").create_secret(
        Name=secret_name(workspace_id, subscription_id),
        Description=f"Keepwell webhook signing secrets of subscription {subscription_id}",
        SecretString=_secret_string(secrets),
    )


def get_signing_secrets(workspace_id: str, subscription_id: str) -> list[SigningSecret]:
    response = client("secretsmanager").get_secret_value(SecretId=secret_name(workspace_id, subscription_id))
    return _parse_secrets(response["SecretString"])


def put_signing_secrets(workspace_id: str, subscription_id: str, secrets: Sequence[SigningSecret]) -> None:
    client("secretsmanager").put_secret_value(
        SecretId=secret_name(workspace_id, subscription_id), SecretString=_secret_string(secrets)
    )


def delete_signing_secrets(workspace_id: str, subscription_id: str) -> None:
    """Scheduled for deletion after Secrets Manager's 7-day recovery window (undo of a mistaken delete)."""
    sm = client("secretsmanager")
    try:
        sm.delete_secret(SecretId=secret_name(workspace_id, subscription_id), RecoveryWindowInDays=7)
    except sm.exceptions.ResourceNotFoundException:
        return
