"""Playbooks at work: domain events enrol customers in runs, and the actions queue executes their steps.

Enrolment (start_runs_for_event): for the event's customer, every enabled playbook is evaluated
(domain.playbooks.evaluate) against the customer's profile, its stored standing with the playbook and
the event. A customer that enters gets a run item put with `attribute_not_exists` on (playbook,
customer, episode): a redelivered event, a repeated daily score or a concurrent event finds the
run there and starts nothing twice. The run is written on the customer's timeline and one message
per step goes to the PlaybookActionsQueue.

Execution (execute_action): each step is claimed with a conditional put of its marker before its
side effect, so a duplicate message does nothing; its outcome is written on the marker and on the
run. A failure that certainly had no effect gives the claim back and raises (the message is
retried, then dead-lettered); one that may have had an effect (SES timing out after the request left)
is recorded as failed and not repeated: never a second email. A Slack step queues one delivery to the
workspace's Slack channel on the webhook delivery queue (its id derived from run and step, so queueing
twice queues once); the delivery machinery sends it with retries and logs every attempt.

Alerts (on_domain_event): a `health.alert` also reaches the customer's owners (services/alert_notifications).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from keepwell import clock
from keepwell.adapters import queues
from keepwell.adapters.event_bus import DomainEvent, PublishError, publish
from keepwell.domain import playbooks as rules
from keepwell.domain.customers import apply_patch
from keepwell.domain.playbooks import CompiledPlaybook, Decision, EnrolmentState, Occurrence
from keepwell.domain.segments import HealthRow
from keepwell.domain.timeline import TimelineEntry
from keepwell.errors import Conflict, KeepwellError
from keepwell.observability import logger, metrics
from keepwell.retries import conflict_attempts
from keepwell.schemas.messages import DomainEventIn, PlaybookActionMessage
from keepwell.services import alert_notifications, customer_flags, event_notifications
from keepwell.services import playbooks as playbook_service
from keepwell.services.playbook_evaluation import active_users, decide, template_values
from keepwell.services.timeline_recording import record_timeline_entries
from keepwell.settings import get_settings
from keepwell.storage import customers as customer_store
from keepwell.storage import notifications as notification_store
from keepwell.storage import playbooks as store
from keepwell.storage import segments as profile_store
from keepwell.storage import workspaces

if TYPE_CHECKING:
    from keepwell.domain.customers import Customer

# The services of the action kinds (tasks, Slack deliveries, email, success plans, custom fields) are imported
# by the steps that use them: a container that starts runs from domain events, or performs other kinds of
# step, does not import them (cold starts, decision 0027).

STEP_LEASE = timedelta(minutes=5)  # a claim older than this was left by a crashed attempt
# The effect of these cannot be taken back or recognised on retry: a claim left running is not redone.
# (A Slack step only queues an idempotent delivery, so it is safe to redo.)
AT_MOST_ONCE_ACTIONS = frozenset({"email"})
DAY_FIELDS = ("scored_day", "scoring_day", "day", "date", "changed_at", "occurred_at")


class ActionNotDone(Exception):
    """The step's side effect certainly did not happen (a dependency was unavailable): retry it."""


class StepBusy(Exception):
    """Another attempt holds the step right now; the message is retried later."""


def _event_day(event: DomainEventIn) -> date:
    """The day the event is about (the scorer's day), else the day it happened."""
    extra = event.detail.model_extra or {}
    for name in DAY_FIELDS:
        value = extra.get(name)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return event.time.date()


# --- enrolment ----------------------------------------------------------------------------------
def on_domain_event(event: DomainEventIn) -> None:
    """A domain event from the bus: playbooks that it makes a customer enter start their runs, a
    health alert is delivered to the customer's owners, and the people an event names (at-risk
    renewal, sales hand-off, failing webhook) are told. All idempotent, so a retried event is safe."""
    start_runs_for_event(event)
    if event.detail_type == alert_notifications.ALERT_EVENT:
        alert_notifications.notify_alert(event)
    event_notifications.on_domain_event(event)  # at-risk renewals, sales hand-offs, failing webhooks
    customer_flags.on_domain_event(event)  # a new score: recompute and store the customer's flags


def start_runs_for_event(event: DomainEventIn) -> None:
    """Evaluate every enabled playbook of the workspace for the event's customer; enrol those it enters."""
    workspace_id, customer_id = event.detail.workspace_id, event.detail.customer_id
    if customer_id is None:
        logger.info("domain event names no customer", extra={"detail_type": event.detail_type})
        return
    row = profile_store.get_health_row(workspace_id, customer_id)
    if row is None or row.customer.archived:
        logger.info(
            "no active customer for domain event",
            extra={"workspace_id": workspace_id, "customer_id": customer_id, "detail_type": event.detail_type},
        )
        return
    occurrence = Occurrence(event.detail_type, _event_day(event), event.detail.model_dump(mode="json"))
    states = store.list_states(workspace_id, customer_id)
    started = 0
    for compiled in playbook_service.enabled_playbooks(workspace_id):
        playbook_id = compiled.playbook.playbook_id
        state = states.get(playbook_id, EnrolmentState())
        decision = decide(compiled, row, state, occurrence)
        if decision.enter:
            started += enrol(compiled, row, decision, occurrence)  # the run first: its put is the guard
        elif decision.suppressed:
            logger.info(
                "playbook trigger held back",
                extra={"playbook_id": playbook_id, "customer_id": customer_id, "why": decision.suppressed},
            )
        if decision.state != state:
            store.put_state(workspace_id, customer_id, playbook_id, decision.state, clock.iso(clock.now()))
    if started:
        metrics.add_metric(name="PlaybookRunsStarted", unit=MetricUnit.Count, value=started)


def enrol(compiled: CompiledPlaybook, row: HealthRow, decision: Decision, occurrence: Occurrence) -> int:
    """Create the run (exactly once per episode), record it on the timeline and queue its steps.
    Returns 1 if this call started the run, 0 if it already existed."""
    assert decision.episode is not None and decision.start_on is not None
    playbook = compiled.playbook
    customer = row.customer
    workspace_id = customer.workspace_id
    steps = rules.plan_steps(playbook.definition, decision.start_on, occurrence.day)
    run = store.Run(
        workspace_id=workspace_id,
        run_id=rules.run_id(workspace_id, playbook.playbook_id, customer.customer_id, decision.episode),
        playbook_id=playbook.playbook_id,
        playbook_name=playbook.definition.name,
        playbook_version=playbook.version,
        customer_id=customer.customer_id,
        customer_name=customer.name,
        episode=decision.episode,
        trigger_type=playbook.definition.trigger.type,
        occurrence=occurrence.kind,
        reason=decision.reason,
        start_on=decision.start_on,
        enrolled_at=clock.iso(clock.now()),
        queued_at=None,
        steps=[{"index": s.index, "action": s.action, "params": s.params} for s in steps],
        outcomes={},
    )
    created = store.create_run(run)
    if not created:
        existing = store.get_run(workspace_id, playbook.playbook_id, customer.customer_id, decision.episode)
        if existing is None or existing.queued_at is not None:
            return 0  # a duplicate: the run is there and its steps were queued
        run = existing  # an earlier attempt stopped before queueing: finish its work (idempotently)
    _record_on_timeline(run, row)
    messages = [
        PlaybookActionMessage(
            workspace_id=workspace_id,
            playbook_id=run.playbook_id,
            run_id=run.run_id,
            customer_id=run.customer_id,
            step_index=int(step["index"]),
            action=step["action"],
            params=step["params"],
            episode=run.episode,
        )
        for step in run.steps
    ]
    queues.send_messages(get_settings().playbook_queue_url, messages)
    store.mark_run_queued(run, clock.iso(clock.now()))
    logger.info(
        "playbook run started",
        extra={
            "playbook_id": run.playbook_id,
            "run_id": run.run_id,
            "customer_id": run.customer_id,
            "episode": run.episode,
            "reason": run.reason,
        },
    )
    return 1 if created else 0


def _record_on_timeline(run: store.Run, row: HealthRow) -> None:
    """One timeline entry per run: what fired and why. Same item id and time on a retry: no duplicate.
    The steps' titles and subjects are filled as the dry run fills them (not "{customer.name}")."""
    values = template_values(row, run.playbook_name, run.reason)
    filled = [
        {
            **s["params"],
            **{k: rules.render(str(s["params"][k]), values) for k in ("title", "subject") if s["params"].get(k)},
        }
        for s in run.steps
    ]
    planned = [rules.step_summary(s["action"], params) for s, params in zip(run.steps, filled, strict=True)]
    health = ""
    if row.customer.health_score is not None:
        health = f" Health {row.customer.health_score:.1f} ({row.customer.health_band or 'no band'})."
    waits = f" Acts on {run.start_on.isoformat()}." if run.start_on > date.fromisoformat(run.enrolled_at[:10]) else ""
    entry = TimelineEntry(
        customer_id=run.customer_id,
        kind="playbook_run",
        occurred_at=datetime.fromisoformat(run.enrolled_at),
        title=f"Playbook {run.playbook_name} started"[:300],
        item_id=f"pbr-{run.run_id}",
        body=f"Why: {run.reason}.{health}{waits} Steps: " + "; ".join(planned) + ".",
        actor=f"playbook:{run.playbook_id}",
        source="keepwell",
        source_event_id=run.run_id,
        attributes={
            "playbook_id": run.playbook_id,
            "playbook_version": run.playbook_version,
            "run_id": run.run_id,
            "episode": run.episode,
            "trigger_type": run.trigger_type,
            "occurrence": run.occurrence,
            "reason": run.reason,
            "start_on": run.start_on.isoformat(),
            "steps": planned,
        },
    )
    record_timeline_entries(run.workspace_id, [entry])


# --- execution ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    status: str  # done, skipped, failed
    detail: dict[str, Any]

    def as_dict(self, action: str, at_iso: str) -> dict[str, Any]:
        return {"status": self.status, "action": action, "at": at_iso, **self.detail}


def execute_action(message: PlaybookActionMessage) -> None:
    """Execute one step of one run exactly once. Raising fails only this record (retried, then DLQ)."""
    context = {"run_id": message.run_id, "step_index": message.step_index, "action": message.action}
    if message.episode is None:
        logger.warning("playbook action without an episode: dropped", extra=context)
        return
    run = store.get_run(message.workspace_id, message.playbook_id, message.customer_id, message.episode)
    if run is None or run.run_id != message.run_id:
        logger.warning("playbook action for an unknown run: dropped", extra=context)
        return
    not_before = message.params.get("not_before")
    if isinstance(not_before, str) and date.fromisoformat(not_before) > clock.today():
        # Waiting for the run's day: hop through the queue (SQS delays at most 15 minutes).
        queues.send_messages(get_settings().playbook_queue_url, [message], delay_seconds=queues.MAX_DELAY_SECONDS)
        return
    now = clock.now()
    claimed_at = clock.iso(now)
    claimed = store.claim_step(run, message.step_index, message.action, claimed_at)
    if not claimed and not _take_over(run, message, now):
        return
    try:
        outcome = _perform(run, message)
    except Exception:
        # Nothing left the building: the adapters turn "may have been sent" into a failed outcome.
        store.release_step(run, message.step_index)
        raise
    _finish(run, message, outcome)


def _take_over(run: store.Run, message: PlaybookActionMessage, now: datetime) -> bool:
    """A duplicate message (the step is done: nothing to do) or a claim left by a crashed attempt."""
    step = store.get_step(run, message.step_index)
    context = {"run_id": run.run_id, "step_index": message.step_index}
    if step is None:
        raise StepBusy("the step was released meanwhile; retry")
    if step.status != "running":
        logger.info("duplicate playbook action: already executed", extra={**context, "status": step.status})
        return False
    if now - datetime.fromisoformat(step.claimed_at) < STEP_LEASE:
        raise StepBusy("the step is being executed by another attempt")
    if message.action in AT_MOST_ONCE_ACTIONS:
        outcome = Outcome("failed", {"detail": "interrupted; not repeated, it may have been sent"})
        _finish(run, message, outcome)
        return False
    return store.retake_step(run, message.step_index, step.claimed_at, clock.iso(now))


def _finish(run: store.Run, message: PlaybookActionMessage, outcome: Outcome) -> None:
    at = clock.iso(clock.now())
    record = outcome.as_dict(message.action, at)
    store.finish_step(run, message.step_index, outcome.status, record, at)
    store.record_run_outcome(run, message.step_index, record)
    metrics.add_metric(name=f"PlaybookAction_{outcome.status}", unit=MetricUnit.Count, value=1)
    logger.info(
        "playbook action executed",
        extra={"run_id": run.run_id, "step_index": message.step_index, "action": message.action, **record},
    )


def _perform(run: store.Run, message: PlaybookActionMessage) -> Outcome:
    row = profile_store.get_health_row(run.workspace_id, run.customer_id)
    if row is None:
        return Outcome("skipped", {"detail": "the customer no longer exists"})
    if message.params.get("not_before"):
        # A waiting (days-after) run acts only if the playbook is still on and the customer still fits.
        playbook = store.get_playbook(run.workspace_id, run.playbook_id)
        if playbook is None or not playbook.definition.enabled:
            return Outcome("skipped", {"detail": "the playbook was disabled or deleted meanwhile"})
        if not rules.still_applies(playbook_service.compile_stored(playbook), row.record):
            return Outcome("skipped", {"detail": "the customer no longer meets the playbook's conditions"})
    params = message.params
    if message.action == "task":
        return _create_task(run, message, row)
    if message.action == "slack":
        return _send_slack(run, row, str(params.get("text", "")), message.step_index)
    if message.action == "email":
        return _send_email(run, row, params)
    if message.action == "webhook":
        return _publish_triggered(run, message)
    if message.action == "update_field":
        return _update_field(run, params)
    if message.action == "notify":
        return _notify(run, message, row)
    if message.action == "apply_blueprint":
        return _apply_blueprint(run, row, params)
    if message.action == "engagement":
        from keepwell.services import success_plans

        phase, operation = str(params.get("phase")), str(params.get("operation") or "open")
        if success_plans.engagement_for_playbook(run.workspace_id, row.customer, run.playbook_id, phase, operation):
            return Outcome("done", {"phase": phase, "operation": operation})
        return Outcome("skipped", {"detail": f"the {phase} engagement is already {operation}"})
    return Outcome("skipped", {"detail": f"nothing to do for {message.action}"})


def _values(run: store.Run, row: HealthRow, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    owner = workspaces.get_user(run.workspace_id, row.customer.owner_id) if row.customer.owner_id else None
    values = template_values(row, run.playbook_name, run.reason, owner.name if owner else None)
    if params and params.get("due_date"):
        values["due_date"] = params["due_date"]
    return values


def _create_task(run: store.Run, message: PlaybookActionMessage, row: HealthRow) -> Outcome:
    params = message.params
    customer = row.customer
    assignee = rules.resolve_assignee(
        str(params.get("assignee") or "owner"),
        customer.owner_id,
        customer.co_owner_ids,
        active_users(run.workspace_id),
    )
    values = _values(run, row, params)
    now = clock.iso(clock.now())
    description = params.get("description")
    from keepwell.domain.tasks import Task
    from keepwell.services import tasks as task_service

    task = Task(
        task_id=rules.step_task_id(run.run_id, message.step_index),
        workspace_id=run.workspace_id,
        title=rules.render(str(params.get("title") or run.playbook_name), values)[:200],
        description=rules.render(str(description), values)[:5000] if description else None,
        owner_id=assignee,
        due_date=date.fromisoformat(str(params.get("due_date") or run.start_on.isoformat())),
        customer_id=customer.customer_id,
        source="playbook_run",
        playbook_id=run.playbook_id,
        run_id=run.run_id,
        step_index=message.step_index,
        created_by=f"playbook:{run.playbook_id}",
        created_at=now,
        updated_at=now,
    )
    created = task_service.create_playbook_task(task, customer.name)
    detail = {"task_id": task.task_id, "owner_id": assignee, "due_date": task.due_date.isoformat()}
    return Outcome("done", detail if created else {**detail, "detail": "the task already existed"})


def _send_slack(run: store.Run, row: HealthRow, template: str, step_index: int) -> Outcome:
    """Queue the message as a delivery to the workspace's Slack channel (retries and the attempt log are
    the delivery machinery's; docs/webhooks.md)."""
    from keepwell.services import webhook_deliveries

    if not webhook_deliveries.slack_connected(run.workspace_id):
        return Outcome("skipped", {"detail": "Slack is not configured (PUT /v1/settings/slack)"})
    values = _values(run, row)
    text = rules.render(template, values, escape=rules.slack_escape)
    facts = [f"Health {values['customer.health_score'] or '—'} ({values['customer.health_band'] or 'no band'})"]
    if values.get("owner.name"):
        facts.append(f"Owner {values['owner.name']}")
    payload = rules.slack_message(
        text, customer_name=row.customer.name, playbook_name=run.playbook_name, reason=run.reason, facts=facts
    )
    source_id = f"{run.run_id}:{step_index}"
    queued = webhook_deliveries.queue_slack_message(
        run.workspace_id, source_id, datetime.fromisoformat(run.enrolled_at), payload
    )
    return Outcome("done", {"channel": "slack", "detail": "queued for delivery" if queued else "already queued"})


def _send_email(run: store.Run, row: HealthRow, params: Mapping[str, Any]) -> Outcome:
    from keepwell.adapters import email as email_adapter
    from keepwell.storage import contacts as contact_store

    customer = row.customer
    owner = workspaces.get_user(run.workspace_id, customer.owner_id) if customer.owner_id else None
    values = _values(run, row)
    recipient: str | None
    if params.get("to") == "champion":
        champion = None
        if customer.champion_contact_id:
            champion = contact_store.get_contact(
                run.workspace_id, customer.customer_id, customer.champion_contact_id, customer.champion_contact_id
            )
        if champion is None or not champion.email:
            return Outcome("skipped", {"detail": "the customer has no champion with an email address"})
        if champion.email_bounced:
            return Outcome("skipped", {"detail": "the champion's email address bounced"})
        recipient = champion.email
        values["champion.name"] = champion.name
    else:
        recipient = owner.email if owner else None
        if not recipient:
            return Outcome("skipped", {"detail": "the customer has no owner with an email address"})
    sender = params.get("from_address") or (owner.email if owner else None)
    if not sender:
        return Outcome("skipped", {"detail": "no sender: set from_address or give the customer an owner"})
    subject = rules.render(str(params.get("subject", "")), values)[:200]
    body = rules.render(str(params.get("body", "")), values)
    reply_to = owner.email if owner and owner.email != sender else None
    try:
        message_id = email_adapter.send_email(str(sender), recipient, subject, body, reply_to=reply_to)
    except email_adapter.EmailNotSent as error:
        raise ActionNotDone(str(error)) from error
    except email_adapter.EmailUncertain as error:
        return Outcome("failed", {"detail": f"{error}; not resent, it may have been sent"})
    except email_adapter.EmailRejected as error:
        return Outcome("failed", {"detail": str(error)})
    return Outcome("done", {"to": recipient, "ses_message_id": message_id})


def _publish_triggered(run: store.Run, message: PlaybookActionMessage) -> Outcome:
    detail = {
        "workspace_id": run.workspace_id,
        "customer_id": run.customer_id,
        "customer_name": run.customer_name,
        "playbook_id": run.playbook_id,
        "playbook_name": run.playbook_name,
        "playbook_version": run.playbook_version,
        "run_id": run.run_id,
        "episode": run.episode,
        "trigger_type": run.trigger_type,
        "reason": run.reason,
        "enrolled_at": run.enrolled_at,
        "idempotency_key": f"{run.run_id}:{message.step_index}",  # receivers dedupe on it
    }
    event_type = str(message.params.get("event_type") or "playbook.triggered")
    try:
        publish([DomainEvent(event_type, detail)])
    except PublishError as error:
        raise ActionNotDone(str(error)) from error
    return Outcome("done", {"event_type": event_type})


def _apply_blueprint(run: store.Run, row: HealthRow, params: Mapping[str, Any]) -> Outcome:
    start = clock.today() + timedelta(days=int(params.get("start_in_days") or 0))
    name = str(params.get("blueprint"))
    from keepwell.services import success_plans

    if success_plans.apply_for_playbook(run.workspace_id, row.customer, name, start):
        return Outcome("done", {"blueprint": name, "start_date": start.isoformat()})
    return Outcome("skipped", {"detail": f"the customer has a success plan, or there is no blueprint '{name}'"})


UPDATE_ATTEMPTS = 3


def _update_field(run: store.Run, params: Mapping[str, Any]) -> Outcome:
    field, operation, value = str(params.get("field")), params.get("operation"), params.get("value")
    for _attempt in conflict_attempts(UPDATE_ATTEMPTS):
        current = customer_store.get_customer(run.workspace_id, run.customer_id)
        if current is None:
            return Outcome("skipped", {"detail": "the customer no longer exists"})
        try:
            changes = _field_changes(run.workspace_id, current, field, operation, value)
        except KeepwellError as error:
            return Outcome("failed", {"detail": error.message})
        if changes is None:
            return Outcome("done", {"field": field, "detail": "already set"})
        updated = apply_patch(current, changes, now_iso=clock.iso(clock.now()))
        try:
            customer_store.update_customer(current, updated)
        except Conflict as error:
            if error.code == "version_conflict":
                continue
            return Outcome("failed", {"detail": error.message})
        return Outcome("done", {"field": field, "operation": operation, "value": value})
    raise ActionNotDone("the customer kept changing; retry")


def _field_changes(
    workspace_id: str, customer: Customer, field: str, operation: Any, value: Any
) -> dict[str, Any] | None:
    if field == "tags":
        tags = set(customer.tags)
        wanted = tags | {str(value)} if operation == "add" else tags - {str(value)}
        return None if wanted == tags else {"tags": sorted(wanted)}
    key = field.removeprefix("custom.")
    if customer.custom_fields.get(key) == value:
        return None
    from keepwell.domain import custom_fields as field_rules
    from keepwell.storage import custom_fields as field_store

    checked = field_rules.validate_values({key: value}, field_store.list_definitions(workspace_id))
    return {"custom_fields": checked}


def _notify(run: store.Run, message: PlaybookActionMessage, row: HealthRow) -> Outcome:
    params = message.params
    role = str(params.get("role") or "director")
    recipients = [user_id for user_id, user_role in active_users(run.workspace_id) if user_role == role]
    if not recipients:
        return Outcome("skipped", {"detail": f"no active {role} in the workspace"})
    title = rules.render(str(params.get("message", "")), _values(run, row))[:300]
    for user_id in recipients:
        notification_store.put_notification(
            run.workspace_id,
            notification_store.Notification(
                notification_id=rules.step_item_id(run.run_id, message.step_index, user_id),
                user_id=user_id,
                title=title,
                body=f"{run.playbook_name}: {run.reason}",
                customer_id=run.customer_id,
                playbook_id=run.playbook_id,
                run_id=run.run_id,
                created_at=run.enrolled_at,
                kind="playbook",
            ),
        )
    return Outcome("done", {"notified": recipients})
