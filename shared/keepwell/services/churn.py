"""Churn: mark a customer churned (with a reason from the fixed list), and the scores beyond health —
churn risk 0-100 and CLTV — explained per customer.

Marking churned is one transaction (profile, churn record, open renewals closed as churned, audit
entry); then `customer.changed` (before/after status, which the win-back playbook's day-7 trigger
reads) and `customer.churned` are published. From then on the customer's timeline is frozen: the
notes route answers 409 (services/timeline.py).

Churn risk and CLTV are computed with each daily score (services/customer_flags, via
services/churn_scores.py) and stored on the profile; /scores answers the stored ones and computes them
only when none are stored.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from keepwell import clock, ids
from keepwell.auth import Caller
from keepwell.domain import churn as rules
from keepwell.domain import renewals as renewal_rules
from keepwell.domain.renewals import Renewal
from keepwell.domain.timeline import TimelineEntry
from keepwell.errors import Conflict
from keepwell.observability import logger
from keepwell.retries import conflict_attempts
from keepwell.schemas.renewals import ChurnIn, ChurnOut, ChurnRiskOut, CltvOut, ScoresOut
from keepwell.services import flags as flag_service
from keepwell.services import renewals as renewal_service
from keepwell.services import upsell as upsell_service
from keepwell.services.churn_scores import churn_scores, stored_scores
from keepwell.storage import audit as audit_store
from keepwell.storage import renewals as store
from keepwell.storage import timeline as timeline_store

ATTEMPTS = 3  # a concurrent change of the profile (version bump) is re-read and re-applied


def mark_churned(caller: Caller, customer_id: str, body: ChurnIn) -> ChurnOut:
    reason, note = rules.check_reason(body.churn_reason, body.churn_note)
    for attempt in conflict_attempts(ATTEMPTS):
        customer = renewal_service.visible_customer(caller, customer_id)
        if customer.status == "churned":
            raise Conflict(f"Customer {customer_id} is already churned", [{"field": "status", "issue": "churned"}])
        if body.version is not None and body.version != customer.version:
            raise Conflict(
                f"Customer is at version {customer.version}, not {body.version}",
                [{"field": "version", "issue": "stale"}],
                code="version_conflict",
            )
        now = clock.now()
        now_iso, today = clock.iso(now), clock.today()
        closures: list[tuple[Renewal, Renewal]] = [
            (
                r,
                r.model_copy(
                    update={"status": "churned", "closed_on": today, "closed_arr": 0.0, "updated_at": now_iso}
                ),
            )
            for r in store.list_customer_renewals(caller.workspace_id, customer_id)
            if r.is_open
        ]
        opened: list[Renewal] = []
        if customer.arr > 0 and not closures:
            # No open term to close: the lost ARR is still a churned renewal of the period (GRR, NRR).
            opened.append(
                renewal_rules.lost_term(
                    customer_id,
                    caller.workspace_id,
                    arr=customer.arr,
                    mrr=customer.mrr,
                    today=today,
                    category=store.get_forecast_settings(caller.workspace_id).default_category,
                    actor=caller.user_id,
                    now=now_iso,
                    renewal_id=ids.new_id("ren"),
                )
            )
        record = store.ChurnRecord(
            customer_id=customer_id,
            churn_reason=reason,
            churn_note=note,
            churned_at=now_iso,
            churned_by=caller.user_id,
            arr_lost=customer.arr,
            previous_status=customer.status,
        )
        entry = audit_store.audit_item(
            caller.workspace_id,
            caller.user_id,
            "customer.churned",
            f"customer:{customer_id}",
            {"status": customer.status, "churn_reason": customer.churn_reason},
            {"status": "churned", "churn_reason": reason, "churn_note": note},
            note or reason,
        )
        try:
            after = store.mark_churned(
                customer, record=record, closures=closures, audit=entry, now_iso=now_iso, opened=opened
            )
        except Conflict:
            if body.version is not None or attempt == ATTEMPTS - 1:
                raise
            continue
        closed = [new for _, new in closures] + opened
        _after_churn(caller, customer.status, after.version, record, closed)
        return ChurnOut(
            customer_id=customer_id,
            status="churned",
            churn_reason=reason,
            churn_note=note,
            churned_at=now_iso,
            churned_by=caller.user_id,
            arr_lost=customer.arr,
            renewals_closed=[r.renewal_id for r in closed],
            version=after.version,
        )
    raise AssertionError("unreachable")


def _after_churn(
    caller: Caller, before_status: str, version: int, record: store.ChurnRecord, closed: list[Renewal]
) -> None:
    """The last timeline entry (written before nothing else may be), then the domain events."""
    ws, customer_id = caller.workspace_id, record.customer_id
    label = record.churn_reason.replace("_", " ")
    try:
        timeline_store.add_timeline_item(
            ws,
            TimelineEntry(
                customer_id=customer_id,
                kind="system",
                occurred_at=clock.now(),
                title=f"Marked churned: {label}",
                body=record.churn_note,
                actor=caller.user_id,
                attributes={"churn_reason": record.churn_reason, "arr_lost": record.arr_lost},
            ),
        )
    except Exception:  # the churn itself is saved; a missing timeline line must not fail it
        logger.exception("churn timeline entry not written", extra={"customer_id": customer_id})
    common = {"workspace_id": ws, "customer_id": customer_id, "actor_id": caller.user_id}
    renewal_service.publish(
        "customer.changed",
        {
            **common,
            "change": "status",
            "before_status": before_status,
            "after_status": "churned",
            "status": "churned",
            "churn_reason": record.churn_reason,
            "changed_fields": ["churn_reason", "status"],
            "version": version,
            "changed_at": record.churned_at,  # the day a days-after trigger counts from (not the bus's time)
        },
    )
    renewal_service.publish(
        "customer.churned",
        {
            **common,
            "churn_reason": record.churn_reason,
            "churn_note": record.churn_note,
            "arr_lost": record.arr_lost,
            "renewals_closed": [r.renewal_id for r in closed],
            "churned_at": record.churned_at,
        },
    )


# --- scores beyond health --------------------------------------------------------------------------------
def scores(caller: Caller, customer_id: str) -> ScoresOut:
    """The churn risk and CLTV stored with the latest score (no further read), else computed now from
    the same reads as the flags API; upsell is always computed now."""
    customer = renewal_service.visible_customer(caller, customer_id)
    today = clock.today()
    stored = stored_scores(customer)
    computed: Literal["with_score", "on_request"]
    scored_on: date | None
    if stored is not None:
        scored_on, risk, value = stored
        computed = "with_score"
    else:
        risk, value = churn_scores(flag_service.assess(caller.workspace_id, customer, today))
        computed, scored_on = "on_request", None
    upsell = upsell_service.recommendations_for(caller.workspace_id, customer, today)
    return ScoresOut(
        customer_id=customer_id,
        as_of=today,
        health_score=customer.health_score,
        computed=computed,
        scored_on=scored_on,
        churn_risk=ChurnRiskOut.model_validate(risk.model_dump()),
        cltv=CltvOut.model_validate(value.model_dump()),
        upsell=upsell_service.as_dicts(upsell),
    )
