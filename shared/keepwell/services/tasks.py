"""Task use cases: create, read, update (status machine), list with filters, and My day.

Everyone but viewers writes; a CSM sees and changes only the tasks assigned to them and the tasks of
the customers they own or co-own (another task answers 404, as if it did not exist).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from keepwell import clock, ids, permissions
from keepwell.adapters import event_bus
from keepwell.auth import Caller
from keepwell.domain import tasks as rules
from keepwell.domain.customers import Customer
from keepwell.domain.tasks import Task
from keepwell.errors import Conflict, Forbidden, InvalidInput, NotFound
from keepwell.observability import logger
from keepwell.retries import conflict_attempts
from keepwell.schemas.customers import CustomerFlagOut
from keepwell.schemas.notifications import NotificationOut
from keepwell.schemas.tasks import (
    CustomerAttentionOut,
    MyDayOut,
    TaskCreateIn,
    TaskListOut,
    TaskListQuery,
    TaskOut,
    TaskPatchIn,
)
from keepwell.services import user_references
from keepwell.storage import customer_lookup
from keepwell.storage import customers as customer_store
from keepwell.storage import notifications as notification_store
from keepwell.storage import tasks as store

MY_DAY_LIMIT = 200  # tasks per section of My day
MAX_EXAMINED = 2000  # a filtered list reads at most this many tasks per request
HANDOVER_ATTEMPTS = 3  # reads of a task that changed while it was handed over


class _Customers:
    """Customers looked up once per request (visibility checks need their owners)."""

    def __init__(self, workspace_id: str):
        self.workspace_id = workspace_id
        self._seen: dict[str, Customer | None] = {}

    def get(self, customer_id: str | None) -> Customer | None:
        if customer_id is None:
            return None
        if customer_id not in self._seen:
            self._seen[customer_id] = customer_store.get_customer(self.workspace_id, customer_id)
        return self._seen[customer_id]

    def seen(self, customer: Customer) -> None:
        self._seen[customer.customer_id] = customer

    def names(self) -> dict[str, str]:
        return {c.customer_id: c.name for c in self._seen.values() if c is not None}


def _visible(caller: Caller, task: Task, customers: _Customers) -> bool:
    """A portfolio caller (csm, viewer) sees the tasks assigned to them and those of the customers
    they may see; others see the whole workspace."""
    if not permissions.sees_portfolio_only(caller) or task.owner_id == caller.user_id:
        return True
    customer = customers.get(task.customer_id)
    return customer is not None and permissions.can_see_customer(caller, customer)


def _check_owner(workspace_id: str, owner_id: str) -> None:
    """The task goes to an active user who can work it: not a viewer (who changes nothing)."""
    user_references.check(workspace_id, [("owner_id", owner_id)], works=True)


def _require_customer(caller: Caller, customer_id: str) -> Customer:
    """The customer a body or query names, if the caller may see it; outside a CSM's or viewer's
    portfolio reads exactly like an unknown id (404), so a reference never tells which ids exist."""
    customer = customer_store.get_customer(caller.workspace_id, customer_id)
    if customer is None or not permissions.can_see_customer(caller, customer):
        raise NotFound(f"No customer {customer_id}", [{"field": "customer_id", "issue": "not found"}])
    return customer


def task_out(task: Task, customer_name: str | None = None) -> TaskOut:
    return TaskOut.of(task, clock.today(), customer_name)


def _named_one(task: Task, customers: _Customers) -> TaskOut:
    """The task with its customer's current name (the request's lookup, else one GetItem)."""
    customer = customers.get(task.customer_id)
    return task_out(task, customer.name if customer is not None else None)


def _named(workspace_id: str, tasks: list[Task], customers: _Customers) -> list[TaskOut]:
    """Tasks with their customers' current names: those the request already read, the others in one
    BatchGetItem of names per 100 customers. Read, not stored on the task, so a rename shows at once."""
    known = customers.names()
    missing = {t.customer_id for t in tasks if t.customer_id and t.customer_id not in known}
    names = {**known, **customer_lookup.customer_names(workspace_id, missing)}
    today = clock.today()
    return [TaskOut.of(t, today, names.get(t.customer_id) if t.customer_id else None) for t in tasks]


# --- create, read, update -----------------------------------------------------------------------
def create_task(caller: Caller, body: TaskCreateIn) -> TaskOut:
    """The new task, with its customer's name (read to check the caller may see it)."""
    workspace_id = caller.workspace_id
    owner_id = body.owner_id or caller.user_id
    customers = _Customers(workspace_id)
    if body.customer_id is not None:
        customers.seen(_require_customer(caller, body.customer_id))
    if owner_id != caller.user_id:
        _check_owner(workspace_id, owner_id)
    now = clock.iso(clock.now())
    task = Task(
        task_id=ids.new_id("tsk"),
        workspace_id=workspace_id,
        title=body.title,
        description=body.description or None,
        owner_id=owner_id,
        due_date=body.due_date or clock.today(),
        status=body.status,
        customer_id=body.customer_id,
        source=body.source,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
        started_at=now if body.status == "in_progress" else None,
    )
    if not _visible(caller, task, customers):
        raise Forbidden("A CSM creates tasks for their own customers or for themselves")
    if not store.create_task(task):
        raise Conflict("Task id collision; retry", [{"field": "task_id", "issue": "taken"}])
    out = _named_one(task, customers)
    publish_created(task, out)
    return out


def create_playbook_task(task: Task, customer_name: str | None = None) -> bool:
    """A playbook step's task (its id is derived from the run and step): False if it already exists."""
    created = store.create_task(task)
    if created:
        publish_created(task, task_out(task, customer_name))
    return created


def publish_created(task: Task, out: TaskOut) -> None:
    """`task.created` on the bus for outbound webhooks. The task is saved: a failed publish is logged."""
    detail = {
        "workspace_id": task.workspace_id,
        "customer_id": task.customer_id,
        "task": out.model_dump(mode="json"),
    }
    try:
        event_bus.publish([event_bus.DomainEvent("task.created", detail)])
    except Exception:
        logger.exception("task.created was not published", extra={"task_id": task.task_id})


def _get_task(caller: Caller, task_id: str, customers: _Customers) -> Task:
    task = store.get_task(caller.workspace_id, task_id)
    if task is None or not _visible(caller, task, customers):
        raise NotFound(f"No task {task_id}", [{"field": "task_id", "issue": "not found"}])
    return task


def get_task(caller: Caller, task_id: str) -> TaskOut:
    """The task with its customer's current name."""
    customers = _Customers(caller.workspace_id)
    return _named_one(_get_task(caller, task_id, customers), customers)


def update_task(caller: Caller, task_id: str, body: TaskPatchIn) -> TaskOut:
    """The task after the change, with its customer's current name."""
    changes = body.changes()
    for name in ("title", "due_date", "status", "owner_id"):
        if name in changes and changes[name] is None:
            raise InvalidInput(f"Invalid body: {name} cannot be null", [{"field": name, "issue": "cannot be null"}])
    customers = _Customers(caller.workspace_id)
    current = _get_task(caller, task_id, customers)
    if body.version is not None and body.version != current.version:
        raise Conflict(
            f"Task is at version {current.version}, not {body.version}",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        )
    if changes.get("owner_id") not in (None, current.owner_id):
        _check_owner(caller.workspace_id, changes["owner_id"])
    after = rules.apply_changes(current, changes, now_iso=clock.iso(clock.now()))
    if not _visible(caller, after, customers):
        raise Forbidden("A CSM cannot hand a task of another portfolio to someone else")
    if after.model_dump(exclude={"updated_at"}) == current.model_dump(exclude={"updated_at"}):
        return _named_one(current, customers)
    return _named_one(store.update_task(current, after), customers)


def hand_over_open_tasks(workspace_id: str, from_id: str, to_id: str) -> int:
    """Give `to_id` every open task (pending or in progress) of `from_id`; how many moved. A task that
    changed meanwhile is read again; one closed or given to someone else since is left as it is."""
    listed = [
        task.task_id for task, _ in store.iter_tasks(workspace_id, owner_id=from_id, statuses=rules.OPEN_STATUSES)
    ]
    moved = 0
    for task_id in listed:
        for attempt in conflict_attempts(HANDOVER_ATTEMPTS):
            current = store.get_task(workspace_id, task_id)
            if current is None or current.owner_id != from_id or current.status not in rules.OPEN_STATUSES:
                break
            after = rules.apply_changes(current, {"owner_id": to_id}, now_iso=clock.iso(clock.now()))
            try:
                store.update_task(current, after)
            except Conflict:
                if attempt == HANDOVER_ATTEMPTS - 1:
                    raise
                continue
            moved += 1
            break
    return moved


# --- lists --------------------------------------------------------------------------------------
def _due_range(query: TaskListQuery, today: date) -> store.DueRange:
    if query.overdue and query.due_today:
        return store.DueRange(up_to=today)
    if query.overdue:
        return store.DueRange(before=today)
    if query.due_today:
        return store.DueRange(on=today)
    return store.DueRange()


def _statuses(query: TaskListQuery) -> frozenset[str] | None:
    if query.overdue or query.due_today:
        wanted = rules.OPEN_STATUSES if query.status is None else rules.OPEN_STATUSES & {query.status}
        return frozenset(wanted)
    return frozenset({query.status}) if query.status else None


def list_tasks(caller: Caller, query: TaskListQuery) -> TaskListOut:
    """Tasks by due date: of one customer, of one owner, or (by default, or `mine`) the caller's; each
    with its customer's current name (`_named`)."""
    workspace_id = caller.workspace_id
    today = clock.today()
    statuses = _statuses(query)
    owner = caller.user_id if query.mine else query.owner_id
    customers = _Customers(workspace_id)
    if query.customer_id is not None:
        customers.seen(_require_customer(caller, query.customer_id))
        rows = store.iter_tasks(
            workspace_id,
            customer_id=query.customer_id,
            due=_due_range(query, today),
            statuses=statuses,
            cursor=query.cursor,
        )
    else:
        rows = store.iter_tasks(
            workspace_id,
            owner_id=owner or caller.user_id,
            due=_due_range(query, today),
            statuses=statuses,
            cursor=query.cursor,
        )
    if statuses == frozenset():
        return TaskListOut(items=[], next_cursor=None)
    found: list[Task] = []
    next_cursor: str | None = None
    for examined, (task, position) in enumerate(rows, start=1):
        if (owner is None or task.owner_id == owner) and _visible(caller, task, customers):
            found.append(task)
        if len(found) == query.limit or examined >= MAX_EXAMINED:
            next_cursor = position
            break
    return TaskListOut(items=_named(workspace_id, found, customers), next_cursor=next_cursor)


def _take(rows: Iterator[tuple[Task, str]], limit: int) -> list[Task]:
    out = []
    for task, _ in rows:
        out.append(task)
        if len(out) == limit:
            break
    return out


# --- My day -------------------------------------------------------------------------------------
def my_day(caller: Caller) -> MyDayOut:
    """The caller's open tasks due today and overdue, the customers they own that need attention
    (new alerts, red flags from the latest health on their profile) or show green flags, most urgent
    first (`_urgency`), and their notifications."""
    workspace_id, today = caller.workspace_id, clock.today()
    due_today, overdue = _due_and_overdue(workspace_id, caller.user_id, today)
    # The tasks' customers are named from the same BatchGetItem as the book's profiles.
    named = {t.customer_id for t in due_today + overdue if t.customer_id}
    reads = store.my_day_reads(workspace_id, caller.user_id, named)
    attention = []
    for customer, state in reads.book:
        flags = rules.red_flags(customer.model_dump(), today)
        # The red flags stored after the latest score (services/customer_flags), with their evidence.
        stored = [CustomerFlagOut.model_validate(f.model_dump()) for f in customer.flags.red] if customer.flags else []
        flags += [f.title for f in stored if f.title not in flags]
        # Green flags too (growing usage, engagement, new needs): the openings a CSM acts on today.
        green = [CustomerFlagOut.model_validate(f.model_dump()) for f in customer.flags.green] if customer.flags else []
        alerts = rules.new_alerts(alerts_of(state), today)
        if flags or alerts or green:
            attention.append(
                CustomerAttentionOut(
                    customer_id=customer.customer_id,
                    name=customer.name,
                    health_score=customer.health_score,
                    health_band=customer.health_band,
                    red_flags=flags,
                    flags=stored,
                    green_flags=[f.title for f in green],
                    green_flag_details=green,
                    new_alerts=alerts,
                )
            )
    attention.sort(key=_urgency)
    if reads.inbox is not None:
        notifications = list(reads.inbox.notifications)
    else:  # a user notified before the inbox existed: the partition, once, and the inbox from it
        notifications = notification_store.list_notifications(workspace_id, caller.user_id)
        if notifications:
            notification_store.fill_inbox(workspace_id, caller.user_id, notifications)
    return MyDayOut(
        date=today,
        due_today=[TaskOut.of(t, today, reads.names.get(t.customer_id or "")) for t in due_today],
        overdue=[TaskOut.of(t, today, reads.names.get(t.customer_id or "")) for t in overdue],
        customers=attention,
        notifications=[NotificationOut.of(n) for n in notifications],
    )


def _urgency(customer: CustomerAttentionOut) -> tuple[bool, int, float, str]:
    """Triage order: a new alert first (something changed since yesterday), then more red flags, then the
    lower score; customers listed only for green flags come after every red flag and alert."""
    score = customer.health_score if customer.health_score is not None else 101.0
    return (not customer.new_alerts, -len(customer.red_flags), score, customer.name.casefold())


def _due_and_overdue(workspace_id: str, user_id: str, today: date) -> tuple[list[Task], list[Task]]:
    """The user's open tasks due today and overdue, each the first MY_DAY_LIMIT by due date: one Query
    up to today (overdue ones come first), and a second one for today's only when more tasks are
    overdue than the section shows (the same answer as one Query per section, in one request)."""
    statuses = frozenset(rules.OPEN_STATUSES)
    due_today: list[Task] = []
    overdue: list[Task] = []
    for task, _ in store.iter_tasks(workspace_id, owner_id=user_id, due=store.DueRange(up_to=today), statuses=statuses):
        if task.due_date < today:
            if len(overdue) == MY_DAY_LIMIT:
                on_today = store.iter_tasks(
                    workspace_id, owner_id=user_id, due=store.DueRange(on=today), statuses=statuses
                )
                return _take(on_today, MY_DAY_LIMIT), overdue
            overdue.append(task)
        else:
            due_today.append(task)
            if len(due_today) == MY_DAY_LIMIT:
                break
    return due_today, overdue


def alerts_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The alerts the scorer raised, from the scoring state it keeps on the profile (its last days,
    each with the alerts raised that day: `sharp_drop`, `band_crossing:<band>`, `misalignment`)."""
    from keepwell.domain.customer_scoring import ScoringState  # the scorer owns this format; only My day reads it

    try:
        raised = ScoringState.raised_alerts(state)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return []
    return [
        {"kind": key.split(":", 1)[0], "detail": key.split(":", 1)[1] if ":" in key else None, "day": d.isoformat()}
        for d, key in raised
    ]
