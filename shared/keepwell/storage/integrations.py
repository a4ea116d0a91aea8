"""Integration webhooks' items: dedupe markers, unmatched (parked) events and explicit customer mappings.

| item | pk | sk | indexes |
| --- | --- | --- | --- |
| seen marker (TTL) | `WS#w#INTEGRATION#<provider>#SEEN` | `<event id>` | |
| mapping | `WS#w` | `INTMAP#<provider>#<link key>` | |
| unmatched event | `WS#w#UNMATCHED` | `<unmatched id>` | gsi1, gsi2 (below) |

Unmatched events are listed newest first on gsi1 (`WS#w#UNMATCHED` / `<received>#<id>`) and found by the
provider-side identity they name on gsi2 (`WS#w#UNMATCHED#<provider>#<link key>` / `<received>#<id>`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError

from keepwell import clock
from keepwell.domain.integrations.model import EventDraft, Link, TimelineDraft
from keepwell.domain.timeline import TimelineEntry
from keepwell.storage import cursors, keys
from keepwell.storage.models import TableItem, TimelineItem

# Providers retry for up to about three days (Standard Webhooks senders); a week covers them all.
SEEN_RETENTION = timedelta(days=7)
MAPPING_PREFIX = "INTMAP#"
MAX_EVENT_ID = 200


# --- keys ----------------------------------------------------------------------------------------------
def _seen_partition(workspace_id: str, provider: str) -> str:
    return f"{keys.workspace_partition(workspace_id)}#INTEGRATION#{provider}#SEEN"


def _event_sort_key(event_id: str) -> str:
    if len(event_id) <= MAX_EVENT_ID:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode("utf-8")).hexdigest()


def _mapping_key(workspace_id: str, provider: str, link_key: str) -> keys.Key:
    return keys.Key(keys.workspace_partition(workspace_id), f"{MAPPING_PREFIX}{provider}#{link_key}")


def _unmatched_partition(workspace_id: str) -> str:
    return f"{keys.workspace_partition(workspace_id)}#UNMATCHED"


def _unmatched_by_link(workspace_id: str, provider: str, link_key: str) -> str:
    return f"{_unmatched_partition(workspace_id)}#{provider}#{link_key}"


def unmatched_id(provider: str, event_id: str) -> str:
    return "um_" + hashlib.sha256(f"{provider}|{event_id}".encode()).hexdigest()[:24]


# --- models --------------------------------------------------------------------------------------------
class SeenEventItem(TableItem):
    provider = UnicodeAttribute()
    event_id = UnicodeAttribute()
    seen_at = UnicodeAttribute()


class IntegrationMappingItem(TableItem):
    provider = UnicodeAttribute()
    link_key = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    mapped_by = UnicodeAttribute()
    mapped_at = UnicodeAttribute()


class UnmatchedEventItem(TableItem):
    unmatched_id = UnicodeAttribute()
    provider = UnicodeAttribute()
    event_id = UnicodeAttribute()
    received_at = UnicodeAttribute()
    link_key = UnicodeAttribute(null=True)
    link = UnicodeAttribute()  # JSON of Link
    draft = UnicodeAttribute()  # JSON of TimelineDraft
    held_for = UnicodeAttribute(null=True)  # the churned customer it matched (its timeline is frozen)


# --- dedupe markers ------------------------------------------------------------------------------------
def seen_event_ids(workspace_id: str, provider: str, event_ids: Iterable[str]) -> set[str]:
    """Which of these events were received before (BatchGetItem, 100 keys per request)."""
    by_sort_key = {_event_sort_key(e): e for e in event_ids}
    if not by_sort_key:
        return set()
    pk = _seen_partition(workspace_id, provider)
    found = SeenEventItem.batch_get([(pk, sk) for sk in by_sort_key], attributes_to_get=["pk", "sk"])
    return {by_sort_key[item.sk] for item in found}


def mark_seen(workspace_id: str, provider: str, event_id: str, now: datetime) -> bool:
    """Remember the event for SEEN_RETENTION; False when another delivery already did (conditional put)."""
    item = SeenEventItem(
        _seen_partition(workspace_id, provider),
        _event_sort_key(event_id),
        entity="integration_event_seen",
        workspace_id=workspace_id,
        provider=provider,
        event_id=event_id[:1000],
        seen_at=clock.iso(now),
        expires_at=now + SEEN_RETENTION,
    )
    try:
        item.save(condition=SeenEventItem.pk.does_not_exist())
    except PutError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            return False
        raise
    return True


# --- mappings ------------------------------------------------------------------------------------------
def get_mappings(workspace_id: str, provider: str, link_keys: Iterable[str]) -> dict[str, str]:
    """link key → customer id, for the keys an admin has mapped."""
    wanted = {tuple(_mapping_key(workspace_id, provider, k)): k for k in set(link_keys)}
    if not wanted:
        return {}
    found = IntegrationMappingItem.batch_get(list(wanted))
    return {wanted[(item.pk, item.sk)]: item.customer_id for item in found}


def put_mapping(workspace_id: str, provider: str, link_key: str, customer_id: str, mapped_by: str) -> None:
    """Remember (or change) which customer a provider-side identity belongs to."""
    key = _mapping_key(workspace_id, provider, link_key)
    IntegrationMappingItem(
        key.pk,
        key.sk,
        entity="integration_mapping",
        workspace_id=workspace_id,
        provider=provider,
        link_key=link_key,
        customer_id=customer_id,
        mapped_by=mapped_by,
        mapped_at=clock.iso(clock.now()),
    ).save()


# --- unmatched events ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnmatchedEvent:
    unmatched_id: str
    provider: str
    event_id: str
    received_at: str
    link: Link
    draft: TimelineDraft
    held_for: str | None = None  # matched a churned customer: parked because its timeline is frozen


@dataclass(frozen=True)
class UnmatchedPage:
    items: list[UnmatchedEvent]
    next_cursor: str | None


def _link_json(link: Link) -> str:
    return json.dumps(
        {
            "key": link.key,
            "label": link.label,
            "extra_keys": link.extra_keys,
            "customer_ids": link.customer_ids,
            "external_ids": link.external_ids,
            "domains": link.domains,
        },
        separators=(",", ":"),
    )


def _link_of(text: str) -> Link:
    data: dict[str, Any] = json.loads(text)
    return Link(
        key=data.get("key"),
        label=data.get("label", ""),
        extra_keys=tuple(data.get("extra_keys", ())),
        customer_ids=tuple(data.get("customer_ids", ())),
        external_ids=tuple(data.get("external_ids", ())),
        domains=tuple(data.get("domains", ())),
    )


def _to_unmatched(item: UnmatchedEventItem) -> UnmatchedEvent:
    return UnmatchedEvent(
        unmatched_id=item.unmatched_id,
        provider=item.provider,
        event_id=item.event_id,
        received_at=item.received_at,
        link=_link_of(item.link),
        draft=TimelineDraft.model_validate_json(item.draft),
        held_for=item.held_for,
    )


def park(
    workspace_id: str,
    provider: str,
    events: Iterable[EventDraft],
    received_at: str,
    held_for: Mapping[str, str] | None = None,
) -> list[str]:
    """Keep events no customer matched until an admin maps them (idempotent per provider event);
    `held_for` (event id -> customer id): events that matched a churned customer, kept rather than
    written to its frozen timeline."""
    held_for = held_for or {}
    parked: list[str] = []
    with UnmatchedEventItem.batch_write() as batch:
        for event in events:
            identifier = unmatched_id(provider, event.event_id)
            order = f"{received_at}#{identifier}"
            link_key = event.link.key
            batch.save(
                UnmatchedEventItem(
                    _unmatched_partition(workspace_id),
                    identifier,
                    entity="integration_unmatched",
                    workspace_id=workspace_id,
                    gsi1pk=_unmatched_partition(workspace_id),
                    gsi1sk=order,
                    gsi2pk=_unmatched_by_link(workspace_id, provider, link_key) if link_key else None,
                    gsi2sk=order if link_key else None,
                    unmatched_id=identifier,
                    provider=provider,
                    event_id=event.event_id,
                    received_at=received_at,
                    link_key=link_key,
                    link=_link_json(event.link),
                    draft=event.draft.model_dump_json(),
                    held_for=held_for.get(event.event_id),
                )
            )
            parked.append(identifier)
    return parked


def get_unmatched(workspace_id: str, identifier: str) -> UnmatchedEvent | None:
    try:
        return _to_unmatched(UnmatchedEventItem.get(_unmatched_partition(workspace_id), identifier))
    except DoesNotExist:
        return None


def list_unmatched(workspace_id: str, *, limit: int, cursor: str | None) -> UnmatchedPage:
    """Newest first (gsi1), with an opaque cursor."""
    partition = _unmatched_partition(workspace_id)
    start = cursors.decode(cursor, expected={"pk": partition, "gsi1pk": partition}, prefixes={"sk": "", "gsi1sk": ""})
    results = UnmatchedEventItem.gsi1.query(
        partition, scan_index_forward=False, limit=limit, page_size=limit + 1, last_evaluated_key=start
    )
    items = [_to_unmatched(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return UnmatchedPage(items=items, next_cursor=cursors.encode(next_key))


def unmatched_with_link(workspace_id: str, provider: str, link_key: str) -> list[UnmatchedEvent]:
    """Every parked event of one provider-side identity (gsi2), oldest first."""
    partition = _unmatched_by_link(workspace_id, provider, link_key)
    return [_to_unmatched(item) for item in UnmatchedEventItem.gsi2.query(partition)]


def delete_unmatched(workspace_id: str, identifiers: Iterable[str]) -> None:
    partition = _unmatched_partition(workspace_id)
    with UnmatchedEventItem.batch_write() as batch:
        for identifier in set(identifiers):
            batch.delete(UnmatchedEventItem(partition, identifier))


# --- stored ticket state -------------------------------------------------------------------------------
def stored_attributes(workspace_id: str, entries: Iterable[TimelineEntry]) -> dict[tuple[str, str], dict[str, Any]]:
    """(customer id, item id) → attributes of timeline items already stored under these entries' keys."""
    wanted = {}
    for entry in entries:
        key = keys.timeline_item(workspace_id, entry.customer_id, clock.iso(entry.occurred_at), entry.item_id)
        wanted[(key.pk, key.sk)] = (entry.customer_id, entry.item_id)
    if not wanted:
        return {}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for item in TimelineItem.batch_get(list(wanted), attributes_to_get=["pk", "sk", "attributes"]):
        attributes = item.attributes.as_dict() if hasattr(item.attributes, "as_dict") else dict(item.attributes or {})
        found[wanted[(item.pk, item.sk)]] = attributes
    return found
