"""Renewals, the workspace's forecast categories and churn records: the only code that writes them.

A renewal lives in its customer's collection (`WS#w#CUST#c / RENEWAL#<id>`) and is listed across
the workspace by renewal date on gsi1 (`WS#w#RENEWALS` / `<date>#c#<id>`). Changes are
version-conditioned; a forecast change and its audit entry are one transaction, and so are a churn
(profile, churn record, closed renewals, audit entry).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from keepwell import clock
from keepwell.domain import renewals as rules
from keepwell.domain.customers import Customer
from keepwell.domain.health.signals import ContractSignals
from keepwell.domain.renewals import DEFAULT_FORECAST, ForecastSettings, Renewal
from keepwell.errors import Conflict, NotFound
from keepwell.storage import keys
from keepwell.storage.audit import AuditItem
from keepwell.storage.customers import to_customer
from keepwell.storage.models import CustomerItem, TableItem, table_connection

ENTITY = "renewal"
SETTINGS_ENTITY = "renewal_settings"
CONTRACT_ENTITY = "contract_summary"
CHURN_ENTITY = "churn_record"
BATCH_GET_LIMIT = 100


class RenewalItem(TableItem):
    renewal_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    product = UnicodeAttribute(null=True)
    renewal_date = UnicodeAttribute()
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
def to_item(renewal: Renewal) -> RenewalItem:
    key = keys.renewal(renewal.workspace_id, renewal.customer_id, renewal.renewal_id)
    data = renewal.model_dump()
    data["renewal_date"] = renewal.renewal_date.isoformat()
    data["closed_on"] = renewal.closed_on.isoformat() if renewal.closed_on else None
    return RenewalItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        gsi1pk=keys.renewals_listing(renewal.workspace_id),
        gsi1sk=keys.renewal_sort(renewal.renewal_date, renewal.customer_id, renewal.renewal_id),
        **data,
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
def create_renewal(renewal: Renewal) -> Renewal:
    """A new renewal; Conflict when one with its id exists (ids derived from the data repeat)."""
    try:
        to_item(renewal).save(condition=RenewalItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(
                f"Renewal {renewal.renewal_id} already exists", [{"field": "renewal_id", "issue": "exists"}]
            ) from error
        raise
    refresh_contract_summary(renewal.workspace_id, renewal.customer_id)
    return renewal


def put_renewals_batch(renewals: Iterable[Renewal]) -> int:
    """Renewals by batch write, unconditionally (seeding and imports of trusted data)."""
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


def put_first_renewals(renewals: Sequence[Renewal]) -> int:
    """The first renewal of customers that have none yet (customers an import just created), each with
    its contract summary computed from it alone, in BatchWriteItem requests: no Query per customer."""
    stamp = clock.iso(clock.now())
    with RenewalItem.batch_write() as batch:
        for renewal in renewals:
            batch.save(to_item(renewal))
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


def contract_of(document: str) -> ContractSignals:
    data = json.loads(document)
    return ContractSignals(
        renewal_date=date.fromisoformat(data["renewal_date"]) if data.get("renewal_date") else None,
        auto_renew=bool(data.get("auto_renew")),
        expansions=int(data.get("expansions") or 0),
        contractions=int(data.get("contractions") or 0),
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
    after = after.model_copy(update={"version": before.version + 1})
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(to_item(after), condition=RenewalItem.version == before.version)
            if audit is not None:
                tx.save(audit, condition=AuditItem.pk.does_not_exist())
    except TransactWriteError as error:
        raise _stale(error) from error
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
                tx.save(
                    to_item(new.model_copy(update={"version": old.version + 1})),
                    condition=RenewalItem.version == old.version,
                )
            for renewal in opened:  # the lost term of a customer without an open renewal
                tx.save(to_item(renewal), condition=RenewalItem.pk.does_not_exist())
            tx.save(audit, condition=AuditItem.pk.does_not_exist())
    except TransactWriteError as error:
        raise Conflict(
            "The customer or one of its renewals changed meanwhile; retry",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        ) from error
    if closures or opened:
        refresh_contract_summary(workspace_id, before.customer_id)
    return after
