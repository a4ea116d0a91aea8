"""Tasks: `WS#w#TASK#t / TASK`, listed by owner on gsi1 and by customer on gsi2, both sorted by
`<due date>#<task id>` so "due today", "overdue" and "up to today" are key ranges, not filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from keepwell.domain import renewals as renewal_rules
from keepwell.domain.customers import Customer
from keepwell.domain.tasks import OPEN_STATUSES, Task
from keepwell.errors import Conflict, NotFound
from keepwell.storage import cursors, keys, renewal_rows, scoring_state
from keepwell.storage import customers as customer_store
from keepwell.storage import notifications as notification_store
from keepwell.storage import playbooks as playbook_store
from keepwell.storage.customers import to_customer
from keepwell.storage.metrics import batch_get_raw
from keepwell.storage.models import CustomerItem, TableItem

ENTITY = "task"
PAGE_SIZE = 100


class TaskItem(TableItem):
    task_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    due_date = UnicodeAttribute()
    status = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    playbook_id = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    step_index = NumberAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)


def _sort(task: Task) -> str:
    return f"{task.due_date.isoformat()}#{task.task_id}"


def _attributes(task: Task) -> dict[str, Any]:
    data = task.model_dump(exclude={"due_date"})
    data["due_date"] = task.due_date.isoformat()
    ws = task.workspace_id
    data["gsi1pk"] = keys.tasks_by_owner(ws, task.owner_id) if task.owner_id else None
    data["gsi1sk"] = _sort(task) if task.owner_id else None
    data["gsi2pk"] = keys.tasks_by_customer(ws, task.customer_id) if task.customer_id else None
    data["gsi2sk"] = _sort(task) if task.customer_id else None
    return data


def to_item(task: Task) -> TaskItem:
    key = keys.task(task.workspace_id, task.task_id)
    return TaskItem(key.pk, key.sk, entity=ENTITY, **_attributes(task))


def to_task(item: TaskItem) -> Task:
    return Task(
        task_id=item.task_id,
        workspace_id=item.workspace_id,
        title=item.title,
        description=item.description,
        owner_id=item.owner_id,
        due_date=date.fromisoformat(item.due_date),
        status=item.status,  # type: ignore[arg-type]
        customer_id=item.customer_id,
        source=item.source,  # type: ignore[arg-type]
        playbook_id=item.playbook_id,
        run_id=item.run_id,
        step_index=int(item.step_index) if item.step_index is not None else None,
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        started_at=item.started_at,
        completed_at=item.completed_at,
        version=int(item.version),
    )


def create_task(task: Task) -> bool:
    """Put the task unless its id exists (a playbook step's task id is derived, so a retry finds it)."""
    try:
        to_item(task).save(condition=TaskItem.pk.does_not_exist())
    except PutError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    follow_next_action(None, task)
    return True


def get_task(workspace_id: str, task_id: str) -> Task | None:
    key = keys.task(workspace_id, task_id)
    try:
        return to_task(TaskItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def require_task(workspace_id: str, task_id: str) -> Task:
    task = get_task(workspace_id, task_id)
    if task is None:
        raise NotFound(f"No task {task_id}", [{"field": "task_id", "issue": "not found"}])
    return task


def task_customers(workspace_id: str, task_ids: Iterable[str]) -> dict[str, str | None]:
    """task id -> its customer id (None: a task of no customer) for those of `task_ids` that are tasks of
    this workspace; one BatchGetItem per 100 ids (a success plan's links, data-model pattern 36)."""
    wanted = [keys.task(workspace_id, task_id) for task_id in sorted(set(task_ids))]
    found = batch_get_raw(wanted, consistent=True, attributes=["task_id", "customer_id"]) if wanted else []
    return {raw["task_id"]["S"]: raw.get("customer_id", {}).get("S") for raw in found if "task_id" in raw}


def update_task(before: Task, after: Task) -> Task:
    """Write `after` if the task is still at `before.version` (409 version_conflict otherwise)."""
    after = after.model_copy(update={"version": before.version + 1})
    old, new = _attributes(before), _attributes(after)
    actions = []
    for name, value in new.items():
        if name in ("task_id", "workspace_id") or old.get(name) == value:
            continue
        attribute = getattr(TaskItem, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    key = keys.task(before.workspace_id, before.task_id)
    try:
        TaskItem(key.pk, key.sk).update(actions=actions, condition=(TaskItem.version == before.version))
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise Conflict(
                "The task changed meanwhile; read it again and retry",
                [{"field": "version", "issue": "stale"}],
                code="version_conflict",
            ) from error
        raise
    follow_next_action(before, after)
    return after


# --- the renewal pipeline's next action (storage/renewal_rows.py) ------------------------------------
ROW_FIELDS = ("status", "due_date", "title", "owner_id", "playbook_id", "customer_id")


def renewal_playbook_ids(workspace_id: str) -> set[str]:
    """The workspace's renewal playbooks (domain/renewals.is_renewal_playbook): one Query."""
    return {
        p.playbook_id
        for p in playbook_store.list_playbooks(workspace_id).playbooks
        if renewal_rules.is_renewal_playbook(p.default_key, p.definition.name)
    }


def _next_action(
    workspace_id: str, customer_id: str, playbooks: set[str], written: Task | None = None
) -> dict[str, Any] | None:
    """The customer's earliest-due open task of a renewal playbook: one Query of its task index. The
    task just `written` replaces what the index (eventually consistent) still says of it."""
    found = [t for t, _ in iter_tasks(workspace_id, customer_id=customer_id, statuses=OPEN_STATUSES)]
    if written is not None:
        found = [t for t in found if t.task_id != written.task_id]
        if written.customer_id == customer_id and written.status in OPEN_STATUSES:
            found.append(written)
    found.sort(key=_sort)
    return renewal_rules.next_action_of(found, playbooks)


def next_actions(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each customer's next action (none: missing): one Query of the playbooks, then, if the workspace
    has a renewal playbook, one Query per customer (backfills and a new renewal's row only)."""
    wanted = sorted(set(customer_ids))
    playbooks = renewal_playbook_ids(workspace_id) if wanted else set()
    if not playbooks:
        return {}
    found = {c: _next_action(workspace_id, c, playbooks) for c in wanted}
    return {c: action for c, action in found.items() if action is not None}


def follow_next_action(before: Task | None, after: Task) -> None:
    """Keep the customer's renewal rows' next action after a task write: nothing for a task of no
    playbook (or a change of nothing the action shows); else one Query of the playbooks, and for a
    renewal playbook's task one Query of the customer's open tasks and an UpdateItem of each renewal
    row whose next action changed."""
    written = [t for t in (before, after) if t is not None and t.playbook_id and t.customer_id]
    if not written:
        return
    if before is not None and all(getattr(before, f) == getattr(after, f) for f in ROW_FIELDS):
        return
    playbooks = renewal_playbook_ids(after.workspace_id)
    if not any(t.playbook_id in playbooks for t in written):
        return
    for customer_id in sorted({t.customer_id for t in written if t.customer_id}):
        action = _next_action(after.workspace_id, customer_id, playbooks, after)
        renewal_rows.set_next_action(after.workspace_id, customer_id, action)


@dataclass(frozen=True)
class DueRange:
    """A due-date range on the index sort key: before a day, on a day, or up to a day (inclusive)."""

    before: date | None = None
    on: date | None = None
    up_to: date | None = None


def _range_condition(attribute: Any, due: DueRange) -> Condition | None:
    if due.on is not None:
        return attribute.startswith(f"{due.on.isoformat()}#")
    if due.before is not None:
        return attribute < f"{due.before.isoformat()}#"
    if due.up_to is not None:
        return attribute < f"{due.up_to.isoformat()}~"  # '~' sorts after '#'
    return None


def iter_tasks(
    workspace_id: str,
    *,
    owner_id: str | None = None,
    customer_id: str | None = None,
    due: DueRange = DueRange(),
    statuses: frozenset[str] | None = None,
    cursor: str | None = None,
) -> Iterator[tuple[Task, str]]:
    """Tasks by due date of one owner (gsi1) or one customer (gsi2), each with the cursor that
    resumes right after it; statuses are a FilterExpression."""
    if owner_id is not None:
        index, name, partition = TaskItem.gsi1, "gsi1", keys.tasks_by_owner(workspace_id, owner_id)
        range_key = TaskItem.gsi1sk
    elif customer_id is not None:
        index, name, partition = TaskItem.gsi2, "gsi2", keys.tasks_by_customer(workspace_id, customer_id)  # type: ignore[assignment]
        range_key = TaskItem.gsi2sk
    else:
        raise ValueError("list tasks by owner or by customer")
    start = cursors.decode(
        cursor,
        expected={f"{name}pk": partition, "sk": "TASK"},
        prefixes={"pk": keys.task(workspace_id, "").pk, f"{name}sk": ""},
    )
    condition = (TaskItem.status.is_in(*sorted(statuses))) if statuses else None
    results = index.query(
        partition,
        _range_condition(range_key, due),
        filter_condition=condition,
        page_size=PAGE_SIZE,
        last_evaluated_key=start,
    )
    for item in results:
        position = {
            "pk": {"S": item.pk},
            "sk": {"S": item.sk},
            f"{name}pk": {"S": partition},
            f"{name}sk": {"S": getattr(item, f"{name}sk")},
        }
        yield to_task(item), cursors.encode(position) or ""


# --- a user's portfolio, for My day --------------------------------------------------------------
class PortfolioItem(CustomerItem):
    """A profile read with the scorer's state of its last days (scores, bands, alerts raised)."""

    health_state = scoring_state.text_attribute()
    health_state_z = scoring_state.packed_attribute()


@dataclass(frozen=True)
class MyDayReads:
    """What My day reads besides the tasks: the book (archived left out, by name, each customer with
    its scoring state), the user's notification inbox (None: the user has none yet) and the names of
    the customers asked for (the tasks' customers, archived ones included; a deleted one is missing)."""

    book: list[tuple[Customer, dict[str, Any]]]
    inbox: notification_store.Inbox | None
    names: dict[str, str]


def my_day_reads(workspace_id: str, user_id: str, named: Iterable[str] = ()) -> MyDayReads:
    """The book, the inbox and the `named` customers' names in two requests while the book and the
    named customers outside it are up to 99 together: one Query of the memberships, then one (strongly
    consistent) BatchGetItem of the inbox and the profiles (one more per 100 keys beyond)."""
    customer_ids = customer_store.portfolio_ids(workspace_id, user_id)
    inbox_key = keys.notification_inbox(workspace_id, user_id)
    in_book = set(customer_ids)
    others = sorted(set(named) - in_book)
    profile_keys = [keys.customer(workspace_id, c) for c in customer_ids]
    other_keys = [keys.customer(workspace_id, c) for c in others]
    wanted = [inbox_key, *profile_keys, *other_keys]
    found = {(r["pk"]["S"], r["sk"]["S"]): r for r in batch_get_raw(wanted, consistent=True)}
    book = []
    names: dict[str, str] = {}
    for key in profile_keys:
        raw = found.get((key.pk, key.sk))
        if raw is None:
            continue
        item = PortfolioItem.from_raw_data(raw)
        names[item.customer_id] = item.name
        if not item.archived:
            book.append((to_customer(item), scoring_state.of_item(item)))
    for key in other_keys:
        raw = found.get((key.pk, key.sk))
        if raw is not None and "name" in raw:
            names[raw["customer_id"]["S"]] = raw["name"]["S"]
    inbox = found.get((inbox_key.pk, inbox_key.sk))
    return MyDayReads(book, notification_store.inbox_of_raw(inbox) if inbox is not None else None, names)
