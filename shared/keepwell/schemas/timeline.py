"""Request and response bodies of the timeline routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keepwell import clock
from keepwell.domain.timeline import NOTE_BODY_MAX, TimelineEntry, TimelineKind


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: TimelineKind | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NOTE_BODY_MAX)]


class TimelineItemOut(BaseModel):
    item_id: str
    customer_id: str
    kind: str
    occurred_at: str
    title: str
    body: str | None
    actor: str | None
    source: str
    source_event_id: str | None
    attributes: dict[str, Any]
    created_at: str | None

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineItemOut:
        data = entry.model_dump()
        data["occurred_at"] = clock.iso(entry.occurred_at)
        return cls.model_validate(data)


class TimelineListOut(BaseModel):
    items: list[TimelineItemOut]
    next_cursor: str | None
