"""A customer's red and green flags, computed on demand from its profile, the last 60 days of product
metrics, its signal log and its contacts, with the escalation they suggest for its next renewal.

Three DynamoDB requests, all by key or within the customer's partition (storage/customer_reads.py): one
BatchGetItem for the profile, the signal log, the metric days and the forecast categories, one Query
for the renewals and risk signals, one for the contacts. The health model comes from the per-container
cache (one GetItem on a cold container).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from keepwell import clock, permissions
from keepwell.auth import Caller
from keepwell.domain import flags as rules
from keepwell.domain import renewals as renewal_rules
from keepwell.domain import signal_log
from keepwell.domain.contacts import Contact
from keepwell.domain.customers import Customer
from keepwell.domain.flags import ActivityDay, ContactFacts, FlagInputs, FlagResult, FlagSettings
from keepwell.domain.health.model import HealthModel
from keepwell.domain.renewals import EscalationSuggestion, ForecastSettings, Renewal
from keepwell.errors import NotFound
from keepwell.services import success_signals
from keepwell.storage import contacts as contact_store
from keepwell.storage import customer_reads
from keepwell.storage.customer_reads import ProfileReads
from keepwell.storage.metrics import DailyMetrics, get_days
from keepwell.storage.success_plans import RiskSignal

if TYPE_CHECKING:
    from keepwell.schemas.renewals import FlagOut, FlagsOut

METRIC_DAYS = 60  # two 30-day windows: the usage rules compare them


def activity_day(metrics: DailyMetrics) -> ActivityDay:
    return ActivityDay(
        day=metrics.day,
        events=metrics.events,
        logins=metrics.logins,
        users=frozenset(metrics.active_users),
        features=frozenset(metrics.features),
        event_counts=dict(metrics.event_counts),
    )


def contact_facts(contact: Contact) -> ContactFacts:
    changed = contact.role_change_recorded_at
    return ContactFacts(
        contact_id=contact.contact_id,
        name=contact.name,
        email=contact.email,
        is_champion=contact.is_champion,
        email_bounced=contact.email_bounced,
        role_change_recorded_at=datetime.fromisoformat(changed.replace("Z", "+00:00")) if changed else None,
    )


def metric_days(today: date, days: int = METRIC_DAYS) -> list[date]:
    """The days whose metrics the usage rules read: the `days` days before today."""
    return [today - timedelta(days=n) for n in range(1, days + 1)]


def usage_days(workspace_id: str, customer_id: str, today: date, days: int = METRIC_DAYS) -> list[ActivityDay]:
    """The customer's daily metrics of the `days` days before today (absent days: no usage)."""
    found = get_days(workspace_id, [(customer_id, day) for day in metric_days(today, days)])
    return sorted((activity_day(m) for m in found.values()), key=lambda d: d.day)


def flag_settings(model: HealthModel) -> FlagSettings:
    """Default thresholds; competitors come from the workspace's health model (sentiment settings)."""
    return FlagSettings(competitors=tuple(c for c in model.sentiment.competitors if c.strip()))


def flag_inputs(customer: Customer, today: date, reads: ProfileReads, contacts: Iterable[Contact]) -> FlagInputs:
    log = reads.signal_log
    return FlagInputs(
        today=today,
        usage=tuple(activity_day(m) for _, m in sorted(reads.days.items())),
        emails=signal_log.emails(log),
        meetings=signal_log.meetings(log),
        tickets=signal_log.tickets(log),
        contacts=tuple(contact_facts(c) for c in contacts),
        champion_contact_id=customer.champion_contact_id,
        customer_domain=customer.domain,
        customer_since=date.fromisoformat(customer.created_at[:10]),
    )


@dataclass(frozen=True)
class Assessment:
    customer: Customer
    today: date
    inputs: FlagInputs
    result: FlagResult
    renewals: list[Renewal]
    next_renewal: Renewal | None
    forecast: ForecastSettings
    escalation: EscalationSuggestion
    risk_signals: list[RiskSignal] = field(default_factory=list)  # success-plan risk signals standing


def _assess(workspace_id: str, customer: Customer, today: date, reads: ProfileReads) -> Assessment:
    """Three requests in all with the BatchGetItem that gave `reads`: the renewals and risk signals
    (one Query) and the contacts (one Query); the health model came with `reads`."""
    renewals, risks = customer_reads.renewals_and_risk_signals(workspace_id, customer.customer_id)
    contacts = contact_store.list_contacts(workspace_id, customer.customer_id, customer.champion_contact_id)
    inputs = flag_inputs(customer, today, reads, contacts)
    result = rules.compute_flags(inputs, flag_settings(reads.model))
    next_renewal = renewal_rules.next_open(renewals)
    suggestion = renewal_rules.escalation(
        red_flags=result.red_codes,
        renewal=next_renewal,
        today=today,
        champion_aligned=result.champion_aligned,
        competitor_mentions=result.competitor_mentions,
        settings=reads.forecast,
    )
    return Assessment(customer, today, inputs, result, renewals, next_renewal, reads.forecast, suggestion, risks)


def read_assessment(
    workspace_id: str,
    customer_id: str,
    today: date,
    *,
    visible: Callable[[Customer], bool] | None = None,
    days_by_range: bool = False,
) -> Assessment | None:
    """The customer's flags, renewals and escalation as of `today` (usage windows end the day before):
    what the flags API shows and what services/customer_flags stores after each daily score. None when
    there is no such customer or `visible` says the caller may not see it (nothing more is read then).
    `days_by_range`: the metric days in a Query of their range after the profile's read instead of by key
    with it: one request more, about a fifth of the read units (storage/customer_reads.py); the same days."""
    days = metric_days(today)
    reads = customer_reads.read_profile_with_inputs(workspace_id, customer_id, [] if days_by_range else days)
    customer = reads.customer
    if customer is None or (visible is not None and not visible(customer)):
        return None
    if days_by_range:
        reads = replace(reads, days=customer_reads.metric_days_in_range(workspace_id, customer_id, days[-1], days[0]))
    return _assess(workspace_id, customer, today, reads)


def assess(workspace_id: str, customer: Customer, today: date | None = None) -> Assessment:
    """As read_assessment, for a profile already read (the profile read again with the inputs is not used)."""
    today = today or clock.today()
    reads = customer_reads.read_profile_with_inputs(workspace_id, customer.customer_id, metric_days(today))
    return _assess(workspace_id, customer, today, reads)


def _flags_out(flags: Iterable[rules.Flag]) -> list[FlagOut]:
    from keepwell.schemas.renewals import FlagOut

    return [FlagOut.model_validate(f.as_dict()) for f in flags]


def customer_flags(caller: Caller, customer_id: str) -> FlagsOut:
    """Computed now (docs/renewals.md §5), in three DynamoDB requests whatever the workspace's size;
    another CSM's customer answers 404 as an unknown id does."""
    # The API's answer schemas, imported by the API's first flags request: the playbooks function assesses
    # flags with every health.scored event and never answers with them (~30 ms of its cold start; ADR 0027).
    from keepwell.schemas.renewals import EscalationOut, EvidenceOut, FlagOut, FlagsOut

    found = read_assessment(
        caller.workspace_id, customer_id, clock.today(), visible=lambda c: permissions.can_see_customer(caller, c)
    )
    if found is None:
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    return FlagsOut(
        customer_id=customer_id,
        as_of=found.today,
        red=_flags_out(found.result.red)
        + [FlagOut.model_validate(f) for f in success_signals.risk_flags_of(found.risk_signals)],
        green=_flags_out(found.result.green),
        competitor_mentions=list(found.result.competitor_mentions),
        competitor_evidence=[EvidenceOut.model_validate(e.as_dict()) for e in found.result.competitor_evidence],
        champion_aligned=found.result.champion_aligned,
        escalation=EscalationOut(
            **found.escalation.as_dict(),
            renewal_id=found.next_renewal.renewal_id if found.next_renewal else None,
        ),
    )
