"""Customer use cases: create, read, update, archive, list. Always within the caller's workspace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keepwell import clock, ids, permissions
from keepwell.adapters import event_bus
from keepwell.auth import Caller
from keepwell.domain import custom_fields as field_rules
from keepwell.domain.customers import Customer, apply_patch, changed_fields, derive_revenue
from keepwell.domain.integrations.hubspot_sync import hubspot_owned
from keepwell.domain.segments import stored_rule
from keepwell.errors import Conflict, Forbidden, InvalidInput, NotFound
from keepwell.observability import logger
from keepwell.retries import conflict_attempts
from keepwell.schemas.customers import CustomerCreateIn, CustomerListQuery, CustomerPatchIn
from keepwell.services import renewal_schedule, user_references
from keepwell.services.segment_baselines import condition_fields
from keepwell.storage import audit as audit_store
from keepwell.storage import custom_fields as field_store
from keepwell.storage import customer_lists
from keepwell.storage import customers as store
from keepwell.storage import hubspot as hubspot_store
from keepwell.storage import segments as segment_store

UPDATE_ATTEMPTS = 3  # re-read and re-apply when a concurrent write (e.g. a champion switch) bumped the version
OWNER_FIELDS = ("owner_id", "co_owner_ids")


def _check_users(workspace_id: str, owner_id: str | None, co_owner_ids: list[str] | None) -> None:
    """The owner is given the customer's work (its playbooks' tasks, its renewal's save task), so it is not a
    viewer; a co-owner may be one (a viewer co-owns to read a customer)."""
    co_owners = [(f"co_owner_ids.{i}", u) for i, u in enumerate(co_owner_ids or [])]
    refused = user_references.problems(workspace_id, [("owner_id", owner_id)], works=True)
    refused += user_references.problems(workspace_id, co_owners, works=False)
    user_references.refuse(refused)


def _check_custom_fields(workspace_id: str, values: dict[str, Any] | None) -> dict[str, Any] | None:
    if not values:
        return values
    return field_rules.validate_values(values, field_store.list_definitions(workspace_id))


def create_customer(caller: Caller, body: CustomerCreateIn) -> Customer:
    """A CSM works in their own book: their new customer is theirs unless they name its owner, and one
    they would neither own nor co-own (so could not even read back) is a 403 with nothing written."""
    workspace_id = caller.workspace_id
    arr, mrr = derive_revenue(body.arr, body.mrr)
    portfolio_only = permissions.sees_portfolio_only(caller)
    if portfolio_only and "owner_id" not in body.model_fields_set:
        body = body.model_copy(update={"owner_id": caller.user_id})
    _check_users(workspace_id, body.owner_id, body.co_owner_ids)
    if portfolio_only and caller.user_id not in (body.owner_id, *body.co_owner_ids):
        raise Forbidden(
            "A CSM creates customers in their own book: own or co-own the new customer",
            [{"field": "owner_id", "issue": "outside the caller's book"}],
        )
    values = _check_custom_fields(workspace_id, body.custom_fields) or {}
    now = clock.iso(clock.now())
    customer = Customer(
        **body.model_dump(exclude={"arr", "mrr", "custom_fields"}),
        customer_id=ids.new_id("cus"),
        workspace_id=workspace_id,
        arr=arr,
        mrr=mrr,
        custom_fields={k: v for k, v in values.items() if v is not None},
        created_at=now,
        updated_at=now,
        version=1,
    )
    created = store.create_customer(customer)
    _publish_changed(None, created)
    renewal_schedule.follow_renewal_date(created, caller.user_id)
    return created


def visible_customer(caller: Caller, customer_id: str) -> Customer:
    """The customer if the caller may see it (the portfolio rule); 404 otherwise, exactly like an
    unknown id or another workspace's customer."""
    customer = store.require_customer(caller.workspace_id, customer_id)
    if not permissions.can_see_customer(caller, customer):
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    return customer


def get_customer(caller: Caller, customer_id: str) -> Customer:
    return visible_customer(caller, customer_id)


def update_customer(caller: Caller, customer_id: str, body: CustomerPatchIn) -> Customer:
    workspace_id = caller.workspace_id
    changes = body.changes()
    current = visible_customer(caller, customer_id)  # 404 before any other check
    if changes.get("status") == "churned":
        raise InvalidInput(
            f"status churned is set by POST /v1/customers/{customer_id}/churn (a churn reason is required "
            "and the churn is audited), not by PATCH",
            [{"field": "status", "issue": f"use POST /v1/customers/{customer_id}/churn with a churn_reason"}],
        )
    _refuse_hubspot_owned(current, changes)
    return _update_checked(workspace_id, customer_id, changes, body.version, caller.user_id)


def update_from_sync(workspace_id: str, customer_id: str, body: CustomerPatchIn, actor_id: str) -> Customer:
    """An update the HubSpot sync makes: the fields HubSpot owns are its to write."""
    return _update_checked(workspace_id, customer_id, body.changes(), None, actor_id)


def _refuse_hubspot_owned(customer: Customer, changes: dict[str, Any]) -> None:
    """A customer linked to a HubSpot company (its external_id, once HubSpot is connected) takes the
    fields HubSpot owns from HubSpot only: 400 naming each (docs/integrations.md)."""
    if not customer.external_id or not changes:
        return
    state = hubspot_store.get_state(customer.workspace_id)
    if not state.connected:
        return
    owned = hubspot_owned(state.mapping)
    refused = sorted(name for name in changes if name in owned)
    refused += sorted(
        f"custom_fields.{key}" for key in (changes.get("custom_fields") or {}) if f"custom_fields.{key}" in owned
    )
    if refused:
        raise InvalidInput(
            f"{', '.join(refused)} {'is' if len(refused) == 1 else 'are'} owned by HubSpot for this customer: "
            "change it in HubSpot",
            [{"field": name, "issue": "owned by HubSpot"} for name in refused],
        )


def _update_checked(
    workspace_id: str, customer_id: str, changes: dict[str, Any], version: int | None, actor_id: str
) -> Customer:
    if changes.get("owner_id") is not None or changes.get("co_owner_ids"):
        _check_users(workspace_id, changes.get("owner_id"), changes.get("co_owner_ids"))
    if changes.get("custom_fields"):
        changes["custom_fields"] = _check_custom_fields(workspace_id, changes["custom_fields"])
    updated = _apply_with_retry(workspace_id, customer_id, changes, expected_version=version, actor_id=actor_id)
    if "renewal_date" in changes:  # also when unchanged: a retried PATCH repairs a missed follow-up
        renewal_schedule.follow_renewal_date(updated, actor_id)
    return updated


def archive_customer(caller: Caller, customer_id: str) -> Customer:
    current = visible_customer(caller, customer_id)
    if current.archived:
        return current  # archiving twice is not an error
    return _apply_with_retry(
        caller.workspace_id, customer_id, {"archived": True}, expected_version=None, actor_id=caller.user_id
    )


def _audit_entry(actor_id: str, before: Customer, after: Customer) -> audit_store.AuditItem | None:
    """Archiving and owner changes are audited (in the update's transaction); other edits are not."""
    fields = [f for f in ("archived", *OWNER_FIELDS) if getattr(before, f) != getattr(after, f)]
    if not fields:
        return None
    action = "customer.archived" if "archived" in fields else "customer.owner_changed"
    return audit_store.audit_item(
        after.workspace_id,
        actor_id,
        action,
        f"customer:{after.customer_id}",
        before.model_dump(mode="json", include=set(fields)),
        after.model_dump(mode="json", include=set(fields)),
    )


def hand_over(
    workspace_id: str, customer_id: str, from_id: str, to_id: str, actor_id: str, *, co_owned: bool, hubspot_owner: bool
) -> str:
    """Give `to_id` what `from_id` holds of a customer: its ownership, and when `co_owned` their
    co-ownership (in their place in the list). `hubspot_owner`: HubSpot sets the owner of a customer
    linked to one of its companies, so such a customer keeps its owner. Audited like an owner change
    made with PATCH. Returns what changed: owned, co_owned, hubspot (kept) or none."""
    outcome = "none"

    def changes_of(current: Customer) -> dict[str, Any]:
        nonlocal outcome
        outcome = "none"
        changes: dict[str, Any] = {}
        owner = current.owner_id
        if owner == from_id:
            if hubspot_owner and current.external_id:
                outcome = "hubspot"
            else:
                owner = changes["owner_id"] = to_id
                outcome = "owned"
        co_owners = list(current.co_owner_ids)
        if co_owned and from_id in co_owners:
            co_owners = [to_id if c == from_id else c for c in co_owners]
            outcome = "co_owned" if outcome == "none" else outcome
        kept = [c for i, c in enumerate(co_owners) if c != owner and c not in co_owners[:i]]
        if kept != list(current.co_owner_ids):
            changes["co_owner_ids"] = kept
        return changes

    _apply_with_retry(workspace_id, customer_id, changes_of, expected_version=None, actor_id=actor_id)
    return outcome


def _apply_with_retry(
    workspace_id: str,
    customer_id: str,
    changes: dict[str, Any] | Callable[[Customer], dict[str, Any]],
    expected_version: int | None,
    actor_id: str | None = None,
) -> Customer:
    """`changes`, or what a function makes of the customer as read (read again on a conflict)."""
    for attempt in conflict_attempts(UPDATE_ATTEMPTS):
        current = store.require_customer(workspace_id, customer_id)
        if expected_version is not None and current.version != expected_version:
            raise Conflict(
                f"Customer is at version {current.version}, not {expected_version}",
                [{"field": "version", "issue": "stale"}],
                code="version_conflict",
            )
        wanted = changes(current) if callable(changes) else changes
        updated = apply_patch(current, wanted, now_iso=clock.iso(clock.now()))
        if updated.model_dump(exclude={"updated_at"}) == current.model_dump(exclude={"updated_at"}):
            return current  # nothing changed: no write, no version bump
        try:
            audit = _audit_entry(actor_id, current, updated) if actor_id is not None else None
            saved = store.update_customer(current, updated, audit=audit)
            _publish_changed(current, saved)
            return saved
        except Conflict as error:
            last_try = attempt == UPDATE_ATTEMPTS - 1
            if error.code != "version_conflict" or expected_version is not None or last_try:
                raise
    raise AssertionError("unreachable")


def _publish_changed(before: Customer | None, after: Customer) -> None:
    """`customer.changed` on the bus (playbooks: lifecycle and days-after triggers; webhooks). The
    write already happened, so a failed publish is logged, not raised."""
    try:
        event_bus.publish([changed_event(before, after)])
    except Exception:
        logger.exception("customer.changed was not published", extra={"customer_id": after.customer_id})


def changed_event(before: Customer | None, after: Customer) -> event_bus.DomainEvent:
    """The `customer.changed` event of a creation (`before` None) or an update (also sent by imports)."""
    detail = {
        "workspace_id": after.workspace_id,
        "customer_id": after.customer_id,
        "change": "created" if before is None else "updated",
        "before_status": before.status if before else None,
        "after_status": after.status,
        "owner_id": after.owner_id,
        "changed_fields": sorted(set(changed_fields(before, after)) - {"updated_at", "version"}) if before else [],
        "version": after.version,
        "changed_at": after.updated_at,
    }
    return event_bus.DomainEvent("customer.changed", detail)


def list_customers(caller: Caller, query: CustomerListQuery) -> store.CustomerPage:
    """Customers in the order asked (by name by default), with any filters. A csm or viewer lists
    their own book (owned and co-owned); `owner_id` then narrows it to what that user owns. The costs
    of each combination: storage/customer_lists.py."""
    base = store.CustomerFilters(
        status=query.status,
        owner_id=query.owner_id,
        portfolio_of=permissions.portfolio_of(caller),
        tier=query.tier,
        industry=query.industry,
        region=query.region,
        country=query.country,
        plan=query.plan,
        renewal_before=query.renewal_before,
        include_archived=query.include_archived,
    )
    segment = None
    if query.segment_id is not None:  # an unknown segment is a 404 naming segment_id
        saved = segment_store.get_segment(caller.workspace_id, query.segment_id)
        segment = stored_rule(saved.condition, condition_fields(caller.workspace_id))
    filters = customer_lists.ListFilters(
        base=base,
        name_prefix=query.q.strip().lower() if query.q else None,
        band=query.band,
        segment=segment,
    )
    order = customer_lists.ListOrder.parse(query.sort)
    return customer_lists.list_customers(caller.workspace_id, filters, order, query.limit, query.cursor)
