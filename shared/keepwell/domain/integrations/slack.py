"""Slack Events API: the url_verification handshake, and channel messages → timeline notes.

Slack names no customer, so a message links through a mapping of its channel (a shared Slack Connect
channel per customer) or of the external team that wrote it; the first message of a new channel parks
until an admin maps it. Edits, joins and bot messages are acknowledged and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keepwell.domain.integrations.common import epoch_time, obj, required_text, text
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

PROVIDER = "slack"
MESSAGE_EVENTS = frozenset({"message", "app_mention"})
KEPT_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def _message(outer: Mapping[str, Any], event: Mapping[str, Any], delivery_id: str) -> EventDraft | None:
    if text(event.get("subtype")) not in KEPT_SUBTYPES or event.get("bot_id"):
        return None
    channel = required_text(PROVIDER, event.get("channel"), "event.channel")
    ts = required_text(PROVIDER, event.get("ts"), "event.ts")
    message = text(event.get("text")) or ""
    home_team = text(outer.get("team_id"))
    author_team = text(event.get("user_team")) or text(event.get("team"))
    external = author_team if author_team and author_team != home_team else None
    link = Link(
        key=f"channel:{channel}",
        label=f"Slack channel {channel}" + (f" (team {external})" if external else ""),
        extra_keys=(f"team:{external}",) if external else (),
    )
    first_line = message.splitlines()[0] if message else ""
    draft = TimelineDraft(
        kind="note",
        occurred_at=epoch_time(PROVIDER, ts, "event.ts"),
        title=title(first_line, f"Slack message in {channel}"),
        item_id=stable_id("slack", channel, ts),
        body=clip(message, BODY_MAX) or None,
        actor=text(event.get("user")),
        source=PROVIDER,
        source_event_id=text(outer.get("event_id")) or delivery_id,
        attributes={
            "channel": "slack",
            "slack_channel": channel,
            "slack_ts": ts,
            "thread_ts": text(event.get("thread_ts")),
            "slack_team": author_team,
            "external": external is not None,
        },
    )
    return EventDraft(event_id=delivery_id, link=link, draft=draft)


def parse(payload: Any, delivery_id: str) -> ParsedDelivery:
    body = obj(PROVIDER, payload, "body")
    kind = required_text(PROVIDER, body.get("type"), "type")
    if kind == "url_verification":
        return ParsedDelivery(reply={"challenge": required_text(PROVIDER, body.get("challenge"), "challenge")})
    if kind != "event_callback":
        return ParsedDelivery(ignored=1)
    event = obj(PROVIDER, body.get("event"), "event")
    if text(event.get("type")) not in MESSAGE_EVENTS:
        return ParsedDelivery(ignored=1)
    draft = _message(body, event, delivery_id)
    return ParsedDelivery(events=[draft]) if draft else ParsedDelivery(ignored=1)
