"""Red and green flags, churn risk and CLTV computed with each score and kept on the customer's profile.

The scorer publishes `health.scored` for a customer's latest scored day only; the playbooks function
hands it here (services/playbook_runs.on_domain_event). Everything is computed as of that day with
services/flags.assess (the rules of domain/flags.py and domain/churn.py, the same reads as GET
/v1/customers/{id}/flags) and stored on the profile (`flags_z`, `flags_scored_on`) with one
conditional UpdateItem, so a redelivered event rewrites the same value and an older day never replaces
a newer one. The scorer itself reads nothing more: its request budget stays as it is.

DynamoDB requests per event: one BatchGetItem (profile, signal log, forecast settings, and the health
model on a cold container), one Query of the 60 metric days, one Query of renewals and risk signals, one
Query of contacts (storage/customer_reads.py); one UpdateItem. So 5 requests (7, 8 on a cold container,
before issue 23's reads were merged). The metric days are read by range, not by key as the flags API
reads them with the profile: one request more, ~15 read units instead of 60 a customer-day (docs/cost.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from keepwell.domain import flags as rules
from keepwell.domain.customers import Customer, CustomerFlags, FlagNote, StoredFlag
from keepwell.observability import logger
from keepwell.schemas.messages import DomainEventIn
from keepwell.services import churn_scores, success_signals
from keepwell.services import flags as flag_service
from keepwell.storage import customers as customer_store

SCORED_EVENT = "health.scored"


def scored_day(event: DomainEventIn) -> date:
    """The day the scorer scored (`scored_day`), else the day the event happened."""
    value = (event.detail.model_extra or {}).get("scored_day")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    return event.time.date()


def stored(flags: Iterable[rules.Flag]) -> list[StoredFlag]:
    return [
        StoredFlag(
            code=f.code,
            title=f.title,
            evidence=[FlagNote(text=e.text, ref=e.ref, at=e.at) for e in f.evidence],
        )
        for f in flags
    ]


def record_flags(workspace_id: str, customer_id: str, day: date) -> CustomerFlags | None:
    """Compute the customer's flags, churn risk and CLTV as of `day` and store them; None when there is
    no active customer or those of a later day are already stored."""

    def wanted(customer: Customer) -> bool:  # checked on the profile before the other reads, to save them
        return not customer.archived and (customer.flags is None or customer.flags.scored_on <= day)

    found = flag_service.read_assessment(workspace_id, customer_id, day, visible=wanted, days_by_range=True)
    if found is None:
        return None  # no active customer, or a later day's are stored (the write's condition guarantees it)
    risk, value = churn_scores.churn_scores(found)
    red = stored(found.result.red) + [  # success-plan risk signals standing (raised by the scorer)
        StoredFlag(code=f["code"], title=f["title"], evidence=[FlagNote(**e) for e in f["evidence"]])
        for f in success_signals.risk_flags_of(found.risk_signals)
    ]
    flags = CustomerFlags(scored_on=day, red=red, green=stored(found.result.green), churn_risk=risk, cltv=value)
    if not customer_store.save_flags(workspace_id, customer_id, flags):
        return None
    return flags


def on_domain_event(event: DomainEventIn) -> None:
    """Store the flags of a scored customer; other events are not about a new score."""
    if event.detail_type != SCORED_EVENT or event.detail.customer_id is None:
        return
    day = scored_day(event)
    flags = record_flags(event.detail.workspace_id, event.detail.customer_id, day)
    logger.info(
        "customer flags recorded" if flags is not None else "customer flags not recorded (older day or no customer)",
        extra={
            "customer_id": event.detail.customer_id,
            "scored_day": day.isoformat(),
            "red": [f.code for f in flags.red] if flags else None,
            "green": [f.code for f in flags.green] if flags else None,
            "churn_risk": flags.churn_risk.score if flags and flags.churn_risk else None,
        },
    )
