"""The per-customer signal log: a compact, rolling copy of the timeline facts the health engine reads.

Scoring one customer must cost a handful of key-addressed reads (a Query's cost grows with the table),
so every timeline write also folds its scoring-relevant facts (email direction/tone/flags, meeting
length, ticket state, NPS) into one item per customer. Records are keyed by timeline item id, or by the
provider's ticket id for tickets, so replays overwrite instead of doubling and a ticket update replaces
the ticket's earlier state. Pure: no AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from keepwell.domain.health import sentiment
from keepwell.domain.health.signals import Email, Meeting, NpsResponse, Ticket
from keepwell.domain.timeline import TimelineEntry

RETENTION_DAYS = 120  # history window (90) plus the longest look-back of a dimension
MAX_EMAILS = 400  # newest kept; the item stays far below DynamoDB's 400 KB
EMAIL_TEXT_CHARS = 600  # enough for keyword detection; tone is computed from the full text at write time
PRIORITIES = ("low", "normal", "high", "urgent", "critical")
STATUSES = ("open", "pending", "closed")


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class SignalLog:
    """Records by kind, each keyed by a stable id. Stored as one JSON document."""

    emails: dict[str, dict[str, Any]] = field(default_factory=dict)
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    nps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        return {"emails": self.emails, "meetings": self.meetings, "tickets": self.tickets, "nps": self.nps}

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> SignalLog:
        document = document or {}
        return cls(
            emails=dict(document.get("emails", {})),
            meetings=dict(document.get("meetings", {})),
            tickets=dict(document.get("tickets", {})),
            nps=dict(document.get("nps", {})),
        )


def _email_record(entry: TimelineEntry) -> dict[str, Any]:
    attributes = entry.attributes
    direction = "in" if attributes.get("direction") == "in" else "out"
    text = f"{entry.title}\n{entry.body or ''}".strip()
    record: dict[str, Any] = {"at": _iso(entry.occurred_at), "dir": direction, "tx": text[:EMAIL_TEXT_CHARS]}
    if direction == "in":
        record["tone"] = round(sentiment.tone(text), 4)
        if attributes.get("reply_to_proactive"):
            record["r"] = True
        hours = attributes.get("champion_response_hours")
        if isinstance(hours, int | float):
            record["ch"] = float(hours)
    elif attributes.get("proactive"):
        record["p"] = True
    return record


def _ticket_record(entry: TimelineEntry) -> tuple[str, dict[str, Any]]:
    attributes = entry.attributes
    key = str(attributes.get("ticket_id") or entry.source_event_id or entry.item_id)
    status = str(attributes.get("status", "open")).lower()
    priority = str(attributes.get("priority", "normal")).lower()
    record: dict[str, Any] = {
        "at": str(attributes.get("created_at") or _iso(entry.occurred_at)),
        "st": status if status in STATUSES else ("closed" if status in ("solved", "resolved") else "open"),
        "pr": priority if priority in PRIORITIES else "normal",
        "id": entry.item_id,
    }
    if attributes.get("resolved_at"):
        record["ra"] = str(attributes["resolved_at"])
    if attributes.get("escalated"):
        record["esc"] = True
    return key, record


QBR_TYPES = frozenset({"qbr", "ebr", "business_review"})
_QBR_TITLE = re.compile(r"\b(qbr|ebr|(quarterly|executive) business review)\b", re.IGNORECASE)


def is_qbr(entry: TimelineEntry) -> bool:
    """A meeting is a QBR when its `meeting_type` says so (qbr, ebr, business_review) or, without a
    type, when its title names one ("Q3 QBR", "Quarterly business review", "EBR with Acme")."""
    kind = entry.attributes.get("meeting_type")
    if isinstance(kind, str) and kind.strip():
        return kind.strip().lower() in QBR_TYPES
    return bool(_QBR_TITLE.search(entry.title or ""))


def fold(log: SignalLog, entries: Iterable[TimelineEntry]) -> bool:
    """Fold timeline entries into the log; returns whether anything scoring-relevant changed."""
    changed = False
    for entry in entries:
        if entry.kind == "email":
            record = _email_record(entry)
            changed |= log.emails.get(entry.item_id) != record
            log.emails[entry.item_id] = record
        elif entry.kind == "meeting":
            minutes = entry.attributes.get("duration_minutes", 30)
            length = float(minutes) if isinstance(minutes, int | float) else 30.0
            record = {"at": _iso(entry.occurred_at), "min": length}
            if is_qbr(entry):
                record["qbr"] = True
            changed |= log.meetings.get(entry.item_id) != record
            log.meetings[entry.item_id] = record
        elif entry.kind == "ticket":
            key, record = _ticket_record(entry)
            previous = log.tickets.get(key)
            if previous is not None:
                # An update keeps the ticket's original creation time and escalation.
                record["at"] = min(previous["at"], record["at"])
                if previous.get("esc"):
                    record["esc"] = True
            changed |= previous != record
            log.tickets[key] = record
        elif entry.kind == "nps":
            score = entry.attributes.get("score")
            if isinstance(score, int) and 0 <= score <= 10:
                record = {"at": _iso(entry.occurred_at), "score": score}
                changed |= log.nps.get(entry.item_id) != record
                log.nps[entry.item_id] = record
    return changed


def compact(log: SignalLog, now: datetime) -> SignalLog:
    """Drop what no dimension looks at any more; open tickets stay whatever their age."""
    horizon = _iso(now - timedelta(days=RETENTION_DAYS))
    newest_emails = sorted(
        ((k, v) for k, v in log.emails.items() if v["at"] >= horizon), key=lambda kv: kv[1]["at"], reverse=True
    )[:MAX_EMAILS]
    return SignalLog(
        emails=dict(newest_emails),
        meetings={k: v for k, v in log.meetings.items() if v["at"] >= horizon},
        tickets={k: v for k, v in log.tickets.items() if v["st"] != "closed" or v.get("ra", v["at"]) >= horizon},
        nps={k: v for k, v in log.nps.items() if v["at"] >= horizon},
    )


def emails(log: SignalLog) -> tuple[Email, ...]:
    return tuple(
        Email(
            direction="in" if r["dir"] == "in" else "out",
            sent_at=_at(r["at"]),
            text=r.get("tx", ""),
            id=item_id,
            tone=r.get("tone"),
            proactive=bool(r.get("p")),
            reply_to_proactive=bool(r.get("r")),
            champion_response_hours=r.get("ch"),
        )
        for item_id, r in log.emails.items()
    )


def meetings(log: SignalLog) -> tuple[Meeting, ...]:
    return tuple(Meeting(at=_at(r["at"]), duration_minutes=r["min"], id=item_id) for item_id, r in log.meetings.items())


def qbr_days(log: SignalLog) -> tuple[date, ...]:
    """The days QBRs were held (within the log's 120 days), oldest first."""
    return tuple(sorted({_at(r["at"]).date() for r in log.meetings.values() if r.get("qbr")}))


def tickets(log: SignalLog) -> tuple[Ticket, ...]:
    return tuple(
        Ticket(
            created_at=_at(r["at"]),
            status=r["st"],
            priority=r["pr"],
            resolved_at=_at(r["ra"]) if r.get("ra") else None,
            escalated=bool(r.get("esc")),
            id=r.get("id", key),
        )
        for key, r in log.tickets.items()
    )


def nps_responses(log: SignalLog) -> tuple[NpsResponse, ...]:
    return tuple(NpsResponse(score=r["score"], at=_at(r["at"]), id=item_id) for item_id, r in log.nps.items())
