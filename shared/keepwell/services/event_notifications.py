"""Domain events that name people to tell (`notify_user_ids`) reach them, exactly once.

Consumed by the playbooks function (services/playbook_runs.on_domain_event), next to the health alerts
(services/alert_notifications.py), from the bus rule in template.yaml:

| event | who | in app | Slack (when connected) |
| --- | --- | --- | --- |
| `renewal.forecast_changed` into the at-risk category | the directors it names | yes | yes, one message |
| `renewal.sales_handoff` | the account executive it names | yes | yes, one message |
| `webhook.subscription_failing` | the admins it names | yes | no (the failing channel may be Slack itself) |

Exactly once: each notification's id is derived from the event's identity (the renewal and its version,
or the subscription, delivery and round) and the user, and its time is the change's own time, so a
redelivered event writes nothing new (`put_notification` is a conditional put on that key); the Slack
message's delivery id is derived from the same identity (`queue_slack_message` queues it once). Users
that are no longer active are skipped. Email is kept for health alerts (docs/webhooks.md, "Notifying").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keepwell import clock
from keepwell.domain.playbooks import slack_escape
from keepwell.observability import logger
from keepwell.schemas.messages import DomainEventIn
from keepwell.services import webhook_deliveries
from keepwell.storage import customers as customer_store
from keepwell.storage import notifications as store
from keepwell.storage import workspaces

AT_RISK = "renewal.forecast_changed"
SALES_HANDOFF = "renewal.sales_handoff"
SUBSCRIPTION_FAILING = "webhook.subscription_failing"
EVENTS = frozenset({AT_RISK, SALES_HANDOFF, SUBSCRIPTION_FAILING})


@dataclass(frozen=True)
class Notice:
    identity: str  # what makes this notice one: the same on every delivery of the event
    kind: str
    title: str
    body: str
    customer_id: str | None
    at: str  # the change's time: the notifications' time (and so their key)
    slack: bool


def notification_id(identity: str, user_id: str) -> str:
    digest = hashlib.sha256("\x1f".join((identity, user_id)).encode()).hexdigest()
    return f"ntf_{digest[:24]}"


def on_domain_event(event: DomainEventIn) -> int:
    """Deliver the notice an event carries; returns the in-app notifications written by this call."""
    if event.detail_type not in EVENTS:
        return 0
    extra: dict[str, Any] = dict(event.detail.model_extra or {})
    users = [u for u in extra.get("notify_user_ids") or [] if isinstance(u, str)]
    notice = _notice(event, extra)
    if notice is None or not users:
        return 0
    workspace_id = event.detail.workspace_id
    active = {u.user_id for u in workspaces.list_users(workspace_id) if u.active}
    written = 0
    for user_id in dict.fromkeys(users):
        if user_id not in active:
            continue
        written += store.put_notification(
            workspace_id,
            store.Notification(
                notification_id=notification_id(notice.identity, user_id),
                user_id=user_id,
                title=notice.title[:300],
                body=notice.body,
                customer_id=notice.customer_id,
                playbook_id=None,
                run_id=None,
                created_at=notice.at,
                kind=notice.kind,
            ),
        )
    if notice.slack and webhook_deliveries.slack_connected(workspace_id):
        message = {
            "text": notice.title[:3000],
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(notice.title)[:3000]}}],
        }
        webhook_deliveries.queue_slack_message(
            workspace_id, f"notice:{notice.identity}", datetime.fromisoformat(notice.at), message
        )
    logger.info(
        "event notice delivered",
        extra={"workspace_id": workspace_id, "detail_type": event.detail_type, "notified": written},
    )
    return written


def _notice(event: DomainEventIn, extra: dict[str, Any]) -> Notice | None:
    detail = event.detail
    at = str(extra.get("changed_at") or clock.iso(event.time))
    customer_name = _customer_name(detail.workspace_id, detail.customer_id)
    renewal_id, version = extra.get("renewal_id"), extra.get("version")
    if event.detail_type == AT_RISK:
        if not extra.get("at_risk"):
            return None  # only a move into the at-risk category names anyone to tell
        return Notice(
            identity=f"{AT_RISK}:{renewal_id}:{version or at}",
            kind="renewal_at_risk",
            title=f"{customer_name}: renewal marked at risk",
            body=f"Forecast moved from {extra.get('before')} to {extra.get('after')}: {extra.get('reason') or ''}",
            customer_id=detail.customer_id,
            at=at,
            slack=True,
        )
    if event.detail_type == SALES_HANDOFF:
        return Notice(
            identity=f"{SALES_HANDOFF}:{renewal_id}:{version or at}",
            kind="sales_handoff",
            title=f"{customer_name}: renewal handed to you (sales hand-off)",
            body="You were added as co-owner of the account for its renewal.",
            customer_id=detail.customer_id,
            at=at,
            slack=True,
        )
    subscription = extra.get("subscription_id")
    return Notice(
        identity=f"{SUBSCRIPTION_FAILING}:{subscription}:{extra.get('delivery_id')}:{extra.get('round', 0)}",
        kind="webhook_failing",
        title=f"Webhook {extra.get('url') or subscription} is failing",
        body=(
            f"A {extra.get('event_type')} delivery failed {extra.get('attempts')} times ({extra.get('reason')}); "
            "it is parked on the delivery DLQ. Check the receiver, then redeliver from the delivery log."
        ),
        customer_id=None,
        at=clock.iso(event.time),
        slack=False,
    )


def _customer_name(workspace_id: str, customer_id: str | None) -> str:
    if customer_id is None:
        return "A customer"
    customer = customer_store.get_customer(workspace_id, customer_id)
    return customer.name if customer is not None else customer_id
