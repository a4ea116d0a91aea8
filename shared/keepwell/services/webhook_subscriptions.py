"""Manage outbound webhook subscriptions (admins): URL checked by the SSRF guard, signing secrets in
Secrets Manager (shown once), rotation with an overlap, test events, the delivery log and redelivery."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

from keepwell import clock, ids
from keepwell.auth import Caller
from keepwell.domain.signatures.outbound import DEFAULT_OVERLAP, SigningSecret, generate_secret, rotate
from keepwell.domain.webhooks import ssrf
from keepwell.domain.webhooks.subscriptions import EVENT_TYPES, MAX_SUBSCRIPTIONS_PER_WORKSPACE, Delivery, Subscription
from keepwell.errors import Conflict, NotFound
from keepwell.ids import ENTITY_ID
from keepwell.schemas.webhooks import (
    WebhookDeliveryListQuery,
    WebhookEventTypeListOut,
    WebhookEventTypeOut,
    WebhookSubscriptionIn,
    WebhookSubscriptionPatchIn,
)
from keepwell.services import webhook_deliveries
from keepwell.settings import get_settings
from keepwell.storage import audit as audit_store
from keepwell.storage import webhooks as store

ADMIN_DISABLED = "disabled_by_admin"
SECRET_OVERLAP = DEFAULT_OVERLAP  # 24 h: the old secret keeps signing beside the new one


def _checked_url(url: str) -> str:
    return ssrf.validate_subscription_url(
        url, webhook_deliveries.resolver(), allow_loopback_http=get_settings().is_local
    )


def _get(caller: Caller, subscription_id: str) -> Subscription:
    subscription = None
    if re.fullmatch(ENTITY_ID, subscription_id):
        subscription = store.get_subscription(caller.workspace_id, subscription_id)
    if subscription is None:
        raise NotFound(
            f"No webhook subscription {subscription_id}", [{"field": "subscription_id", "issue": "not found"}]
        )
    return subscription


def _audited(subscription: Subscription) -> dict[str, object]:
    """What the audit keeps of a subscription: never a secret (rotation is a marker)."""
    return {
        "url": subscription.url,
        "event_types": list(subscription.event_types),
        "description": subscription.description,
        "enabled": subscription.enabled,
    }


def _record(caller: Caller, action: str, subscription_id: str, before: object, after: object) -> None:
    audit_store.record_audit(caller.workspace_id, caller.user_id, action, f"webhook:{subscription_id}", before, after)


def _require_enabled(subscription: Subscription) -> None:
    if not subscription.enabled:
        raise Conflict(
            f"Webhook subscription {subscription.subscription_id} is disabled; enable it first",
            code="subscription_disabled",
        )


def create_subscription(caller: Caller, body: WebhookSubscriptionIn) -> tuple[Subscription, str]:
    """The new subscription and its `whsec_` secret, which is shown this once."""
    url = _checked_url(body.url)
    if len(store.list_subscriptions(caller.workspace_id)) >= MAX_SUBSCRIPTIONS_PER_WORKSPACE:
        raise Conflict(f"A workspace can have at most {MAX_SUBSCRIPTIONS_PER_WORKSPACE} webhook subscriptions")
    now = clock.iso(clock.now())
    subscription = Subscription(
        workspace_id=caller.workspace_id,
        subscription_id=ids.new_id("whs"),
        url=url,
        event_types=tuple(body.event_types),
        description=body.description,
        enabled=body.enabled,
        created_at=now,
        created_by=caller.user_id,
        updated_at=now,
        disabled_reason=None if body.enabled else ADMIN_DISABLED,
        secret_rotated_at=now,
    )
    secret = generate_secret()
    store.create_signing_secrets(caller.workspace_id, subscription.subscription_id, [SigningSecret(secret)])
    try:
        created = store.create_subscription(subscription)
    except Exception:
        store.delete_signing_secrets(caller.workspace_id, subscription.subscription_id)
        raise
    _record(caller, "webhook.created", created.subscription_id, None, {**_audited(created), "secret_state": "set"})
    return created, secret


def list_subscriptions(caller: Caller) -> list[Subscription]:
    return sorted(store.list_subscriptions(caller.workspace_id), key=lambda s: (s.created_at, s.subscription_id))


def get_subscription(caller: Caller, subscription_id: str) -> Subscription:
    return _get(caller, subscription_id)


def update_subscription(caller: Caller, subscription_id: str, patch: WebhookSubscriptionPatchIn) -> Subscription:
    current = _get(caller, subscription_id)
    changes: dict[str, object] = {"updated_at": clock.iso(clock.now())}
    if patch.url is not None:
        changes["url"] = _checked_url(patch.url)
    if patch.event_types is not None:
        changes["event_types"] = tuple(patch.event_types)
    if patch.description is not None:
        changes["description"] = patch.description
    if patch.enabled is True and not current.enabled:
        # Re-enabling starts afresh: whatever disabled it (an admin, a 410) or marked it failing is cleared.
        changes.update(enabled=True, disabled_reason=None, failing_since=None, failure_reason=None)
    elif patch.enabled is False and current.enabled:
        changes.update(enabled=False, disabled_reason=ADMIN_DISABLED)
    updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    saved = store.save_subscription_changes(updated, current.version)
    old, new = _audited(current), _audited(saved)
    changed = sorted(k for k in old if old[k] != new[k])
    if changed:
        _record(
            caller,
            "webhook.updated",
            subscription_id,
            {k: old[k] for k in changed},
            {k: new[k] for k in changed},
        )
    return saved


def delete_subscription(caller: Caller, subscription_id: str) -> None:
    """Deletes the subscription and schedules its secret's deletion; queued deliveries are then dropped."""
    current = _get(caller, subscription_id)
    store.delete_subscription(caller.workspace_id, subscription_id)
    store.delete_signing_secrets(caller.workspace_id, subscription_id)
    _record(caller, "webhook.deleted", subscription_id, _audited(current), None)


def rotate_secret(caller: Caller, subscription_id: str) -> tuple[str, datetime | None]:
    """A new secret (returned, shown once); the active old one keeps signing until the returned time."""
    subscription = _get(caller, subscription_id)
    now = clock.now()
    new_secret = generate_secret()
    current = store.get_signing_secrets(caller.workspace_id, subscription.subscription_id)
    rotated = rotate(current, new_secret, now, SECRET_OVERLAP)
    store.put_signing_secrets(caller.workspace_id, subscription.subscription_id, rotated)
    store.set_secret_rotated_at(caller.workspace_id, subscription.subscription_id, clock.iso(now))
    previous_ends = [key.not_after for key in rotated if key.not_after is not None]
    previous_until = max(previous_ends) if previous_ends else None
    _record(
        caller,
        "webhook.secret_rotated",
        subscription_id,
        {"secret_rotated_at": subscription.secret_rotated_at},
        {
            "secret_state": "rotated",
            "secret_rotated_at": clock.iso(now),
            "previous_secret_valid_until": clock.iso(previous_until) if previous_until else None,
        },
    )
    return new_secret, previous_until


def send_test_event(caller: Caller, subscription_id: str) -> Delivery:
    subscription = _get(caller, subscription_id)
    _require_enabled(subscription)
    return webhook_deliveries.queue_test_event(subscription)


def list_deliveries(
    caller: Caller, subscription_id: str, query: WebhookDeliveryListQuery
) -> tuple[list[Delivery], str | None]:
    _get(caller, subscription_id)
    return store.list_deliveries(caller.workspace_id, subscription_id, query.limit, query.cursor)


def redeliver(caller: Caller, subscription_id: str, delivery_id: str) -> tuple[Delivery, int]:
    """Queue one more attempt of a logged delivery; returns it and the round the attempt is logged under."""
    subscription = _get(caller, subscription_id)
    delivery = None
    if re.fullmatch(ENTITY_ID, delivery_id):
        delivery = store.get_delivery(caller.workspace_id, subscription_id, delivery_id)
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}", [{"field": "delivery_id", "issue": "not found"}])
    _require_enabled(subscription)
    return delivery, webhook_deliveries.queue_redelivery(subscription, delivery)


def event_types() -> WebhookEventTypeListOut:
    """The event catalogue, in its documented order (the same for every workspace)."""
    return WebhookEventTypeListOut(items=[WebhookEventTypeOut(name=n, description=d) for n, d in EVENT_TYPES.items()])
