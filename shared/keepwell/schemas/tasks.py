"""Bodies of the task routes and of My day."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keepwell.domain.tasks import Task, TaskStatus
from keepwell.schemas.customers import CustomerFlagOut
from keepwell.schemas.notifications import NotificationOut

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class TaskCreateIn(BaseModel):
    """POST /v1/tasks. `owner_id` defaults to the caller, `due_date` to today."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title
    description: Description | None = None
    owner_id: Id | None = None
    due_date: date | None = None
    customer_id: Id | None = None
    status: Literal["pending", "in_progress"] = "pending"
    source: Literal["manual", "suggestion"] = "manual"


class TaskPatchIn(BaseModel):
    """Partial update; `description: null` clears it; `status` follows the status machine (409
    invalid_transition otherwise). `version` (optional) is a precondition."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title | None = None
    description: Description | None = None
    owner_id: Id | None = None
    due_date: date | None = None
    status: TaskStatus | None = None
    version: int | None = Field(default=None, ge=1)

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set if name != "version"}


class TaskListQuery(BaseModel):
    """GET /v1/tasks. Without `owner_id` or `customer_id` it lists the caller's own tasks (`mine`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mine: bool = False
    owner_id: Id | None = None
    customer_id: Id | None = None
    status: TaskStatus | None = None
    overdue: bool = False
    due_today: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)


class TaskOut(BaseModel):
    task_id: str
    title: str
    description: str | None
    owner_id: str | None
    due_date: date
    status: str
    overdue: bool
    customer_id: str | None
    # The customer's current name, read with the task (never stored on it, so a rename shows at once):
    # null for a task without a customer (or whose customer is gone).
    customer_name: str | None = None
    source: str
    playbook_id: str | None
    run_id: str | None
    created_by: str
    created_at: str
    updated_at: str
    started_at: str | None
    completed_at: str | None
    version: int

    @classmethod
    def of(cls, task: Task, today: date, customer_name: str | None = None) -> TaskOut:
        data = task.model_dump(exclude={"workspace_id", "step_index"})
        open_task = task.status in ("pending", "in_progress")
        overdue = open_task and task.due_date < today
        return cls.model_validate({**data, "overdue": overdue, "customer_name": customer_name})


class TaskListOut(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class CustomerAttentionOut(BaseModel):
    customer_id: str
    name: str
    health_score: float | None
    health_band: str | None
    red_flags: list[str]  # why, as short sentences: the profile's rules, then the stored flags' titles
    flags: list[CustomerFlagOut] = Field(default_factory=list)  # the stored red flags with their evidence
    green_flags: list[str] = Field(default_factory=list)  # the stored green flags' titles
    green_flag_details: list[CustomerFlagOut] = Field(default_factory=list)  # the same, with their evidence
    new_alerts: list[dict[str, Any]]


class MyDayOut(BaseModel):
    """The caller's day: open tasks due today and overdue, their customers needing attention
    (new alerts, red flags), and their latest notifications."""

    date: date
    due_today: list[TaskOut]
    overdue: list[TaskOut]
    customers: list[CustomerAttentionOut]
    notifications: list[NotificationOut]
