"""HubSpot both ways: connect (private-app token in Secrets Manager, property mapping), the first full
sync of companies (paged, resumable), the incremental sync by `hs_lastmodifieddate`, and the write-back
of health score, band and churn risk (batched, only what changed). docs/integrations.md; decision 0029.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from keepwell import clock
from keepwell.adapters import secrets
from keepwell.adapters.hubspot import BATCH_LIMIT, DEFAULT_BASE_URL, HubSpotClient, HubSpotError
from keepwell.auth import Caller
from keepwell.domain.customers import Customer, normalise_domain
from keepwell.domain.imports import convert_custom
from keepwell.domain.integrations import hubspot_sync as rules
from keepwell.domain.integrations.hubspot_sync import SyncState, WrittenBack
from keepwell.errors import Conflict, InvalidInput
from keepwell.observability import logger
from keepwell.schemas.customers import CustomerCreateIn, CustomerPatchIn
from keepwell.schemas.hubspot import HubSpotConnectionIn
from keepwell.schemas.messages import HubSpotWriteBack
from keepwell.schemas.renewals import RenewalCreateIn, RenewalPatchIn
from keepwell.services import customers as customer_service
from keepwell.services import renewals as renewal_service
from keepwell.storage import audit as audit_store
from keepwell.storage import custom_fields as field_store
from keepwell.storage import customers as customer_store
from keepwell.storage import hubspot as store
from keepwell.storage import keys, workspaces
from keepwell.storage import renewals as renewal_store

SYNC_ACTOR = "hubspot-sync"
TOKEN_SECRET = "hubspot-api-token"  # keepwell/<w>/integrations/hubspot-api-token
OVERLAP_MS = 5 * 60 * 1000
MAX_PAGES_PER_RUN = 500  # 50,000 companies; a longer sync carries on at the next run
# Deals read per webhook delivery (one GET each, paced): HubSpot waits a few seconds for the answer; the
# scheduled deal sync catches the rest of a larger delivery.
MAX_WEBHOOK_DEALS = 20


def _token_name(workspace_id: str) -> str:
    return keys.integration_secret_name(workspace_id, TOKEN_SECRET)


def connect(caller: Caller, body: HubSpotConnectionIn) -> SyncState:
    state = store.get_state(caller.workspace_id)
    if body.token is None and not state.connected:
        raise InvalidInput("token is required to connect HubSpot", [{"field": "token", "issue": "required"}])
    if body.mapping is not None:
        fields = [m.field for m in body.mapping]
        twice = sorted({f for f in fields if fields.count(f) > 1})
        if twice:
            raise InvalidInput(
                f"{twice[0]} is mapped twice", [{"field": "mapping", "issue": f"{f} mapped twice"} for f in twice]
            )
        _check_custom_fields(caller.workspace_id, body.mapping)
        state.mapping = body.mapping
    if body.deals is not None:
        state.deals = body.deals
    if body.token is not None:
        secrets.put_secret(
            _token_name(caller.workspace_id), body.token.get_secret_value(), description="HubSpot private app"
        )
    first = not state.connected
    if first:
        state.connected = True
        state.connected_at = clock.iso(clock.now())
        state.connected_by = caller.user_id
    store.save_state(caller.workspace_id, state)
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "integration.connected" if first else "integration.mapping_changed",
        "integration:hubspot",
        None,
        {"mapping": [m.model_dump() for m in state.mapping], "secret_state": "set" if body.token else "kept"},
    )
    return state


def _check_custom_fields(workspace_id: str, mapping: list[rules.PropertyMapping]) -> None:
    """A property mapped to `custom_fields.<key>` fills a custom field of this workspace: an unknown key
    would fail the sync of every company with a value for it, silently, so it is a 400 here."""
    known = {d.key for d in field_store.list_definitions(workspace_id)}
    refused = [
        {"field": f"mapping.{n}.field", "issue": f"{key} is not a custom field of this workspace"}
        for n, m in enumerate(mapping)
        if m.field.startswith(rules.CUSTOM_PREFIX) and (key := m.field.removeprefix(rules.CUSTOM_PREFIX)) not in known
    ]
    if refused:
        raise InvalidInput(f"Invalid body: check {', '.join(p['field'] for p in refused)}", refused)


def connection(caller: Caller) -> SyncState:
    return store.get_state(caller.workspace_id)


def _client(workspace_id: str) -> HubSpotClient:
    token = secrets.get_secret(_token_name(workspace_id))
    if token is None:
        raise Conflict("HubSpot is not connected", [{"field": "token", "issue": "not set"}])
    return HubSpotClient(token=token, base_url=os.environ.get("HUBSPOT_API_URL", DEFAULT_BASE_URL))


# --- inbound ------------------------------------------------------------------------------------
class _Workspace:
    def __init__(self, workspace_id: str):
        users = [u for u in workspaces.list_users(workspace_id) if u.active]
        self.user_by_email = {u.email.lower(): u.user_id for u in users}
        self.custom_types = {d.key: d.type for d in field_store.list_definitions(workspace_id)}

    def typed(self, changes: dict[str, Any]) -> dict[str, Any]:
        """HubSpot sends every property as text: custom field values take their field's type (as an
        import's cells do); a value that does not fit is left out, the rest still syncs."""
        raw = changes.pop("custom_fields", None)
        if raw:
            typed: dict[str, Any] = {}
            for key, text in raw.items():
                try:
                    typed[key] = convert_custom(self.custom_types.get(key, "text"), text)
                except ValueError:
                    logger.info("HubSpot value not synced", extra={"custom_field": key})
            changes["custom_fields"] = typed
        return changes


def run_sync(workspace_id: str, client: HubSpotClient | None = None) -> SyncState:
    """One run: the first full sync (or its next pages), else the companies modified since the cursor;
    then the write-back. A failure keeps the progress made (cursor, full-sync page) for the next run."""
    state = store.get_state(workspace_id)
    if not state.connected:
        return state
    client = client or _client(workspace_id)
    context = _Workspace(workspace_id)
    state.last_error = None
    try:
        if not state.full_sync_done:
            _full_sync(workspace_id, client, state, context)
        else:
            _incremental(workspace_id, client, state, context)
        if state.deals.enabled and state.full_sync_done:
            _sync_deals(workspace_id, client, state)
        push_scores(workspace_id, client, state)
    except HubSpotError as error:
        state.last_error = str(error)
        logger.warning("HubSpot sync stopped", extra={"workspace_id": workspace_id, "error": str(error)})
    finally:
        state.last_run_at = clock.iso(clock.now())
        store.save_state(workspace_id, state)
        client.close()
    return state


def _full_sync(workspace_id: str, client: HubSpotClient, state: SyncState, context: _Workspace) -> None:
    started_ms = state.full_sync_started_ms or int(clock.now().timestamp() * 1000)
    state.full_sync_started_ms = started_ms
    properties = rules.properties_to_read(state.mapping)
    for _ in range(MAX_PAGES_PER_RUN):
        page = client.list_companies(properties, after=state.full_sync_after)
        for company in page.get("results", []):
            apply_company(workspace_id, company, state, context)
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        state.full_sync_after = after
        store.save_state(workspace_id, state)  # resumable after each page
        if after is None:
            state.full_sync_done = True
            # From the full sync's start (less a margin for clock skew and search-index lag): a company
            # changed while the pages were read is read again by the first incremental run.
            state.cursor_ms = started_ms - OVERLAP_MS
            return


def _incremental(workspace_id: str, client: HubSpotClient, state: SyncState, context: _Workspace) -> None:
    properties = rules.properties_to_read(state.mapping)
    since = max((state.cursor_ms or 0) - OVERLAP_MS, 0)  # re-read the last minutes: the index lags a little
    after: str | None = None
    newest = since
    for _ in range(MAX_PAGES_PER_RUN):
        page = client.search_modified_since(since, properties, after=after)
        for company in page.get("results", []):
            apply_company(workspace_id, company, state, context)
            newest = max(newest, rules.modified_ms(company.get("properties") or {}) or newest)
        state.cursor_ms = newest  # GTE: a company modified in that same millisecond is read again, harmlessly
        store.save_state(workspace_id, state)
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if after is None:
            return


def _sync_deals(workspace_id: str, client: HubSpotClient, state: SyncState) -> None:
    """Deals changed since the deal cursor (the list API, which carries the company associations the
    search API does not): each open deal of a linked company sets its customer's account renewal."""
    since = max((state.deal_cursor_ms or 0) - OVERLAP_MS, 0)
    newest = state.deal_cursor_ms or 0
    after: str | None = None
    caller = Caller(workspace_id, SYNC_ACTOR, "admin")
    for _ in range(MAX_PAGES_PER_RUN):
        page = client.list_deals(state.deals.properties(), after=after)
        for deal in page.get("results", []):
            properties = deal.get("properties") or {}
            modified = rules.modified_ms(properties) or 0
            newest = max(newest, modified)
            if modified < since:
                continue
            _apply_deal_record(caller, deal, state)
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if after is None:
            break
    state.deal_cursor_ms = newest


def _apply_deal_record(caller: Caller, deal: dict[str, Any], state: SyncState) -> None:
    """A deal as HubSpot lists it (with `associations.companies`): its first linked company's customer."""
    companies = ((deal.get("associations") or {}).get("companies") or {}).get("results") or []
    for company in companies:
        customer_id = customer_store.find_customer_id(caller.workspace_id, external_id=str(company.get("id")))
        if customer_id is not None:
            _apply_deal(caller, customer_id, str(deal.get("id")), deal.get("properties") or {}, state)
            return


def _apply_deal(caller: Caller, customer_id: str, deal_id: str, properties: dict[str, Any], state: SyncState) -> None:
    changes = rules.deal_renewal_changes(properties, state.deals)
    if changes is None:
        return
    open_account = [
        r
        for r in renewal_store.list_customer_renewals(caller.workspace_id, customer_id)
        if r.is_open and r.product is None
    ]
    try:
        if not open_account:
            renewal_service.create_renewal(caller, customer_id, RenewalCreateIn.model_validate(changes))
            state.renewals_synced += 1
            return
        current = min(open_account, key=lambda r: r.renewal_date)
        if any(getattr(current, name) != value for name, value in changes.items()):
            patch = RenewalPatchIn.model_validate(changes)
            renewal_service.update_renewal(caller, customer_id, current.renewal_id, patch)
            state.renewals_synced += 1
    except (ValidationError, InvalidInput, Conflict) as error:
        logger.info("HubSpot deal not synced", extra={"deal_id": deal_id, "error": str(error)[:300]})


def apply_deal_webhooks(workspace_id: str, deal_ids: Collection[str]) -> int:
    """Signed deal webhooks (creation, property or association change): with the deal mapping on, each
    deal is read once from HubSpot (the webhook carries one property and no company) and sets its linked
    customer's account renewal through the same path as the scheduled deal sync (at most
    MAX_WEBHOOK_DEALS a delivery). Returns how many
    renewals changed. A deal HubSpot no longer has leaves the renewal as it is; a HubSpot failure is
    logged and left to the scheduled deal sync, which reads every deal changed since its cursor."""
    state = store.get_state(workspace_id)
    if not deal_ids or not state.connected or not state.deals.enabled:
        return 0
    caller = Caller(workspace_id, SYNC_ACTOR, "admin")
    before = state.renewals_synced
    try:
        client = _client(workspace_id)
    except Conflict:
        return 0  # the token was removed: nothing can be read
    try:
        for deal_id in sorted(set(deal_ids))[:MAX_WEBHOOK_DEALS]:
            deal = client.get_deal(deal_id, state.deals.properties())
            if deal is not None and not deal.get("archived"):
                _apply_deal_record(caller, deal, state)
    except HubSpotError as error:
        logger.warning("HubSpot deal webhook not applied", extra={"workspace_id": workspace_id, "error": str(error)})
    finally:
        client.close()
    return state.renewals_synced - before


def apply_company(workspace_id: str, company: dict[str, Any], state: SyncState, context: _Workspace) -> str | None:
    """Create or update the customer linked to a company (external_id = company id, else the domain);
    only the fields HubSpot owns are written. Returns the customer id, or None when it was skipped."""
    company_id = str(company.get("id", ""))
    properties = company.get("properties") or {}
    if not company_id or company.get("archived"):
        return None
    changes, problems = rules.company_changes(properties, state.mapping, context.user_by_email)
    changes = context.typed(changes)
    for problem in problems:
        logger.info("HubSpot value not synced", extra={"company_id": company_id, "problem": problem})
    if "domain" in changes:
        try:
            changes["domain"] = normalise_domain(changes["domain"])
        except ValueError:
            changes.pop("domain")
    customer_id = customer_store.find_customer_id(workspace_id, external_id=company_id)
    if customer_id is None and changes.get("domain"):
        customer_id = customer_store.find_customer_id(workspace_id, domain=changes["domain"])
        if customer_id is not None:
            changes["external_id"] = company_id  # link it
    try:
        if customer_id is None:
            if "name" not in changes:
                changes["name"] = str(properties.get("name") or f"HubSpot company {company_id}")
            body = CustomerCreateIn.model_validate({**changes, "external_id": company_id})
            caller = Caller(workspace_id, SYNC_ACTOR, "admin")
            created = customer_service.create_customer(caller, body)
            state.companies_synced += 1
            return created.customer_id
        customer_service.update_from_sync(
            workspace_id, customer_id, CustomerPatchIn.model_validate(changes), SYNC_ACTOR
        )
        state.companies_synced += 1
        return customer_id
    except (ValidationError, InvalidInput, Conflict) as error:
        logger.info("HubSpot company not synced", extra={"company_id": company_id, "error": str(error)[:300]})
        return None


def apply_webhook_change(workspace_id: str, company_id: str, prop: str, value: str | None) -> bool:
    """A signed `company.propertyChange` webhook: the mapped, HubSpot-owned field of the linked customer
    changes at once (the periodic sync would catch it too). False when nothing applied."""
    state = store.get_state(workspace_id)
    if not state.connected or value is None:
        return False
    mapped = [m for m in state.mapping if m.hubspot_property == prop and m.owner == "hubspot"]
    if not mapped:
        return False
    customer_id = customer_store.find_customer_id(workspace_id, external_id=company_id)
    if customer_id is None:
        return False
    context = _Workspace(workspace_id)
    changes, _ = rules.company_changes({prop: value}, mapped, context.user_by_email)
    changes = context.typed(changes)
    if not changes:
        return False
    try:
        customer_service.update_from_sync(
            workspace_id, customer_id, CustomerPatchIn.model_validate(changes), SYNC_ACTOR
        )
    except (ValidationError, InvalidInput, Conflict) as error:
        logger.info("HubSpot webhook change not applied", extra={"company_id": company_id, "error": str(error)[:300]})
        return False
    return True


def unlink_company(workspace_id: str, company_id: str, merged_into: str | None = None) -> bool:
    """A deleted company: its customer stays (history, renewals) but is no longer linked, so HubSpot no
    longer owns its fields and nothing is written back. A merged company: the customer follows the
    surviving company (its external_id becomes the primary's) unless another customer already has it."""
    customer_id = customer_store.find_customer_id(workspace_id, external_id=company_id)
    if customer_id is None:
        return False
    target = merged_into
    if target is not None and customer_store.find_customer_id(workspace_id, external_id=target) is not None:
        target = None  # the surviving company already has its customer: unlink this one
    customer_service.update_from_sync(
        workspace_id, customer_id, CustomerPatchIn.model_validate({"external_id": target}), SYNC_ACTOR
    )
    return True


# --- outbound -----------------------------------------------------------------------------------
def _written(customer: Customer) -> WrittenBack:
    risk = customer.flags.churn_risk if customer.flags else None
    return WrittenBack(
        score=round(customer.health_score, 1) if customer.health_score is not None else None,
        band=customer.health_band,
        risk=round(risk.score, 1) if risk is not None else None,
    )


def push_scores(
    workspace_id: str, client: HubSpotClient, state: SyncState, customer_ids: Collection[str] | None = None
) -> int:
    """Write health score, band and churn risk to the linked companies whose values changed since they
    were last written: 100 companies per batch update, paced and retried by the client. Every linked
    customer of the workspace (the scheduled run), or only `customer_ids` (the write-back after a score)."""
    if customer_ids is None:
        candidates: Iterable[Customer] = customer_store.iter_customers(workspace_id)
    else:
        candidates = customer_store.get_customers_batch(workspace_id, customer_ids).values()
    linked = [c for c in candidates if c.external_id and c.health_score is not None and not c.archived]
    previous = store.written_back(workspace_id, [c.customer_id for c in linked])
    due = [(c, _written(c)) for c in linked if previous.get(c.customer_id) != _written(c)]
    written = 0
    for start in range(0, len(due), BATCH_LIMIT):
        chunk = due[start : start + BATCH_LIMIT]
        answer = client.batch_update_companies(
            [{"id": c.external_id, "properties": values.properties()} for c, values in chunk]
        )
        failed = {str(i) for e in answer.get("errors", []) for i in (e.get("context") or {}).get("ids", [])}
        done = {c.customer_id: (c.external_id or "", values) for c, values in chunk if c.external_id not in failed}
        store.save_written_back(workspace_id, done)
        written += len(done)
    state.scores_written += written
    return written


@dataclass(frozen=True)
class WriteBackResult:
    written: int  # companies updated
    retry: set[int]  # positions of the messages to deliver again


def write_back(messages: Sequence[HubSpotWriteBack]) -> WriteBackResult:
    """A batch from the write-back queue: per workspace, one `push_scores` for its scored customers
    (only what changed is written; a redelivered message writes nothing twice). `retry` holds the
    positions of the messages of a workspace whose write-back HubSpot refused (after the client's own
    retries on 429 and 5xx): they come back later, so a storm longer than those loses nothing."""
    by_workspace: dict[str, list[int]] = {}
    for position, message in enumerate(messages):
        by_workspace.setdefault(message.workspace_id, []).append(position)
    retry: set[int] = set()
    written = 0
    for workspace_id, positions in by_workspace.items():
        state = store.get_state(workspace_id)
        if not state.connected:
            continue  # disconnected since: nothing to write
        try:
            client = _client(workspace_id)
        except Conflict:
            continue
        before = state.scores_written
        try:
            push_scores(workspace_id, client, state, {messages[p].customer_id for p in positions})
        except HubSpotError as error:
            logger.warning("HubSpot write-back deferred", extra={"workspace_id": workspace_id, "error": str(error)})
            retry.update(positions)
        finally:
            client.close()
        # The state is not saved here: the scheduled run may be moving its cursors at the same time.
        written += state.scores_written - before
    return WriteBackResult(written=written, retry=retry)


def run_all() -> dict[str, Any]:
    """The scheduled run: every connected workspace, one after the other; one workspace's failure is
    recorded on its state and does not stop the others."""
    ran: list[str] = []
    for workspace in workspaces.list_workspaces_for_scheduler():
        workspace_id = str(workspace.workspace_id)
        if not store.get_state(workspace_id).connected:
            continue
        try:
            run_sync(workspace_id)
        except Exception:
            logger.exception("HubSpot sync failed", extra={"workspace_id": workspace_id})
        ran.append(workspace_id)
    return {"workspaces": ran}
