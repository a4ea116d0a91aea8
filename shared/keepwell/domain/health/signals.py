"""Plain inputs of the health engine: what the scorer reads for one customer.

A source that is not connected is `None` (its dimension is N/A); a connected source with nothing in it
is an empty tuple (a real, low signal). Times are timezone-aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Direction = Literal["in", "out"]
TicketStatus = Literal["open", "pending", "closed"]
TicketPriority = Literal["low", "normal", "high", "urgent", "critical"]
SEVERE_PRIORITIES: frozenset[str] = frozenset({"urgent", "critical"})
HIGH_PRIORITIES: frozenset[str] = frozenset({"high", "urgent", "critical"})


@dataclass(frozen=True, slots=True)
class UsageDay:
    """One customer-day of product usage (the ingestion roll-up)."""

    day: date
    logins: int = 0
    active_users: int | None = None  # defaults to len(users)
    users: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()
    distinct_features: int | None = None  # when only a count is known; defaults to len(features)

    @property
    def active(self) -> int:
        return self.active_users if self.active_users is not None else len(self.users)

    @property
    def feature_count(self) -> int:
        return self.distinct_features if self.distinct_features is not None else len(self.features)


@dataclass(frozen=True, slots=True)
class UsageSignals:
    days: tuple[UsageDay, ...] = ()
    seats: int | None = None
    recent_features: frozenset[str] = frozenset()  # features shipped in the last 90 days
    monthly_active_users: int | None = None  # when user ids are not in the day items


@dataclass(frozen=True, slots=True)
class Email:
    direction: Direction
    sent_at: datetime
    text: str = ""
    id: str | None = None  # timeline item id, used as evidence reference
    tone: float | None = None  # VADER compound computed at ingestion; None = compute from text
    proactive: bool = False  # outbound, started by the CSM (not a reply)
    reply_to_proactive: bool = False  # inbound, answering a proactive CSM email
    champion_response_hours: float | None = None  # inbound from the champion: hours they took to answer


@dataclass(frozen=True, slots=True)
class Meeting:
    at: datetime
    duration_minutes: float = 30.0
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    created_at: datetime
    status: TicketStatus = "open"
    priority: TicketPriority = "normal"
    resolved_at: datetime | None = None
    escalated: bool = False
    id: str | None = None


@dataclass(frozen=True, slots=True)
class NpsResponse:
    score: int  # 0-10
    at: datetime
    id: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentSignals:
    avg_days_to_pay: float | None = None
    overdue_invoices: int = 0


@dataclass(frozen=True, slots=True)
class RelationshipSignals:
    contacts: int = 0
    champion_identified: bool = False
    last_qbr: date | None = None
    role_levels: int | None = None  # organisation levels the contacts cover (0-3); None = titles unknown
    qbr_days: tuple[date, ...] = ()  # every QBR held (history days look for the latest on or before them)


@dataclass(frozen=True, slots=True)
class ContractSignals:
    renewal_date: date | None = None
    auto_renew: bool = False
    expansions: int = 0  # in the expansion history
    contractions: int = 0


@dataclass(frozen=True, slots=True)
class CustomerSignals:
    customer_id: str = ""
    name: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)  # mrr, arr, plan, ... (for expressions)
    custom: Mapping[str, Any] = field(default_factory=dict)  # workspace custom fields
    usage: UsageSignals | None = None
    emails: tuple[Email, ...] | None = None
    meetings: tuple[Meeting, ...] | None = None
    tickets: tuple[Ticket, ...] | None = None
    nps: tuple[NpsResponse, ...] | None = None
    payment: PaymentSignals | None = None
    relationship: RelationshipSignals | None = None
    contract: ContractSignals | None = None
    # capability adoption on the scored day, for expressions (domain/capabilities.expression_variables)
    capabilities: Mapping[str, float] = field(default_factory=dict)
