"""Outbound webhooks: fan domain events out to subscriptions and deliver them signed."""

from __future__ import annotations

from keepwell.observability import logger
from keepwell.schemas.messages import DomainEventIn, WebhookDeliveryMessage


def enqueue_deliveries_for_event(event: DomainEventIn) -> None:
    """Queue one WebhookDeliveryMessage per active subscription of the workspace to this event type.

    To do: read the workspace's subscriptions by key, build the payload once, and send the
    deliveries (delivery id derived from event id + subscription, so a redelivered event dedupes).
    """
    logger.info(
        "not implemented yet",
        extra={
            "use_case": "webhook fan-out",
            "detail_type": event.detail_type,
            "workspace_id": event.detail.workspace_id,
        },
    )


def deliver(message: WebhookDeliveryMessage) -> None:
    """POST the payload signed per Standard Webhooks (webhook-id/-timestamp/-signature) with httpx.

    To do: load the subscription's secret, sign and send with a short timeout, record the attempt;
    a 5xx/timeout raises so SQS retries with backoff, a 4xx is recorded as failed without retry.
    """
    logger.info(
        "not implemented yet",
        extra={"use_case": "webhook delivery", "delivery_id": message.delivery_id, "attempt": message.attempt},
    )
