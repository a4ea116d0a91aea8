"""Evaluating a playbook for one customer, shared by the live runs (`playbook_runs`) and the dry run
(`playbooks.dry_run`): who may be assigned, the past a sustained trigger needs, the decision to enter,
and the values a step's text is rendered with. Reads only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from keepwell.domain import playbooks as rules
from keepwell.domain.playbooks import CompiledPlaybook, Decision, EnrolmentState, History, Occurrence
from keepwell.domain.segments import HealthRow
from keepwell.storage import health_snapshots as snapshot_store
from keepwell.storage import metrics as metrics_store
from keepwell.storage import workspaces

USAGE_WINDOW_DAYS = 30


def active_users(workspace_id: str) -> list[tuple[str, str]]:
    return sorted((u.user_id, u.role) for u in workspaces.list_users(workspace_id) if u.active)


def usage_totals(workspace_id: str, customer_id: str, today: date) -> tuple[float | None, float | None]:
    """Product events + logins of the last 30 days and of the 30 days before (None if no data)."""
    days = [today - timedelta(days=n) for n in range(2 * USAGE_WINDOW_DAYS)]
    found = metrics_store.get_days(workspace_id, [(customer_id, d) for d in days])
    if not found:
        return None, None
    recent = previous = 0.0
    for (_, day), metrics_day in found.items():
        amount = float(metrics_day.events + metrics_day.logins)
        if (today - day).days < USAGE_WINDOW_DAYS:
            recent += amount
        else:
            previous += amount
    return recent, previous


def history_for(compiled: CompiledPlaybook, row: HealthRow, today: date) -> History | None:
    """The past a sustained trigger needs, read only when its condition holds today."""
    if not rules.needs_history(compiled, row.record):
        return None
    window = rules.usage_window_days(compiled) + 1
    workspace_id, customer_id = row.customer.workspace_id, row.customer.customer_id
    snapshots = snapshot_store.get_snapshots(workspace_id, customer_id, today - timedelta(days=window), today)
    health = {
        s.date: {"health_score": s.display_score if s.display_score is not None else s.score, "health_band": s.band}
        for s in snapshots
    }
    recent, previous = usage_totals(workspace_id, customer_id, today)
    return History(health=health, usage_recent=recent, usage_previous=previous)


def decide(compiled: CompiledPlaybook, row: HealthRow, state: EnrolmentState, occurrence: Occurrence) -> Decision:
    return rules.evaluate(compiled, row.record, state, occurrence, history_for(compiled, row, occurrence.day))


def template_values(
    row: HealthRow, playbook_name: str, reason: str = "", owner_name: str | None = None
) -> dict[str, Any]:
    customer = row.customer
    return {
        "customer.name": customer.name,
        "customer.health_score": customer.health_score,
        "customer.health_band": customer.health_band,
        "customer.renewal_date": customer.renewal_date.isoformat() if customer.renewal_date else None,
        "customer.arr": customer.arr,
        "customer.status": customer.status,
        "owner.name": owner_name or customer.owner_id,
        "playbook.name": playbook_name,
        "reason": reason,
    }


def render_for(text: Any, row: HealthRow, playbook: rules.Playbook) -> str:
    return rules.render(str(text or ""), template_values(row, playbook.definition.name))
