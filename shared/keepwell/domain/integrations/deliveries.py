"""Provider webhooks → normalised timeline drafts with customer links. Pure: no AWS.

`parse_delivery(provider, body, delivery_id)` is called only after the signature over `body` verified
(keepwell.domain.signatures.inbound); it raises MalformedPayload / InvalidInput (400) for a body that is
not the provider's documented shape and acknowledges (counts as ignored) event kinds Keepwell does not
record, so providers do not retry or disable the webhook over them.

The package `keepwell.domain.integrations` gives these names too (the module was its __init__).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from keepwell.domain.integrations import generic, hubspot, intercom, jira, slack, zendesk
from keepwell.domain.integrations.model import EventDraft, Link, MalformedPayload, ParsedDelivery, TimelineDraft
from keepwell.domain.signatures import inbound
from keepwell.domain.signatures.inbound import PROVIDERS, event_ids
from keepwell.errors import InvalidInput

Parser = Callable[[Any, str], ParsedDelivery]

PARSERS: dict[str, Parser] = {
    "zendesk": zendesk.parse,
    "intercom": intercom.parse,
    "hubspot": hubspot.parse,
    "slack": slack.parse,
    "jira": jira.parse,
    "generic": generic.parse,
}
assert set(PARSERS) == set(PROVIDERS), "a provider without a parser (or a parser without a verifier)"

# The headers each provider signs with: shown to admins so they can check their provider's setup.
SIGNATURE_HEADERS: dict[str, tuple[str, ...]] = {
    "zendesk": (inbound.ZENDESK_SIGNATURE, inbound.ZENDESK_TIMESTAMP),
    "intercom": (inbound.HUB_SIGNATURE,),
    "hubspot": (inbound.HUBSPOT_SIGNATURE, inbound.HUBSPOT_TIMESTAMP),
    "slack": (inbound.SLACK_SIGNATURE, inbound.SLACK_TIMESTAMP),
    "jira": (inbound.HUB_SIGNATURE,),
    "generic": (inbound.WEBHOOK_ID, inbound.WEBHOOK_TIMESTAMP, inbound.WEBHOOK_SIGNATURE),
}
MIN_GENERIC_KEY_BYTES = 16
_WHITESPACE = re.compile(r"\s")


def check_secret(provider: str, secret: str) -> None:
    """Reject a secret the provider's verifier could never use (the value itself is never echoed)."""

    def bad(issue: str) -> InvalidInput:
        return InvalidInput(f"Invalid secret: {issue}", [{"field": "secret", "issue": issue}])

    if _WHITESPACE.search(secret):
        raise bad("must not contain whitespace")
    if provider == "generic":
        if not secret.startswith("whsec_"):
            raise bad("a Standard Webhooks secret starts with whsec_")
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise bad("the part after whsec_ must be base64") from None
        if len(key) < MIN_GENERIC_KEY_BYTES:
            raise bad(f"the key must be at least {MIN_GENERIC_KEY_BYTES} bytes")


def delivery_id(provider: str, headers: Mapping[str, str], body: bytes) -> str:
    """The provider's stable id of this delivery (the same on its retries), or the body's digest when the
    scheme has none. HubSpot batches name each event; its parser reads their `eventId`s itself."""
    ids = event_ids(provider, headers, body)
    if ids and provider != "hubspot":
        return ids[0]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse_delivery(provider: str, headers: Mapping[str, str], body: bytes) -> ParsedDelivery:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload(provider, "body is not JSON") from None
    return PARSERS[provider](payload, delivery_id(provider, headers, body))


__all__ = [
    "PARSERS",
    "SIGNATURE_HEADERS",
    "EventDraft",
    "Link",
    "MalformedPayload",
    "ParsedDelivery",
    "TimelineDraft",
    "check_secret",
    "delivery_id",
    "parse_delivery",
]
