"""Red and green flags of a customer, each with its evidence. Pure: no AWS.

`compute_flags(inputs, settings)` is the one entry point: the flags API calls it on demand and the
scorer can call it with each score (it has the same inputs at hand: the profile, the daily metrics,
the signal log and the contacts). docs/renewals.md lists every rule and its thresholds.

Red flags
- `champion_changed`: the champion's email bounced, or a role change was recorded on the champion
  contact in the last 90 days.
- `usage_drop`: product usage of the last 30 days is at least 30 % below the 30 days before.
- `stale_severe_tickets`: high / urgent / critical tickets still open (or pending) after 7 days.
- `negative_tone`: the mean tone of the customer's last 5 emails is negative (VADER compound ≤ -0.05).
- `no_two_way_activity`: no inbound email and no meeting for more than 45 days.

Green flags
- `growing_usage`: usage up 20 %+, new modules (features not used in the previous 30 days), or
  advanced features used 50 %+ more.
- `new_user_domains`: users from email domains not seen in the previous 30 days (only when product
  user ids are email addresses).
- `high_engagement`: the champion answers within 24 h on average, or 2+ meetings in 30 days.
- `additional_needs`: "we also need X" and similar phrases in the customer's emails (NEED_PATTERNS).

Competitor mentions (the health model's `sentiment.competitors`) are not a flag of their own; they are
returned beside the flags because they trigger an escalation (domain/renewals.escalation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from keepwell.domain.health import sentiment
from keepwell.domain.health.signals import HIGH_PRIORITIES, Email, Meeting, Ticket

FlagColour = Literal["red", "green"]


@dataclass(frozen=True)
class ActivityDay:
    """One customer-day of product usage (from the daily metrics item)."""

    day: date
    events: int = 0
    logins: int = 0
    users: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()
    event_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactFacts:
    contact_id: str
    name: str
    email: str | None = None
    is_champion: bool = False
    email_bounced: bool = False
    role_change_recorded_at: datetime | None = None


@dataclass(frozen=True)
class FlagInputs:
    """Everything the rules read for one customer. `today` is the day flags are computed for: usage
    windows end the day before (today's usage is still incomplete)."""

    today: date
    usage: Sequence[ActivityDay] = ()
    emails: Sequence[Email] = ()
    meetings: Sequence[Meeting] = ()
    tickets: Sequence[Ticket] = ()
    contacts: Sequence[ContactFacts] = ()
    champion_contact_id: str | None = None
    customer_domain: str | None = None
    customer_since: date | None = None  # when the customer was created: no silence flag before 45 days


@dataclass(frozen=True)
class FlagSettings:
    usage_window_days: int = 30
    usage_drop_percent: float = 30.0
    usage_growth_percent: float = 20.0
    usage_min_baseline: int = 10  # fewer events than this in the earlier window: too little to compare
    advanced_features: frozenset[str] = frozenset()
    advanced_spike_ratio: float = 1.5
    ticket_open_days: int = 7
    tone_emails: int = 5
    negative_tone: float = -0.05  # VADER's usual cut-off for a negative text
    silence_days: int = 45
    role_change_days: int = 90
    fast_reply_hours: float = 24.0
    engagement_window_days: int = 30
    frequent_meetings: int = 2
    needs_window_days: int = 90
    competitors: tuple[str, ...] = ()
    competitor_window_days: int = 60


@dataclass(frozen=True)
class Evidence:
    text: str
    ref: str | None = None  # timeline item id (email, ticket, meeting) or contact id
    at: str | None = None  # ISO date or time of the fact

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "ref": self.ref, "at": self.at}


@dataclass(frozen=True)
class Flag:
    code: str
    colour: FlagColour
    title: str
    evidence: tuple[Evidence, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "colour": self.colour,
            "title": self.title,
            "evidence": [e.as_dict() for e in self.evidence],
            "facts": dict(self.facts),
        }


@dataclass(frozen=True)
class FlagResult:
    red: tuple[Flag, ...]
    green: tuple[Flag, ...]
    competitor_mentions: tuple[str, ...]
    competitor_evidence: tuple[Evidence, ...]
    champion_aligned: bool

    @property
    def red_codes(self) -> list[str]:
        return [f.code for f in self.red]


# --- "we also need X": documented patterns ------------------------------------------------------
# Each pattern finds a phrase where the customer asks for more than they have; `what` is the need.
# Matching is case-insensitive, over the email's subject and text; the need runs to the end of the
# clause (. ! ? ; newline) and at most 80 characters.
_NEED = r"(?P<what>[^.!?;\n]{3,80})"
NEED_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        # "we also need SSO", "we'd also want an API", "we will also require audit logs"
        ("also_need", r"\bwe(?:'d| would| will|'ll)?\s+also\s+(?:need|want|require)s?\s+" + _NEED),
        # "we need more seats", "we would need additional licenses"
        ("more_capacity", r"\b(?P<what>(?:more|additional|extra)\s+(?:seats|licen[cs]es|users|storage|capacity))\b"),
        # "do you also offer X", "can you support X", "does it have X"
        (
            "do_you_offer",
            r"\b(?:do|does|can|could)\s+(?:you|it)\s+(?:also\s+)?(?:offer|have|support|provide)\s+" + _NEED,
        ),
        # "we are looking for X", "we're interested in X"
        ("looking_for", r"\b(?:we\s+are|we're)\s+(?:also\s+)?(?:looking\s+for|interested\s+in)\s+" + _NEED),
        # "roll it out to the finance team", "expand to our EU office"
        ("expand_to", r"\b(?:roll(?:ing)?\s+(?:it\s+|this\s+)?out|expand(?:ing)?)\s+to\s+" + _NEED),
    )
)


def find_needs(text: str) -> list[tuple[str, str]]:
    """(pattern name, the need as written) for every need phrase in a text, in order."""
    found: list[tuple[int, str, str]] = []
    for name, pattern in NEED_PATTERNS:
        for match in pattern.finditer(text):
            found.append((match.start(), name, " ".join(match.group("what").split()).rstrip(",: ")))
    return [(name, what) for _, name, what in sorted(found)]


# --- helpers --------------------------------------------------------------------------------------
def _date(moment: datetime) -> str:
    return moment.date().isoformat()


def _in_window(days: Iterable[ActivityDay], start: date, end: date) -> list[ActivityDay]:
    return [d for d in days if start <= d.day <= end]


@dataclass(frozen=True)
class UsageWindows:
    measure: str  # "events" or "logins"
    recent: int
    previous: int
    recent_days: list[ActivityDay]
    previous_days: list[ActivityDay]
    recent_range: tuple[date, date]
    previous_range: tuple[date, date]

    @property
    def change_percent(self) -> float | None:
        if self.previous <= 0:
            return None
        return round((self.recent - self.previous) / self.previous * 100, 1)


def usage_windows(inputs: FlagInputs, settings: FlagSettings) -> UsageWindows:
    """The last `usage_window_days` complete days against the same number of days before them.
    Usage is counted in product events; in logins when no events were recorded at all."""
    window = settings.usage_window_days
    recent_end = inputs.today - timedelta(days=1)
    recent_start = inputs.today - timedelta(days=window)
    previous_end = recent_start - timedelta(days=1)
    previous_start = recent_start - timedelta(days=window)
    recent_days = _in_window(inputs.usage, recent_start, recent_end)
    previous_days = _in_window(inputs.usage, previous_start, previous_end)
    measure = "events" if any(d.events for d in [*recent_days, *previous_days]) else "logins"

    def total(days: list[ActivityDay]) -> int:
        return sum(d.events if measure == "events" else d.logins for d in days)

    return UsageWindows(
        measure,
        total(recent_days),
        total(previous_days),
        recent_days,
        previous_days,
        (recent_start, recent_end),
        (previous_start, previous_end),
    )


def _window_text(windows: UsageWindows) -> str:
    (rs, re_), (ps, pe) = windows.recent_range, windows.previous_range
    return (
        f"{windows.recent} {windows.measure} from {rs.isoformat()} to {re_.isoformat()} against "
        f"{windows.previous} from {ps.isoformat()} to {pe.isoformat()}"
    )


def champion(inputs: FlagInputs) -> ContactFacts | None:
    if inputs.champion_contact_id is None:
        return next((c for c in inputs.contacts if c.is_champion), None)
    return next((c for c in inputs.contacts if c.contact_id == inputs.champion_contact_id), None)


# --- red flags ------------------------------------------------------------------------------------
def _champion_changed(inputs: FlagInputs, settings: FlagSettings) -> Flag | None:
    person = champion(inputs)
    if person is None:
        return None
    evidence: list[Evidence] = []
    if person.email_bounced:
        evidence.append(
            Evidence(f"champion {person.name}'s email {person.email or ''} bounced".strip(), person.contact_id)
        )
    changed = person.role_change_recorded_at
    if changed is not None and changed.date() >= inputs.today - timedelta(days=settings.role_change_days):
        evidence.append(
            Evidence(f"champion {person.name}'s role changed on {_date(changed)}", person.contact_id, _date(changed))
        )
    if not evidence:
        return None
    return Flag("champion_changed", "red", "Champion changed", tuple(evidence), {"contact_id": person.contact_id})


def _usage_drop(windows: UsageWindows, settings: FlagSettings) -> Flag | None:
    change = windows.change_percent
    if change is None or windows.previous < settings.usage_min_baseline or change > -settings.usage_drop_percent:
        return None
    return Flag(
        "usage_drop",
        "red",
        f"Usage down {abs(change):g}% in {settings.usage_window_days} days",
        (Evidence(_window_text(windows), at=windows.recent_range[1].isoformat()),),
        {"measure": windows.measure, "recent": windows.recent, "previous": windows.previous, "change_percent": change},
    )


def _stale_severe_tickets(inputs: FlagInputs, settings: FlagSettings) -> Flag | None:
    now_day = inputs.today
    stale = sorted(
        (
            t
            for t in inputs.tickets
            if t.status != "closed"
            and t.priority in HIGH_PRIORITIES
            and (now_day - t.created_at.date()).days > settings.ticket_open_days
        ),
        key=lambda t: t.created_at,
    )
    if not stale:
        return None
    evidence = tuple(
        Evidence(
            f"{t.priority} ticket {t.status} for {(now_day - t.created_at.date()).days} days "
            f"(since {_date(t.created_at)})",
            t.id,
            _date(t.created_at),
        )
        for t in stale
    )
    return Flag(
        "stale_severe_tickets",
        "red",
        f"{len(stale)} high-priority ticket{'s' if len(stale) > 1 else ''} open more than "
        f"{settings.ticket_open_days} days",
        evidence,
        {"tickets": len(stale), "oldest_days": (now_day - stale[0].created_at.date()).days},
    )


def _tone(email: Email) -> float:
    return email.tone if email.tone is not None else sentiment.tone(email.text)


def _inbound(inputs: FlagInputs) -> list[Email]:
    """The customer's emails (inbound), newest first, up to the end of `today`."""
    end = inputs.today + timedelta(days=1)
    return sorted(
        (e for e in inputs.emails if e.direction == "in" and e.sent_at.date() < end),
        key=lambda e: e.sent_at,
        reverse=True,
    )


def _negative_tone(inputs: FlagInputs, settings: FlagSettings) -> Flag | None:
    last = _inbound(inputs)[: settings.tone_emails]
    if not last:
        return None
    tones = [(e, _tone(e)) for e in last]
    mean = sum(t for _, t in tones) / len(tones)
    if mean > settings.negative_tone:
        return None
    evidence = tuple(
        Evidence(f"email on {_date(e.sent_at)} has tone {t:+.2f}", e.id, _date(e.sent_at))
        for e, t in tones
        if t <= settings.negative_tone
    )
    return Flag(
        "negative_tone",
        "red",
        f"Negative tone in the last {len(tones)} emails",
        evidence,
        {"mean_tone": round(mean, 3), "emails": len(tones)},
    )


def last_two_way_activity(inputs: FlagInputs) -> tuple[datetime, str, str | None] | None:
    """(when, what, ref) of the latest inbound email or meeting, or None."""
    moments: list[tuple[datetime, str, str | None]] = [
        (e.sent_at, "email from the customer", e.id) for e in _inbound(inputs)
    ]
    moments += [(m.at, "meeting", m.id) for m in inputs.meetings if m.at.date() <= inputs.today]
    return max(moments, key=lambda m: m[0]) if moments else None


def _no_two_way_activity(inputs: FlagInputs, settings: FlagSettings) -> Flag | None:
    limit = inputs.today - timedelta(days=settings.silence_days)
    if inputs.customer_since is not None and inputs.customer_since > limit:
        return None  # a customer younger than the silence period cannot have been silent that long
    last = last_two_way_activity(inputs)
    if last is not None and last[0].date() >= limit:
        return None
    if last is None:
        evidence = Evidence(
            f"no email from the customer and no meeting recorded in the last {settings.silence_days} days"
        )
        facts: dict[str, Any] = {"last_activity": None}
    else:
        at, what, ref = last
        days = (inputs.today - at.date()).days
        evidence = Evidence(f"last two-way activity: {what} on {_date(at)}, {days} days ago", ref, _date(at))
        facts = {"last_activity": _date(at), "days": days}
    return Flag(
        "no_two_way_activity",
        "red",
        f"No two-way activity for more than {settings.silence_days} days",
        (evidence,),
        facts,
    )


# --- green flags ----------------------------------------------------------------------------------
def _growing_usage(windows: UsageWindows, settings: FlagSettings) -> Flag | None:
    evidence: list[Evidence] = []
    facts: dict[str, Any] = {}
    change = windows.change_percent
    if (
        change is not None
        and windows.previous >= settings.usage_min_baseline
        and change >= settings.usage_growth_percent
    ):
        evidence.append(Evidence(f"usage up {change:g}%: {_window_text(windows)}"))
        facts["change_percent"] = change
    before = frozenset().union(*(d.features for d in windows.previous_days)) if windows.previous_days else frozenset()
    now = frozenset().union(*(d.features for d in windows.recent_days)) if windows.recent_days else frozenset()
    new_modules = sorted(now - before) if windows.previous_days else []
    if new_modules:
        evidence.append(
            Evidence(f"new modules used in the last {settings.usage_window_days} days: {', '.join(new_modules)}")
        )
        facts["new_modules"] = new_modules
    if settings.advanced_features:

        def advanced(days: list[ActivityDay]) -> int:
            return sum(d.event_counts.get(name, 0) for d in days for name in settings.advanced_features)

        recent, previous = advanced(windows.recent_days), advanced(windows.previous_days)
        if recent > 0 and recent >= previous * settings.advanced_spike_ratio and recent > previous:
            evidence.append(Evidence(f"advanced features used {recent} times against {previous} the 30 days before"))
            facts["advanced_uses"] = {"recent": recent, "previous": previous}
    if not evidence:
        return None
    return Flag("growing_usage", "green", "Growing usage", tuple(evidence), facts)


def _domain_of(user_id: str) -> str | None:
    local, sep, domain = user_id.strip().lower().rpartition("@")
    return domain if sep and local and "." in domain else None


def _new_user_domains(windows: UsageWindows, inputs: FlagInputs) -> Flag | None:
    def users(days: list[ActivityDay]) -> set[str]:
        return {u for d in days for u in d.users}

    recent, previous = users(windows.recent_days), users(windows.previous_days)
    if not previous or not any(_domain_of(u) for u in recent | previous):
        return None  # user ids are not email addresses, or nothing to compare with
    known = {_domain_of(u) for u in previous} - {None}
    new: dict[str, list[str]] = {}
    for user in sorted(recent - previous):
        domain = _domain_of(user)
        if domain is not None and domain not in known:
            new.setdefault(domain, []).append(user)
    if not new:
        return None
    evidence = tuple(
        Evidence(f"{len(people)} new user{'s' if len(people) > 1 else ''} from {domain}: {', '.join(people[:5])}")
        for domain, people in sorted(new.items())
    )
    return Flag("new_user_domains", "green", "New users from new domains", evidence, {"domains": sorted(new)})


def _high_engagement(inputs: FlagInputs, settings: FlagSettings) -> Flag | None:
    start = inputs.today - timedelta(days=settings.engagement_window_days)
    evidence: list[Evidence] = []
    facts: dict[str, Any] = {}
    hours = [
        e.champion_response_hours
        for e in _inbound(inputs)
        if e.champion_response_hours is not None and e.sent_at.date() >= start
    ]
    if len(hours) >= 2 and sum(hours) / len(hours) <= settings.fast_reply_hours:
        mean = round(sum(hours) / len(hours), 1)
        evidence.append(Evidence(f"the champion answered in {mean:g} h on average ({len(hours)} replies)"))
        facts["mean_reply_hours"] = mean
    meetings = sorted((m for m in inputs.meetings if start <= m.at.date() <= inputs.today), key=lambda m: m.at)
    if len(meetings) >= settings.frequent_meetings:
        evidence.append(
            Evidence(
                f"{len(meetings)} meetings in the last {settings.engagement_window_days} days",
                meetings[-1].id,
                _date(meetings[-1].at),
            )
        )
        facts["meetings"] = len(meetings)
    if not evidence:
        return None
    return Flag("high_engagement", "green", "High engagement", tuple(evidence), facts)


def _additional_needs(inputs: FlagInputs, settings: FlagSettings) -> Flag | None:
    start = inputs.today - timedelta(days=settings.needs_window_days)
    evidence: list[Evidence] = []
    needs: list[str] = []
    for email in _inbound(inputs):
        if email.sent_at.date() < start:
            continue
        for name, what in find_needs(email.text):
            needs.append(what)
            evidence.append(
                Evidence(f'email on {_date(email.sent_at)}: "{what}" ({name})', email.id, _date(email.sent_at))
            )
    if not evidence:
        return None
    return Flag("additional_needs", "green", "Mentions additional needs", tuple(evidence), {"needs": needs})


def competitor_mentions(inputs: FlagInputs, settings: FlagSettings) -> tuple[tuple[str, ...], tuple[Evidence, ...]]:
    if not settings.competitors:
        return (), ()
    start = inputs.today - timedelta(days=settings.competitor_window_days)
    names: dict[str, None] = {}
    evidence: list[Evidence] = []
    for email in _inbound(inputs):
        if email.sent_at.date() < start:
            continue
        for name in sentiment.find_keywords(email.text, settings.competitors):
            names.setdefault(name, None)
            evidence.append(
                Evidence(f"email on {_date(email.sent_at)} mentions {name}", email.id, _date(email.sent_at))
            )
    return tuple(names), tuple(evidence)


# --- the entry point ------------------------------------------------------------------------------
def compute_flags(inputs: FlagInputs, settings: FlagSettings | None = None) -> FlagResult:
    """Every red and green flag of one customer with its evidence, plus the competitor mentions and
    whether the champion is aligned (identified, email not bouncing, no recent role change)."""
    settings = settings or FlagSettings()
    windows = usage_windows(inputs, settings)
    champion_flag = _champion_changed(inputs, settings)
    red = [
        champion_flag,
        _usage_drop(windows, settings),
        _stale_severe_tickets(inputs, settings),
        _negative_tone(inputs, settings),
        _no_two_way_activity(inputs, settings),
    ]
    green = [
        _growing_usage(windows, settings),
        _new_user_domains(windows, inputs),
        _high_engagement(inputs, settings),
        _additional_needs(inputs, settings),
    ]
    names, evidence = competitor_mentions(inputs, settings)
    return FlagResult(
        red=tuple(f for f in red if f is not None),
        green=tuple(f for f in green if f is not None),
        competitor_mentions=names,
        competitor_evidence=evidence,
        champion_aligned=champion(inputs) is not None and champion_flag is None,
    )
