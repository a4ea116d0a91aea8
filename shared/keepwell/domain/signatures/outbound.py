"""Sign the webhooks Keepwell sends, per Standard Webhooks v1, with overlapping secrets during rotation.

Headers: `webhook-id`, `webhook-timestamp` (epoch seconds) and `webhook-signature`, a space-separated
list of `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, one per active secret. The body is
serialised once by `envelope_bytes`; those exact bytes are signed and sent.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from keepwell import clock

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24..64 random bytes
DEFAULT_OVERLAP = timedelta(hours=24)


class NoActiveSecret(ValueError):
    """Every secret of the subscription has expired; nothing can be signed."""


@dataclass(frozen=True)
class SigningSecret:
    """A subscription secret; `not_after` is set when a newer secret replaces it (end of the overlap)."""

    value: str
    not_after: datetime | None = None

    def active_at(self, now: datetime) -> bool:
        return self.not_after is None or now < self.not_after


def generate_secret(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A new `whsec_` secret: 32 random bytes, base64 (the form every Standard Webhooks library reads)."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def active_secrets(keys: Iterable[SigningSecret], now: datetime) -> list[SigningSecret]:
    return [key for key in keys if key.active_at(now)]


def rotate(
    keys: Sequence[SigningSecret], new_value: str, now: datetime, overlap: timedelta = DEFAULT_OVERLAP
) -> list[SigningSecret]:
    """Add `new_value`; secrets still active keep signing until `now + overlap`; expired ones are dropped.

    The overlap lets receivers deploy the new secret while deliveries still verify under the old one.
    """
    ends = now + overlap
    kept = [
        SigningSecret(key.value, ends if key.not_after is None or key.not_after > ends else key.not_after)
        for key in active_secrets(keys, now)
    ]
    return [*kept, SigningSecret(new_value)]


def _timestamp_seconds(timestamp: int | datetime) -> int:
    if isinstance(timestamp, datetime):
        return int(timestamp.timestamp())
    return int(timestamp)


def signature(secret: str, msg_id: str, timestamp: int | datetime, body: bytes) -> str:
    """One `v1,<base64>` entry, computed by the standardwebhooks library."""
    moment = datetime.fromtimestamp(_timestamp_seconds(timestamp), tz=UTC)
    return Webhook(secret).sign(msg_id, moment, body.decode("utf-8"))


def sign(
    secret_or_secrets: str | Sequence[SigningSecret],
    msg_id: str,
    timestamp: int | datetime,
    body: bytes,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """The three Standard Webhooks headers for these exact body bytes, signed with every active secret."""
    if isinstance(secret_or_secrets, str):
        values = [secret_or_secrets]
    else:
        values = [key.value for key in active_secrets(secret_or_secrets, now or clock.now())]
    if not values:
        raise NoActiveSecret("no active signing secret")
    if any(ch in msg_id for ch in "\r\n") or not msg_id:
        raise ValueError("message id must be a non-empty single-line string")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(_timestamp_seconds(timestamp)),
        "webhook-signature": " ".join(signature(value, msg_id, timestamp, body) for value in values),
    }


def envelope_bytes(event_type: str, occurred_at: datetime, data: Any) -> bytes:
    """The delivery body `{"type","timestamp","data"}` as compact, key-sorted UTF-8 JSON.

    Deterministic for the same input, so a redelivery sends (and signs) byte-identical content.
    """
    envelope = {"type": event_type, "timestamp": clock.iso(occurred_at), "data": data}
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
