"""Signals -> dimension values (0-100, or None = N/A) with the evidence behind each.

`SignalIndex` sorts a customer's signals once and answers "as of day D" with bisects and prefix sums,
so a 90-day history costs about the same as 90 single lookups rather than re-scanning every day.
A dimension whose inputs did not change since an earlier day (no email, meeting, ticket or NPS answer
entered or left its window; payment and relationship change even less) is not worked out again: the
index hands out that day's `Part` (value, metrics, evidence), keyed by the positions of its window in
the sorted signals, which is what the value and evidence are computed from."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, islice
from typing import Any

from keepwell.domain.health import sentiment
from keepwell.domain.health.expressions import (
    CompiledExpression,
    compile_expression,
    evaluate,
    expression_names,
)
from keepwell.domain.health.model import HealthModel, NormalisationTargets, Target
from keepwell.domain.health.names import (
    CONTRACT,
    ENGAGEMENT,
    METRICS,
    PAYMENT,
    RELATIONSHIP,
    SENTIMENT,
    STANDARD_DIMENSIONS,
    SUPPORT,
    USAGE,
    Metric,
)
from keepwell.domain.health.signals import (
    HIGH_PRIORITIES,
    SEVERE_PRIORITIES,
    CustomerSignals,
    Email,
    Ticket,
    UsageDay,
)

SENTIMENT_WINDOW_DAYS = 30
QBR_WINDOW_DAYS = 120  # a quarterly review plus a month's slack (the signal log keeps 120 days)
POSITIVE_AT = 70.0  # a metric scoring at least this is positive evidence
NEGATIVE_AT = 40.0  # at most this, negative evidence
Scored = tuple[str, float, float]  # metric key, raw value, 0-100 score


@dataclass(frozen=True, slots=True)
class Evidence:
    dimension: str
    text: str
    strength: float  # signed share of the dimension's value it moves, -1..1 (x effective weight = points)
    ref: str | None = None

    @property
    def positive(self) -> bool:
        return self.strength > 0


class Part:
    """One dimension's outcome on a day: its value, the metrics measured for it (in the order measured)
    and its evidence. A SignalIndex hands out the same Part for the same inputs, so what is derived from
    a Part alone is worked out once: `ranked` keeps its evidence ranked under each effective weight met
    (`explain.weigh_parts`). Read-only once built, but for that cache."""

    __slots__ = ("dimension", "evidence", "metrics", "ranked", "value")

    def __init__(
        self,
        dimension: str,
        value: float | None,
        metrics: tuple[tuple[str, float], ...] = (),
        evidence: tuple[Evidence, ...] = (),
    ):
        self.dimension = dimension
        self.value = value
        self.metrics = metrics
        self.evidence = evidence
        self.ranked: dict[float, tuple[Any, ...]] = {}


@dataclass(slots=True)
class Measurement:
    values: dict[str, float | None] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)  # the parts' evidence, in the parts' order
    parts: list[Part] = field(default_factory=list)  # one per dimension measured, in the order measured


def _ts(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _day_end(day: date) -> float:
    """End of the day (exclusive), UTC: "as of day D" includes everything up to D's midnight."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC).timestamp()


class _Prefix:
    """Sorted keys with prefix sums of some columns: window sums in O(log n)."""

    def __init__(self, keys: list[float], columns: Mapping[str, Sequence[float]]):
        self.keys = keys
        self.sums = {name: list(accumulate(col, initial=0.0)) for name, col in columns.items()}

    def span(self, start: float, end: float) -> tuple[int, int]:
        return bisect_left(self.keys, start), bisect_left(self.keys, end)

    def total(self, name: str, span: tuple[int, int]) -> float:
        sums = self.sums[name]
        return sums[span[1]] - sums[span[0]]


class _SlidingUnion:
    """Distinct members of per-day sets over a moving window; O(change) when the window moves forward."""

    def __init__(self, days: Sequence[UsageDay], members: Callable[[UsageDay], Iterable[str]]):
        self.days = days
        self.members = members
        self.counter: Counter[str] = Counter()
        self.lo = self.hi = 0

    def window(self, lo: int, hi: int) -> Counter[str]:
        if lo < self.lo or hi < self.hi:  # moved backwards: rebuild
            self.counter = Counter()
            self.lo = self.hi = lo
        while self.hi < hi:
            self.counter.update(self.members(self.days[self.hi]))
            self.hi += 1
        counter = self.counter
        while self.lo < lo:
            for member in self.members(self.days[self.lo]):
                left = counter[member] - 1
                if left > 0:
                    counter[member] = left
                else:
                    counter.pop(member, None)
            self.lo += 1
        self.lo = max(self.lo, lo)
        if self.hi < self.lo:
            self.hi = self.lo
        return self.counter


def _open_at(ticket: Ticket) -> float | None:
    """When the ticket stopped being open (None = still open)."""
    if ticket.resolved_at is not None:
        return _ts(ticket.resolved_at)
    if ticket.status == "closed":
        return _ts(ticket.created_at)  # closed with no resolution time: never counted as open
    return None


@dataclass(frozen=True, slots=True)
class _MetricRule:
    """A metric with its target's terms (for a boolean metric, only `metric` counts)."""

    metric: Metric
    bad: float  # the target's `bad` (scores 0)
    span: float  # good - bad
    falling: str  # the evidence's direction word when the metric scores low: "down to" / "up to"


class SignalIndex:
    """A customer's signals prepared for repeated as-of queries. Build once, call `measure(day)` per day."""

    def __init__(
        self,
        signals: CustomerSignals,
        targets: NormalisationTargets,
        keywords: Sequence[str] = (),
        keyword_penalty: float = 15.0,
        keyword_penalty_cap: float = 45.0,
    ):
        self.signals = signals
        self.targets = targets
        self.keywords = tuple(keywords)
        self.keyword_penalty = keyword_penalty
        self.keyword_penalty_cap = keyword_penalty_cap
        self._rules: dict[str, _MetricRule] = {}
        self._parts: dict[tuple[Any, ...], Part] = {}  # a dimension's inputs -> its Part (see `_reuse`)
        self._index_usage()
        self._index_emails()
        self._index_meetings()
        self._index_tickets()
        self._nps = sorted(signals.nps or (), key=lambda r: _ts(r.at))
        self._nps_keys = [_ts(r.at) for r in self._nps]
        rel = signals.relationship
        self._qbrs = sorted(d for d in (*rel.qbr_days, rel.last_qbr) if d is not None) if rel is not None else []

    # -- indexing (once) --------------------------------------------------------------------------
    def _index_usage(self) -> None:
        usage = self.signals.usage
        days = sorted(usage.days, key=lambda d: d.day) if usage else []
        self._usage_days = days
        self._usage = _Prefix(
            [float(d.day.toordinal()) for d in days],
            {"logins": [d.logins for d in days], "active": [d.active for d in days]},
        )
        self._features = _SlidingUnion(days, lambda d: d.features)
        self._users = _SlidingUnion(days, lambda d: d.users)
        self._has_user_ids = any(d.users for d in days)
        self._has_feature_sets = any(d.features for d in days)

    def _index_emails(self) -> None:
        emails = sorted(self.signals.emails or (), key=lambda e: _ts(e.sent_at))
        self._emails = emails
        inbound = [e.direction == "in" for e in emails]
        # Tone only of what the customer wrote; computed once per email however many days are scored.
        tones = [
            (e.tone if e.tone is not None else sentiment.tone(e.text)) if e.direction == "in" else 0.0 for e in emails
        ]
        self._email = _Prefix(
            [_ts(e.sent_at) for e in emails],
            {
                "in": [float(x) for x in inbound],
                "out": [float(not x) for x in inbound],
                "proactive": [float(e.direction == "out" and e.proactive) for e in emails],
                "replies": [float(e.direction == "in" and e.reply_to_proactive) for e in emails],
                "tone": tones,
                "toned": [
                    float(x and (e.tone is not None or bool(e.text.strip())))
                    for x, e in zip(inbound, emails, strict=True)
                ],
                "champ_h": [(e.champion_response_hours or 0.0) if e.direction == "in" else 0.0 for e in emails],
                "champ_n": [float(e.direction == "in" and e.champion_response_hours is not None) for e in emails],
            },
        )
        self._keyword_hits: list[tuple[float, Email, str]] = []
        if self.keywords:
            for email in emails:
                if email.direction == "in":
                    for word in sentiment.find_keywords(email.text, self.keywords):
                        self._keyword_hits.append((_ts(email.sent_at), email, word))
        self._keyword_keys = [hit[0] for hit in self._keyword_hits]

    def _index_meetings(self) -> None:
        meetings = sorted(self.signals.meetings or (), key=lambda m: _ts(m.at))
        self._meeting = _Prefix(
            [_ts(m.at) for m in meetings],
            {
                "n": [1.0] * len(meetings),
                "minutes": [float(m.duration_minutes) for m in meetings],
            },
        )

    def _index_tickets(self) -> None:
        tickets = list(self.signals.tickets or ())
        by_created = sorted(tickets, key=lambda t: _ts(t.created_at))
        self._created = _Prefix(
            [_ts(t.created_at) for t in by_created],
            {
                "n": [1.0] * len(by_created),
                "high": [float(t.priority in HIGH_PRIORITIES) for t in by_created],
                "escalated": [float(t.escalated) for t in by_created],
            },
        )
        closed = sorted(x for x in (_open_at(t) for t in tickets) if x is not None)
        self._closed_keys = closed
        resolved = sorted(
            (t for t in tickets if t.resolved_at is not None),
            key=lambda t: _ts(t.resolved_at),  # type: ignore[arg-type]
        )
        self._resolved = _Prefix(
            [_ts(t.resolved_at) for t in resolved if t.resolved_at],
            {
                "n": [1.0] * len(resolved),
                "hours": [max(0.0, (_ts(t.resolved_at) - _ts(t.created_at)) / 3600) for t in resolved if t.resolved_at],
            },
        )
        severe = (t for t in tickets if t.priority in SEVERE_PRIORITIES)
        self._severe = sorted(severe, key=lambda t: _ts(t.created_at))
        self._severe_keys = [_ts(t.created_at) for t in self._severe]
        self._severe_closed = [_open_at(t) for t in self._severe]  # once, not on every scored day
        # Which critical tickets are open changes only when one is created or closed: the day's open ones
        # are worked out once per (created by then, closed by then) pair.
        self._severe_closed_keys = sorted(c for c in self._severe_closed if c is not None)
        self._severe_open: dict[tuple[int, int], tuple[int, str | None]] = {}

    # -- queries (per day) ------------------------------------------------------------------------
    def measure(self, as_of: date, dimensions: Collection[str] | None = None) -> Measurement:
        """Every standard dimension as of the day, or only those in `dimensions` (the others are left out
        of the values, metrics and evidence)."""
        out = Measurement()
        end = _day_end(as_of)
        window = self.targets.window_days
        start = end - window * 86400
        if dimensions is None or USAGE in dimensions:
            self._measure_usage(out, as_of, window)
        if dimensions is None or ENGAGEMENT in dimensions:
            self._measure_engagement(out, start, end, window)
        if dimensions is None or SUPPORT in dimensions:
            self._measure_support(out, start, end)
        if dimensions is None or SENTIMENT in dimensions:
            self._measure_sentiment(out, end)
        if dimensions is None or PAYMENT in dimensions:
            self._measure_payment(out)
        if dimensions is None or RELATIONSHIP in dimensions:
            self._measure_relationship(out, as_of)
        if dimensions is None or CONTRACT in dimensions:
            self._measure_contract(out, as_of)
        return out

    def _reuse(self, out: Measurement, key: tuple[Any, ...]) -> bool:
        """Add the Part measured earlier from the same inputs (`key`: the dimension, then the positions of
        its windows in the sorted signals and anything else its value and evidence are computed from)."""
        part = self._parts.get(key)
        if part is None:
            return False
        out.values[part.dimension] = part.value
        if part.metrics:
            out.metrics.update(part.metrics)
        if part.evidence:
            out.evidence.extend(part.evidence)
        out.parts.append(part)
        return True

    def _keep(self, out: Measurement, dimension: str, key: tuple[Any, ...] | None, metrics: int, evidence: int) -> None:
        """Record what was just measured for `dimension` (the metrics and evidence from these positions
        on) as its Part, and keep it for its inputs' `key` (None: inputs that change every day)."""
        part = Part(
            dimension,
            out.values[dimension],
            tuple(islice(out.metrics.items(), metrics, None)),
            tuple(out.evidence[evidence:]),
        )
        if key is not None:
            self._parts[key] = part
        out.parts.append(part)

    def _metric(self, key: str) -> _MetricRule:
        """How a metric is scored and worded under this index's targets, worked out once per metric."""
        rule = self._rules.get(key)
        if rule is None:
            metric = METRICS[key]
            if metric.boolean is not None:
                rule = _MetricRule(metric, 0.0, 0.0, "")
            else:
                target: Target = getattr(self.targets, key)
                # Target.normalise's own arithmetic: (raw - bad) / (good - bad) x 100, the span kept
                falling = "down to" if target.good > target.bad else "up to"
                rule = _MetricRule(metric, target.bad, target.good - target.bad, falling)
            self._rules[key] = rule
        return rule

    def _add(self, out: Measurement, key: str, raw: float | None, scored: list[Scored]) -> None:
        if raw is None or not math.isfinite(raw):
            return
        out.metrics[key] = raw
        rule = self._rules.get(key) or self._metric(key)
        if rule.metric.boolean is not None:
            scored.append((key, raw, 100.0 if raw else 0.0))
            return
        value = (raw - rule.bad) / rule.span * 100.0  # = Target.normalise(raw)
        scored.append((key, raw, min(100.0, max(0.0, value))))

    def _settle(
        self,
        out: Measurement,
        dimension: str,
        scored: list[Scored],
        penalty: float = 0.0,
        extra: Sequence[Evidence] = (),
    ) -> None:
        """The dimension is the mean of its available metric scores (minus any keyword penalty)."""
        if not scored:
            out.values[dimension] = None
            return
        value = math.fsum(s for _, _, s in scored) / len(scored)
        out.values[dimension] = max(0.0, min(100.0, value - penalty))
        window = self.targets.window_days
        for key, raw, score in scored:
            if NEGATIVE_AT < score < POSITIVE_AT:
                continue
            rule = self._rules.get(key) or self._metric(key)
            metric = rule.metric
            positive = score >= POSITIVE_AT
            if metric.boolean is not None:
                text = metric.boolean[0] if raw else metric.boolean[1]
            else:
                direction = "at" if positive else rule.falling
                text = metric.template.format(v=raw, p=raw * 100, dir=direction, w=window)
            out.evidence.append(Evidence(dimension, text, (score - 50.0) / 50.0 / len(scored)))
        out.evidence.extend(extra)

    def _measure_usage(self, out: Measurement, as_of: date, window: int) -> None:
        # Logins and active users move every day: measured afresh (no Part to reuse).
        metrics, evidence = len(out.metrics), len(out.evidence)
        usage = self.signals.usage
        if usage is None:
            out.values[USAGE] = None
            self._keep(out, USAGE, (USAGE,), metrics, evidence)
            return
        last = as_of.toordinal() + 1
        span = self._usage.span(last - window, last)
        scored: list[Scored] = []
        weeks = window / 7
        if usage.seats:
            out.metrics["seats"] = float(usage.seats)
            logins = self._usage.total("logins", span)
            self._add(out, "logins_per_seat_week", logins / usage.seats / weeks, scored)
        features = self._features.window(*span) if self._has_feature_sets else None
        if features is not None:
            self._add(out, "distinct_features", float(len(features)), scored)
        else:
            counts = [self._usage_days[i].feature_count for i in range(*span)]
            self._add(out, "distinct_features", float(max(counts, default=0)), scored)
        mau_span = self._usage.span(last - 30, last)
        mau: float | None = None
        if self._has_user_ids:
            mau = float(len(self._users.window(*mau_span)))
        elif usage.monthly_active_users is not None:
            mau = float(usage.monthly_active_users)
        if mau is not None:
            dau = self._usage.total("active", mau_span) / 30
            self._add(out, "dau_mau", dau / mau if mau else 0.0, scored)
        if usage.recent_features and features is not None:
            adopted = sum(1 for f in usage.recent_features if f in features)
            self._add(out, "new_feature_adoption_pct", adopted * 100.0 / len(usage.recent_features), scored)
        self._settle(out, USAGE, scored)
        self._keep(out, USAGE, None, metrics, evidence)

    def _measure_engagement(self, out: Measurement, start: float, end: float, window: int) -> None:
        emails, meetings = self.signals.emails, self.signals.meetings
        mail = self._email.span(start, end) if emails is not None else None
        met = self._meeting.span(start, end) if meetings is not None else None
        key = (ENGAGEMENT, mail, met)
        if self._reuse(out, key):
            return
        metrics, evidence = len(out.metrics), len(out.evidence)
        scored: list[Scored] = []
        weeks = window / 7
        if mail is not None:
            self._add(out, "emails_in_per_week", self._email.total("in", mail) / weeks, scored)
            self._add(out, "emails_out_per_week", self._email.total("out", mail) / weeks, scored)
            proactive = self._email.total("proactive", mail)
            if proactive:
                rate = min(1.0, self._email.total("replies", mail) / proactive) * 100
                self._add(out, "proactive_reply_rate_pct", rate, scored)
            answered = self._email.total("champ_n", mail)
            if answered:
                hours = self._email.total("champ_h", mail) / answered
                self._add(out, "champion_response_hours", hours, scored)
        if met is not None:
            self._add(out, "meetings", self._meeting.total("n", met), scored)
            self._add(out, "meeting_minutes", self._meeting.total("minutes", met), scored)
        self._settle(out, ENGAGEMENT, scored)  # neither source: no metric, so N/A
        self._keep(out, ENGAGEMENT, key, metrics, evidence)

    def _measure_support(self, out: Measurement, start: float, end: float) -> None:
        if self.signals.tickets is None:
            if not self._reuse(out, (SUPPORT,)):
                out.values[SUPPORT] = None
                self._keep(out, SUPPORT, (SUPPORT,), len(out.metrics), len(out.evidence))
            return
        open_now = bisect_left(self._created.keys, end) - bisect_left(self._closed_keys, end)
        resolved = self._resolved.span(start, end)
        created = self._created.span(start, end)
        severe_open, first_open = self._critical_open(end)
        key = (SUPPORT, open_now, resolved, created, severe_open, first_open)
        if self._reuse(out, key):
            return
        metrics, evidence = len(out.metrics), len(out.evidence)
        scored: list[Scored] = []
        self._add(out, "open_tickets", float(open_now), scored)
        if self._resolved.total("n", resolved):
            self._add(
                out,
                "resolution_hours",
                self._resolved.total("hours", resolved) / self._resolved.total("n", resolved),
                scored,
            )
        count = self._created.total("n", created)
        if count:
            self._add(out, "critical_high_pct", self._created.total("high", created) * 100 / count, scored)
        self._add(out, "escalations", self._created.total("escalated", created), scored)
        extra: list[Evidence] = []
        out.metrics["critical_open_tickets"] = float(severe_open)
        if severe_open:
            noun = "ticket" if severe_open == 1 else "tickets"
            extra.append(
                Evidence(
                    SUPPORT,
                    f"{severe_open} critical {noun} open",
                    -min(1.0, 0.3 + 0.2 * severe_open),
                    first_open,
                )
            )
        self._settle(out, SUPPORT, scored, extra=extra)
        self._keep(out, SUPPORT, key, metrics, evidence)

    def _critical_open(self, end: float) -> tuple[int, str | None]:
        """How many critical tickets are open at `end`, and the id of the earliest created of them."""
        when = (bisect_left(self._severe_keys, end), bisect_left(self._severe_closed_keys, end))
        found = self._severe_open.get(when)
        if found is None:
            open_now = [
                t
                for t, closed_at in zip(self._severe[: when[0]], self._severe_closed, strict=False)
                if closed_at is None or closed_at >= end
            ]
            found = self._severe_open[when] = (len(open_now), open_now[0].id if open_now else None)
        return found

    def _measure_sentiment(self, out: Measurement, end: float) -> None:
        emails = self.signals.emails
        start = end - SENTIMENT_WINDOW_DAYS * 86400
        mail = self._email.span(start, end) if emails is not None else None
        hits = (bisect_left(self._keyword_keys, start), bisect_left(self._keyword_keys, end))
        nps = bisect_right(self._nps_keys, end - 1e-6) if self._nps else 0
        key = (SENTIMENT, mail, hits if emails is not None else None, nps)
        if self._reuse(out, key):
            return
        metrics, evidence = len(out.metrics), len(out.evidence)
        self._sentiment(out, mail, hits, nps)
        self._keep(out, SENTIMENT, key, metrics, evidence)

    def _sentiment(self, out: Measurement, mail: tuple[int, int] | None, hits: tuple[int, int], nps: int) -> None:
        if self.signals.emails is None and self.signals.nps is None:
            out.values[SENTIMENT] = None
            return
        scored: list[Scored] = []
        extra: list[Evidence] = []
        penalty = 0.0
        if mail is not None:
            toned = self._email.total("toned", mail)
            if toned:
                self._add(out, "email_tone", self._email.total("tone", mail) / toned, scored)
            found = self._keyword_hits[hits[0] : hits[1]]
            out.metrics["keyword_hits"] = float(len(found))
            penalty = min(self.keyword_penalty_cap, self.keyword_penalty * len(found))
            for _, email, word in reversed(found):  # newest first
                when = email.sent_at.date().isoformat()
                extra.append(
                    Evidence(SENTIMENT, f"email on {when} mentions '{word}'", -self.keyword_penalty / 100.0, email.id)
                )
        if nps:
            self._add(out, "nps", float(self._nps[nps - 1].score), scored)
        if not scored and not extra:
            out.values[SENTIMENT] = None
            return
        if not scored:  # keywords but no tone (empty texts): judge from a neutral 50
            scored.append(("email_tone", 0.0, 50.0))
        self._settle(out, SENTIMENT, scored, penalty=penalty, extra=extra)

    def _measure_payment(self, out: Measurement) -> None:
        if self._reuse(out, (PAYMENT,)):  # does not depend on the day
            return
        metrics, evidence = len(out.metrics), len(out.evidence)
        payment = self.signals.payment
        scored: list[Scored] = []
        if payment is not None:
            if payment.avg_days_to_pay is not None:
                self._add(out, "days_to_pay", float(payment.avg_days_to_pay), scored)
            self._add(out, "overdue_invoices", float(payment.overdue_invoices), scored)
        self._settle(out, PAYMENT, scored)
        self._keep(out, PAYMENT, (PAYMENT,), metrics, evidence)

    def _measure_relationship(self, out: Measurement, as_of: date) -> None:
        rel = self.signals.relationship
        held = bisect_right(self._qbrs, as_of)  # the QBRs held on or before the day
        recent = bool(held) and (as_of - self._qbrs[held - 1]).days <= QBR_WINDOW_DAYS
        key = (RELATIONSHIP, recent)  # the day matters only through the latest QBR's recency
        if self._reuse(out, key):
            return
        metrics, evidence = len(out.metrics), len(out.evidence)
        scored: list[Scored] = []
        if rel is not None:
            self._add(out, "contacts", float(rel.contacts), scored)
            if rel.role_levels is not None:
                self._add(out, "contact_roles", float(rel.role_levels), scored)
            self._add(out, "champion_identified", float(rel.champion_identified), scored)
            self._add(out, "qbr_recent", float(recent), scored)
        self._settle(out, RELATIONSHIP, scored)
        self._keep(out, RELATIONSHIP, key, metrics, evidence)

    def _measure_contract(self, out: Measurement, as_of: date) -> None:
        contract = self.signals.contract
        dated = contract is not None and contract.renewal_date is not None
        if not dated and self._reuse(out, (CONTRACT,)):  # no renewal date: does not depend on the day
            return
        metrics, evidence = len(out.metrics), len(out.evidence)
        scored: list[Scored] = []
        if contract is not None:
            self._add(out, "auto_renew", float(contract.auto_renew), scored)
            if contract.renewal_date is not None:
                days = float((contract.renewal_date - as_of).days)
                out.metrics["days_to_renewal"] = days
                if not contract.auto_renew:  # an auto-renewing contract is not at risk from a near date
                    self._add(out, "renewal_runway_days", max(0.0, days), scored)
            self._add(out, "expansions", float(contract.expansions), scored)
            self._add(out, "contractions", float(contract.contractions), scored)
        self._settle(out, CONTRACT, scored)
        self._keep(out, CONTRACT, None if dated else (CONTRACT,), metrics, evidence)


@dataclass(frozen=True)
class PreparedModel:
    """A model with its custom expressions compiled once (the pipeline scores many customers with it)."""

    model: HealthModel
    expressions: Mapping[str, CompiledExpression]
    version: int  # what snapshots record: the stored version (0 = the default model, never saved)
    # The standard dimensions a score needs measured: the enabled ones, or all (None) when a custom
    # expression may read any of them or their metrics.
    measured: frozenset[str] | None = None

    @classmethod
    def of(cls, model: HealthModel, version: int | None = None) -> PreparedModel:
        allowed = expression_names(model.variables)
        compiled = {d.key: compile_expression(d.expression, allowed) for d in model.dimensions if d.expression}
        measured = None if compiled else frozenset(d.key for d in model.enabled_dimensions())
        return cls(model, compiled, model.version if version is None else version, measured)

    def index(self, signals: CustomerSignals) -> SignalIndex:
        config = self.model.sentiment
        return SignalIndex(
            signals, self.model.targets, config.keywords(), config.keyword_penalty, config.keyword_penalty_cap
        )


def expression_inputs(signals: CustomerSignals, measurement: Measurement) -> dict[str, Any]:
    """Names an expression sees: metrics, capability adoption and standard dimension values, then customer
    fields, then custom fields (a later source wins on a name clash)."""
    names: dict[str, Any] = dict(measurement.metrics)
    names.update(signals.capabilities)
    names.update({k: v for k, v in measurement.values.items() if k in STANDARD_DIMENSIONS and v is not None})
    names.update(signals.fields)
    names.update(signals.custom)
    return names


def measure(prepared: PreparedModel, index: SignalIndex, as_of: date, every: bool = False) -> Measurement:
    """Every enabled dimension's value as of a day (standard from signals, custom from expressions); a
    disabled standard dimension is measured only when a custom expression may read it, or `every`."""
    result = index.measure(as_of, None if every else prepared.measured)
    custom = [d for d in prepared.model.dimensions if d.expression]
    if custom:
        inputs = expression_inputs(index.signals, result)
        for dim in custom:
            value = evaluate(prepared.expressions[dim.key], inputs)
            result.values[dim.key] = value
            evidence: tuple[Evidence, ...] = ()
            if value is not None and (value >= POSITIVE_AT or value <= NEGATIVE_AT):
                text = f"{dim.title} at {value:.0f}"
                evidence = (Evidence(dim.key, text, (value - 50.0) / 50.0),)
                result.evidence.extend(evidence)
            result.parts.append(Part(dim.key, value, (), evidence))
    return result


def dimension_values(model: HealthModel, signals: CustomerSignals, as_of: date) -> Measurement:
    """One-off convenience: the dimension values of one customer on one day."""
    prepared = PreparedModel.of(model)
    return measure(prepared, prepared.index(signals), as_of, every=True)
