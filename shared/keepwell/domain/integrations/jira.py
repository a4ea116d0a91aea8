"""Jira Cloud issue webhooks → escalations: one ticket item per issue, marked `escalated`.

An issue links to its customer through a `customer:<domain or external id>` label, the reporter's email
domain (Jira Service Management customers), or an admin mapping of the issue (or of the reporter's
domain). Deleting an issue closes its escalation. Other webhook events are acknowledged and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keepwell.domain.integrations.common import (
    domain_or_none,
    email_domains,
    epoch_time,
    iso,
    iso_time,
    member,
    obj,
    required_text,
    text,
    ticket_status,
)
from keepwell.domain.integrations.model import (
    BODY_MAX,
    EventDraft,
    Link,
    ParsedDelivery,
    TimelineDraft,
    clip,
    stable_id,
    title,
)

PROVIDER = "jira"
ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
COMMENT_EVENTS = frozenset({"comment_created", "comment_updated"})
PRIORITIES = {
    "blocker": "critical",
    "highest": "critical",
    "critical": "critical",
    "high": "high",
    "major": "high",
    "medium": "normal",
    "low": "low",
    "lowest": "low",
    "minor": "low",
    "trivial": "low",
}
STATUS_CATEGORIES = {"new": "open", "indeterminate": "open", "done": "closed"}
LABEL_PREFIX = "customer:"


def _link(issue_id: str, key: str, fields: Mapping[str, Any]) -> Link:
    labels = [label for label in fields.get("labels") or [] if isinstance(label, str)]
    named = [label[len(LABEL_PREFIX) :] for label in labels if label.lower().startswith(LABEL_PREFIX)]
    label_domains = tuple(d for d in (domain_or_none(v) for v in named if "." in v) if d)
    external_ids = tuple(v for v in named if v)
    reporter = text(member(fields, "reporter").get("emailAddress"))
    reporter_domains = email_domains([reporter])
    domains = tuple(dict.fromkeys((*label_domains, *reporter_domains)))
    mapping_key = f"domain:{reporter_domains[0]}" if reporter_domains else f"issue:{issue_id}"
    return Link(
        key=mapping_key,
        label=f"Jira issue {key}" + (f" (reporter {reporter})" if reporter else ""),
        extra_keys=(f"issue:{issue_id}",),
        external_ids=external_ids,
        domains=domains,
    )


def parse(payload: Any, delivery_id: str) -> ParsedDelivery:
    body = obj(PROVIDER, payload, "body")
    webhook_event = required_text(PROVIDER, body.get("webhookEvent"), "webhookEvent")
    if webhook_event not in ISSUE_EVENTS | COMMENT_EVENTS:
        return ParsedDelivery(ignored=1)
    issue = obj(PROVIDER, body.get("issue"), "issue")
    fields = obj(PROVIDER, issue.get("fields"), "issue.fields")
    issue_id = required_text(PROVIDER, issue.get("id"), "issue.id")
    key = text(issue.get("key")) or issue_id
    sent = epoch_time(PROVIDER, body.get("timestamp"), "timestamp", millis=True)
    created = iso_time(PROVIDER, fields["created"], "issue.fields.created") if fields.get("created") else sent
    updated = iso_time(PROVIDER, fields["updated"], "issue.fields.updated") if fields.get("updated") else sent
    status_field = member(fields, "status")
    category = text(member(status_field, "statusCategory").get("key"))
    deleted = webhook_event == "jira:issue_deleted"
    status = (
        "closed" if deleted else STATUS_CATEGORIES.get(category or "", ticket_status(text(status_field.get("name"))))
    )
    priority_name = (text(member(fields, "priority").get("name")) or "medium").lower()
    attributes: dict[str, Any] = {
        "ticket_id": f"JIRA-{issue_id}",
        "jira_key": key,
        "status": status,
        "provider_status": text(status_field.get("name")),
        "priority": PRIORITIES.get(priority_name, "normal"),
        "escalated": True,
        "created_at": iso(created),
        "source_updated_at": iso(sent if deleted else updated),
        "jira_event": webhook_event,
        "issue_type": text(member(fields, "issuetype").get("name")),
    }
    if status == "closed":
        resolved = fields.get("resolutiondate")
        attributes["resolved_at"] = iso(
            iso_time(PROVIDER, resolved, "issue.fields.resolutiondate") if resolved else sent
        )
    if deleted:
        attributes["deleted"] = True
    summary = text(fields.get("summary"))
    user = member(body, "user")
    draft = TimelineDraft(
        kind="ticket",
        occurred_at=created,
        title=title(f"Escalation {key}: {summary}" if summary else f"Escalation {key}", f"Escalation {key}"),
        item_id=stable_id("jira-issue", issue_id),
        body=clip(text(fields.get("description")) if isinstance(fields.get("description"), str) else None, BODY_MAX),
        actor=text(user.get("emailAddress")) or text(user.get("displayName")),
        source=PROVIDER,
        source_event_id=delivery_id,
        attributes=attributes,
    )
    return ParsedDelivery(events=[EventDraft(event_id=delivery_id, link=_link(issue_id, key, fields), draft=draft)])
