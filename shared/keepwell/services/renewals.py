"""Renewal use cases: records per customer and subscription, the pipeline, the upcoming table and its
CSV, forecast categories (a change needs a reason and is audited), closing a renewal.

Who sees what: a CSM only the customers they own or co-own (another customer answers 404, as if it
did not exist); directors and admins the whole workspace; viewers read only.
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from types import ModuleType
from typing import Any

from keepwell import clock, ids, permissions
from keepwell.adapters import event_bus
from keepwell.auth import Caller
from keepwell.domain import renewals as rules
from keepwell.domain.customers import Customer, derive_revenue
from keepwell.domain.renewals import ForecastSettings, Renewal
from keepwell.errors import Conflict, InvalidInput, NotFound
from keepwell.observability import logger
from keepwell.schemas.audit import AuditEntryOut
from keepwell.schemas.renewals import (
    ForecastChangeIn,
    ForecastSettingsIn,
    PipelineOut,
    PipelineQuery,
    PipelineRowOut,
    PipelineTotalOut,
    RenewalCloseIn,
    RenewalCreateIn,
    RenewalDetailOut,
    RenewalOut,
    RenewalPatchIn,
    UpcomingOut,
    UpcomingQuery,
    UpcomingRowOut,
)
from keepwell.services import user_references
from keepwell.storage import audit as audit_store
from keepwell.storage import customers as customer_store
from keepwell.storage import renewals as store
from keepwell.storage import signal_logs, workspaces
from keepwell.storage import tasks as task_store
from keepwell.storage.renewal_rows import RowContext

FORECAST_ACTION = "renewal.forecast_changed"
PIPELINE_MAX_ROWS = 2000
SAVE_TASK_DUE_DAYS = 3
CSV_COLUMNS = (
    "account",
    "product",
    "mrr",
    "renewal_date",
    "days_left",
    "colour",
    "auto_renew",
    "owner",
    "forecast_category",
    "customer_id",
    "renewal_id",
)


# --- access ------------------------------------------------------------------------------------------
def visible_customer(caller: Caller, customer_id: str) -> Customer:
    """The customer if the caller may see it; 404 otherwise (another CSM's customer, another
    workspace's id, or no such customer: the same answer)."""
    customer = customer_store.get_customer(caller.workspace_id, customer_id)
    if customer is None or not permissions.can_see_customer(caller, customer):
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    return customer


# --- events and tasks (best effort: the write already happened) ---------------------------------------------
def publish(detail_type: str, detail: dict[str, Any]) -> None:
    """Publish one domain event. A failure is logged, not raised: the change is already saved and
    must not be answered as an error (at-least-once delivery would need an outbox; see docs/renewals.md)."""
    try:
        event_bus.publish([event_bus.DomainEvent(detail_type, detail)])
    except Exception:  # the bus being down must not fail a saved change
        logger.exception("domain event not published", extra={"detail_type": detail_type})


def _tasks_service() -> ModuleType | None:
    """The tasks service, imported lazily (it is built separately and costs nothing until used);
    None if this build does not have it."""
    try:
        return importlib.import_module("keepwell.services.tasks")
    except ImportError:
        return None


def create_task(
    caller: Caller,
    customer: Customer,
    *,
    title: str,
    description: str,
    due_date: date,
    owner_id: str | None,
) -> dict[str, Any] | None:
    """Create a suggested task through the tasks service (its rules apply: a CSM creates tasks for
    their own customers); the tasks service publishes `task.created` itself. None when this build has
    no tasks service (the gap is documented in docs/renewals.md). Without `owner_id` the task goes to the
    customer's owner if they can work it (active, not a viewer), else to the caller: a default nobody
    asked for never fails the request, which may have written its change already."""
    service = _tasks_service()
    if service is None:
        return None
    from keepwell.schemas.tasks import TaskCreateIn

    if owner_id is None and customer.owner_id is not None:
        can_work = not user_references.problems(caller.workspace_id, [("owner_id", customer.owner_id)], works=True)
        owner_id = customer.owner_id if can_work else caller.user_id

    body = TaskCreateIn.model_validate(
        {
            "title": title[:200],
            "description": description[:2000],
            "owner_id": owner_id or customer.owner_id or caller.user_id,
            "due_date": due_date,
            "customer_id": customer.customer_id,
            "source": "suggestion",
        },
        strict=False,
    )
    out: dict[str, Any] = service.create_task(caller, body).model_dump(mode="json")
    return out


def _next_actions(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Next actions read from the tasks (rows from before their next action was kept on them): one
    Query of the playbooks and one of each customer's open tasks."""
    wanted = set(customer_ids)
    if not wanted or _tasks_service() is None:
        return {}
    return task_store.next_actions(workspace_id, wanted)


# --- forecast settings -------------------------------------------------------------------------------------------
def forecast_settings(caller: Caller) -> ForecastSettings:
    return store.get_forecast_settings(caller.workspace_id)


def put_forecast_settings(caller: Caller, body: ForecastSettingsIn) -> ForecastSettings:
    try:
        settings = ForecastSettings.model_validate(body.model_dump())
    except ValueError as error:
        raise InvalidInput(
            f"Invalid forecast categories: {error}", [{"field": "categories", "issue": str(error)}]
        ) from None
    before = store.get_forecast_settings(caller.workspace_id)
    store.put_forecast_settings(caller.workspace_id, settings, caller.user_id, clock.iso(clock.now()))
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "renewal.forecast_categories_changed",
        "workspace:forecast_categories",
        before.model_dump(mode="json"),
        settings.model_dump(mode="json"),
    )
    return settings


# --- one customer's renewals -------------------------------------------------------------------------------------
def renewal_out(renewal: Renewal, today: date | None = None) -> RenewalOut:
    today = today or clock.today()
    left = rules.days_left(renewal.renewal_date, today)
    delta = rules.proposed_delta(renewal.current_arr, renewal.proposed_arr).as_dict()
    return RenewalOut.of(renewal, left, rules.colour(left), delta)


def _check_user(workspace_id: str, user_id: str | None, field: str) -> None:
    user_references.check(workspace_id, [(field, user_id)], works=False)


def _revenue(customer: Customer, product: str | None, arr: float | None, mrr: float | None) -> tuple[float, float]:
    if arr is None and mrr is None:
        if product is not None:
            raise InvalidInput(
                "A subscription renewal needs its mrr or current_arr",
                [{"field": "mrr", "issue": "required for a subscription (product) renewal"}],
            )
        return customer.arr, customer.mrr
    return derive_revenue(arr, mrr)


def sync_profile_renewal_date(caller: Caller, customer: Customer) -> None:
    """Keep the profile's `renewal_date` (read by the health model, playbooks and My day) on the
    customer's next open account-level renewal; subscription renewals do not move it, and a customer
    without account-level renewal records keeps what was set on the profile."""
    account = [r for r in store.list_customer_renewals(caller.workspace_id, customer.customer_id) if r.product is None]
    if not account or customer.status == "churned":
        return
    upcoming = rules.next_open(account)
    wanted = upcoming.renewal_date if upcoming is not None else None
    if wanted is None or wanted == customer.renewal_date:
        return
    from keepwell.schemas.customers import CustomerPatchIn
    from keepwell.services import customers as customer_service

    customer_service.update_customer(
        caller, customer.customer_id, CustomerPatchIn.model_validate({"renewal_date": wanted})
    )


def create_renewal(caller: Caller, customer_id: str, body: RenewalCreateIn) -> Renewal:
    customer = visible_customer(caller, customer_id)
    settings = store.get_forecast_settings(caller.workspace_id)
    category = rules.check_category(settings, body.forecast_category or settings.default_category)
    _check_user(caller.workspace_id, body.account_executive_id, "account_executive_id")
    arr, mrr = _revenue(customer, body.product, body.current_arr, body.mrr)
    now = clock.iso(clock.now())
    renewal = Renewal(
        renewal_id=ids.new_id("ren"),
        workspace_id=caller.workspace_id,
        customer_id=customer_id,
        product=body.product,
        renewal_date=body.renewal_date,
        current_arr=arr,
        mrr=mrr,
        auto_renew=body.auto_renew,
        proposed_arr=body.proposed_arr,
        expansion_target_arr=body.expansion_target_arr,
        forecast_category=category,
        account_executive_id=body.account_executive_id,
        notes=body.notes,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    created = store.create_renewal(renewal, customer)
    if created.product is None:
        sync_profile_renewal_date(caller, customer)
    return created


def list_renewals(caller: Caller, customer_id: str) -> list[Renewal]:
    visible_customer(caller, customer_id)
    return store.list_customer_renewals(caller.workspace_id, customer_id)


def _target(renewal: Renewal) -> str:
    return f"renewal:{renewal.renewal_id}"


def get_renewal(caller: Caller, customer_id: str, renewal_id: str) -> RenewalDetailOut:
    visible_customer(caller, customer_id)
    renewal = store.require_renewal(caller.workspace_id, customer_id, renewal_id)
    history = audit_store.list_by_target(caller.workspace_id, _target(renewal))
    out = renewal_out(renewal)
    return RenewalDetailOut.model_validate(
        {
            **out.model_dump(),
            "forecast_history": [AuditEntryOut.of(e) for e in history if e.action == FORECAST_ACTION],
        }
    )


def _check_version(renewal: Renewal, version: int | None) -> None:
    if version is not None and version != renewal.version:
        raise Conflict(
            f"Renewal is at version {renewal.version}, not {version}",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        )


def update_renewal(caller: Caller, customer_id: str, renewal_id: str, body: RenewalPatchIn) -> Renewal:
    customer = visible_customer(caller, customer_id)
    current = store.require_renewal(caller.workspace_id, customer_id, renewal_id)
    _check_version(current, body.version)
    changes = body.changes()
    for name in ("renewal_date", "auto_renew"):
        if name in changes and changes[name] is None:
            raise InvalidInput(f"{name} cannot be null", [{"field": name, "issue": "cannot be cleared"}])
    if "account_executive_id" in changes:
        _check_user(caller.workspace_id, changes["account_executive_id"], "account_executive_id")
    data = current.model_dump()
    revenue = {k: changes.pop(k) for k in ("current_arr", "mrr") if k in changes}
    data.update(changes)
    if revenue:
        data["current_arr"], data["mrr"] = _revenue(
            customer, data["product"], revenue.get("current_arr"), revenue.get("mrr")
        )
    data["updated_at"] = clock.iso(clock.now())
    updated = Renewal.model_validate(data)
    if updated.model_dump(exclude={"updated_at"}) == current.model_dump(exclude={"updated_at"}):
        return current
    saved = store.update_renewal(current, updated)
    if current.product is None or saved.product is None:
        sync_profile_renewal_date(caller, customer)
    return saved


def change_forecast(caller: Caller, customer_id: str, renewal_id: str, body: ForecastChangeIn) -> Renewal:
    """Move a renewal to another forecast category. A reason is required (400 and nothing written
    without one); the renewal and its audit entry (actor, before, after, reason) are one transaction.
    Moving to the at-risk category notifies the directors (domain event) and, if asked, opens a save
    task; the best-case category on a `sales_handoff` customer hands it to its account executive."""
    reason = rules.require_reason(body.reason)
    customer = visible_customer(caller, customer_id)
    settings = store.get_forecast_settings(caller.workspace_id)
    category = rules.check_category(settings, body.forecast_category)
    current = store.require_renewal(caller.workspace_id, customer_id, renewal_id)
    _check_version(current, body.version)
    if category == current.forecast_category:
        return current
    before, after = current.forecast_category, category
    updated = current.model_copy(update={"forecast_category": category, "updated_at": clock.iso(clock.now())})
    entry = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        FORECAST_ACTION,
        _target(current),
        {"forecast_category": before},
        {"forecast_category": after},
        reason,
    )
    saved = store.update_renewal(current, updated, audit=entry)
    at_risk = category == settings.at_risk_category
    directors = sorted(
        u.user_id for u in workspaces.list_users(caller.workspace_id) if u.role == "director" and u.active
    )
    publish(
        FORECAST_ACTION,
        {
            "workspace_id": caller.workspace_id,
            "customer_id": customer_id,
            "renewal_id": renewal_id,
            "before": before,
            "after": after,
            "reason": reason,
            "actor_id": caller.user_id,
            "at_risk": at_risk,
            "notify_user_ids": directors if at_risk else [],
            "version": saved.version,  # with the renewal id: this change's identity (notified once)
            "changed_at": saved.updated_at,
        },
    )
    if at_risk and body.open_save_task:
        create_task(
            caller,
            customer,
            title=f"Save {customer.name}: renewal on {current.renewal_date.isoformat()} is at risk",
            description=f"Forecast moved from {settings.label(before)} to {settings.label(after)}: {reason}",
            due_date=clock.today() + timedelta(days=SAVE_TASK_DUE_DAYS),
            owner_id=None,  # the customer's owner when they can work it
        )
    if category == settings.best_case_category and "sales_handoff" in customer.tags:
        _hand_off_to_sales(caller, customer, saved)
    return saved


def _hand_off_to_sales(caller: Caller, customer: Customer, renewal: Renewal) -> None:
    """Add the renewal's account executive as co-owner and tell them (domain event)."""
    executive = renewal.account_executive_id
    if executive is None:
        logger.info("sales handoff without an account executive", extra={"renewal_id": renewal.renewal_id})
        return
    if executive not in customer.co_owner_ids and executive != customer.owner_id:
        from keepwell.schemas.customers import CustomerPatchIn
        from keepwell.services import customers as customer_service

        patch = CustomerPatchIn.model_validate({"co_owner_ids": sorted({*customer.co_owner_ids, executive})})
        customer_service.update_customer(caller, customer.customer_id, patch)
    publish(
        "renewal.sales_handoff",
        {
            "workspace_id": caller.workspace_id,
            "customer_id": customer.customer_id,
            "renewal_id": renewal.renewal_id,
            "account_executive_id": executive,
            "actor_id": caller.user_id,
            "notify_user_ids": [executive],
            "version": renewal.version,
            "changed_at": renewal.updated_at,
        },
    )


def close_renewal(caller: Caller, customer_id: str, renewal_id: str, body: RenewalCloseIn) -> Renewal:
    customer = visible_customer(caller, customer_id)
    current = store.require_renewal(caller.workspace_id, customer_id, renewal_id)
    if not current.is_open:
        raise Conflict(
            f"Renewal {renewal_id} is already {current.status}", [{"field": "status", "issue": current.status}]
        )
    if body.outcome == "renewed" and body.closed_arr is None:
        raise InvalidInput("A renewed renewal needs its closed_arr", [{"field": "closed_arr", "issue": "required"}])
    closed_on = body.closed_on or clock.today()
    if closed_on > clock.today():
        raise InvalidInput("closed_on cannot be in the future", [{"field": "closed_on", "issue": "in the future"}])
    updated = current.model_copy(
        update={
            "status": body.outcome,
            "closed_on": closed_on,
            "closed_arr": 0.0 if body.outcome == "churned" else body.closed_arr,
            "updated_at": clock.iso(clock.now()),
        }
    )
    entry = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "renewal.closed",
        _target(current),
        {"status": current.status},
        {"status": updated.status, "closed_arr": updated.closed_arr, "closed_on": closed_on.isoformat()},
    )
    saved = store.update_renewal(current, updated, audit=entry)
    if saved.product is None:
        sync_profile_renewal_date(caller, customer)
    return saved


def forecast_changes(caller: Caller, days: int) -> list[AuditEntryOut]:
    """The director's view: every forecast change of the last `days` days, newest first."""
    since = clock.now() - timedelta(days=days)
    entries = audit_store.list_since(caller.workspace_id, since, action=FORECAST_ACTION)
    return [AuditEntryOut.of(e) for e in entries]


# --- the pipeline and the upcoming table --------------------------------------------------------------------------
def _with_days(activity: dict[str, Any] | None) -> dict[str, Any] | None:
    """A row's last activity with `days_ago` (from today)."""
    if activity is None:
        return None
    return {**activity, "days_ago": (clock.today() - date.fromisoformat(activity["at"][:10])).days}


def _visible_rows(
    caller: Caller, start: date, end: date, owner_id: str | None
) -> tuple[ForecastSettings, list[tuple[Renewal, RowContext]]]:
    """The forecast settings and the renewals due in the window the caller may see (their book for a
    CSM or viewer, which `owner_id` narrows to that user's own customers, as the customer list does;
    `owner_id`'s owned and co-owned customers when a director or admin asks, read as that book),
    archived customers left out.
    The profile's part of a row comes from the renewal item; items from before it was kept there read
    their profiles (BatchGetItem)."""
    wanted = permissions.portfolio_owner(caller, owner_id)
    narrowed_to = owner_id if permissions.sees_portfolio_only(caller) else None
    inputs = store.pipeline_inputs(caller.workspace_id, start, end, book_of=wanted)
    missing = {r.renewal.customer_id for r in inputs.records if not r.row.has_profile}
    profiles = store.get_profiles(caller.workspace_id, missing) if missing else {}
    kept = []
    for record in inputs.records:
        row = record.row
        if not row.has_profile:
            customer = profiles.get(record.renewal.customer_id)
            if customer is None:
                continue
            row = replace(
                row,
                customer_name=customer.name,
                owner_id=customer.owner_id,
                co_owner_ids=tuple(customer.co_owner_ids),
                archived=customer.archived,
                has_profile=True,
            )
        if row.archived or not permissions.can_see_book_of(caller, row.owner_id, row.co_owner_ids):
            continue
        if wanted is not None and row.owner_id != wanted and wanted not in row.co_owner_ids:
            continue
        if narrowed_to is not None and row.owner_id != narrowed_to:
            continue
        kept.append((record.renewal, row))
    return inputs.settings, kept


def pipeline(caller: Caller, query: PipelineQuery) -> PipelineOut:
    """The pipeline from the renewal items alone (docs/renewals.md "Reads"): a BatchGetItem of the
    forecast settings and a Query of the caller's book (or of the workspace's listing); rows from before
    their name, next action or last activity were kept on them read those from the sources."""
    today = clock.today()
    start, end = rules.pipeline_window(today)
    settings, rows = _visible_rows(caller, start, end, query.owner_id)
    placed: list[tuple[str, Renewal, RowContext]] = []
    for renewal, row in rows:
        where = rules.pipeline_group(renewal, today)
        if where is not None:
            placed.append((where, renewal, row))
    truncated = len(placed) > PIPELINE_MAX_ROWS
    placed = placed[:PIPELINE_MAX_ROWS]
    unknown_activity = {r.customer_id for _, r, row in placed if not row.has_last_activity}
    logs = signal_logs.get_signal_logs(caller.workspace_id, unknown_activity) if unknown_activity else {}
    actions = _next_actions(
        caller.workspace_id, {r.customer_id for g, r, row in placed if g != "historical" and not row.has_next_action}
    )
    groups: dict[str, list[PipelineRowOut]] = {g: [] for g in rules.PIPELINE_GROUPS}
    counts: dict[str, int] = dict.fromkeys(rules.PIPELINE_GROUPS, 0)
    arr: dict[str, float] = dict.fromkeys(rules.PIPELINE_GROUPS, 0.0)
    for group, renewal, row in placed:
        left = rules.days_left(renewal.renewal_date, today)
        if row.has_last_activity:
            activity = row.last_activity
        else:
            log = logs.get(renewal.customer_id)
            activity = signal_logs.last_activity(log) if log is not None else None
        action = row.next_action if row.has_next_action else actions.get(renewal.customer_id)
        groups[group].append(
            PipelineRowOut(
                renewal_id=renewal.renewal_id,
                customer_id=renewal.customer_id,
                customer_name=row.customer_name or "",
                owner_id=row.owner_id,
                product=renewal.product,
                current_arr=renewal.current_arr,
                renewal_date=renewal.renewal_date,
                days_left=left,
                colour=rules.colour(left),
                forecast_category=renewal.forecast_category,
                forecast_label=settings.label(renewal.forecast_category),
                status=renewal.status,
                proposed_delta=rules.proposed_delta(renewal.current_arr, renewal.proposed_arr).as_dict(),
                next_action=action if group != "historical" else None,
                last_activity=_with_days(activity),
                closed_on=renewal.closed_on,
                closed_arr=renewal.closed_arr,
            )
        )
        counts[group] += 1
        arr[group] = round(arr[group] + renewal.current_arr, 2)
    groups["historical"].sort(key=lambda row: (row.closed_on or row.renewal_date, row.customer_name), reverse=True)
    totals: dict[str, PipelineTotalOut] = {
        g: PipelineTotalOut(count=counts[g], current_arr=arr[g]) for g in rules.PIPELINE_GROUPS
    }
    return PipelineOut(as_of=today, groups=groups, totals=totals, truncated=truncated)


def upcoming(caller: Caller, query: UpcomingQuery) -> UpcomingOut:
    """Open renewals (accounts and subscriptions) due within the window, overdue ones included: the same
    reads as the pipeline's, without the next actions and activities."""
    today = clock.today()
    start = today - timedelta(days=rules.HISTORY_DAYS)
    _, rows = _visible_rows(caller, start, today + timedelta(days=query.within), query.owner_id)
    items = []
    for renewal, row in rows:
        if not rules.within_window(renewal, today, query.within):
            continue
        left = rules.days_left(renewal.renewal_date, today)
        items.append(
            UpcomingRowOut(
                renewal_id=renewal.renewal_id,
                customer_id=renewal.customer_id,
                account=row.customer_name or "",
                product=renewal.product,
                mrr=renewal.mrr,
                renewal_date=renewal.renewal_date,
                days_left=left,
                colour=rules.colour(left),
                auto_renew=renewal.auto_renew,
                owner_id=row.owner_id,
                forecast_category=renewal.forecast_category,
            )
        )
    return UpcomingOut(as_of=today, within=query.within, items=items)


def upcoming_csv(caller: Caller, query: UpcomingQuery) -> str:
    """The upcoming table as CSV: a header row, every field quoted where needed (csv module), one
    line per renewal. The HTTP layer sends it as UTF-8 text/csv."""
    table = upcoming(caller, query)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in table.items:
        writer.writerow(
            [
                row.account,
                row.product or "",
                f"{row.mrr:.2f}",
                row.renewal_date.isoformat(),
                row.days_left,
                row.colour,
                "yes" if row.auto_renew else "no",
                row.owner_id or "",
                row.forecast_category,
                row.customer_id,
                row.renewal_id,
            ]
        )
    return buffer.getvalue()
