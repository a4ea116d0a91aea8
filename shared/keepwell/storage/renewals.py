"""Renewals, the workspace's forecast categories and churn records: the only code that writes them.

A renewal lives in its customer's collection (`WS#w#CUST#c / RENEWAL#<id>`) and is listed across
the workspace by renewal date on gsi1 (`WS#w#RENEWALS` / `<date>#c#<id>`) and by its customer's owner
on gsi2 (`WS#w#OWNER#o#RENEWALS`, same sort key). The item also carries what its pipeline row shows
besides the renewal (storage/renewal_rows.py), which the renewal's own writes leave alone (UpdateItem
of the renewal's attributes). Changes are version-conditioned; a forecast change and its audit entry
are one transaction, and so are a churn (profile, churn record, closed renewals, audit entry).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from keepwell import clock
from keepwell.domain import renewals as rules
from keepwell.domain.customers import Customer
from keepwell.domain.health.signals import ContractSignals
from keepwell.domain.renewals import DEFAULT_FORECAST, ForecastSettings, Renewal
from keepwell.errors import Conflict, NotFound
from keepwell.storage import customers as customer_store
from keepwell.storage import keys, renewal_rows, signal_logs
from keepwell.storage import tasks as task_store
from keepwell.storage.audit import AuditItem
from keepwell.storage.customers import to_customer
from keepwell.storage.metrics import batch_get_raw
from keepwell.storage.models import CustomerItem, TableItem, table_connection
from keepwell.storage.renewal_rows import RenewalRowItem, RowContext, RowsMarkerItem

ENTITY = "renewal"
SETTINGS_ENTITY = "renewal_settings"
CONTRACT_ENTITY = "contract_summary"
CHURN_ENTITY = "churn_record"
BATCH_GET_LIMIT = 100


class RenewalItem(RenewalRowItem):
    """The renewal (its row's other attributes: RenewalRowItem)."""

    product = UnicodeAttribute(null=True)
    current_arr = NumberAttribute()
    mrr = NumberAttribute()
    auto_renew = BooleanAttribute(default=False)
    proposed_arr = NumberAttribute(null=True)
    expansion_target_arr = NumberAttribute(null=True)
    forecast_category = UnicodeAttribute()
    status = UnicodeAttribute()
    closed_on = UnicodeAttribute(null=True)
    closed_arr = NumberAttribute(null=True)
    account_executive_id = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)


class RenewalSettingsItem(TableItem):
    document = UnicodeAttribute()  # JSON of ForecastSettings
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()


class ContractSummaryItem(TableItem):
    document = UnicodeAttribute()  # JSON: renewal_date, auto_renew, expansions, contractions
    updated_at = UnicodeAttribute()


class ChurnRecordItem(TableItem):
    customer_id = UnicodeAttribute()
    churn_reason = UnicodeAttribute()
    churn_note = UnicodeAttribute(null=True)
    churned_at = UnicodeAttribute()
    churned_by = UnicodeAttribute()
    arr_lost = NumberAttribute(default=0)
    previous_status = UnicodeAttribute()


# --- mapping ----------------------------------------------------------------------------------------
def _own_attributes(renewal: Renewal) -> dict[str, Any]:
    """The renewal's own attributes (what its writes set; the row's other attributes are left alone)."""
    data = renewal.model_dump()
    data["renewal_date"] = renewal.renewal_date.isoformat()
    data["closed_on"] = renewal.closed_on.isoformat() if renewal.closed_on else None
    sort = keys.renewal_sort(renewal.renewal_date, renewal.customer_id, renewal.renewal_id)
    return {
        "entity": ENTITY,
        "gsi1pk": keys.renewals_listing(renewal.workspace_id),
        "gsi1sk": sort,
        "gsi2sk": sort,
        **data,
    }


def to_item(renewal: Renewal, customer: Customer | None = None, *, fresh_customer: bool = False) -> RenewalItem:
    """A new renewal item; with its customer, the profile's part of its row (and the owner's gsi2
    listing); `fresh_customer`: a customer created a moment ago, so no next action and no activity yet."""
    key = keys.renewal(renewal.workspace_id, renewal.customer_id, renewal.renewal_id)
    data = _own_attributes(renewal)
    if customer is not None:
        data.update(renewal_rows.profile_values(customer))
    if fresh_customer:
        data["next_action"] = data["last_activity"] = renewal_rows.encode(None)
    return RenewalItem(key.pk, key.sk, **data)


def _update_actions(renewal: Renewal) -> list[Action]:
    actions: list[Action] = []
    for name, value in _own_attributes(renewal).items():
        attribute = getattr(RenewalItem, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def _conditional_update(tx: TransactWrite, before: Renewal, after: Renewal) -> None:
    """The renewal's own attributes as `after` (at `before`'s version + 1) if still at `before`'s version."""
    key = keys.renewal(before.workspace_id, before.customer_id, before.renewal_id)
    after = after.model_copy(update={"version": before.version + 1})
    tx.update(
        RenewalItem(key.pk, key.sk), actions=_update_actions(after), condition=RenewalItem.version == before.version
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def to_renewal(item: RenewalItem) -> Renewal:
    return Renewal(
        renewal_id=item.renewal_id,
        workspace_id=item.workspace_id,
        customer_id=item.customer_id,
        product=item.product,
        renewal_date=date.fromisoformat(item.renewal_date),
        current_arr=float(item.current_arr),
        mrr=float(item.mrr),
        auto_renew=bool(item.auto_renew),
        proposed_arr=_number(item.proposed_arr),
        expansion_target_arr=_number(item.expansion_target_arr),
        forecast_category=item.forecast_category,
        status=item.status,  # type: ignore[arg-type]
        closed_on=date.fromisoformat(item.closed_on) if item.closed_on else None,
        closed_arr=_number(item.closed_arr),
        account_executive_id=item.account_executive_id,
        notes=item.notes,
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=int(item.version),
    )


# --- renewals -----------------------------------------------------------------------------------------
def create_renewal(renewal: Renewal, customer: Customer | None = None) -> Renewal:
    """A new renewal; Conflict when one with its id exists (ids derived from the data repeat). Its row
    is filled from the sources (profile, signal log, renewal playbooks' tasks) right after."""
    try:
        to_item(renewal, customer).save(condition=RenewalItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(
                f"Renewal {renewal.renewal_id} already exists", [{"field": "renewal_id", "issue": "exists"}]
            ) from error
        raise
    refresh_contract_summary(renewal.workspace_id, renewal.customer_id)
    refresh_rows(renewal.workspace_id, [renewal.customer_id])
    return renewal


def put_renewals_batch(renewals: Iterable[Renewal]) -> int:
    """Renewals by batch write, unconditionally (seeding and imports of trusted data). Their rows are
    not filled: the caller runs `backfill_pipeline_rows` once its data is written (infra/seed.py)."""
    written: set[tuple[str, str]] = set()
    count = 0
    with RenewalItem.batch_write() as batch:
        for renewal in renewals:
            batch.save(to_item(renewal))
            written.add((renewal.workspace_id, renewal.customer_id))
            count += 1
    for workspace_id, customer_id in sorted(written):
        refresh_contract_summary(workspace_id, customer_id)
    return count


def put_first_renewals(renewals: Sequence[Renewal], customers: dict[str, Customer] | None = None) -> int:
    """The first renewal of customers that have none yet (customers an import just created), each with
    its contract summary computed from it alone, in BatchWriteItem requests: no Query per customer.
    With the customers, each item carries its row (a customer just created has no task nor activity)."""
    stamp = clock.iso(clock.now())
    customers = customers or {}
    with RenewalItem.batch_write() as batch:
        for renewal in renewals:
            customer = customers.get(renewal.customer_id)
            batch.save(to_item(renewal, customer, fresh_customer=customer is not None))
            signals = rules.contract_signals([renewal])
            if signals is None:
                continue
            key = keys.contract_summary(renewal.workspace_id, renewal.customer_id)
            batch.save(
                ContractSummaryItem(
                    key.pk,
                    key.sk,
                    entity=CONTRACT_ENTITY,
                    workspace_id=renewal.workspace_id,
                    document=contract_json(signals),
                    updated_at=stamp,
                )
            )
    return len(renewals)


# --- the Contract dimension's inputs --------------------------------------------------------------------
def refresh_contract_summary(workspace_id: str, customer_id: str) -> ContractSignals | None:
    """Recompute what the Contract dimension reads from the customer's renewals (one Query) and store
    it next to them (one PutItem; removed when the customer has no renewal). Every renewal write of
    this module calls it, so the scorer reads it by key instead of querying renewals per customer.
    Rewriting it is idempotent; a scoring racing a renewal change sees the one or the other."""
    signals = rules.contract_signals(list_customer_renewals(workspace_id, customer_id))
    key = keys.contract_summary(workspace_id, customer_id)
    if signals is None:
        ContractSummaryItem(key.pk, key.sk).delete()
        return None
    ContractSummaryItem(
        key.pk,
        key.sk,
        entity=CONTRACT_ENTITY,
        workspace_id=workspace_id,
        document=contract_json(signals),
        updated_at=clock.iso(clock.now()),
    ).save()
    return signals


def contract_json(signals: ContractSignals) -> str:
    return json.dumps(
        {
            "renewal_date": signals.renewal_date.isoformat() if signals.renewal_date else None,
            "auto_renew": signals.auto_renew,
            "expansions": signals.expansions,
            "contractions": signals.contractions,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def get_renewal(workspace_id: str, customer_id: str, renewal_id: str) -> Renewal | None:
    key = keys.renewal(workspace_id, customer_id, renewal_id)
    try:
        return to_renewal(RenewalItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def require_renewal(workspace_id: str, customer_id: str, renewal_id: str) -> Renewal:
    renewal = get_renewal(workspace_id, customer_id, renewal_id)
    if renewal is None:
        raise NotFound(f"No renewal {renewal_id}", [{"field": "renewal_id", "issue": "not found"}])
    return renewal


def list_customer_renewals(workspace_id: str, customer_id: str) -> list[Renewal]:
    """A customer's renewals (every term and subscription), by renewal date."""
    pk = keys.customer_partition(workspace_id, customer_id)
    items = RenewalItem.query(pk, RenewalItem.sk.startswith(keys.RENEWAL_PREFIX), consistent_read=True)
    return sorted((to_renewal(i) for i in items), key=lambda r: (r.renewal_date, r.product or "", r.renewal_id))


def list_by_date(workspace_id: str, start: date, end: date) -> list[Renewal]:
    """Every renewal of the workspace due between two dates (inclusive), by date (gsi1)."""
    items = RenewalItem.gsi1.query(
        keys.renewals_listing(workspace_id),
        RenewalItem.gsi1sk.between(start.isoformat(), f"{end.isoformat()}~"),
    )
    return [to_renewal(item) for item in items]


def _stale(error: TransactWriteError) -> Conflict:
    return Conflict(
        "The renewal changed meanwhile; read it again and retry",
        [{"field": "version", "issue": "stale"}],
        code="version_conflict",
    )


def update_renewal(before: Renewal, after: Renewal, audit: AuditItem | None = None) -> Renewal:
    """Write `after` if nobody changed the renewal since `before` was read, with its audit entry
    in the same transaction (nothing is written when either fails)."""
    try:
        with TransactWrite(connection=table_connection()) as tx:
            _conditional_update(tx, before, after)
            if audit is not None:
                tx.save(audit, condition=AuditItem.pk.does_not_exist())
    except TransactWriteError as error:
        raise _stale(error) from error
    after = after.model_copy(update={"version": before.version + 1})
    refresh_contract_summary(after.workspace_id, after.customer_id)
    return after


# --- forecast categories ---------------------------------------------------------------------------------
def get_forecast_settings(workspace_id: str) -> ForecastSettings:
    key = keys.renewal_settings(workspace_id)
    try:
        item = RenewalSettingsItem.get(key.pk, key.sk)
    except DoesNotExist:
        return DEFAULT_FORECAST
    return ForecastSettings.model_validate_json(item.document)


def put_forecast_settings(workspace_id: str, settings: ForecastSettings, updated_by: str, now_iso: str) -> None:
    key = keys.renewal_settings(workspace_id)
    RenewalSettingsItem(
        key.pk,
        key.sk,
        entity=SETTINGS_ENTITY,
        workspace_id=workspace_id,
        document=settings.model_dump_json(),
        updated_at=now_iso,
        updated_by=updated_by,
    ).save()


# --- customers read alongside renewals --------------------------------------------------------------------
def get_profiles(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, Customer]:
    """Profiles by key (BatchGetItem pages of 100); unknown ids are missing from the answer."""
    wanted = sorted(set(customer_ids))
    found: dict[str, Customer] = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        chunk = [keys.customer(workspace_id, c) for c in wanted[start : start + BATCH_GET_LIMIT]]
        for item in CustomerItem.batch_get([(k.pk, k.sk) for k in chunk]):
            found[item.customer_id] = to_customer(item)
    return found


# --- churn ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChurnRecord:
    customer_id: str
    churn_reason: str
    churn_note: str | None
    churned_at: str
    churned_by: str
    arr_lost: float
    previous_status: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def get_churn_record(workspace_id: str, customer_id: str) -> ChurnRecord | None:
    key = keys.churn_record(workspace_id, customer_id)
    try:
        item = ChurnRecordItem.get(key.pk, key.sk)
    except DoesNotExist:
        return None
    return ChurnRecord(
        customer_id=item.customer_id,
        churn_reason=item.churn_reason,
        churn_note=item.churn_note,
        churned_at=item.churned_at,
        churned_by=item.churned_by,
        arr_lost=float(item.arr_lost),
        previous_status=item.previous_status,
    )


def mark_churned(
    before: Customer,
    *,
    record: ChurnRecord,
    closures: Sequence[tuple[Renewal, Renewal]],
    audit: AuditItem,
    now_iso: str,
    opened: Sequence[Renewal] = (),
) -> Customer:
    """One transaction: the profile becomes churned (version-conditioned), the churn record is
    written, the open renewals are closed as churned, and the audit entry is added."""
    workspace_id = before.workspace_id
    profile_key = keys.customer(workspace_id, before.customer_id)
    record_key = keys.churn_record(workspace_id, before.customer_id)
    after = before.model_copy(
        update={
            "status": "churned",
            "churn_reason": record.churn_reason,
            "updated_at": now_iso,
            "version": before.version + 1,
        }
    )
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.update(
                CustomerItem(profile_key.pk, profile_key.sk),
                actions=[
                    CustomerItem.status.set("churned"),
                    CustomerItem.churn_reason.set(record.churn_reason),
                    CustomerItem.updated_at.set(now_iso),
                    CustomerItem.version.set(before.version + 1),
                ],
                condition=(CustomerItem.version == before.version),
            )
            tx.save(
                ChurnRecordItem(
                    record_key.pk,
                    record_key.sk,
                    entity=CHURN_ENTITY,
                    workspace_id=workspace_id,
                    **record.as_dict(),
                )
            )
            for old, new in closures:
                _conditional_update(tx, old, new)
            for renewal in opened:  # the lost term of a customer without an open renewal
                tx.save(to_item(renewal, after), condition=RenewalItem.pk.does_not_exist())
            tx.save(audit, condition=AuditItem.pk.does_not_exist())
    except TransactWriteError as error:
        raise Conflict(
            "The customer or one of its renewals changed meanwhile; retry",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        ) from error
    if closures or opened:
        refresh_contract_summary(workspace_id, before.customer_id)
    if opened:
        refresh_rows(workspace_id, [before.customer_id])
    return after


# --- the pipeline's rows (storage/renewal_rows.py; docs/renewals.md "Reads") -----------------------------
@dataclass(frozen=True)
class PipelineRecord:
    renewal: Renewal
    row: RowContext


@dataclass(frozen=True)
class PipelineInputs:
    """The forecast settings and the renewals due in a window, in gsi1's order (date, customer, renewal)."""

    settings: ForecastSettings
    records: list[PipelineRecord]


def _between(start: date, end: date) -> tuple[str, str]:
    return start.isoformat(), f"{end.isoformat()}~"


def pipeline_inputs(workspace_id: str, start: date, end: date, book_of: str | None = None) -> PipelineInputs:
    """The forecast settings and the renewals due between two dates (inclusive), with their rows:

    - one BatchGetItem of the settings and the workspace's rows marker (keys.pipeline_rows_marker);
    - `book_of` (a CSM's or viewer's own book, or the one an oversight role asked for) once the marker
      is there: one Query of the owner's gsi2
      listing and one of their co-owner memberships, then one Query per co-owned customer (none in most
      books) — the rest of the workspace is not read;
    - otherwise one Query of the workspace's gsi1 listing (the caller filters the book from the rows).
    """
    settings_key, marker_key = keys.renewal_settings(workspace_id), keys.pipeline_rows_marker(workspace_id)
    settings, kept = DEFAULT_FORECAST, False
    for raw in batch_get_raw([settings_key, marker_key]):
        if raw["sk"]["S"] == settings_key.sk:
            settings = ForecastSettings.model_validate_json(RenewalSettingsItem.from_raw_data(raw).document)
        elif raw["sk"]["S"] == marker_key.sk:
            kept = True
    low, high = _between(start, end)
    items: list[RenewalItem]
    if book_of is not None and kept:
        items = list(
            RenewalItem.gsi2.query(keys.renewals_by_owner(workspace_id, book_of), RenewalItem.gsi2sk.between(low, high))
        )
        listed = {i.sk for i in items}
        for customer_id in customer_store.co_owned_ids(workspace_id, book_of):
            pk = keys.customer_partition(workspace_id, customer_id)
            rows = RenewalItem.query(pk, RenewalItem.sk.startswith(keys.RENEWAL_PREFIX), consistent_read=True)
            items += [i for i in rows if low <= i.renewal_date <= high and i.sk not in listed]
    else:
        items = list(RenewalItem.gsi1.query(keys.renewals_listing(workspace_id), RenewalItem.gsi1sk.between(low, high)))
    items.sort(key=lambda i: keys.renewal_sort(date.fromisoformat(i.renewal_date), i.customer_id, i.renewal_id))
    return PipelineInputs(settings, [PipelineRecord(to_renewal(i), renewal_rows.context_of(i)) for i in items])


def refresh_rows(
    workspace_id: str, customer_ids: Iterable[str], items: dict[str, list[RenewalRowItem]] | None = None
) -> int:
    """Fill the rows of the customers' renewal items from their sources — profiles and signal logs by
    BatchGetItem, next actions by one Query of the renewal playbooks and one of each customer's open
    tasks — writing only the items whose values differ. Returns the items written."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return 0
    by_customer = items if items is not None else {c: renewal_rows.customer_rows(workspace_id, c) for c in wanted}
    profiles = get_profiles(workspace_id, wanted)
    logs = signal_logs.get_signal_logs(workspace_id, wanted)
    actions = task_store.next_actions(workspace_id, wanted)
    written = 0
    for customer_id in wanted:
        values: dict[str, Any] = {}
        profile = profiles.get(customer_id)
        if profile is not None:
            values.update(renewal_rows.profile_values(profile))
        log = logs.get(customer_id)
        activity = rules.latest_activity(log.emails, log.meetings) if log is not None else None
        values["last_activity"] = renewal_rows.encode(activity)
        values["next_action"] = renewal_rows.encode(actions.get(customer_id))
        written += renewal_rows.apply(by_customer.get(customer_id, []), values)
    return written


def backfill_pipeline_rows(workspace_id: str) -> int:
    """Give every renewal of the workspace its row (customer name, owner, co-owners, archived flag, the
    owner's gsi2 listing, next action, last activity), then write the workspace's rows marker so CSMs'
    pipelines read their book only. No Scan: one Query of the workspace's gsi1 renewal listing, then per
    100 customers a BatchGetItem of profiles and of signal logs and one Query of each customer's open
    tasks (only when the workspace has a renewal playbook). Idempotent: an item already right is not
    written again. Returns the items written."""
    by_customer: dict[str, list[RenewalRowItem]] = {}
    for item in RenewalRowItem.gsi1.query(keys.renewals_listing(workspace_id)):
        by_customer.setdefault(item.customer_id, []).append(item)
    customer_ids = sorted(by_customer)
    written = 0
    for start in range(0, len(customer_ids), BATCH_GET_LIMIT):
        chunk = customer_ids[start : start + BATCH_GET_LIMIT]
        written += refresh_rows(workspace_id, chunk, {c: by_customer[c] for c in chunk})
    renewal_rows.mark_kept(workspace_id)
    return written


def rows_kept(workspace_id: str) -> bool:
    key = keys.pipeline_rows_marker(workspace_id)
    try:
        RowsMarkerItem.get(key.pk, key.sk)
    except DoesNotExist:
        return False
    return True
