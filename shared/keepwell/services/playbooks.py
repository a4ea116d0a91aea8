"""Playbook use cases: the five defaults, CRUD (directors and admins write, everyone reads), versions,
runs, the dry run ("who would enter now and what would it do", writing and sending nothing) and the
workspace's Slack webhook (admins)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from keepwell import clock, ids, permissions
from keepwell.adapters import secrets
from keepwell.auth import Caller
from keepwell.domain import conditions
from keepwell.domain import playbooks as rules
from keepwell.domain.playbooks import (
    CompiledPlaybook,
    ConditionTrigger,
    DateOffsetTrigger,
    EnrolmentState,
    Occurrence,
    Playbook,
    PlaybookDefinition,
    SustainedTrigger,
    UpdateFieldAction,
)
from keepwell.domain.segments import segment_fields, stored_rule
from keepwell.domain.success_plans import DEFAULT_BLUEPRINTS
from keepwell.errors import Conflict, InvalidInput
from keepwell.schemas.playbooks import (
    DryRunEntryOut,
    DryRunOut,
    DryRunQuery,
    PlannedStepOut,
    PlaybookIn,
    PlaybookOut,
    PlaybookPatchIn,
    RunListOut,
    RunListQuery,
    RunOut,
    SlackSettingsIn,
    SlackSettingsOut,
)
from keepwell.services import playbook_evaluation as evaluation
from keepwell.services import user_references
from keepwell.settings import Settings, get_settings
from keepwell.storage import audit as audit_store
from keepwell.storage import custom_fields as field_store
from keepwell.storage import health_models as model_store
from keepwell.storage import keys, workspaces
from keepwell.storage import notifications as notification_store
from keepwell.storage import playbooks as store
from keepwell.storage import segments as profile_store
from keepwell.storage import success_plans as blueprint_store

SYSTEM_USER = "keepwell"
STATE_BATCH = 100


# --- conditions: validated against the workspace's fields on save, rebuilt leniently to evaluate ----
def workspace_fields(workspace_id: str) -> dict[str, str]:
    definitions = {d.key: d.type for d in field_store.list_definitions(workspace_id)}
    model, _ = model_store.get_current_model(workspace_id)
    return dict(segment_fields(definitions, [d.key for d in model.dimensions]))


def _standard_fields() -> dict[str, str]:
    return dict(segment_fields({}, []))


def compile_stored(playbook: Playbook) -> CompiledPlaybook:
    """A saved playbook ready to evaluate (a field deleted since matches nothing, like a missing value)."""
    fields = _standard_fields()
    return rules.compile_playbook(playbook, lambda data: stored_rule(data, fields))


def _normalised(definition: PlaybookDefinition, fields: dict[str, str]) -> PlaybookDefinition:
    """Validate conditions (either form) against the fields and store them as JSON trees; check the
    custom fields a date trigger or a field update names."""
    trigger = definition.trigger
    updates: dict[str, Any] = {}
    if isinstance(trigger, ConditionTrigger | SustainedTrigger):
        rule = conditions.compile_condition(trigger.condition, fields, "trigger.condition")
        updates["trigger"] = trigger.model_copy(update={"condition": conditions.to_dict(rule)})
    if isinstance(trigger, DateOffsetTrigger) and fields.get(trigger.field) != "date":
        raise InvalidInput(
            f"Invalid body: trigger.field {trigger.field} is not a date field",
            [{"field": "trigger.field", "issue": "not a date field of this workspace"}],
        )
    if definition.conditions is not None:
        rule = conditions.compile_condition(definition.conditions, fields, "conditions")
        updates["conditions"] = conditions.to_dict(rule)
    for index, action in enumerate(definition.actions):
        if isinstance(action, UpdateFieldAction) and action.field != "tags" and action.field not in fields:
            raise InvalidInput(
                f"Invalid body: actions.{index}.field {action.field} is not a custom field",
                [{"field": f"actions.{index}.field", "issue": "unknown custom field"}],
            )
    return definition.model_copy(update=updates)


def _condition_text(data: Any) -> str | None:
    if data is None:
        return None
    text = conditions.to_text(stored_rule(data, _standard_fields()))
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def playbook_out(playbook: Playbook) -> PlaybookOut:
    definition = playbook.definition
    trigger = definition.trigger.model_dump(mode="json")
    rule_text = _condition_text(trigger.get("condition"))
    return PlaybookOut(
        playbook_id=playbook.playbook_id,
        name=definition.name,
        description=definition.description,
        enabled=definition.enabled,
        trigger=trigger,
        trigger_text=rules.describe_trigger(definition, rule_text),
        conditions=definition.conditions if isinstance(definition.conditions, dict) else None,
        conditions_text=_condition_text(definition.conditions),
        actions=[a.model_dump(mode="json") for a in definition.actions],
        reenrollment=definition.reenrollment.model_dump(mode="json"),
        default_key=playbook.default_key,
        version=playbook.version,
        created_at=playbook.created_at,
        created_by=playbook.created_by,
        updated_at=playbook.updated_at,
        updated_by=playbook.updated_by,
    )


# --- the five defaults --------------------------------------------------------------------------
def ensure_default_playbooks(workspace_id: str) -> list[Playbook]:
    """Create the seeded playbooks once per workspace (idempotent: fixed ids, conditional puts, then a
    marker, so a default a director deleted does not come back). Returns every playbook."""
    listing = store.list_playbooks(workspace_id)
    if listing.defaults_created:
        return listing.playbooks
    fields = _standard_fields()
    now = clock.iso(clock.now())
    for key, definition in rules.default_playbooks():
        store.create_playbook(
            Playbook(
                playbook_id=rules.default_playbook_id(key),
                workspace_id=workspace_id,
                definition=_normalised(definition, fields),
                version=1,
                default_key=key,
                created_at=now,
                created_by=SYSTEM_USER,
                updated_at=now,
                updated_by=SYSTEM_USER,
            )
        )
    store.mark_defaults_created(workspace_id, now)
    return store.list_playbooks(workspace_id, consistent=True).playbooks


# The playbooks function evaluates every customer's daily score: it keeps a workspace's compiled
# playbooks for a few seconds. A change made in this container clears them at once; another
# container's change applies within CACHE_SECONDS. Entries remember the settings object they were
# read under, so a reset environment (tests, local stack) never reuses them.
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class _Cached:
    playbooks: list[CompiledPlaybook]
    expires: float
    settings: Settings


_enabled_cache: dict[str, _Cached] = {}


def forget_cached(workspace_id: str | None = None) -> None:
    if workspace_id is None:
        _enabled_cache.clear()
    else:
        _enabled_cache.pop(workspace_id, None)


def enabled_playbooks(workspace_id: str) -> list[CompiledPlaybook]:
    """The workspace's enabled playbooks, compiled (defaults created on first use)."""
    entry = _enabled_cache.get(workspace_id)
    if entry is not None and entry.settings is get_settings() and entry.expires > time.monotonic():
        return entry.playbooks
    compiled = [compile_stored(p) for p in ensure_default_playbooks(workspace_id) if p.definition.enabled]
    _enabled_cache[workspace_id] = _Cached(compiled, time.monotonic() + CACHE_SECONDS, get_settings())
    return compiled


# --- CRUD ---------------------------------------------------------------------------------------
def list_playbooks(caller: Caller) -> list[Playbook]:
    return ensure_default_playbooks(caller.workspace_id)


def get_playbook(caller: Caller, playbook_id: str) -> Playbook:
    ensure_default_playbooks(caller.workspace_id)
    return store.require_playbook(caller.workspace_id, playbook_id)


def create_playbook(caller: Caller, body: PlaybookIn) -> Playbook:
    existing = ensure_default_playbooks(caller.workspace_id)
    if len(existing) >= rules.MAX_PLAYBOOKS:
        raise InvalidInput(
            f"A workspace has at most {rules.MAX_PLAYBOOKS} playbooks", [{"field": "name", "issue": "too many"}]
        )
    definition = PlaybookDefinition.model_validate(body.model_dump(mode="json"), strict=False)
    definition = _normalised(definition, workspace_fields(caller.workspace_id))
    _check_references(caller.workspace_id, definition)
    now = clock.iso(clock.now())
    playbook = Playbook(
        playbook_id=ids.new_id("pb"),
        workspace_id=caller.workspace_id,
        definition=definition,
        version=1,
        created_at=now,
        created_by=caller.user_id,
        updated_at=now,
        updated_by=caller.user_id,
    )
    entry = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "playbook.created",
        _target(playbook.playbook_id),
        None,
        {"version": 1, **definition.model_dump(mode="json")},
    )
    if not store.create_playbook(playbook, audit=entry):
        raise Conflict("Playbook id collision; retry", [{"field": "playbook_id", "issue": "taken"}])
    forget_cached(caller.workspace_id)
    return playbook


REQUIRED_ON_PATCH = ("name", "enabled", "trigger", "actions", "reenrollment")


def update_playbook(caller: Caller, playbook_id: str, body: PlaybookPatchIn) -> Playbook:
    changes = body.changes()
    for name in REQUIRED_ON_PATCH:
        if name in changes and changes[name] is None:
            raise InvalidInput(f"Invalid body: {name} cannot be null", [{"field": name, "issue": "cannot be null"}])
    current = get_playbook(caller, playbook_id)
    if body.version is not None and body.version != current.version:
        raise Conflict(
            f"Playbook is at version {current.version}, not {body.version}",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        )
    merged = {**current.definition.model_dump(mode="json"), **_plain(changes)}
    definition = PlaybookDefinition.model_validate(merged, strict=False)
    definition = _normalised(definition, workspace_fields(caller.workspace_id))
    if definition == current.definition:
        return current  # nothing changed: no new version
    _check_references(caller.workspace_id, definition, current.definition)
    after = current.model_copy(
        update={
            "definition": definition,
            "version": current.version + 1,
            "updated_at": clock.iso(clock.now()),
            "updated_by": caller.user_id,
        }
    )
    updated = store.update_playbook(current, after, audit=_update_entry(caller, current, after))
    forget_cached(caller.workspace_id)
    return updated


def _check_references(
    workspace_id: str, definition: PlaybookDefinition, current: PlaybookDefinition | None = None
) -> None:
    """What a step names exists now. A task step's `user:<id>` assignee works the task: an active user
    of the workspace, not a viewer (400 naming `actions.<n>.assignee`). An `apply_blueprint` step names
    a blueprint of the workspace or a built-in one (copied on first use): otherwise every run of the
    step would be skipped (400 naming `actions.<n>.blueprint`). What the playbook already named is kept
    as it is, so an edit does not fail on someone deactivated or a blueprint deleted since."""
    before = current.actions if current else []
    named = {a.assignee for a in before if isinstance(a, rules.TaskAction)}
    blueprints = {a.blueprint.lower() for a in before if isinstance(a, rules.ApplyBlueprintAction)}
    assignees = [
        (f"actions.{n}.assignee", action.assignee.removeprefix("user:"))
        for n, action in enumerate(definition.actions)
        if isinstance(action, rules.TaskAction) and action.assignee.startswith("user:") and action.assignee not in named
    ]
    user_references.check(workspace_id, assignees, works=True)
    wanted = [
        (n, action.blueprint)
        for n, action in enumerate(definition.actions)
        if isinstance(action, rules.ApplyBlueprintAction) and action.blueprint.lower() not in blueprints
    ]
    if not wanted:
        return
    known = {b.definition.name.lower() for b in blueprint_store.list_blueprints(workspace_id)} | set(DEFAULT_BLUEPRINTS)
    refused = [
        {"field": f"actions.{n}.blueprint", "issue": f"{name} is not a blueprint of this workspace"}
        for n, name in wanted
        if name.lower() not in known
    ]
    if refused:
        raise InvalidInput(f"Invalid body: check {', '.join(p['field'] for p in refused)}", refused)


def _target(playbook_id: str) -> str:
    return f"playbook:{playbook_id}"


def _update_entry(caller: Caller, before: Playbook, after: Playbook) -> audit_store.AuditItem:
    """The audit entry of an edit: only the changed definition fields; a change of `enabled` alone is
    recorded as `playbook.enabled` / `playbook.disabled`."""
    old, new = before.definition.model_dump(mode="json"), after.definition.model_dump(mode="json")
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    action = "playbook.updated"
    if changed == ["enabled"]:
        action = "playbook.enabled" if new["enabled"] else "playbook.disabled"
    return audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        action,
        _target(after.playbook_id),
        {"version": before.version, **{k: old.get(k) for k in changed}},
        {"version": after.version, **{k: new.get(k) for k in changed}},
    )


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if hasattr(value, "model_dump"):
            out[name] = value.model_dump(mode="json")
        elif isinstance(value, list):
            out[name] = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
        else:
            out[name] = value
    return out


def delete_playbook(caller: Caller, playbook_id: str) -> None:
    ensure_default_playbooks(caller.workspace_id)
    before = store.get_playbook(caller.workspace_id, playbook_id)
    store.delete_playbook(caller.workspace_id, playbook_id)
    forget_cached(caller.workspace_id)
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "playbook.deleted",
        _target(playbook_id),
        {"version": before.version, "name": before.definition.name} if before else None,
        None,
    )


def list_versions(caller: Caller, playbook_id: str) -> list[Playbook]:
    get_playbook(caller, playbook_id)
    return store.list_versions(caller.workspace_id, playbook_id)


# --- runs ---------------------------------------------------------------------------------------
def list_runs(caller: Caller, playbook_id: str, query: RunListQuery) -> RunListOut:
    """A playbook's runs. A CSM sees the runs of the customers they own or co-own."""
    get_playbook(caller, playbook_id)
    page = store.list_runs(
        caller.workspace_id, playbook_id, limit=query.limit, cursor=query.cursor, customer_id=query.customer_id
    )
    items = page.items
    if permissions.sees_portfolio_only(caller):
        mine: dict[str, bool] = {}
        for run in items:
            if run.customer_id not in mine:
                row = profile_store.get_health_row(caller.workspace_id, run.customer_id)
                mine[run.customer_id] = row is not None and permissions.can_see_customer(caller, row.customer)
        items = [r for r in items if mine[r.customer_id]]
    return RunListOut(items=[RunOut.of(r) for r in items], next_cursor=page.next_cursor)


def summary_lines(workspace_id: str, examples: int = 2) -> list[str]:
    """What fired in a workspace, one line per playbook plus a few examples (for `make run`):
    `Renewal: 14 runs, 56 tasks` / `  Initech: renewal_date 2027-01-19 is 60 days before …`."""
    lines = []
    for playbook in ensure_default_playbooks(workspace_id):
        runs: list[store.Run] = []
        cursor: str | None = None
        while True:
            page = store.list_runs(workspace_id, playbook.playbook_id, limit=200, cursor=cursor)
            runs.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        outcomes = Counter((str(o.get("action")), str(o.get("status"))) for run in runs for o in run.outcomes.values())
        done = ", ".join(f"{n} {action}" for (action, status), n in sorted(outcomes.items()) if status == "done")
        state = "" if playbook.definition.enabled else " (disabled)"
        lines.append(f"{playbook.definition.name}{state}: {len(runs)} runs" + (f", {done}" if done else ""))
        for run in sorted(runs, key=lambda r: r.enrolled_at, reverse=True)[:examples]:
            lines.append(f"  {run.customer_name or run.customer_id}: {run.reason}")
    return lines


# --- dry run ------------------------------------------------------------------------------------
def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dry_run(caller: Caller, playbook_id: str, query: DryRunQuery) -> DryRunOut:
    """Evaluate the playbook for every customer (a csm or viewer: their book) as if its daily evaluation ran
    now, against each customer's stored standing. Reads only: no run, state, task or message."""
    workspace_id = caller.workspace_id
    playbook = get_playbook(caller, playbook_id)
    compiled = compile_stored(playbook)
    today = clock.today()
    occurrence = Occurrence("dry_run", today, {})
    users = evaluation.active_users(workspace_id)
    book = permissions.portfolio_of(caller)  # a csm or viewer: what they own or co-own
    rows = [row for row, _ in profile_store.iter_health_rows(workspace_id, portfolio_of=book)]
    entering: list[DryRunEntryOut] = []
    not_entering: Counter[str] = Counter()
    matching_conditions = 0
    for chunk in _chunks(rows, STATE_BATCH):
        states = store.get_states(workspace_id, playbook_id, [r.customer.customer_id for r in chunk])
        for row in chunk:
            state = states.get(row.customer.customer_id, EnrolmentState())
            decision = evaluation.decide(compiled, row, state, occurrence)
            if compiled.conditions is None or conditions.evaluate(compiled.conditions, row.record):
                matching_conditions += 1
            if not decision.enter:
                not_entering[decision.code] += 1
                continue
            assert decision.episode is not None and decision.start_on is not None
            steps = []
            for step in rules.plan_steps(playbook.definition, decision.start_on, today):
                assignee = None
                if step.action == "task":
                    assignee = rules.resolve_assignee(
                        str(step.params.get("assignee", "owner")),
                        row.customer.owner_id,
                        row.customer.co_owner_ids,
                        users,
                    )
                params = {**step.params, "title": evaluation.render_for(step.params.get("title"), row, playbook)}
                steps.append(
                    PlannedStepOut(
                        index=step.index,
                        action=step.action,
                        summary=rules.step_summary(step.action, params, assignee),
                        due_date=step.params.get("due_date"),
                        assignee=assignee,
                        not_before=step.not_before,
                    )
                )
            entering.append(
                DryRunEntryOut(
                    customer_id=row.customer.customer_id,
                    name=row.customer.name,
                    owner_id=row.customer.owner_id,
                    reason=decision.reason,
                    episode=decision.episode,
                    start_on=decision.start_on,
                    steps=steps,
                )
            )
    note = None
    if not_entering.get("waits_for_event"):
        note = (
            f"This playbook starts {rules.describe_trigger(playbook.definition)}: a dry run cannot foresee that "
            f"event. {matching_conditions} of {len(rows)} customers meet its conditions now."
        )
    if not playbook.definition.enabled:
        note = ((note + " ") if note else "") + "The playbook is disabled: nobody enters it until it is enabled."
    return DryRunOut(
        playbook_id=playbook.playbook_id,
        version=playbook.version,
        enabled=playbook.definition.enabled,
        as_of=today,
        evaluated=len(rows),
        entering_count=len(entering),
        entering=entering[: query.limit],
        not_entering=dict(sorted(not_entering.items())),
        note=note,
    )


# --- the Slack channel --------------------------------------------------------------------------
def set_slack_webhook(caller: Caller, body: SlackSettingsIn) -> SlackSettingsOut:
    url = rules.check_slack_webhook_url(body.webhook_url, allow_loopback=get_settings().is_local)
    if workspaces.get_workspace(caller.workspace_id) is None:
        raise InvalidInput("The workspace does not exist", [{"field": "workspace_id", "issue": "unknown"}])
    secrets.put_secret(
        keys.slack_webhook_secret_name(caller.workspace_id), url, description="Keepwell: Slack incoming webhook URL"
    )
    was_configured = bool(notification_store.slack_settings(caller.workspace_id))
    now = clock.iso(clock.now())
    notification_store.record_slack_configured(caller.workspace_id, by=caller.user_id, at_iso=now)
    # The incoming-webhook URL is a credential: the entry says only that it was set or replaced.
    audit_store.record_audit(
        caller.workspace_id,
        caller.user_id,
        "slack.configured",
        "workspace:slack",
        {"configured": was_configured},
        {"configured": True, "secret_state": "rotated" if was_configured else "set"},
    )
    return SlackSettingsOut(configured=True, configured_by=caller.user_id, configured_at=now)


def get_slack_settings(caller: Caller) -> SlackSettingsOut:
    settings = notification_store.slack_settings(caller.workspace_id)
    if not settings:
        return SlackSettingsOut(configured=False)
    return SlackSettingsOut(
        configured=True, configured_by=settings.get("configured_by"), configured_at=settings.get("configured_at")
    )


def slack_webhook_url(workspace_id: str) -> str | None:
    return secrets.get_secret(keys.slack_webhook_secret_name(workspace_id))
