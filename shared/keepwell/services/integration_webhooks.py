"""Signed integration webhooks, and the admin use cases around them (secrets, unmatched events).

A delivery is handled in this order, and nothing is stored before its signature verified:
verify (401) → parse (400) → drop events already seen → link to customers → write matched entries
through `record_timeline_entries` and park the rest → remember the events as seen (conditional put,
TTL) → queue rescoring. Every write is idempotent per provider id, so a crash before the seen markers
are written only means the provider's retry does the same writes again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from keepwell import clock
from keepwell.adapters import secrets
from keepwell.auth import Caller
from keepwell.domain import critical_signals
from keepwell.domain.ingestion import CustomerRef
from keepwell.domain.integrations import SIGNATURE_HEADERS, check_secret, parse_delivery
from keepwell.domain.integrations.model import EventDraft, ParsedDelivery, TimelineDraft
from keepwell.domain.integrations.tickets import merge_ticket_update, newest_per_item
from keepwell.domain.integrations.urls import webhook_url
from keepwell.domain.signatures.inbound import PROVIDERS, VERIFIERS, SignatureRejected
from keepwell.domain.timeline import TimelineEntry, accepts_entry
from keepwell.errors import NotFound
from keepwell.observability import logger, metrics
from keepwell.schemas.integrations import (
    IntegrationListOut,
    IntegrationOut,
    IntegrationSecretIn,
    MapUnmatchedIn,
    MapUnmatchedOut,
    UnmatchedEventOut,
    UnmatchedListOut,
    UnmatchedQuery,
    WebhookReceiptOut,
)
from keepwell.schemas.messages import WORKSPACE_ID
from keepwell.services.timeline_recording import frozen_customers, record_timeline_entries, require_open_timeline
from keepwell.storage import audit as audit_store
from keepwell.storage import customers, keys
from keepwell.storage import integration_secrets as secret_store
from keepwell.storage import integrations as store
from keepwell.storage.customer_lookup import resolve_customer_refs

# After a mismatch, re-read a secret cached longer than this: it may have just been rotated.
SECRET_REFRESH_SECONDS = 5.0
_WORKSPACE = re.compile(WORKSPACE_ID)


def _unknown_provider(provider: str) -> NotFound:
    return NotFound(
        f"Unknown integration provider {provider!r}; one of {', '.join(PROVIDERS)}",
        [{"field": "provider", "issue": "unknown"}],
        code="unknown_provider",
    )


# --- the webhook ---------------------------------------------------------------------------------------
def receive_webhook(
    provider: str,
    workspace_id: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    method: str = "POST",
    url: str = "",
) -> WebhookReceiptOut | dict[str, Any]:
    """Verify the provider's signature over `raw_body` with the workspace's secret, then record the events.

    Returns the receipt, or the body the provider expects back (Slack's url_verification challenge).
    Unknown provider → NotFound (404); missing/bad/stale signature or no secret → SignatureRejected (401);
    a verified body of the wrong shape → 400.
    """
    if provider not in VERIFIERS:
        raise _unknown_provider(provider)
    if not _WORKSPACE.fullmatch(workspace_id):
        raise NotFound("Unknown workspace", [{"field": "workspace_id", "issue": "unknown"}])
    _verify(provider, workspace_id, headers, raw_body, method=method, url=url)
    parsed = parse_delivery(provider, headers, raw_body)
    if parsed.reply is not None:
        return parsed.reply
    receipt = _record(workspace_id, provider, parsed)
    for name, value in (("Recorded", receipt.recorded), ("Parked", receipt.parked), ("Duplicates", receipt.duplicates)):
        if value:
            metrics.add_metric(name=f"IntegrationEvents{name}", unit=MetricUnit.Count, value=value)
    logger.info(
        "integration webhook received",
        extra={"provider": provider, "workspace_id": workspace_id, **receipt.model_dump(exclude={"provider"})},
    )
    return receipt


def _verify(
    provider: str, workspace_id: str, headers: Mapping[str, str], raw_body: bytes, *, method: str, url: str
) -> None:
    name = keys.integration_secret_name(workspace_id, provider)
    verify = VERIFIERS[provider]
    try:
        # The state item says whether a secret is set and its version: a copy this container cached
        # before another container rotated or deleted it is never used (decision 0015).
        state = _secret_state(workspace_id, provider, name)
        secret = secrets.get_secret(name, version=state.version) if state.configured else None
        if secret is None:
            raise SignatureRejected(provider, "not_configured", "no signing secret is set for this provider")
        try:
            verify(headers, raw_body, secret, method=method, url=url)
        except SignatureRejected as rejected:
            # A secret changed in Secrets Manager directly (not through the API) has no new version.
            refresh = rejected.reason == "mismatch"
            fresh = secrets.get_secret(name, max_age=SECRET_REFRESH_SECONDS, version=state.version) if refresh else None
            if fresh is None or fresh == secret:
                raise
            verify(headers, raw_body, fresh, method=method, url=url)
    except SignatureRejected as rejected:
        metrics.add_metric(name="IntegrationWebhooksRejected", unit=MetricUnit.Count, value=1)
        logger.warning(
            "integration webhook rejected",
            extra={"provider": provider, "workspace_id": workspace_id, "reason": rejected.reason},
        )
        raise


def _secret_state(workspace_id: str, provider: str, name: str) -> secret_store.SecretState:
    state = secret_store.get_state(workspace_id, provider)
    if state is not None:
        return state
    # No state yet: a secret set before versions existed (or put in Secrets Manager by hand) is adopted
    # once; a provider never configured writes nothing (a URL with any workspace id must not add items).
    # (GetSecretValue, uncached: the integrations function may read secrets but not describe them.)
    if secrets.get_secret(name, max_age=0) is None:
        return secret_store.SecretState(configured=False, version="")
    return (
        secret_store.adopt(workspace_id, provider, configured=True)
        or secret_store.get_state(workspace_id, provider)
        or secret_store.SecretState(configured=False, version="")
    )


def _record(workspace_id: str, provider: str, parsed: ParsedDelivery) -> WebhookReceiptOut:
    now = clock.now()
    unique: dict[str, EventDraft] = {}
    for event in parsed.events:  # a batch may repeat an event: it counts once
        unique.setdefault(event.event_id, event)
    seen = store.seen_event_ids(workspace_id, provider, unique)
    fresh = [event for event_id, event in unique.items() if event_id not in seen]
    matched, unmatched = _link(workspace_id, provider, fresh)
    # A churned customer's timeline is frozen (domain/timeline.accepts_entry): its events are parked
    # with the customer they matched, as unmatched ones are, so nothing is lost or written.
    frozen = frozen_customers(workspace_id, {customer_id for customer_id, _ in matched}) if matched else set()
    held = {e.event_id: c for c, e in matched if not accepts_entry(e.draft.kind, c in frozen)}
    matched = [(c, e) for c, e in matched if e.event_id not in held]
    _write(workspace_id, [(customer_id, event.draft) for customer_id, event in matched], frozen=frozen)
    unmatched += [e for e in fresh if e.event_id in held]
    if provider == "hubspot":
        _sync_hubspot_changes(workspace_id, fresh)
    if unmatched:
        store.park(workspace_id, provider, unmatched, clock.iso(now), held_for=held)
    for event in fresh:
        store.mark_seen(workspace_id, provider, event.event_id, now)
    return WebhookReceiptOut(
        provider=provider,
        received=len(parsed.events),
        recorded=len(matched),
        parked=len(unmatched),
        duplicates=len(parsed.events) - len(fresh),
        ignored=parsed.ignored,
        duplicate=bool(parsed.events) and not fresh,
    )


DEAL_EVENTS = ("deal.creation", "deal.propertyChange", "deal.associationChange", "deal.restore")


def _sync_hubspot_changes(workspace_id: str, events: list[EventDraft]) -> None:
    """With the two-way sync connected, a company's mapped property change updates its customer's field,
    a deletion unlinks the customer and a merge moves it to the surviving company; with the deal mapping
    on, a created or changed deal updates its customer's account renewal (services/hubspot_sync)."""
    # Imported by HubSpot's deliveries only: the sync brings the customer, renewal and CRM modules, which
    # the other providers' webhooks never use (cold starts, decision 0027).
    from keepwell.services import hubspot_sync

    deals = {
        str(e.draft.attributes["object_id"])
        for e in events
        if e.draft.attributes.get("object_type") == "deal"
        and e.draft.attributes.get("object_id")
        and e.draft.attributes.get("hubspot_event") in DEAL_EVENTS
    }
    if deals:
        hubspot_sync.apply_deal_webhooks(workspace_id, deals)
    for event in events:
        attributes = event.draft.attributes
        company_id = attributes.get("object_id")
        if attributes.get("object_type") != "company" or not company_id:
            continue
        kind = attributes.get("hubspot_event")
        if kind == "company.propertyChange" and attributes.get("property_name"):
            hubspot_sync.apply_webhook_change(
                workspace_id, company_id, attributes["property_name"], attributes.get("property_value")
            )
        elif kind in ("company.deletion", "company.privacyDeletion"):
            hubspot_sync.unlink_company(workspace_id, company_id)
        elif kind == "company.merge":
            for merged in attributes.get("merged_object_ids") or []:
                if merged != attributes.get("primary_object_id"):
                    hubspot_sync.unlink_company(workspace_id, merged, merged_into=attributes.get("primary_object_id"))


def _refs(event: EventDraft) -> list[CustomerRef]:
    link = event.link
    return [
        *(CustomerRef("id", v) for v in link.customer_ids),
        *(CustomerRef("external_id", v) for v in link.external_ids),
        *(CustomerRef("domain", v) for v in link.domains),
    ]


def _link(
    workspace_id: str, provider: str, events: list[EventDraft]
) -> tuple[list[tuple[str, EventDraft]], list[EventDraft]]:
    """An admin's mapping first, then Keepwell's id, external ids and domains, by key reads only."""
    if not events:
        return [], []
    mapped = store.get_mappings(workspace_id, provider, {k for e in events for k in e.link.mapping_keys})
    resolved = resolve_customer_refs(workspace_id, {ref for e in events for ref in _refs(e)})
    matched: list[tuple[str, EventDraft]] = []
    unmatched: list[EventDraft] = []
    for event in events:
        candidates = [mapped.get(k) for k in event.link.mapping_keys] + [resolved.get(r) for r in _refs(event)]
        customer_id = next((c for c in candidates if c), None)
        if customer_id is None:
            unmatched.append(event)
        else:
            matched.append((customer_id, event))
    return matched, unmatched


def _write(workspace_id: str, drafts: Iterable[tuple[str, TimelineDraft]], *, frozen: set[str] | None = None) -> int:
    """Write the entries (the newest state of each ticket wins) and ask for the changed customers' rescoring."""
    entries = [draft.for_customer(customer_id) for customer_id, draft in newest_per_item(drafts)]
    if not entries:
        return 0
    stored = store.stored_attributes(workspace_id, [e for e in entries if e.kind == "ticket"])
    final = [
        merged
        for entry in entries
        if (merged := merge_ticket_update(stored.get((entry.customer_id, entry.item_id)), entry)) is not None
    ]
    changed = record_timeline_entries(workspace_id, final, frozen=frozen)
    _queue_rescoring(workspace_id, [entry for entry in final if entry.customer_id in changed])
    return len(final)


def _queue_rescoring(workspace_id: str, recorded: list[TimelineEntry]) -> None:
    """Rescore at once (debounced) the customers a critical signal just reached: an open urgent or
    critical ticket, an inbound email naming a sentiment keyword. Other signals wait for the daily
    scoring."""
    if not recorded:
        return
    keywords: list[str] = []
    if critical_signals.has_inbound_email(recorded):
        from keepwell.storage import health_models  # the model (cached) only when an email needs its keywords

        keywords = health_models.get_current_model(workspace_id)[0].sentiment.keywords()
    critical = critical_signals.customers_with_critical_signals(recorded, keywords)
    if critical:
        from keepwell.services.scoring_queue import request_rescoring

        request_rescoring(workspace_id, sorted(critical), "integration")


# --- admin: secrets ------------------------------------------------------------------------------------
def _require_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise _unknown_provider(provider)


def _integration(workspace_id: str, provider: str, base_url: str) -> IntegrationOut:
    info = secrets.describe_secret(keys.integration_secret_name(workspace_id, provider))
    return IntegrationOut(
        provider=provider,
        configured=info is not None,
        webhook_url=webhook_url(base_url, provider, workspace_id),
        signature_headers=list(SIGNATURE_HEADERS[provider]),
        updated_at=clock.iso(info.last_changed) if info and info.last_changed else None,
    )


def list_integrations(caller: Caller, base_url: str) -> IntegrationListOut:
    """Every provider: whether a secret is set and the URL to give the provider. Never the secret."""
    return IntegrationListOut(items=[_integration(caller.workspace_id, p, base_url) for p in PROVIDERS])


def set_secret(caller: Caller, provider: str, body: IntegrationSecretIn, base_url: str) -> IntegrationOut:
    _require_provider(provider)
    value = body.secret.get_secret_value()
    check_secret(provider, value)
    name = keys.integration_secret_name(caller.workspace_id, provider)
    was_configured = secrets.describe_secret(name) is not None
    secrets.put_secret(
        name,
        value,
        description=f"Keepwell {provider} webhook signing secret of workspace {caller.workspace_id}",
    )
    secret_store.record_set(caller.workspace_id, provider)  # every container's cached copy is now stale
    # Never the secret itself: connecting and rotating are told apart by a marker.
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "integration.secret_rotated" if was_configured else "integration.connected",
        f"integration:{provider}",
        {"configured": was_configured},
        {"configured": True, "secret_state": "rotated" if was_configured else "set"},
    )
    logger.info(
        "integration secret set",
        extra={"provider": provider, "workspace_id": caller.workspace_id, "by": caller.user_id},
    )
    return _integration(caller.workspace_id, provider, base_url)


def delete_secret(caller: Caller, provider: str) -> None:
    """After this, the provider's webhooks for this workspace are rejected (401) until a new secret is set."""
    _require_provider(provider)
    name = keys.integration_secret_name(caller.workspace_id, provider)
    if secrets.describe_secret(name) is None:
        raise NotFound(f"No {provider} secret is set", [{"field": "provider", "issue": "not configured"}])
    # First the state, so verifications everywhere reject from now on, then the secret itself.
    secret_store.record_deleted(caller.workspace_id, provider)
    if not secrets.delete_secret(name):
        raise NotFound(f"No {provider} secret is set", [{"field": "provider", "issue": "not configured"}])
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "integration.disconnected",
        f"integration:{provider}",
        {"configured": True},
        {"configured": False, "secret_state": "removed"},
    )
    logger.info(
        "integration secret deleted",
        extra={"provider": provider, "workspace_id": caller.workspace_id, "by": caller.user_id},
    )


# --- admin: unmatched events ---------------------------------------------------------------------------
def _unmatched_out(event: store.UnmatchedEvent) -> UnmatchedEventOut:
    return UnmatchedEventOut(
        unmatched_id=event.unmatched_id,
        provider=event.provider,
        event_id=event.event_id,
        received_at=event.received_at,
        occurred_at=clock.iso(event.draft.occurred_at),
        kind=event.draft.kind,
        title=event.draft.title,
        link_key=event.link.key,
        link_label=event.link.label,
        domains=list(event.link.domains),
        external_ids=list(event.link.external_ids),
        parked_reason="customer_churned" if event.held_for else "unmatched",
        customer_id=event.held_for,
    )


def list_unmatched(caller: Caller, query: UnmatchedQuery) -> UnmatchedListOut:
    page = store.list_unmatched(caller.workspace_id, limit=query.limit, cursor=query.cursor)
    return UnmatchedListOut(items=[_unmatched_out(e) for e in page.items], next_cursor=page.next_cursor)


def map_unmatched(caller: Caller, unmatched_id: str, body: MapUnmatchedIn) -> MapUnmatchedOut:
    """Give a parked event its customer: write its entry, remember the mapping of its provider-side
    identity (so later events go straight through), and release the other parked events of that identity."""
    workspace_id = caller.workspace_id
    event = store.get_unmatched(workspace_id, unmatched_id)
    if event is None:
        raise NotFound(f"No unmatched event {unmatched_id}", [{"field": "unmatched_id", "issue": "not found"}])
    target = customers.require_customer(workspace_id, body.customer_id)
    require_open_timeline(target.customer_id, target.status)  # 409: a churned customer takes no event
    key = event.link.key
    released = [event]
    if key:
        store.put_mapping(workspace_id, event.provider, key, body.customer_id, caller.user_id)
        released += [
            e for e in store.unmatched_with_link(workspace_id, event.provider, key) if e.unmatched_id != unmatched_id
        ]
    _write(workspace_id, [(body.customer_id, e.draft) for e in released])
    store.delete_unmatched(workspace_id, [e.unmatched_id for e in released])
    audit_store.record_audit(
        workspace_id,
        caller.user_id,
        "integration.unmatched_mapped",
        f"integration:{event.provider}",
        {"unmatched_id": unmatched_id, "mapping_key": key, "customer_id": None},
        {
            "unmatched_id": unmatched_id,
            "mapping_key": key,
            "customer_id": body.customer_id,
            "released": sorted(e.unmatched_id for e in released),
        },
    )
    logger.info(
        "unmatched integration events mapped",
        extra={"workspace_id": workspace_id, "provider": event.provider, "count": len(released), "by": caller.user_id},
    )
    return MapUnmatchedOut(
        unmatched_id=unmatched_id,
        customer_id=body.customer_id,
        provider=event.provider,
        mapping_key=key,
        recorded=len(released),
    )
