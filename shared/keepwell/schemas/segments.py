"""Bodies of the segment routes and of the customer benchmark."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keepwell.schemas.customers import CustomerOut
from keepwell.schemas.health import BenchmarkOut

SegmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
# The condition language in either form: the text form, or the JSON rule tree.
Condition = (
    Annotated[str, StringConstraints(min_length=1, max_length=2000)] | Annotated[dict[str, Any], Field(max_length=20)]
)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: SegmentName
    description: Description | None = None
    condition: Condition


class SegmentPatchIn(BaseModel):
    """Partial update; `description: null` clears it. `version` (optional) is a precondition."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: SegmentName | None = None
    description: Description | None = None
    condition: Condition | None = None
    version: int | None = Field(default=None, ge=1)


class SegmentOut(BaseModel):
    segment_id: str
    name: str
    description: str | None
    condition: dict[str, Any]  # JSON form, as stored
    condition_text: str  # the same rule in the text form
    created_at: str
    created_by: str
    updated_at: str
    version: int


class SegmentListOut(BaseModel):
    items: list[SegmentOut]


class SegmentMembersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)


class SegmentMembersOut(BaseModel):
    segment_id: str
    items: list[CustomerOut]
    next_cursor: str | None


class SegmentBenchmarkOut(BenchmarkOut):
    segment_id: str


class CustomerBenchmarkOut(BaseModel):
    customer_id: str
    score: float | None
    band: str | None
    segments: list[SegmentBenchmarkOut]  # one per segment the customer is in, by segment name
