"""Timeline entries: everything that happened with a customer, newest first."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from keepwell import ids

TimelineKind = Literal["email", "meeting", "ticket", "note", "product_event", "playbook_run", "nps", "system"]
KINDS: tuple[str, ...] = (
    "email",
    "meeting",
    "ticket",
    "note",
    "product_event",
    "playbook_run",
    "nps",
    "system",
)
NOTE_BODY_MAX = 10_000


def new_item_id() -> str:
    return ids.new_id("tl")


class TimelineEntry(BaseModel):
    """One timeline item. Its identity is (customer_id, occurred_at, item_id): writing the same
    entry again overwrites it, which makes ingestion and seeding idempotent."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str
    kind: TimelineKind
    occurred_at: AwareDatetime
    title: str = Field(min_length=1, max_length=300)
    item_id: str = Field(default_factory=new_item_id, min_length=1, max_length=120)
    body: str | None = None
    actor: str | None = None
    source: str = "keepwell"
    source_event_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None


def note_title(title: str | None, body: str) -> str:
    """A note without a title is titled by its first line (shortened)."""
    if title and title.strip():
        return title.strip()
    first_line = body.strip().splitlines()[0] if body.strip() else "Note"
    return first_line if len(first_line) <= 80 else first_line[:79] + "…"


# --- the freeze ----------------------------------------------------------------------------------
# A churned customer's timeline is frozen: nothing more happens *with* the customer, so no product
# event, integration event or note is added. Keepwell's own records of what it did stay possible —
# the churn's own "Marked churned" entry and the run of a playbook meant for churned customers (win-back).
FROZEN_STATUSES = frozenset({"churned"})
KEEPWELL_RECORD_KINDS = frozenset({"system", "playbook_run"})


def timeline_frozen(status: str | None) -> bool:
    """Whether a customer in this status takes no new timeline entries from outside."""
    return status in FROZEN_STATUSES


def accepts_entry(kind: str, frozen: bool) -> bool:
    """The one rule every timeline writer applies: a frozen timeline only takes Keepwell's own records."""
    return not frozen or kind in KEEPWELL_RECORD_KINDS
