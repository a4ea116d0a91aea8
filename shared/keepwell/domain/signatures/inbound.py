"""Verify the signatures of webhooks that providers send us, one verifier per provider's published scheme.

Every verifier takes the request as it arrived (headers in any letter case, the raw body bytes, and the
method/URL where the scheme signs them), the shared secret and `now`, and either returns None or raises
`SignatureRejected` with a machine-readable reason. Verify the raw bytes before parsing anything:
re-serialised JSON would not match. `event_ids` then gives the provider's stable id(s) for dedupe.
See docs/webhooks.md for the table of schemes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from keepwell import clock
from keepwell.errors import Unauthorized

# Replay window for every timestamped scheme. Zendesk does not mandate one; we apply the same 5 minutes.
TOLERANCE = timedelta(minutes=5)

PROVIDERS = ("zendesk", "intercom", "hubspot", "slack", "jira", "generic")


class SignatureRejected(Unauthorized):
    """The request is not provably from the provider; answered as 401 and nothing is processed."""

    code = "invalid_signature"

    def __init__(self, provider: str, reason: str, message: str, header: str | None = None, field: str = "body"):
        details = [{"field": f"headers.{header}" if header else field, "issue": reason}]
        super().__init__(f"{provider} webhook rejected: {message}", details=details)
        self.provider = provider
        self.reason = reason
        self.header = header


class Verifier(Protocol):
    def __call__(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
        *,
        method: str = "POST",
        url: str = "",
        now: datetime | None = None,
    ) -> None: ...


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """HTTP header names are case-insensitive; API Gateway passes them as the client wrote them."""
    return {name.lower(): value for name, value in headers.items()}


def _hmac(secret: str | bytes, message: bytes, digest: Callable[..., Any] = hashlib.sha256) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, message, digest).digest()


def _same(expected: str, presented: str) -> bool:
    # compare_digest on bytes: constant time, and no TypeError for non-ASCII input.
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


def _require(provider: str, headers: dict[str, str], name: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise SignatureRejected(provider, "missing_header", f"missing header {name}", name)
    return value


def _check_window(provider: str, sent_at: datetime, now: datetime, header: str) -> None:
    if now - sent_at > TOLERANCE:
        raise SignatureRejected(provider, "stale_timestamp", f"{header} is older than 5 minutes", header)
    if sent_at - now > TOLERANCE:
        raise SignatureRejected(provider, "future_timestamp", f"{header} is over 5 minutes ahead", header)


def _prefixed(provider: str, value: str, prefix: str, header: str) -> str:
    if not value.startswith(prefix):
        raise SignatureRejected(provider, "malformed_header", f"{header} must start with {prefix}", header)
    return value[len(prefix) :]


def _mismatch(provider: str, header: str) -> SignatureRejected:
    return SignatureRejected(provider, "mismatch", "signature does not match", header)


# --- Zendesk ---------------------------------------------------------------------------------------------

ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"


def verify_zendesk(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    method: str = "POST",
    url: str = "",
    now: datetime | None = None,
) -> None:
    """base64(HMAC-SHA256(secret, timestamp + body)); the timestamp is ISO-8601 UTC."""
    h = lower_headers(headers)
    signature = _require("zendesk", h, ZENDESK_SIGNATURE)
    timestamp = _require("zendesk", h, ZENDESK_TIMESTAMP)
    try:
        sent_at = datetime.fromisoformat(timestamp)
    except ValueError:
        raise SignatureRejected("zendesk", "malformed_header", "timestamp is not ISO-8601", ZENDESK_TIMESTAMP) from None
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    _check_window("zendesk", sent_at, now or clock.now(), ZENDESK_TIMESTAMP)
    expected = base64.b64encode(_hmac(secret, timestamp.encode("utf-8") + body)).decode("ascii")
    if not _same(expected, signature):
        raise _mismatch("zendesk", ZENDESK_SIGNATURE)


# --- Intercom --------------------------------------------------------------------------------------------

HUB_SIGNATURE = "X-Hub-Signature"


def verify_intercom(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    method: str = "POST",
    url: str = "",
    now: datetime | None = None,
) -> None:
    """`sha1=<hex HMAC-SHA1(client_secret, body)>`. Intercom signs no timestamp, so dedupe guards replays."""
    h = lower_headers(headers)
    presented = _prefixed("intercom", _require("intercom", h, HUB_SIGNATURE), "sha1=", HUB_SIGNATURE)
    if not _same(_hmac(secret, body, hashlib.sha1).hex(), presented.lower()):
        raise _mismatch("intercom", HUB_SIGNATURE)


# --- HubSpot v3 ------------------------------------------------------------------------------------------

HUBSPOT_SIGNATURE = "X-HubSpot-Signature-v3"
HUBSPOT_TIMESTAMP = "X-HubSpot-Request-Timestamp"

# HubSpot signs the URI with exactly these percent-escapes decoded (and no others).
_HUBSPOT_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
_HUBSPOT_ESCAPE = re.compile("|".join(_HUBSPOT_DECODED), re.IGNORECASE)


def hubspot_signed_uri(url: str) -> str:
    """The URI as HubSpot puts it in the v3 signature: the full URL with the listed escapes decoded."""
    return _HUBSPOT_ESCAPE.sub(lambda m: _HUBSPOT_DECODED[m.group(0).upper()], url)


def verify_hubspot(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    method: str = "POST",
    url: str = "",
    now: datetime | None = None,
) -> None:
    """base64(HMAC-SHA256(client_secret, method + uri + body + timestamp_ms)); reject beyond 5 minutes."""
    h = lower_headers(headers)
    signature = _require("hubspot", h, HUBSPOT_SIGNATURE)
    timestamp = _require("hubspot", h, HUBSPOT_TIMESTAMP)
    if not url:
        raise SignatureRejected("hubspot", "missing_url", "the URL is needed to verify v3", field="url")
    if not timestamp.isdigit():
        raise SignatureRejected("hubspot", "malformed_header", "timestamp is not epoch ms", HUBSPOT_TIMESTAMP)
    sent_at = datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC)
    _check_window("hubspot", sent_at, now or clock.now(), HUBSPOT_TIMESTAMP)
    message = f"{method.upper()}{hubspot_signed_uri(url)}".encode() + body + timestamp.encode("ascii")
    expected = base64.b64encode(_hmac(secret, message)).decode("ascii")
    if not _same(expected, signature):
        raise _mismatch("hubspot", HUBSPOT_SIGNATURE)


# --- Slack -----------------------------------------------------------------------------------------------

SLACK_SIGNATURE = "X-Slack-Signature"
SLACK_TIMESTAMP = "X-Slack-Request-Timestamp"


def verify_slack(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    method: str = "POST",
    url: str = "",
    now: datetime | None = None,
) -> None:
    """`v0=<hex HMAC-SHA256(signing_secret, "v0:{ts}:{body}")>`; reject if |now - ts| > 300 s."""
    h = lower_headers(headers)
    presented = _prefixed("slack", _require("slack", h, SLACK_SIGNATURE), "v0=", SLACK_SIGNATURE)
    timestamp = _require("slack", h, SLACK_TIMESTAMP)
    if not timestamp.isdigit():
        raise SignatureRejected("slack", "malformed_header", "timestamp is not epoch s", SLACK_TIMESTAMP)
    sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
    _check_window("slack", sent_at, now or clock.now(), SLACK_TIMESTAMP)
    expected = _hmac(secret, b"v0:" + timestamp.encode("ascii") + b":" + body).hex()
    if not _same(expected, presented):
        raise _mismatch("slack", SLACK_SIGNATURE)


# --- Jira Cloud ------------------------------------------------------------------------------------------

JIRA_WEBHOOK_ID = "X-Atlassian-Webhook-Identifier"


def verify_jira(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    method: str = "POST",
    url: str = "",
    now: datetime | None = None,
) -> None:
    """WebSub style `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>` (admin webhooks with a secret).

    Atlassian documents only X-Hub-Signature (not GitHub's X-Hub-Signature-256), so only it is accepted.
    """
    h = lower_headers(headers)
    presented = _prefixed("jira", _require("jira", h, HUB_SIGNATURE), "sha256=", HUB_SIGNATURE)
    if not _same(_hmac(secret, body).hex(), presented.lower()):
        raise _mismatch("jira", HUB_SIGNATURE)


# --- Generic source: Standard Webhooks --------------------------------------------------------------------

WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"


class ClockedWebhook(Webhook):
    """The library's verifier with its timestamp check on keepwell's clock (it reads the real clock)."""

    def __init__(self, secret: str | bytes, now: datetime):
        super().__init__(secret)
        self._now = now

    # Webhook.verify calls the name-mangled private `__verify_timestamp`; this overrides it.
    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        try:
            timestamp = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise WebhookVerificationError("Invalid Signature Headers") from None
        if timestamp < self._now - TOLERANCE:
            raise WebhookVerificationError("Message timestamp too old")
        if timestamp > self._now + TOLERANCE:
            raise WebhookVerificationError("Message timestamp too new")
        return timestamp


_GENERIC_REASONS = {
    "Message timestamp too old": "stale_timestamp",
    "Message timestamp too new": "future_timestamp",
    "Invalid Signature Headers": "malformed_header",
}


def verify_generic(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    method: str = "POST",
    url: str = "",
    now: datetime | None = None,
) -> None:
    """Standard Webhooks v1 (webhook-id/-timestamp/-signature, `whsec_` secret, 5-minute tolerance)."""
    h = lower_headers(headers)
    for name in (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE):
        _require("generic", h, name)
    try:
        verifier = ClockedWebhook(secret, now or clock.now())
    except Exception:  # the library raises several types for an undecodable secret
        raise SignatureRejected("generic", "bad_secret", "secret is not a whsec_ key") from None
    try:
        verifier.verify(body, h, json_parse=False)
    except WebhookVerificationError as error:
        text = str(error)
        reason = _GENERIC_REASONS.get(text, "mismatch")
        header = WEBHOOK_TIMESTAMP if reason != "mismatch" else WEBHOOK_SIGNATURE
        raise SignatureRejected("generic", reason, text, header) from None
    except ValueError:
        # A signature entry without "v1,", bad base64 (binascii.Error) or a non-UTF-8 body: never ours.
        raise SignatureRejected(
            "generic", "malformed_header", "signature header is malformed", WEBHOOK_SIGNATURE
        ) from None


VERIFIERS: dict[str, Verifier] = {
    "zendesk": verify_zendesk,
    "intercom": verify_intercom,
    "hubspot": verify_hubspot,
    "slack": verify_slack,
    "jira": verify_jira,
    "generic": verify_generic,
}


# --- Dedupe ids ------------------------------------------------------------------------------------------


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def event_ids(provider: str, headers: Mapping[str, str], body: bytes) -> list[str]:
    """The provider's stable id(s) for the event(s) in a verified delivery, the same on its retries.

    One id per event; HubSpot batches several events per request. Empty when the scheme has none
    (e.g. a Slack slash command), in which case the caller cannot dedupe redeliveries.
    """
    if provider not in PROVIDERS:
        raise KeyError(f"unknown provider {provider!r}")
    h = lower_headers(headers)
    if provider == "generic":
        return [h[WEBHOOK_ID]] if h.get(WEBHOOK_ID) else []
    if provider == "jira":
        return [h[JIRA_WEBHOOK_ID.lower()]] if h.get(JIRA_WEBHOOK_ID.lower()) else []
    payload = _json(body)
    if provider == "hubspot":
        events = payload if isinstance(payload, list) else []
        return [str(e["eventId"]) for e in events if isinstance(e, dict) and e.get("eventId") is not None]
    if not isinstance(payload, dict):
        return []
    key = {"zendesk": "id", "intercom": "id", "slack": "event_id"}[provider]
    value = payload.get(key)
    return [str(value)] if value not in (None, "") else []
