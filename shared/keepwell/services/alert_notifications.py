"""Health alerts reach the customer's owners: an in-app notification, an email through SES, and a Slack
message when the workspace connected Slack — once per alert, however often the event arrives.

The scorer raises an alert once per episode (sharp drop, band crossing, misalignment; domain.health.alerts)
and publishes `health.alert`. Here the alert's identity — customer, alert key (kind, and for a band crossing
the band entered) and scored day — names an alert notice created with a conditional put; the notice fixes
the recipients and the time every retry reuses. Then each channel is exactly once on its own terms:

* in app: one notification per recipient, its id derived from the alert and its sort key from the notice's
  time, written with `attribute_not_exists` (a retry rewrites nothing);
* email: the channel is claimed on the notice before SES is called; SES certainly not taking it gives the
  claim back and raises (the event is retried), SES maybe having taken it is recorded as failed and never
  repeated;
* Slack: a delivery on the webhook delivery queue whose id is derived from the alert (the delivery
  machinery retries, logs and refuses the duplicate; services/webhook_deliveries.py).

Who: the owner and every active co-owner get the in-app notification (they share the account); only the
owner gets the email (one inbox per alert; co-owners have the notification); Slack gets one message per
alert for the workspace. A customer without an owner still gets its Slack message.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from keepwell import clock
from keepwell.adapters import email as email_adapter
from keepwell.domain.customers import Customer
from keepwell.domain.playbooks import slack_escape
from keepwell.observability import logger, metrics
from keepwell.schemas.messages import DomainEventIn
from keepwell.services import webhook_deliveries
from keepwell.storage import customers as customer_store
from keepwell.storage import notifications as store
from keepwell.storage import workspaces

ALERT_EVENT = "health.alert"
NOTIFICATION_KIND = "health_alert"
SLACK = "slack"


class AlertEmailNotSent(Exception):
    """SES certainly did not take the alert's email: the event is retried (every channel is idempotent)."""


def alert_key(kind: str, details: dict[str, Any]) -> str:
    """An alert's identity within a day, as the scorer keys it: a band crossing is one per band entered."""
    if kind == "band_crossing" and details.get("to"):
        return f"band_crossing:{details['to']}"
    return kind


def alert_id(workspace_id: str, customer_id: str, key: str, scored_day: str) -> str:
    digest = hashlib.sha256("\x1f".join((workspace_id, customer_id, key, scored_day)).encode()).hexdigest()
    return f"alr_{digest[:24]}"


def notification_id(alert: str, user_id: str) -> str:
    digest = hashlib.sha256("\x1f".join((alert, user_id)).encode()).hexdigest()
    return f"ntf_{digest[:24]}"


def _scored_day(extra: dict[str, Any], fallback: datetime) -> str:
    value = extra.get("scored_day")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            pass
    return fallback.date().isoformat()


def recipients_of(customer: Customer) -> list[str]:
    """The owner first, then the co-owners; inactive or unknown users are left out."""
    active = {u.user_id for u in workspaces.list_users(customer.workspace_id) if u.active}
    wanted = [customer.owner_id, *customer.co_owner_ids] if customer.owner_id else list(customer.co_owner_ids)
    seen: list[str] = []
    for user_id in wanted:
        if user_id and user_id in active and user_id not in seen:
            seen.append(user_id)
    return seen


def notify_alert(event: DomainEventIn) -> None:
    """Deliver one `health.alert` to the customer's owners (in app, email) and Slack, exactly once."""
    detail = event.detail
    extra: dict[str, Any] = dict(detail.model_extra or {})
    workspace_id, customer_id = detail.workspace_id, detail.customer_id
    kind = str(extra.get("alert_kind") or extra.get("kind") or "")
    context = {"workspace_id": workspace_id, "customer_id": customer_id, "alert_kind": kind}
    if customer_id is None or not kind:
        logger.info("health alert names no customer or kind; nobody notified", extra=context)
        return
    customer = customer_store.get_customer(workspace_id, customer_id)
    if customer is None or customer.archived:
        logger.info("health alert for no active customer; nobody notified", extra=context)
        return
    details = extra.get("details") if isinstance(extra.get("details"), dict) else {}
    key = alert_key(kind, details or {})
    scored_day = _scored_day(extra, event.time)
    alert = alert_id(workspace_id, customer_id, key, scored_day)
    notice = store.create_alert_notice(workspace_id, customer_id, alert, key, kind, scored_day, recipients_of(customer))
    message = str(extra.get("message") or kind.replace("_", " "))
    facts = _facts(customer, extra)

    for user_id in notice.recipients:
        store.put_notification(
            workspace_id,
            store.Notification(
                notification_id=notification_id(alert, user_id),
                user_id=user_id,
                title=f"{customer.name}: {message}"[:300],
                body=" · ".join(facts),
                customer_id=customer_id,
                playbook_id=None,
                run_id=None,
                created_at=notice.created_at,
                kind=NOTIFICATION_KIND,
            ),
        )
    _post_to_slack(notice, key, customer, message, str(extra.get("severity") or ""), facts)
    if customer.owner_id and customer.owner_id in notice.recipients:
        _email_owner(notice, key, customer.owner_id, customer, message, facts)
    metrics.add_metric(name="HealthAlertsDelivered", unit=MetricUnit.Count, value=1)
    logger.info("health alert delivered", extra={**context, "alert_id": alert, "recipients": list(notice.recipients)})


def _facts(customer: Customer, extra: dict[str, Any]) -> list[str]:
    """What the notification, email and Slack message say besides the alert: its score and band, else
    (a success-plan signal raised before the customer's first score was stored) the profile's as read
    now; no health fact at all rather than "Health — (no band)"."""
    score, band = extra.get("score"), extra.get("band")
    if score is None:
        score, band = customer.health_score, customer.health_band
    facts = [f"Health {score} ({band or 'no band'})"] if score is not None else []
    previous = extra.get("previous_score")
    if previous is not None:
        facts.append(f"was {previous}")
    if customer.renewal_date:
        facts.append(f"renews {customer.renewal_date.isoformat()}")
    return facts


def _email_owner(
    notice: store.AlertNotice, key: str, owner_id: str, customer: Customer, message: str, facts: list[str]
) -> None:
    channel = f"email:{owner_id}"
    owner = workspaces.get_user(notice.workspace_id, owner_id)
    if owner is None or not owner.email:
        return
    if not store.claim_alert_channel(notice, key, channel, clock.iso(clock.now())):
        return  # sent (or being sent, or maybe sent) by an earlier delivery of this alert
    subject = f"Health alert: {customer.name} — {message}"[:200]
    body = (
        f"Hi {owner.name or owner_id},\n\n{message} for {customer.name}.\n"
        + "".join(f"- {fact}\n" for fact in facts)
        + f"\nAlert of {notice.scored_day}. You get this because you own {customer.name} in Keepwell.\n"
    )
    try:
        # From the owner's own address: the workspace's domain is the SES identity playbook emails use too.
        ses_id = email_adapter.send_email(owner.email, owner.email, subject, body)
    except email_adapter.EmailNotSent as error:
        store.release_alert_channel(notice, key, channel)
        raise AlertEmailNotSent(str(error)) from error
    except email_adapter.EmailUncertain as error:
        outcome = {"status": "failed", "detail": f"{error}; not resent, it may have been sent"}
    except email_adapter.EmailRejected as error:
        outcome = {"status": "failed", "detail": str(error)}
    else:
        outcome = {"status": "done", "ses_message_id": ses_id}
    store.finish_alert_channel(notice, key, channel, outcome)


def slack_alert_message(customer: Customer, message: str, severity: str, facts: list[str]) -> dict[str, Any]:
    """Slack's body: `text` (the notification fallback) and Block Kit blocks."""
    headline = f"*{slack_escape(customer.name)}*: {slack_escape(message)}"
    if severity:
        headline = f"{severity.capitalize()} · {headline}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": customer.name[:150], "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": headline[:3000]}},
    ]
    if facts:  # Slack refuses a context block with empty text
        context = " · ".join(map(slack_escape, facts))[:3000]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": f"{customer.name}: {message}"[:3000], "blocks": blocks}


def _post_to_slack(
    notice: store.AlertNotice, key: str, customer: Customer, message: str, severity: str, facts: list[str]
) -> None:
    if not webhook_deliveries.slack_connected(notice.workspace_id):
        return
    payload = slack_alert_message(customer, message, severity, facts)
    queued = webhook_deliveries.queue_slack_message(
        notice.workspace_id, f"alert:{notice.alert_id}", datetime.fromisoformat(notice.created_at), payload
    )
    if queued:
        store.finish_alert_channel(notice, key, SLACK, {"status": "queued"})
