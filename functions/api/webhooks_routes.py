"""Admin routes for outbound webhook subscriptions, their secrets and their delivery log (/v1/webhooks)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell import clock
from keepwell.http import current_caller, json_response, parse_body, parse_query, route
from keepwell.permissions import Permission
from keepwell.schemas.webhooks import (
    WebhookDeliveryListOut,
    WebhookDeliveryListQuery,
    WebhookDeliveryOut,
    WebhookDeliveryQueuedOut,
    WebhookSecretRotatedOut,
    WebhookSubscriptionCreatedOut,
    WebhookSubscriptionIn,
    WebhookSubscriptionListOut,
    WebhookSubscriptionOut,
    WebhookSubscriptionPatchIn,
)
from keepwell.services import webhook_subscriptions as subscriptions

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/webhook-event-types", methods=["GET"], permission=Permission("webhooks", "read"))
def list_webhook_event_types() -> Response:
    return json_response(subscriptions.event_types())


@route(blueprint, "/v1/webhooks", methods=["GET"], permission=Permission("webhooks", "read"))
def list_webhooks() -> Response:
    caller = current_caller(blueprint)
    items = subscriptions.list_subscriptions(caller)
    return json_response(WebhookSubscriptionListOut(items=[WebhookSubscriptionOut.of(s) for s in items]))


@route(blueprint, "/v1/webhooks", methods=["POST"], permission=Permission("webhooks", "configure"))
def create_webhook() -> Response:
    caller = current_caller(blueprint)
    subscription, secret = subscriptions.create_subscription(caller, parse_body(blueprint, WebhookSubscriptionIn))
    return json_response(WebhookSubscriptionCreatedOut.with_secret(subscription, secret), status=201)


@route(blueprint, "/v1/webhooks/{subscription_id}", methods=["GET"], permission=Permission("webhooks", "read"))
def get_webhook(subscription_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(WebhookSubscriptionOut.of(subscriptions.get_subscription(caller, subscription_id)))


@route(blueprint, "/v1/webhooks/{subscription_id}", methods=["PATCH"], permission=Permission("webhooks", "configure"))
def update_webhook(subscription_id: str) -> Response:
    caller = current_caller(blueprint)
    patch = parse_body(blueprint, WebhookSubscriptionPatchIn)
    return json_response(WebhookSubscriptionOut.of(subscriptions.update_subscription(caller, subscription_id, patch)))


@route(blueprint, "/v1/webhooks/{subscription_id}", methods=["DELETE"], permission=Permission("webhooks", "configure"))
def delete_webhook(subscription_id: str) -> Response:
    caller = current_caller(blueprint)
    subscriptions.delete_subscription(caller, subscription_id)
    return Response(body="", status_code=204)


@route(
    blueprint,
    "/v1/webhooks/{subscription_id}/rotate-secret",
    methods=["POST"],
    permission=Permission("webhooks", "configure"),
)
def rotate_webhook_secret(subscription_id: str) -> Response:
    caller = current_caller(blueprint)
    secret, previous_ends = subscriptions.rotate_secret(caller, subscription_id)
    return json_response(
        WebhookSecretRotatedOut(
            subscription_id=subscription_id,
            secret=secret,
            previous_secret_expires_at=clock.iso(previous_ends) if previous_ends else None,
        )
    )


@route(
    blueprint,
    "/v1/webhooks/{subscription_id}/test",
    methods=["POST"],
    permission=Permission("webhooks", "configure"),
)
def send_test_webhook(subscription_id: str) -> Response:
    caller = current_caller(blueprint)
    delivery = subscriptions.send_test_event(caller, subscription_id)
    queued = WebhookDeliveryQueuedOut(
        delivery_id=delivery.delivery_id, subscription_id=subscription_id, event_type=delivery.event_type, round=0
    )
    return json_response(queued, status=202)


@route(
    blueprint,
    "/v1/webhooks/{subscription_id}/deliveries",
    methods=["GET"],
    permission=Permission("webhooks", "read"),
)
def list_webhook_deliveries(subscription_id: str) -> Response:
    caller = current_caller(blueprint)
    query = parse_query(blueprint, WebhookDeliveryListQuery)
    items, next_cursor = subscriptions.list_deliveries(caller, subscription_id, query)
    return json_response(
        WebhookDeliveryListOut(items=[WebhookDeliveryOut.of(d) for d in items], next_cursor=next_cursor)
    )


@route(
    blueprint,
    "/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    methods=["POST"],
    permission=Permission("webhooks", "configure"),
)
def redeliver_webhook(subscription_id: str, delivery_id: str) -> Response:
    caller = current_caller(blueprint)
    delivery, round_ = subscriptions.redeliver(caller, subscription_id, delivery_id)
    queued = WebhookDeliveryQueuedOut(
        delivery_id=delivery.delivery_id, subscription_id=subscription_id, event_type=delivery.event_type, round=round_
    )
    return json_response(queued, status=202)
