"""A customer's red and green flags, computed on demand from its profile, the last 60 days of product
metrics, its signal log and its contacts, with the escalation they suggest for its next renewal.

Reads are all by key or within the customer's partition: one BatchGetItem for the metric days, one
GetItem for the signal log, one Query for contacts and one for renewals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain import flags as rules
from keepwell.domain import renewals as renewal_rules
from keepwell.domain import signal_log
from keepwell.domain.contacts import Contact
from keepwell.domain.customers import Customer
from keepwell.domain.flags import ActivityDay, ContactFacts, FlagInputs, FlagResult, FlagSettings
from keepwell.domain.renewals import EscalationSuggestion, ForecastSettings, Renewal
from keepwell.schemas.renewals import EscalationOut, EvidenceOut, FlagOut, FlagsOut
from keepwell.services import success_signals
from keepwell.services.renewals import visible_customer
from keepwell.storage import contacts as contact_store
from keepwell.storage import health_models
from keepwell.storage import renewals as renewal_store
from keepwell.storage.metrics import DailyMetrics, get_days
from keepwell.storage.signal_logs import get_signal_log

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


def usage_days(workspace_id: str, customer_id: str, today: date, days: int = METRIC_DAYS) -> list[ActivityDay]:
    """The customer's daily metrics of the `days` days before today (absent days: no usage)."""
    wanted = [(customer_id, today - timedelta(days=n)) for n in range(1, days + 1)]
    found = get_days(workspace_id, wanted)
    return sorted((activity_day(m) for m in found.values()), key=lambda d: d.day)


def flag_settings(workspace_id: str) -> FlagSettings:
    """Default thresholds; competitors come from the workspace's health model (sentiment settings)."""
    model, _ = health_models.get_current_model(workspace_id)
    return FlagSettings(competitors=tuple(c for c in model.sentiment.competitors if c.strip()))


def flag_inputs(workspace_id: str, customer: Customer, today: date) -> FlagInputs:
    log, _ = get_signal_log(workspace_id, customer.customer_id)
    contacts = contact_store.list_contacts(workspace_id, customer.customer_id, customer.champion_contact_id)
    return FlagInputs(
        today=today,
        usage=tuple(usage_days(workspace_id, customer.customer_id, today)),
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


def compute(workspace_id: str, customer: Customer, today: date) -> tuple[FlagInputs, FlagResult]:
    """The customer's flags as of `today` (usage windows end the day before): what the flags API shows
    and what services/customer_flags stores after each daily score."""
    inputs = flag_inputs(workspace_id, customer, today)
    return inputs, rules.compute_flags(inputs, flag_settings(workspace_id))


def assess(workspace_id: str, customer: Customer, today: date | None = None) -> Assessment:
    today = today or clock.today()
    inputs, result = compute(workspace_id, customer, today)
    renewals = renewal_store.list_customer_renewals(workspace_id, customer.customer_id)
    next_renewal = renewal_rules.next_open(renewals)
    forecast = renewal_store.get_forecast_settings(workspace_id)
    suggestion = renewal_rules.escalation(
        red_flags=result.red_codes,
        renewal=next_renewal,
        today=today,
        champion_aligned=result.champion_aligned,
        competitor_mentions=result.competitor_mentions,
        settings=forecast,
    )
    return Assessment(customer, today, inputs, result, renewals, next_renewal, forecast, suggestion)


def _flags_out(flags: Iterable[rules.Flag]) -> list[FlagOut]:
    return [FlagOut.model_validate(f.as_dict()) for f in flags]


def customer_flags(caller: Caller, customer_id: str) -> FlagsOut:
    customer = visible_customer(caller, customer_id)
    found = assess(caller.workspace_id, customer)
    return FlagsOut(
        customer_id=customer_id,
        as_of=found.today,
        red=_flags_out(found.result.red)
        + [FlagOut.model_validate(f) for f in success_signals.risk_flags(caller.workspace_id, customer_id)],
        green=_flags_out(found.result.green),
        competitor_mentions=list(found.result.competitor_mentions),
        competitor_evidence=[EvidenceOut.model_validate(e.as_dict()) for e in found.result.competitor_evidence],
        champion_aligned=found.result.champion_aligned,
        escalation=EscalationOut(
            **found.escalation.as_dict(),
            renewal_id=found.next_renewal.renewal_id if found.next_renewal else None,
        ),
    )
