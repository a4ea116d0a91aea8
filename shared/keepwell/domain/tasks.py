"""Tasks: the work a CSM does for a customer, from a playbook run, by hand, or suggested.

Pure rules: the status machine (pending → in_progress → completed | skipped; a pending task may
also be completed or skipped directly; completed and skipped are final) and what My day shows.
Who may see a task is the portfolio rule's business (keepwell.permissions, used by services/tasks.py).
Storage keeps tasks by owner and by customer, each sorted by due date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from keepwell.errors import Conflict

TaskStatus = Literal["pending", "in_progress", "completed", "skipped"]
TaskSource = Literal["playbook_run", "manual", "suggestion"]
STATUSES: tuple[str, ...] = ("pending", "in_progress", "completed", "skipped")
OPEN_STATUSES = frozenset({"pending", "in_progress"})
FINAL_STATUSES = frozenset({"completed", "skipped"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_progress", "completed", "skipped"}),
    "in_progress": frozenset({"completed", "skipped"}),
    "completed": frozenset(),
    "skipped": frozenset(),
}


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    workspace_id: str
    title: str
    description: str | None = None
    owner_id: str | None = None
    due_date: date
    status: TaskStatus = "pending"
    customer_id: str | None = None
    source: TaskSource = "manual"
    playbook_id: str | None = None
    run_id: str | None = None
    step_index: int | None = None
    created_by: str
    created_at: str
    updated_at: str
    started_at: str | None = None
    completed_at: str | None = None
    version: int = 1


def check_transition(current: str, new: str) -> None:
    """Raise 409 `invalid_transition` unless `current` may become `new` (same status: no change)."""
    if current == new:
        return
    if new not in TRANSITIONS.get(current, frozenset()):
        allowed = sorted(TRANSITIONS.get(current, frozenset()))
        hint = f"allowed: {', '.join(allowed)}" if allowed else f"{current} is final"
        raise Conflict(
            f"A {current} task cannot become {new} ({hint})",
            [{"field": "status", "issue": f"{current} → {new} is not allowed"}],
            code="invalid_transition",
        )


def apply_changes(task: Task, changes: Mapping[str, Any], *, now_iso: str) -> Task:
    """The task after a PATCH (only the sent fields), with status timestamps kept in step."""
    data = task.model_dump()
    new_status = changes.get("status")
    if new_status is not None:
        check_transition(task.status, new_status)
        if new_status != task.status:
            if new_status == "in_progress":
                data["started_at"] = now_iso
            if new_status in FINAL_STATUSES:
                data["completed_at"] = now_iso
    for name, value in changes.items():
        data[name] = value
    data["updated_at"] = now_iso
    return Task.model_validate(data)


def is_overdue(task: Task, today: date) -> bool:
    return task.status in OPEN_STATUSES and task.due_date < today


def is_due_today(task: Task, today: date) -> bool:
    return task.status in OPEN_STATUSES and task.due_date == today


# --- My day -------------------------------------------------------------------------------------
NEW_ALERT_DAYS = 1  # an alert of today or yesterday is new


def red_flags(customer: Mapping[str, Any], today: date, at_risk_bands: Sequence[str] = ("At risk",)) -> list[str]:
    """Why a customer needs attention today, from what its profile holds (latest health, renewal,
    champion). Every flag is a short sentence."""
    flags = []
    band = customer.get("health_band")
    score = customer.get("health_score")
    if band is not None and str(band).lower() in {b.lower() for b in at_risk_bands}:
        shown = f" ({score:.1f})" if isinstance(score, int | float) else ""
        flags.append(f"health is {band}{shown}")
    renewal = customer.get("renewal_date")
    if isinstance(renewal, date) and today <= renewal <= today + timedelta(days=30):
        healthy = isinstance(score, int | float) and score >= 70
        if not healthy:
            flags.append(f"renews on {renewal.isoformat()} and is not healthy")
    if customer.get("status") in ("active", "paused") and not customer.get("champion_contact_id"):
        flags.append("no champion")
    return flags


def alert_title(kind: str, detail: str | None) -> str:
    """What a person reads for an alert the scorer raised (its `kind`, and the band for a crossing)."""
    if kind == "sharp_drop":
        return "Sharp drop in health"
    if kind == "band_crossing":
        return f"Health moved into {detail}" if detail else "Health moved to another band"
    if kind == "misalignment":
        return "Well below its segment's average"
    return kind.replace("_", " ").capitalize()


def new_alerts(alerts: Iterable[Mapping[str, Any]], today: date) -> list[dict[str, Any]]:
    """Alerts raised today or yesterday (their `day` or `date` or `raised_on`), each with its `title`."""
    fresh = []
    for alert in alerts:
        raw = alert.get("day") or alert.get("date") or alert.get("raised_on") or alert.get("at")
        try:
            day = date.fromisoformat(str(raw)[:10])
        except ValueError:
            continue
        if 0 <= (today - day).days <= NEW_ALERT_DAYS:
            fresh.append(
                {**alert, "title": alert.get("title") or alert_title(str(alert.get("kind")), alert.get("detail"))}
            )
    return fresh
