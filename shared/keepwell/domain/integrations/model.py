"""What a provider's webhook becomes once parsed: timeline drafts, each with the references that name
its customer. Pure: no AWS. The service resolves the references, writes matched drafts and parks the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from keepwell.domain.timeline import TimelineEntry, TimelineKind
from keepwell.errors import BadRequest

ITEM_ID_MAX = 120
TITLE_MAX = 300
BODY_MAX = 10_000


class MalformedPayload(BadRequest):
    """A verified delivery whose body is not the provider's documented shape (answered 400)."""

    code = "malformed_payload"

    def __init__(self, provider: str, message: str, field: str = "body"):
        super().__init__(f"{provider} webhook: {message}", details=[{"field": field, "issue": message}])


class TimelineDraft(BaseModel):
    """A timeline entry before its customer is known. Its item id is deterministic (derived from the
    provider's own ids), so a redelivery or a later update of the same ticket overwrites instead of doubling."""

    model_config = ConfigDict(extra="forbid")

    kind: TimelineKind
    occurred_at: AwareDatetime
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    item_id: str = Field(min_length=1, max_length=ITEM_ID_MAX)
    body: str | None = None
    actor: str | None = None
    source: str
    source_event_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _drop_empty(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Absent beats null: the item's attribute map stays small and reads the same after a round trip.
        return {k: v for k, v in value.items() if v is not None}

    def for_customer(self, customer_id: str) -> TimelineEntry:
        return TimelineEntry(customer_id=customer_id, **self.model_dump())


@dataclass(frozen=True)
class Link:
    """How an event names its customer.

    `key` is the provider-side identity an admin's mapping is remembered under (a Zendesk organization,
    an email domain, a Slack channel, ...); `extra_keys` are further mapping keys worth trying. The other
    fields are Keepwell references: a customer id, external ids and domains, tried in that order.
    """

    key: str | None
    label: str
    extra_keys: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] = ()
    external_ids: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    @property
    def mapping_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for k in (self.key, *self.extra_keys) if k))


@dataclass(frozen=True)
class EventDraft:
    """One provider event: its dedupe id (unique per workspace and provider), its customer link, its entry."""

    event_id: str
    link: Link
    draft: TimelineDraft


@dataclass
class ParsedDelivery:
    """Everything one verified request carries. `reply` is a body the provider expects back (Slack's
    url_verification challenge); `ignored` counts events of kinds Keepwell does not record."""

    events: list[EventDraft] = field(default_factory=list)
    ignored: int = 0
    reply: dict[str, Any] | None = None


def stable_id(*parts: object) -> str:
    """A timeline item id from provider ids: readable when short, hashed when it would be too long."""
    text = "-".join(str(p) for p in parts)
    if len(text) <= ITEM_ID_MAX and all(c.isalnum() or c in "-_.:" for c in text):
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return f"{str(parts[0])[:40]}-{digest}"


def clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def title(text: str | None, fallback: str) -> str:
    return clip(text, TITLE_MAX) or fallback
