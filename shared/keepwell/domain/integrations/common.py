"""Small helpers the provider parsers share: timestamps, email domains, ticket states, plain text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from keepwell import clock
from keepwell.domain.customers import normalise_domain
from keepwell.domain.integrations.model import MalformedPayload

PRIORITIES = ("low", "normal", "high", "urgent", "critical")
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|br|div|li|ul|ol|h\d)\b[^>]*>", re.IGNORECASE)


def obj(provider: str, value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedPayload(provider, f"{where} must be an object", where)
    return value


def member(parent: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A nested object, or an empty one when it is absent or not an object (optional parts of payloads)."""
    value = parent.get(name)
    return value if isinstance(value, Mapping) else {}


def text(value: Any) -> str | None:
    """A non-empty string, or None (providers send ids as numbers, strings or null)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        out = str(value).strip()
        return out or None
    return None


def required_text(provider: str, value: Any, where: str) -> str:
    out = text(value)
    if out is None:
        raise MalformedPayload(provider, f"{where} is required", where)
    return out


def iso_time(provider: str, value: Any, where: str) -> datetime:
    """ISO-8601 (a missing zone means UTC), for the providers that send text timestamps."""
    raw = text(value)
    if raw is None:
        raise MalformedPayload(provider, f"{where} is required", where)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        # Jira writes +0000 without a colon; Zendesk may send nanoseconds.
        moment = _lenient_iso(provider, raw, where)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _lenient_iso(provider: str, raw: str, where: str) -> datetime:
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?", raw)
    if not match:
        raise MalformedPayload(provider, f"{where} is not an ISO-8601 time", where)
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else f"{zone[:3]}:{zone[-2:]}"
    micros = (fraction or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{base}.{micros}{zone}")


def epoch_time(provider: str, value: Any, where: str, *, millis: bool = False) -> datetime:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MalformedPayload(provider, f"{where} must be an epoch timestamp", where) from None
    try:
        return datetime.fromtimestamp(number / 1000 if millis else number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayload(provider, f"{where} is out of range", where) from None


def email_domains(addresses: Iterable[str | None]) -> tuple[str, ...]:
    """Domains of the addresses, each followed by its parents (`eu.acme.com` → `eu.acme.com`, `acme.com`)."""
    found: list[str] = []
    for address in addresses:
        if not address or "@" not in address:
            continue
        try:
            domain = normalise_domain(address.rsplit("@", 1)[1])
        except ValueError:
            continue
        labels = domain.split(".")
        found.extend(".".join(labels[i:]) for i in range(len(labels) - 1))
    return tuple(dict.fromkeys(found))


def domain_or_none(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise_domain(value)
    except ValueError:
        return None


def ticket_status(raw: str | None) -> str:
    """Provider states → the three the health model knows (open, pending, closed)."""
    value = (raw or "open").strip().lower().replace(" ", "_")
    if value in ("solved", "closed", "resolved", "done", "deleted"):
        return "closed"
    if value in ("pending", "hold", "on_hold", "waiting_on_customer", "snoozed"):
        return "pending"
    return "open"


def priority(raw: str | None) -> str:
    value = (raw or "normal").strip().lower()
    return value if value in PRIORITIES else "normal"


def plain_text(markup: str | None) -> str | None:
    """HTML (Intercom message bodies) → text, paragraphs on their own lines."""
    if not markup:
        return None
    spaced = _BLOCK.sub("\n", markup)
    out = html.unescape(_TAG.sub("", spaced))
    lines = [line.strip() for line in out.splitlines()]
    return "\n".join(line for line in lines if line) or None


def iso(moment: datetime) -> str:
    """The timeline's own format (sortable text), used for times kept in attributes."""
    return clock.iso(moment)
