"""Deterministic demo data for the local stack: "Northwind Customer Success" (`ws_demo`) and a small
second workspace (`ws_other`) to try isolation by hand.

Every customer gets a latent trajectory (healthy, steady, declining, recovering, at-risk) that
drives all of its history, so emails, meetings, tickets, NPS and product usage tell one story.
Generation is pure (`generate_demo`, unit-tested without AWS); `seed_demo` writes it through the
storage layer in batches. Same `today` and seed → same data, ids included.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from keepwell import clock, ids
from keepwell.domain.contacts import Contact
from keepwell.domain.customers import Customer, derive_revenue
from keepwell.domain.health.signals import UsageDay
from keepwell.domain.ingestion import DayActivity
from keepwell.domain.renewals import Renewal, profile_renewal_id
from keepwell.domain.timeline import TimelineEntry

SEED = 42
DEMO_CUSTOMERS = 320
OTHER_CUSTOMERS = 5
HISTORY_DAYS = 90
VIEWER_CUSTOMERS = 6  # co-owned by the demo's viewer (viewer_co_owns)

DEMO_WORKSPACE = ("ws_demo", "Northwind Customer Success")
OTHER_WORKSPACE = ("ws_other", "Contoso Customer Care")
DEMO_DOMAIN = "northwind.test"

# (user id, role, name); the first user of each role gets a token in .keepwell/local.json.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("usr_admin", "admin", "Alex Morgan"),
    ("usr_director", "director", "Dana Whitfield"),
    ("usr_csm_priya", "csm", "Priya Raman"),
    ("usr_csm_marco", "csm", "Marco Rossi"),
    ("usr_csm_jade", "csm", "Jade Thompson"),
    ("usr_csm_omar", "csm", "Omar Haddad"),
    ("usr_viewer", "viewer", "Vic Chen"),
)
OTHER_USERS: tuple[tuple[str, str, str], ...] = (
    ("usr_contoso_admin", "admin", "Casey Contoso"),
    ("usr_contoso_csm", "csm", "Robin Contoso"),
)

TRAJECTORIES = ("healthy", "steady", "declining", "recovering", "at_risk")
TRAJECTORY_WEIGHTS = (25, 30, 20, 12, 13)
# Engagement level (0..1) at the start and at the end of the 90 days.
TRAJECTORY_LEVELS: dict[str, tuple[float, float]] = {
    "healthy": (0.85, 0.9),
    "steady": (0.6, 0.6),
    "declining": (0.8, 0.3),
    "recovering": (0.3, 0.75),
    "at_risk": (0.35, 0.15),
}
STATUSES = ("active", "trial", "churned", "paused")
STATUS_WEIGHTS = (82, 6, 7, 5)
TIERS = ("Enterprise", "Mid-Market", "SMB")
TIER_WEIGHTS = (15, 35, 50)
ARR_RANGES = {"Enterprise": (120_000, 900_000), "Mid-Market": (30_000, 150_000), "SMB": (3_000, 30_000)}
SEAT_RANGES = {"Enterprise": (200, 1500), "Mid-Market": (40, 300), "SMB": (5, 50)}
PLANS = {
    "Enterprise": ("Enterprise",),
    "Mid-Market": ("Business", "Professional"),
    "SMB": ("Starter", "Professional"),
}
CONTACT_COUNTS = {"Enterprise": (3, 4), "Mid-Market": (2, 3), "SMB": (1, 2)}
# Weekly rates at full engagement: (emails, meetings, tickets) by tier.
WEEKLY_RATES = {"Enterprise": (4.0, 1.0, 1.5), "Mid-Market": (2.5, 0.6, 1.0), "SMB": (1.2, 0.25, 0.6)}
REGIONS = {
    "North America": ("US", "US", "US", "CA"),
    "EMEA": ("GB", "DE", "FR", "NL", "SE", "ES"),
    "APAC": ("AU", "SG", "JP", "IN"),
    "LATAM": ("BR", "MX", "CO"),
}
REGION_WEIGHTS = (45, 30, 15, 10)
INDUSTRIES = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Manufacturing",
    "Logistics",
    "Education",
    "Media",
    "Professional Services",
    "Hospitality",
    "Energy",
    "Non-profit",
)
NAME_FIRST = (
    "Acme",
    "Aurora",
    "Bluefin",
    "Brightwater",
    "Cedar",
    "Copperleaf",
    "Crescent",
    "Driftwood",
    "Evergreen",
    "Falcon",
    "Foxglove",
    "Granite",
    "Harbor",
    "Helix",
    "Ironwood",
    "Juniper",
    "Keystone",
    "Lighthouse",
    "Maple",
    "Meridian",
    "Nimbus",
    "Northstar",
    "Oakridge",
    "Orchid",
    "Pinnacle",
    "Quartz",
    "Redwood",
    "Riverbend",
    "Sagebrush",
    "Sapphire",
    "Silverline",
    "Summit",
    "Tidewater",
    "Trillium",
    "Umber",
    "Vantage",
    "Willow",
    "Yellowstone",
    "Zephyr",
    "Atlas",
)
NAME_SECOND = (
    "Analytics",
    "Logistics",
    "Health",
    "Foods",
    "Robotics",
    "Capital",
    "Learning",
    "Media",
    "Energy",
    "Partners",
    "Labs",
    "Systems",
    "Retail",
    "Studios",
    "Networks",
    "Outfitters",
    "Bank",
    "Clinics",
    "Freight",
    "Software",
    "Hotels",
    "Insurance",
    "Motors",
    "Pharma",
    "Design",
    "Consulting",
    "Markets",
    "Foundation",
    "Dynamics",
    "Works",
)
FIRST_NAMES = (
    "Avery",
    "Blake",
    "Camila",
    "Diego",
    "Elena",
    "Farah",
    "Gavin",
    "Hana",
    "Isaac",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sanjay",
    "Tessa",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Amara",
    "Bruno",
    "Chloe",
    "Dmitri",
)
LAST_NAMES = (
    "Adams",
    "Bauer",
    "Carvalho",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Murphy",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
)
CHAMPION_TITLES = (
    "VP Operations",
    "Director of Customer Experience",
    "Head of Analytics",
    "COO",
    "Director of IT",
    "Head of Revenue Operations",
)
CONTACT_TITLES = (
    "Operations Manager",
    "Data Analyst",
    "IT Administrator",
    "Finance Manager",
    "Team Lead",
    "Procurement Specialist",
    "Product Manager",
    "Executive Sponsor",
)
TAGS = (
    "strategic",
    "expansion-opportunity",
    "beta-program",
    "reference",
    "multi-product",
    "exec-sponsor",
    "onboarding",
    "price-sensitive",
)
FEATURES = (
    "dashboards",
    "reports",
    "alerts",
    "exports",
    "integrations",
    "api",
    "workflows",
    "sso",
    "mobile",
    "forecasting",
    "segments",
    "playbooks",
    "comments",
    "audit-log",
    "ai-assist",
)
COMPETITORS = ("Gainsight", "ChurnZero", "Totango", "Vitally", "Planhat")
CHURN_REASONS = (
    "Moved to a competitor",
    "Budget cuts",
    "Poor product fit",
    "Acquired by another company",
    "Champion left",
)

EMAIL_SUBJECTS = {
    "positive": (
        "Great session yesterday",
        "Thank you!",
        "Dashboards are a hit",
        "Rollout going well",
        "Loving the new workflows",
    ),
    "neutral": (
        "Invoice question",
        "Next steps",
        "Agenda for our call",
        "Question about SSO setup",
        "Quick follow-up",
        "Seat count update",
    ),
    "frustrated": (
        "Still seeing sync failures",
        "Unhappy with response times",
        "Reports are broken again",
        "Escalation: data missing",
        "This is blocking us",
    ),
    "churn": ("Renewal discussion", "Evaluating options", "Contract concerns"),
}
EMAIL_BODIES = {
    "positive": (
        "Thanks so much for the help, the team loves the new dashboards and adoption is great.",
        "Really happy with how the rollout went. Everyone is excited and the feedback has been fantastic.",
        "Wonderful session, thank you! We already see great results and want to expand to two more teams.",
        "Just wanted to say the support team was excellent. Great work, we appreciate it.",
    ),
    "neutral": (
        "Could you send over the updated invoice and confirm the billing contact?",
        "Following up on our call: can we schedule the next check-in for later this month?",
        "We are adding a few users next quarter. What is the process for adding seats?",
        "Please find the agenda attached for Thursday. Let me know if anything should be added.",
    ),
    "frustrated": (
        "We are still seeing sync failures and this is blocking our reporting. Third time this month.",
        "Honestly this is frustrating. Tickets sit for days without an answer and my team is annoyed.",
        "The export broke again and we lost a day of work. This is not acceptable.",
        "Very disappointed with the last release, several reports are wrong and nobody has responded.",
    ),
    "churn": (
        "Leadership has asked us to evaluate {competitor}. Unless things improve we may cancel at renewal.",
        "We are considering whether to cancel our subscription; {competitor} quoted us a lower price.",
        "I have to be honest: the team wants to cancel and move to {competitor} when the contract ends.",
    ),
}
OUTBOUND_BODIES = (
    "Hi {first}, checking in on how the rollout is going. Anything we can help with this week?",
    "Hi {first}, sharing a few best practices on dashboards that similar teams found useful.",
    "Hi {first}, following up on the open ticket: engineering has a fix scheduled for this week.",
    "Hi {first}, would you be open to a short call to review adoption and goals for next quarter?",
)
TICKET_SUBJECTS = (
    "Sync job failing",
    "SSO login loop",
    "Export times out",
    "Wrong totals in report",
    "API rate limit errors",
    "Cannot invite users",
    "Dashboard slow to load",
    "Webhook not firing",
    "Billing address change",
    "Question about permissions",
)
NOTES = {
    "healthy": (
        "Strong adoption across teams; exploring an upsell for forecasting.",
        "Exec sponsor very positive in our last call. Candidate for a case study.",
    ),
    "steady": (
        "Usage stable. Agreed on quarterly check-ins.",
        "No open issues; renewal expected to be routine.",
    ),
    "declining": (
        "Usage dropping since the reorg; need to re-engage the new team lead.",
        "Champion seems less engaged. Scheduling an exec alignment call.",
    ),
    "recovering": (
        "Recovery plan working: weekly syncs and training sessions are paying off.",
        "Tickets resolved, sentiment improving after the remediation plan.",
    ),
    "at_risk": (
        "Risk: budget review underway and competitor evaluation mentioned.",
        "Escalated internally; success plan drafted with the director.",
    ),
}


@dataclass
class DemoCustomer:
    customer: Customer
    trajectory: str
    contacts: list[Contact]
    timeline: list[TimelineEntry]
    usage: list[UsageDay]


@dataclass
class DemoWorkspace:
    workspace_id: str
    name: str
    users: tuple[tuple[str, str, str], ...]
    customers: list[DemoCustomer]

    def counts(self) -> dict[str, int]:
        return {
            "customers": len(self.customers),
            "contacts": sum(len(c.contacts) for c in self.customers),
            "timeline": sum(len(c.timeline) for c in self.customers),
            "usage_days": sum(len(c.usage) for c in self.customers),
        }


@dataclass
class DemoData:
    today: date
    demo: DemoWorkspace
    other: DemoWorkspace


@dataclass
class DemoSeed:
    """What `seed_demo` wrote, plus the in-memory daily usage: days before `live_days` are imported as
    day items, the live days are for the local stack to send through POST /v1/events."""

    data: DemoData
    token_users: dict[str, str] = field(default_factory=dict)  # role → user id in ws_demo
    # ws_demo days whose product usage is sent as events through POST /v1/events (not imported)
    live_days: list[date] = field(default_factory=list)
    # ws_demo tickets opened on or after this day are sent through the signed Zendesk endpoint
    live_tickets_since: date | None = None

    def live_tickets(self) -> list[TimelineEntry]:
        return [e for e in _all(self.data.demo.customers, "timeline") if is_live_ticket(e, self.live_tickets_since)]

    def live_product_events(self, now: datetime) -> list[dict[str, Any]]:
        """ws_demo's product events of the live days that have happened by `now`, customer-day by
        customer-day (so a batch of 1,000 touches few day items)."""
        live, happened = set(self.live_days), clock.iso(now)
        events: list[dict[str, Any]] = []
        for demo_customer in self.data.demo.customers:
            customer = demo_customer.customer
            for usage in demo_customer.usage:
                if usage.day in live:
                    day = day_events(customer.customer_id, customer.external_id or "", usage)
                    events.extend(e for e in day if e["timestamp"] <= happened)
        return events

    @property
    def workspace_id(self) -> str:
        return self.data.demo.workspace_id

    @property
    def other_workspace_id(self) -> str:
        return self.data.other.workspace_id

    @property
    def admin_id(self) -> str:
        return self.token_users["admin"]

    @property
    def other_admin_id(self) -> str:
        return next(u for u, role, _ in self.data.other.users if role == "admin")

    @property
    def customers(self) -> list[Customer]:
        return [c.customer for c in self.data.demo.customers]

    @property
    def usage(self) -> dict[str, list[UsageDay]]:
        """Daily product usage per ws_demo customer id, oldest day first."""
        return {c.customer.customer_id: c.usage for c in self.data.demo.customers}

    def summary_line(self) -> str:
        counts = self.data.demo.counts()
        return (
            f"{counts['customers']} customers, {counts['contacts']} contacts, {counts['timeline']} timeline "
            f"items, {counts['usage_days']} usage days in {self.workspace_id}; "
            f"{len(self.data.other.customers)} customers in {self.other_workspace_id}"
        )

    def summary_table(self) -> list[str]:
        by: Counter[tuple[str, str | None]] = Counter((c.status, c.tier) for c in self.customers)
        width = max(len(t) for t in TIERS) + 2
        lines = [f"{'status':<10}" + "".join(f"{t:>{width}}" for t in TIERS) + f"{'total':>{width}}"]
        for status in STATUSES:
            row = [by[(status, tier)] for tier in TIERS]
            lines.append(f"{status:<10}" + "".join(f"{n:>{width}}" for n in row) + f"{sum(row):>{width}}")
        totals = [sum(by[(s, tier)] for s in STATUSES) for tier in TIERS]
        lines.append(f"{'total':<10}" + "".join(f"{n:>{width}}" for n in totals) + f"{sum(totals):>{width}}")
        return lines


# ---- generation (pure) -------------------------------------------------------------------------
def _at(day: date, rng: random.Random, start_hour: int = 8, end_hour: int = 18) -> datetime:
    seconds = rng.randint(start_hour * 3600, end_hour * 3600 - 1)
    return datetime.combine(day, time(0, 0), UTC) + timedelta(seconds=seconds)


def _business_day(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


class _Generator:
    def __init__(self, rng: random.Random, today: date):
        self.rng = rng
        self.today = today
        self.seeded_at = clock.iso(datetime.combine(today, time(6, 0), UTC))
        self.used_names: set[str] = set()

    # -- profile ---------------------------------------------------------------------------------
    def company_name(self) -> str:
        while True:
            name = f"{self.rng.choice(NAME_FIRST)} {self.rng.choice(NAME_SECOND)}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def customer(
        self,
        workspace_id: str,
        index: int,
        owners: list[str],
        director: str | None,
        status: str | None = None,
    ) -> tuple[Customer, str]:
        rng = self.rng
        name = self.company_name()
        tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
        status = status or rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        if status == "churned":
            trajectory = "at_risk"
        elif status == "paused":
            trajectory = rng.choice(("declining", "at_risk", "steady"))
        elif status == "trial":
            trajectory = rng.choice(("healthy", "steady", "recovering"))
        else:
            trajectory = rng.choices(TRAJECTORIES, TRAJECTORY_WEIGHTS)[0]
        low, high = ARR_RANGES[tier]
        arr, mrr = derive_revenue(float(round(rng.uniform(low, high), -2)), None)
        if status == "trial":
            arr, mrr = 0.0, 0.0
        seats = rng.randint(*SEAT_RANGES[tier])
        region = rng.choices(list(REGIONS), REGION_WEIGHTS)[0]
        since_days = rng.randint(5, 28) if status == "trial" else rng.randint(120, 1500)
        if status == "churned":
            renewal = self.today - timedelta(days=rng.randint(1, 60))
        elif status == "trial":
            renewal = self.today + timedelta(days=rng.randint(3, 30))
        elif rng.random() < 0.06:
            renewal = self.today - timedelta(days=rng.randint(1, 30))  # lapsed, not renewed yet
        else:
            renewal = self.today + timedelta(days=rng.randint(1, 365))
        start, end = TRAJECTORY_LEVELS[trajectory]
        nps = max(-100, min(100, round((start + end) * 100 - 80 + rng.randint(-15, 15))))
        slug = name.lower().replace(" ", "-")
        tags = sorted(set(rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2)))))
        if tier == "Enterprise" and "strategic" not in tags and rng.random() < 0.5:
            tags.append("strategic")
        created = clock.iso(datetime.combine(self.today - timedelta(days=since_days), time(9, 0), UTC))
        customer = Customer(
            customer_id=ids.new_id("cus"),
            workspace_id=workspace_id,
            name=name,
            domain=f"{slug}.test",
            external_id=f"crm-{index:05d}",
            arr=arr,
            mrr=mrr,
            status=status,  # type: ignore[arg-type]
            owner_id=owners[index % len(owners)] if owners else None,
            co_owner_ids=[director] if director and tier == "Enterprise" and rng.random() < 0.4 else [],
            tier=tier,
            industry=rng.choice(INDUSTRIES),
            region=region,
            country=rng.choice(REGIONS[region]),
            plan=rng.choice(PLANS[tier]) if status != "trial" else "Trial",
            employee_count=seats * rng.randint(2, 8),
            seats=seats,
            tags=sorted(tags),
            renewal_date=renewal,
            nps=nps if status != "trial" else None,
            churn_reason=rng.choice(CHURN_REASONS) if status == "churned" else None,
            created_at=created,
            updated_at=self.seeded_at,
        )
        return customer, trajectory

    def contacts(self, customer: Customer) -> list[Contact]:
        rng = self.rng
        count = rng.randint(*CONTACT_COUNTS[customer.tier or "SMB"])
        people: list[Contact] = []
        names: set[tuple[str, str]] = set()
        while len(people) < count:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if (first, last) in names:
                continue
            names.add((first, last))
            champion = not people
            people.append(
                Contact(
                    contact_id=ids.new_id("con"),
                    customer_id=customer.customer_id,
                    workspace_id=customer.workspace_id,
                    name=f"{first} {last}",
                    email=f"{first}.{last}@{customer.domain}".lower(),
                    title=rng.choice(CHAMPION_TITLES if champion else CONTACT_TITLES),
                    phone=f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}" if rng.random() < 0.6 else None,
                    is_champion=champion,
                    created_at=customer.created_at,
                    updated_at=self.seeded_at,
                )
            )
        return people

    # -- history ---------------------------------------------------------------------------------
    def level(self, trajectory: str, day_index: int) -> float:
        """Engagement on day `day_index` (0 = 90 days ago), with a little day-to-day noise."""
        start, end = TRAJECTORY_LEVELS[trajectory]
        progress = day_index / (HISTORY_DAYS - 1)
        if trajectory == "recovering":  # bottoms out a third of the way in, then climbs
            base = start - 0.1 + (end - start + 0.1) * max(0.0, (progress - 0.3) / 0.7)
        else:
            base = start + (end - start) * progress
        return max(0.02, min(1.0, base + self.rng.uniform(-0.05, 0.05)))

    def history(
        self,
        customer: Customer,
        trajectory: str,
        contacts: list[Contact],
        workspace_users: list[str],
    ) -> tuple[list[TimelineEntry], list[UsageDay]]:
        rng = self.rng
        tier = customer.tier or "SMB"
        first_day = self.today - timedelta(days=HISTORY_DAYS - 1)
        since = date.fromisoformat(customer.created_at[:10])
        start_day = max(first_day, since)
        churned_on = customer.renewal_date if customer.status == "churned" else None
        paused_on = self.today - timedelta(days=rng.randint(10, 40)) if customer.status == "paused" else None
        owner = customer.owner_id or (workspace_users[0] if workspace_users else None)
        champion = contacts[0]
        email_rate, meeting_rate, ticket_rate = WEEKLY_RATES[tier]
        entries: list[TimelineEntry] = []
        usage: list[UsageDay] = []
        seats = customer.seats or 10
        pool = [f"user-{n:04d}" for n in range(seats)]
        adopted = rng.sample(FEATURES, rng.randint(4, len(FEATURES)))
        last_proactive: datetime | None = None
        qbr_day = first_day + timedelta(days=rng.randint(10, HISTORY_DAYS - 10))
        day = start_day
        while day <= self.today:
            index = (day - first_day).days
            level = self.level(trajectory, index)
            gone = (churned_on is not None and day > churned_on) or (paused_on is not None and day > paused_on)
            weekday = day.weekday() < 5
            # product usage: active share of seats follows engagement; weekends are quiet
            if gone:
                active_users = frozenset[str]()
            else:
                share = level * (0.55 if weekday else 0.08) * rng.uniform(0.8, 1.2)
                active_users = frozenset(rng.sample(pool, min(seats, max(0, round(seats * share)))))
            logins = sum(rng.randint(1, 3) for _ in range(len(active_users)))
            used = frozenset(adopted[: max(1, round(len(adopted) * level))]) if active_users else frozenset[str]()
            usage.append(UsageDay(day=day, logins=logins, users=active_users, features=used))
            if gone or not weekday:
                day += timedelta(days=1)
                continue
            days_left = (self.today - day).days
            # emails in and out
            for _ in range(_poisson(rng, email_rate / 5 * (0.4 + level))):
                contact = champion if rng.random() < 0.5 else rng.choice(contacts)
                at = _at(day, rng)
                if rng.random() < 0.45:
                    proactive = rng.random() < 0.6
                    last_proactive = at if proactive else last_proactive
                    entries.append(self.email_out(customer, contact, owner, at, proactive))
                else:
                    tone = self.tone(trajectory, level, days_left)
                    reply = last_proactive is not None and (at - last_proactive) < timedelta(days=5)
                    hours = round(rng.uniform(1, 20) / max(level, 0.1), 1) if contact is champion else None
                    entries.append(self.email_in(customer, contact, at, tone, reply, hours))
                    last_proactive = None if reply else last_proactive
            # meetings: the QBR once in the window, check-ins otherwise
            if day == _business_day(qbr_day) and tier != "SMB" and level > 0.3:
                entries.append(self.meeting(customer, owner, contacts, _at(day, rng, 9, 16), "qbr", 60))
            elif rng.random() < meeting_rate / 5 * (0.3 + level):
                entries.append(
                    self.meeting(
                        customer,
                        owner,
                        contacts,
                        _at(day, rng, 9, 17),
                        "check-in",
                        rng.choice((15, 30, 30, 45)),
                    )
                )
            # support tickets: more, and more severe, when things go badly
            if rng.random() < ticket_rate / 5 * (1.3 - level):
                entries.append(
                    self.ticket(
                        customer,
                        champion if rng.random() < 0.3 else rng.choice(contacts),
                        _at(day, rng),
                        level,
                    )
                )
            if rng.random() < 0.05:
                entries.append(self.note(customer, owner, trajectory, _at(day, rng, 16, 19)))
            if rng.random() < 0.012:
                entries.append(self.nps(customer, rng.choice(contacts), _at(day, rng), level))
            day += timedelta(days=1)
        entries.sort(key=lambda e: e.occurred_at)
        return entries, usage

    def tone(self, trajectory: str, level: float, days_left: int) -> str:
        rng = self.rng
        if trajectory in ("at_risk", "declining") and days_left < 45 and rng.random() < 0.12:
            return "churn"
        roll = rng.random()
        if roll < level * 0.7:
            return "positive"
        if roll > 1 - (1 - level) * 0.6:
            return "frustrated"
        return "neutral"

    def email_in(
        self,
        customer: Customer,
        contact: Contact,
        at: datetime,
        tone: str,
        reply: bool,
        response_hours: float | None,
    ) -> TimelineEntry:
        body = self.rng.choice(EMAIL_BODIES[tone]).format(competitor=self.rng.choice(COMPETITORS))
        attributes: dict[str, Any] = {
            "direction": "in",
            "from": contact.email,
            "contact_id": contact.contact_id,
            "tone": tone,
            "reply_to_proactive": reply,
        }
        if response_hours is not None:
            attributes["champion_response_hours"] = response_hours
        return TimelineEntry(
            customer_id=customer.customer_id,
            kind="email",
            occurred_at=at,
            item_id=ids.new_id("tl"),
            title=self.rng.choice(EMAIL_SUBJECTS[tone]),
            body=body,
            actor=contact.email,
            source="email",
            attributes=attributes,
            created_at=clock.iso(at),
        )

    def email_out(
        self, customer: Customer, contact: Contact, owner: str | None, at: datetime, proactive: bool
    ) -> TimelineEntry:
        first = contact.name.split()[0]
        return TimelineEntry(
            customer_id=customer.customer_id,
            kind="email",
            occurred_at=at,
            item_id=ids.new_id("tl"),
            title="Checking in" if proactive else "Re: your question",
            body=self.rng.choice(OUTBOUND_BODIES).format(first=first),
            actor=owner,
            source="email",
            attributes={
                "direction": "out",
                "to": contact.email,
                "contact_id": contact.contact_id,
                "proactive": proactive,
            },
            created_at=clock.iso(at),
        )

    def meeting(
        self,
        customer: Customer,
        owner: str | None,
        contacts: list[Contact],
        at: datetime,
        meeting_type: str,
        minutes: int,
    ) -> TimelineEntry:
        attendees = [c.contact_id for c in contacts[: self.rng.randint(1, len(contacts))]]
        title = "Quarterly business review" if meeting_type == "qbr" else "Check-in call"
        return TimelineEntry(
            customer_id=customer.customer_id,
            kind="meeting",
            occurred_at=at,
            item_id=ids.new_id("tl"),
            title=title,
            body=f"{title} with {len(attendees)} attendee(s) from {customer.name}.",
            actor=owner,
            source="calendar",
            attributes={
                "meeting_type": meeting_type,
                "duration_minutes": minutes,
                "attendee_contact_ids": attendees,
            },
            created_at=clock.iso(at),
        )

    def ticket(self, customer: Customer, contact: Contact, at: datetime, level: float) -> TimelineEntry:
        rng = self.rng
        bad = 1 - level
        priority = rng.choices(
            ("low", "normal", "high", "urgent", "critical"),
            (3 * level, 5, 1 + 3 * bad, 0.2 + 2 * bad, 0.05 + bad),
        )[0]
        hours_to_resolve = rng.uniform(2, 30) * (1 + 4 * bad)
        resolved = at + timedelta(hours=hours_to_resolve)
        now = datetime.combine(self.today, time(6, 0), UTC)
        if resolved <= now and rng.random() < 0.92:
            status, resolved_at = "closed", clock.iso(resolved)
        else:
            status, resolved_at = rng.choice(("open", "open", "pending")), None
        escalated = priority in ("urgent", "critical") and rng.random() < 0.4
        number = rng.randint(10_000, 99_999)
        attributes: dict[str, Any] = {
            "ticket_id": f"ZD-{number}",
            "status": status,
            "priority": priority,
            "escalated": escalated,
            "requester": contact.email,
        }
        if resolved_at:
            attributes["resolved_at"] = resolved_at
        return TimelineEntry(
            customer_id=customer.customer_id,
            kind="ticket",
            occurred_at=at,
            item_id=ids.new_id("tl"),
            title=f"#{number} {rng.choice(TICKET_SUBJECTS)}",
            body=None,
            actor=contact.email,
            source="zendesk",
            source_event_id=f"ZD-{number}",
            attributes=attributes,
            created_at=clock.iso(at),
        )

    def note(self, customer: Customer, owner: str | None, trajectory: str, at: datetime) -> TimelineEntry:
        body = self.rng.choice(NOTES[trajectory])
        return TimelineEntry(
            customer_id=customer.customer_id,
            kind="note",
            occurred_at=at,
            item_id=ids.new_id("tl"),
            title=body.split(".")[0][:80],
            body=body,
            actor=owner,
            source="keepwell",
            created_at=clock.iso(at),
        )

    def nps(self, customer: Customer, contact: Contact, at: datetime, level: float) -> TimelineEntry:
        score = max(0, min(10, round(level * 10 + self.rng.uniform(-1.5, 1.5))))
        comment = (
            "Great product and team." if score >= 9 else "It does the job." if score >= 7 else "Too many issues lately."
        )
        return TimelineEntry(
            customer_id=customer.customer_id,
            kind="nps",
            occurred_at=at,
            item_id=ids.new_id("tl"),
            title=f"NPS response: {score}",
            body=comment,
            actor=contact.email,
            source="survey",
            attributes={"score": score, "contact_id": contact.contact_id},
            created_at=clock.iso(at),
        )

    # -- a whole workspace -----------------------------------------------------------------------
    def workspace(
        self, workspace_id: str, name: str, users: tuple[tuple[str, str, str], ...], count: int
    ) -> DemoWorkspace:
        owners = [u for u, role, _ in users if role == "csm"]
        director = next((u for u, role, _ in users if role == "director"), None)
        viewer = next((u for u, role, _ in users if role == "viewer"), None)
        user_ids = [u for u, _, _ in users]
        customers = []
        for index in range(1, count + 1):
            # The first customers cover every status, so even a small seed shows each one.
            forced = STATUSES[index - 1] if index <= len(STATUSES) and count >= 2 * len(STATUSES) else None
            customer, trajectory = self.customer(workspace_id, index, owners, director, forced)
            contacts = self.contacts(customer)
            co_owners = customer.co_owner_ids + ([viewer] if viewer and viewer_co_owns(index) else [])
            customer = customer.model_copy(
                update={"champion_contact_id": contacts[0].contact_id, "co_owner_ids": co_owners}
            )
            timeline, usage = self.history(customer, trajectory, contacts, user_ids)
            customers.append(DemoCustomer(customer, trajectory, contacts, timeline, usage))
        return DemoWorkspace(workspace_id, name, users, customers)


def viewer_co_owns(index: int) -> bool:
    """The demo's viewer co-owns a handful of customers (the 5th, 13th, … up to VIEWER_CUSTOMERS of
    them), so their portfolio and My day show what a viewer may read. Chosen by position, not drawn,
    so the rest of the demo (every random draw) is what it was without them."""
    return index % 8 == 5 and index // 8 < VIEWER_CUSTOMERS


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small daily means used here."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def generate_demo(
    today: date, customers: int = DEMO_CUSTOMERS, other_customers: int = OTHER_CUSTOMERS, seed: int = SEED
) -> DemoData:
    """The whole demo, in memory. Fixes `keepwell.ids` to `seed` (ids are part of the data)."""
    ids.seed(seed)
    generator = _Generator(random.Random(seed), today)
    demo = generator.workspace(*DEMO_WORKSPACE, DEMO_USERS, customers)
    other = generator.workspace(*OTHER_WORKSPACE, OTHER_USERS, other_customers)
    return DemoData(today=today, demo=demo, other=other)


# ---- writing -----------------------------------------------------------------------------------
def _all(items: Iterable[DemoCustomer], what: str) -> Iterable[Any]:
    for item in items:
        yield from getattr(item, what)


def is_live_ticket(entry: TimelineEntry, since: date | None) -> bool:
    """A ticket the local stack sends through the signed Zendesk endpoint instead of importing."""
    return since is not None and entry.kind == "ticket" and entry.occurred_at.date() >= since


# The demo's renewal pipeline: what the profile's renewal date opens (services/renewal_schedule), plus
# the term each older customer renewed in the last year and the churned customers' lost terms, so the
# pipeline shows every group and the revenue metrics have a cohort. Forecast category by trajectory.
DEMO_FORECAST = {
    "healthy": ("commit", "commit", "probable"),
    "steady": ("probable", "commit", "best_case"),
    "recovering": ("probable", "best_case"),
    "declining": ("probable", "at_risk"),
    "at_risk": ("at_risk", "at_risk", "probable"),
}


def demo_renewals(demo_customer: DemoCustomer, today: date) -> list[Renewal]:
    """A customer's renewal records, deterministic per customer id (their own random stream, so the
    rest of the demo does not change): the open term on its renewal date (churned customers: that
    term closed as churned on the date), and for customers older than a year the previous term,
    renewed with an ARR change within -10 %..+25 %, closed up to 30 days early."""
    customer = demo_customer.customer
    if customer.renewal_date is None or customer.status == "trial":
        return []
    rng = random.Random(f"renewals:{customer.customer_id}")
    stamp = customer.updated_at

    def term(renewal_date: date, arr: float, **fields: Any) -> Renewal:
        return Renewal(
            renewal_id=profile_renewal_id(customer.customer_id, renewal_date),
            workspace_id=customer.workspace_id,
            customer_id=customer.customer_id,
            renewal_date=renewal_date,
            current_arr=arr,
            mrr=round(arr / 12, 2),
            created_by="system:seed",
            created_at=stamp,
            updated_at=stamp,
            **fields,
        )

    records: list[Renewal] = []
    current = customer.renewal_date
    if customer.status == "churned":
        records.append(
            term(
                current, customer.arr, forecast_category="at_risk", status="churned", closed_on=current, closed_arr=0.0
            )
        )
    else:
        proposed = round(customer.arr * rng.choice((1.0, 1.05, 1.1, 1.2, 0.9)), -2) if rng.random() < 0.4 else None
        records.append(
            term(
                current,
                customer.arr,
                forecast_category=rng.choice(DEMO_FORECAST[demo_customer.trajectory]),
                auto_renew=rng.random() < 0.3,
                proposed_arr=proposed,
                expansion_target_arr=round(customer.arr * 0.1, -2) if rng.random() < 0.3 else None,
            )
        )
    previous = current - timedelta(days=365)
    if previous <= today and date.fromisoformat(customer.created_at[:10]) < previous:
        before = round(customer.arr / rng.uniform(0.9, 1.25), -2)
        records.append(
            term(
                previous,
                before,
                forecast_category="commit",
                status="renewed",
                closed_on=previous - timedelta(days=rng.randint(0, 30)),
                closed_arr=customer.arr,
                expansion_target_arr=round(before * 0.1, -2) if rng.random() < 0.3 else None,
            )
        )
    return records


def write_workspace(workspace: DemoWorkspace, seeded_at: datetime, live_tickets_since: date | None = None) -> None:
    from keepwell.domain import signal_log
    from keepwell.storage import contacts, customers, renewals, signal_logs, timeline, workspaces

    with clock.frozen(seeded_at):  # created_at of the workspace and users
        workspaces.create_workspace(workspace.workspace_id, workspace.name)
        for user_id, role, name in workspace.users:
            email = f"{name.split()[0].lower()}@{workspace.workspace_id.removeprefix('ws_')}.test"
            workspaces.put_user(workspace.workspace_id, user_id, email, name, role)
    customers.put_customers_batch(workspace.workspace_id, (c.customer for c in workspace.customers))
    contacts.put_contacts_batch(workspace.workspace_id, _all(workspace.customers, "contacts"))
    today = seeded_at.date()
    renewals.put_renewals_batch(r for c in workspace.customers for r in demo_renewals(c, today))
    timeline.add_timeline_items(
        workspace.workspace_id,
        (e for e in _all(workspace.customers, "timeline") if not is_live_ticket(e, live_tickets_since)),
    )
    # What scoring reads instead of the timeline: each customer's entries folded into its signal log.
    logs = {}
    for demo_customer in workspace.customers:
        log = signal_log.SignalLog()
        signal_log.fold(log, (e for e in demo_customer.timeline if not is_live_ticket(e, live_tickets_since)))
        logs[demo_customer.customer.customer_id] = signal_log.compact(log, seeded_at)
    signal_logs.put_signal_logs(workspace.workspace_id, logs, clock.iso(seeded_at))


# The demo's saved segments: what benchmarks and the misalignment alert compare customers with.
DEMO_SEGMENTS = (
    ("seg_enterprise", "Enterprise", 'tier = "Enterprise" AND status IN ("active", "paused")'),
    ("seg_mid_market", "Mid-Market", 'tier = "Mid-Market" AND status IN ("active", "paused")'),
    ("seg_smb", "SMB", 'tier = "SMB" AND status IN ("active", "paused")'),
    ("seg_emea", "EMEA", 'region = "EMEA" AND status != "churned"'),
)


def write_segments(workspace: DemoWorkspace, seeded_at: datetime) -> None:
    from keepwell.domain import conditions
    from keepwell.domain.segments import segment_fields
    from keepwell.storage import segments

    admin = next(user_id for user_id, role, _ in workspace.users if role == "admin")
    fields = segment_fields({})
    stamp = clock.iso(seeded_at)
    for segment_id, name, text in DEMO_SEGMENTS:
        rule = conditions.compile_condition(text, fields)
        segment = segments.Segment(segment_id, name, None, conditions.to_dict(rule), stamp, admin, stamp, 1)
        segments.create_segment(workspace.workspace_id, segment)


# The demo's product capabilities (features as the usage roll-up records them) and success plans in
# various states: on track, a kick-off overdue (a risk signal at the first scoring), an objective
# achieved by hand, outcomes recorded, one shared with the customer (docs/success-plans.md).
DEMO_CAPABILITIES = (
    ("dashboards", "Dashboards", "Analytics", ["dashboards"]),
    ("reporting", "Automated reporting", "Analytics", ["reports", "exports"]),
    ("workflows", "Workflows", "Automation", ["workflows", "playbooks"]),
    ("sso", "Single sign-on", "Platform", ["sso"]),
    ("integrations", "Integrations", "Platform", ["integrations", "api"]),
)


def write_success_plans(workspace: DemoWorkspace, today: date) -> None:
    from keepwell.auth import Caller
    from keepwell.schemas.success_plans import AchieveIn, ApplyBlueprintIn, CapabilityIn, OutcomeIn, PlanIn, ShareIn
    from keepwell.services import success_plans

    admin = next(user_id for user_id, role, _ in workspace.users if role == "admin")
    caller = Caller(workspace.workspace_id, admin, "admin")
    for key, name, product, features in DEMO_CAPABILITIES:
        success_plans.create_capability(
            caller, CapabilityIn(key=key, name=name, product=product, features=features, threshold_days=4)
        )
    (onboarding,) = success_plans.seed_default_blueprints(workspace.workspace_id)
    active = sorted(
        (c.customer for c in workspace.customers if c.customer.status == "active" and c.customer.owner_id),
        key=lambda c: c.name,
    )
    for customer, days_ago in zip(active[:4], (5, 12, 60, 100), strict=False):
        start = today - timedelta(days=days_ago)
        body = ApplyBlueprintIn(blueprint_id=onboarding.blueprint_id, start_date=start)
        plan = success_plans.apply_blueprint(caller, customer.customer_id, body).plan
        live = plan.objectives[0].objective_id
        if days_ago >= 60:  # an older plan: its go-live was signed off, and its first value is being measured
            success_plans.achieve_objective(
                caller, customer.customer_id, live, AchieveIn(reason="Went live on the agreed date (sign-off email)")
            )
        if days_ago == 60:
            success_plans.create_share(caller, customer.customer_id, ShareIn(expires_in_days=30))
    if len(active) > 4:  # a plan written by hand, with outcomes on the way to its target
        customer = active[4]
        hand = PlanIn.model_validate(
            {
                "name": "Value plan FY27",
                "start_date": (today - timedelta(days=45)).isoformat(),
                "objectives": [
                    {
                        "title": "Raise NPS from 30 to 50",
                        "metric": "nps",
                        "baseline": 30,
                        "target": 50,
                        "due_date": (today + timedelta(days=120)).isoformat(),
                        "shared": True,
                        "initiatives": [
                            {
                                "title": "Quarterly business review",
                                "due_date": (today + timedelta(days=20)).isoformat(),
                                "status": "in_progress",
                                "shared": True,
                            }
                        ],
                    }
                ],
            }
        )
        plan = success_plans.put_plan(caller, customer.customer_id, hand).plan
        objective_id = plan.objectives[0].objective_id
        success_plans.record_outcome(
            caller,
            customer.customer_id,
            objective_id,
            OutcomeIn(value=41, note="Survey after the new onboarding flow", recorded_on=today - timedelta(days=10)),
        )


def seed_demo(
    today: date, customers: int = DEMO_CUSTOMERS, other_customers: int = OTHER_CUSTOMERS, seed: int = SEED
) -> DemoSeed:
    """Generate the demo and write it (workspaces, users, customers, contacts, timeline, product usage
    except the live days' events)."""
    data = generate_demo(today, customers, other_customers, seed)
    seeded_at = datetime.combine(today, time(6, 0), UTC)
    live_tickets_since = today - timedelta(days=LIVE_TICKET_DAYS - 1)
    write_workspace(data.demo, seeded_at, live_tickets_since)
    write_segments(data.demo, seeded_at)
    write_success_plans(data.demo, today)
    # A year of outcomes (churns, renewals) with the health stored before them, for the model backtest.
    from infra import demo_outcomes

    outcomes = demo_outcomes.generate_outcomes(
        today, [c.customer for c in data.demo.customers], seed, data.demo.workspace_id
    )
    demo_outcomes.write_outcomes(outcomes, data.demo.workspace_id)
    write_workspace(data.other, seeded_at)
    from keepwell.storage import renewals

    for workspace in (data.demo, data.other):  # the renewals' pipeline rows, once everything is written
        renewals.backfill_pipeline_rows(workspace.workspace_id)
    live = live_event_days(today, clock.now())
    import_product_usage(data.demo, skip=set(live))
    import_product_usage(data.other, skip=set())  # no ingestion key is printed for ws_other
    token_users: dict[str, str] = {}
    for user_id, role, _ in data.demo.users:
        token_users.setdefault(role, user_id)
    return DemoSeed(data=data, token_users=token_users, live_days=live, live_tickets_since=live_tickets_since)


# ---- product usage -----------------------------------------------------------------------------
# The demo's product usage reaches Keepwell two ways. The last LIVE_EVENT_DAYS days (yesterday, and
# today up to now) are sent by the local stack as product events through POST /v1/events with the
# printed ingestion key, so the demo exercises the real path: per-event validation, exactly-once
# counting, raw events, the day's timeline entry. Older days are imported straight into the day
# items, as a historical backfill would be (~25,000 items by BatchWriteItem). Why not all 90 days as
# events: that is ~2.3 M events over ~25,000 customer-days (one conditional write each), many
# minutes on moto, and the stack must be ready in about a minute; two days are 45,000-60,000 events
# over ~640 customer-days (~12 s on moto).
# Every event of a live day is sent (no sampling), so both ways carry the same usage: the events of
# a day roll up to exactly its UsageDay (tests/unit/test_seed.py checks it).
LIVE_EVENT_DAYS = 2
# Support tickets of the last LIVE_TICKET_DAYS days reach ws_demo through the signed Zendesk endpoint
# (created, then status changes), like product events: the real path, bounded to keep start-up short.
LIVE_TICKET_DAYS = 7
EVENT_HOURS = (8, 18)
LOGIN_EVENT = "user_logged_in"


def live_event_days(today: date, now: datetime) -> list[date]:
    """The demo days sent as events: the last LIVE_EVENT_DAYS up to `today`, not after `now` and not
    older than ingestion's 90-day backfill window (a seed dated long ago imports everything)."""
    oldest = (now - timedelta(days=89)).date()
    window = (today - timedelta(days=n) for n in range(LIVE_EVENT_DAYS))
    return sorted(day for day in window if oldest <= day <= now.date())


def feature_event(feature: str) -> str:
    return feature.replace("-", "_") + "_used"


def day_events(customer_id: str, external_id: str, usage: UsageDay) -> list[dict[str, Any]]:
    """A customer-day's product events as the customer's app sends them: each active user's logins,
    then one event per feature used that day. Same day and customer → same events, ids included."""
    users = sorted(usage.users)
    if not users:
        return []
    rng = random.Random(f"{SEED}:{customer_id}:{usage.day.isoformat()}")
    start = datetime.combine(usage.day, time(EVENT_HOURS[0]), UTC)
    span = (EVENT_HOURS[1] - EVENT_HOURS[0]) * 3600
    logins = [1] * len(users)
    for extra in range(usage.logins - len(users)):
        logins[extra % len(users)] += 1
    named: list[tuple[str, str, dict[str, Any]]] = [
        (LOGIN_EVENT, user, {}) for user, count in zip(users, logins, strict=True) for _ in range(count)
    ]
    named += [(feature_event(f), rng.choice(users), {"feature": f}) for f in sorted(usage.features)]
    return [
        {
            "event_id": f"demo-{customer_id}-{usage.day.isoformat()}-{n:05d}",
            "event": name,
            "customer_external_id": external_id,
            "user_id": user,
            "timestamp": clock.iso(start + timedelta(seconds=rng.randrange(span))),
            "properties": properties,
        }
        for n, (name, user, properties) in enumerate(named)
    ]


def imported_activity(usage: UsageDay) -> DayActivity:
    """What `day_events(…, usage)` adds up to once ingested: the day item an import writes."""
    if not usage.users:
        return DayActivity()
    counts = {LOGIN_EVENT: usage.logins} | {feature_event(f): 1 for f in usage.features}
    return DayActivity(
        events=sum(counts.values()),
        logins=usage.logins,
        event_counts=counts,
        users=frozenset(usage.users),
        features=frozenset(usage.features),
    )


def import_product_usage(workspace: DemoWorkspace, skip: set[date]) -> int:
    """Write the day items of every active customer-day not in `skip` (BatchWriteItem)."""
    from keepwell.storage import metrics

    return metrics.put_imported_days(
        workspace.workspace_id,
        (
            (c.customer.customer_id, usage.day, imported_activity(usage))
            for c in workspace.customers
            for usage in c.usage
            if usage.users and usage.day not in skip
        ),
    )
