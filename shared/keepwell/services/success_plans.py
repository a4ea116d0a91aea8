"""Success plans (issue 21): product capabilities and their usage, blueprints, each customer's plan,
outcomes, and the risk signals raised at scoring time. Roles are checked by the routes (the
permission table); the portfolio rule is checked here: another CSM's customer reads as not found.
Every change writes an audit entry in the same transaction. See docs/success-plans.md.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from keepwell import clock, ids
from keepwell.auth import Caller
from keepwell.domain import capabilities as caps
from keepwell.domain import success_plans as plans
from keepwell.domain.customers import Customer
from keepwell.domain.tasks import Task
from keepwell.errors import Conflict, InvalidInput, NotFound, from_validation_error
from keepwell.schemas.success_plans import (
    AchieveIn,
    ApplyBlueprintIn,
    BlueprintIn,
    BlueprintOut,
    BlueprintPatchIn,
    CapabilityIn,
    CapabilityOut,
    CapabilityPatchIn,
    CapabilityUsageOut,
    CustomerCapabilitiesOut,
    EngagementCloseIn,
    EngagementOpenIn,
    EngagementsOut,
    OutcomeIn,
    PlanIn,
    PlanOut,
    ShareCreatedOut,
    SharedPlanOut,
    ShareIn,
    ShareOut,
)
from keepwell.services import user_references
from keepwell.services.customers import visible_customer
from keepwell.services.success_signals import SYSTEM_ACTOR, clear_done_milestones
from keepwell.services.success_signals import timeline_entry as _timeline
from keepwell.storage import audit as audit_store
from keepwell.storage import customers as customer_store
from keepwell.storage import success_plans as store
from keepwell.storage import tasks as task_store
from keepwell.storage import timeline as timeline_store
from keepwell.storage.models import TableItem

MAX_CAPABILITIES = 100
MAX_BLUEPRINTS = 100


# --- capabilities -----------------------------------------------------------------------------------
def capability_out(stored: store.StoredCapability) -> CapabilityOut:
    c = stored.capability
    return CapabilityOut(
        capability_id=c.capability_id,
        key=c.key,
        name=c.name,
        product=c.product,
        features=list(c.features),
        threshold_days=c.threshold_days,
        window_days=c.window_days,
        updated_at=stored.updated_at,
        version=stored.version,
    )


def _audited_capability(stored: store.StoredCapability) -> dict[str, Any]:
    return capability_out(stored).model_dump(exclude={"updated_at", "version"})


def list_capabilities(caller: Caller) -> list[store.StoredCapability]:
    return list(store.get_capabilities(caller.workspace_id).items)


def get_capability(caller: Caller, capability_id: str) -> store.StoredCapability:
    return store.get_capabilities(caller.workspace_id).find(capability_id)


def _check_window(threshold: int, window: int) -> None:
    if threshold > window:
        raise InvalidInput(
            f"Invalid body: threshold_days ({threshold}) exceeds window_days ({window})",
            [{"field": "threshold_days", "issue": "more days than the window holds"}],
        )


def create_capability(caller: Caller, body: CapabilityIn) -> store.StoredCapability:
    current = store.get_capabilities(caller.workspace_id)
    if any(s.capability.key == body.key for s in current.items):
        raise Conflict(f"A capability with key '{body.key}' exists", [{"field": "key", "issue": "already used"}])
    if len(current.items) >= MAX_CAPABILITIES:
        raise InvalidInput(
            f"A workspace has at most {MAX_CAPABILITIES} capabilities", [{"field": "key", "issue": "too many"}]
        )
    _check_window(body.threshold_days, body.window_days)
    stored = store.StoredCapability(
        caps.Capability(
            capability_id=ids.new_id("cap"),
            key=body.key,
            name=body.name,
            product=body.product,
            features=tuple(dict.fromkeys(body.features)),
            threshold_days=body.threshold_days,
            window_days=body.window_days,
        ),
        clock.iso(clock.now()),
        1,
    )
    audit = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "capability.created",
        f"capability:{stored.capability.capability_id}",
        None,
        _audited_capability(stored),
    )
    store.put_capabilities(caller.workspace_id, [*current.items, stored], audit, seen=current.revision)
    return stored


def update_capability(caller: Caller, capability_id: str, body: CapabilityPatchIn) -> store.StoredCapability:
    current_set = store.get_capabilities(caller.workspace_id)
    current = current_set.find(capability_id)
    _precondition(body.version, current.version, "capability")
    for name in ("name", "product", "features", "threshold_days", "window_days"):
        if name in body.model_fields_set and getattr(body, name) is None:
            raise InvalidInput(f"Invalid body: {name} cannot be null", [{"field": name, "issue": "cannot be null"}])
    c = current.capability
    changed = caps.Capability(
        capability_id=c.capability_id,
        key=c.key,
        name=body.name if body.name is not None else c.name,
        product=body.product if body.product is not None else c.product,
        features=tuple(dict.fromkeys(body.features)) if body.features is not None else c.features,
        threshold_days=body.threshold_days if body.threshold_days is not None else c.threshold_days,
        window_days=body.window_days if body.window_days is not None else c.window_days,
    )
    _check_window(changed.threshold_days, changed.window_days)
    if changed == c:
        return current
    after = store.StoredCapability(changed, clock.iso(clock.now()), current.version + 1)
    audit = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "capability.updated",
        f"capability:{capability_id}",
        _audited_capability(current),
        _audited_capability(after),
    )
    items = [after if s.capability.capability_id == capability_id else s for s in current_set.items]
    store.put_capabilities(caller.workspace_id, items, audit, seen=current_set.revision)
    return after


def delete_capability(caller: Caller, capability_id: str) -> None:
    current_set = store.get_capabilities(caller.workspace_id)
    current = current_set.find(capability_id)
    audit = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "capability.deleted",
        f"capability:{capability_id}",
        _audited_capability(current),
        None,
    )
    items = [s for s in current_set.items if s.capability.capability_id != capability_id]
    store.put_capabilities(caller.workspace_id, items, audit, seen=current_set.revision)


def customer_capabilities(caller: Caller, customer_id: str) -> CustomerCapabilitiesOut:
    """A customer's capability usage as of its last scoring (every defined capability listed)."""
    visible_customer(caller, customer_id)
    usage = store.get_capability_usage(caller.workspace_id, customer_id)
    defined = {s.capability.key: s.capability for s in store.get_capabilities(caller.workspace_id).items}
    items = []
    for key in [*defined, *(k for k in usage if k not in defined)]:
        found = usage.get(key, caps.CapabilityUsage("not_yet", None, 0))
        capability = defined.get(key)
        items.append(
            CapabilityUsageOut(
                key=key,
                name=capability.name if capability else None,
                product=capability.product if capability else None,
                state=found.state,
                since=found.since,
                used_days=found.used_days,
            )
        )
    return CustomerCapabilitiesOut(customer_id=customer_id, items=items)


# --- blueprints ---------------------------------------------------------------------------------------
def blueprint_out(stored: store.StoredBlueprint) -> BlueprintOut:
    return BlueprintOut(
        **stored.definition.model_dump(),
        blueprint_id=stored.blueprint_id,
        created_at=stored.created_at,
        created_by=stored.created_by,
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
        version=stored.version,
    )


def list_blueprints(caller: Caller) -> list[store.StoredBlueprint]:
    return store.list_blueprints(caller.workspace_id)


def get_blueprint(caller: Caller, blueprint_id: str) -> store.StoredBlueprint:
    return store.get_blueprint(caller.workspace_id, blueprint_id)


def blueprint_versions(caller: Caller, blueprint_id: str) -> list[store.StoredBlueprint]:
    store.get_blueprint(caller.workspace_id, blueprint_id)  # 404 for a deleted or unknown blueprint
    return store.list_blueprint_versions(caller.workspace_id, blueprint_id)


def create_blueprint(caller: Caller, body: BlueprintIn, *, blueprint_id: str | None = None) -> store.StoredBlueprint:
    existing = store.list_blueprints(caller.workspace_id)
    if any(b.definition.name.lower() == body.name.lower() for b in existing):
        raise Conflict(f"A blueprint named '{body.name}' exists", [{"field": "name", "issue": "already used"}])
    if len(existing) >= MAX_BLUEPRINTS:
        raise InvalidInput(
            f"A workspace has at most {MAX_BLUEPRINTS} blueprints", [{"field": "name", "issue": "too many"}]
        )
    now = clock.iso(clock.now())
    stored = store.StoredBlueprint(
        blueprint_id=blueprint_id or ids.new_id("bpr"),
        definition=plans.BlueprintDefinition.model_validate(body.model_dump()),
        created_at=now,
        created_by=caller.user_id,
        updated_at=now,
        updated_by=caller.user_id,
        version=1,
    )
    audit = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "blueprint.created",
        f"blueprint:{stored.blueprint_id}",
        None,
        stored.definition.model_dump(mode="json"),
    )
    store.put_blueprint(caller.workspace_id, stored, audit, expected=None)
    return stored


def update_blueprint(caller: Caller, blueprint_id: str, body: BlueprintPatchIn) -> store.StoredBlueprint:
    current = store.get_blueprint(caller.workspace_id, blueprint_id)
    _precondition(body.version, current.version, "blueprint")
    sent = body.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("name", "objectives"):
        if name in sent and sent[name] is None:
            raise InvalidInput(f"Invalid body: {name} cannot be null", [{"field": name, "issue": "cannot be null"}])
    renamed = "name" in sent and sent["name"].lower() != current.definition.name.lower()
    if renamed and any(
        b.definition.name.lower() == sent["name"].lower() for b in store.list_blueprints(caller.workspace_id)
    ):
        raise Conflict(f"A blueprint named '{sent['name']}' exists", [{"field": "name", "issue": "already used"}])
    try:
        definition = plans.BlueprintDefinition.model_validate({**current.definition.model_dump(), **sent})
    except ValidationError as error:
        raise from_validation_error(error) from error
    if definition == current.definition:
        return current
    after = store.StoredBlueprint(
        blueprint_id=blueprint_id,
        definition=definition,
        created_at=current.created_at,
        created_by=current.created_by,
        updated_at=clock.iso(clock.now()),
        updated_by=caller.user_id,
        version=current.version + 1,
    )
    audit = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "blueprint.updated",
        f"blueprint:{blueprint_id}",
        current.definition.model_dump(mode="json"),
        definition.model_dump(mode="json"),
    )
    store.put_blueprint(caller.workspace_id, after, audit, expected=current.version)
    return after


def delete_blueprint(caller: Caller, blueprint_id: str) -> None:
    current = store.get_blueprint(caller.workspace_id, blueprint_id)
    audit = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "blueprint.deleted",
        f"blueprint:{blueprint_id}",
        current.definition.model_dump(mode="json"),
        None,
    )
    store.delete_blueprint(caller.workspace_id, blueprint_id, audit)


# --- a customer's plan -----------------------------------------------------------------------------------
def _precondition(sent: int | None, current: int, what: str) -> None:
    if sent is not None and sent != current:
        raise Conflict(
            f"The {what} is at version {current}, not {sent}",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        )


def plan_out(stored: store.StoredPlan, today: date | None = None) -> PlanOut:
    plan = stored.plan
    overdue = plans.overdue_milestones(plan, today or clock.today())
    return PlanOut(
        customer_id=plan.customer_id,
        name=plan.name,
        blueprint_id=plan.blueprint_id,
        blueprint_version=plan.blueprint_version,
        start_date=plan.start_date,
        objectives=plan.objectives,
        overdue=[m.milestone_id for m in overdue],
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
        version=stored.version,
    )


def _no_plan(customer_id: str) -> NotFound:
    return NotFound(f"Customer {customer_id} has no success plan", [{"field": "customer_id", "issue": "no plan"}])


def get_plan(caller: Caller, customer_id: str) -> store.StoredPlan:
    visible_customer(caller, customer_id)
    stored = store.get_plan(caller.workspace_id, customer_id)
    if stored is None:
        raise _no_plan(customer_id)
    return stored


def _audit(caller: Caller, action: str, customer_id: str, before: Any, after: Any, reason: str | None = None) -> Any:
    return audit_store.audit_item(
        caller.workspace_id, caller.user_id, action, f"success_plan:{customer_id}", before, after, reason
    )


def _plan_json(plan: plans.Plan | None) -> dict[str, Any] | None:
    return plan.model_dump(mode="json") if plan is not None else None


def _check_version_for_replace(existing: store.StoredPlan | None, version: int | None) -> int | None:
    """A replace names the version it read; a create names none."""
    if existing is None:
        if version is not None:
            raise Conflict(
                "The customer has no success plan yet; leave version out to create one",
                [{"field": "version", "issue": "no plan"}],
                code="version_conflict",
            )
        return None
    if version is None:
        raise InvalidInput(
            "Invalid body: version is required to replace an existing success plan",
            [{"field": "version", "issue": "required to replace the plan"}],
        )
    _precondition(version, existing.version, "success plan")
    return existing.version


def put_plan(caller: Caller, customer_id: str, body: PlanIn) -> store.StoredPlan:
    """Create or replace the plan by hand. Outcomes and achievements of objectives kept (by id) are
    carried over: they are recorded through their own routes, not rewritten."""
    customer = visible_customer(caller, customer_id)
    existing = store.get_plan(caller.workspace_id, customer_id)
    expected = _check_version_for_replace(existing, body.version)
    known = {o.objective_id: o for o in existing.plan.objectives} if existing else {}
    known_initiatives = {i.initiative_id: i.owner_id for o in known.values() for i in o.initiatives}
    _check_initiative_owners(caller.workspace_id, body, known_initiatives)
    _check_task_links(caller.workspace_id, customer_id, body, existing.plan if existing else None)
    objectives = []
    for n, o in enumerate(body.objectives):
        if o.objective_id is not None and o.objective_id not in known:
            raise InvalidInput(
                f"Invalid body: objective {o.objective_id} is not in the plan",
                [{"field": f"objectives.{n}.objective_id", "issue": "not in the plan"}],
            )
        initiatives = []
        for m, i in enumerate(o.initiatives):
            if i.initiative_id is not None and i.initiative_id not in known_initiatives:
                raise InvalidInput(
                    f"Invalid body: initiative {i.initiative_id} is not in the plan",
                    [{"field": f"objectives.{n}.initiatives.{m}.initiative_id", "issue": "not in the plan"}],
                )
            initiatives.append(
                plans.Initiative(
                    **i.model_dump(exclude={"initiative_id", "owner_id"}),
                    initiative_id=i.initiative_id or ids.new_id("ini"),
                    owner_id=i.owner_id or customer.owner_id,
                )
            )
        before = known.get(o.objective_id or "")
        try:
            objective = plans.Objective(
                **o.model_dump(exclude={"objective_id", "initiatives"}),
                objective_id=o.objective_id or ids.new_id("obj"),
                initiatives=initiatives,
                status=before.status if before else "open",
                achieved_on=before.achieved_on if before else None,
                achieved_reason=before.achieved_reason if before else None,
                outcomes=before.outcomes if before else [],
            )
            plans.check_measure(objective.metric, objective.target, objective.baseline)
        except (ValidationError, ValueError) as error:
            raise InvalidInput(
                f"Invalid body: objectives.{n}: metric and target go together",
                [{"field": f"objectives.{n}.target", "issue": "metric and target go together"}],
            ) from error
        objectives.append(objective)
    plan = plans.Plan(
        customer_id=customer_id,
        name=body.name,
        blueprint_id=existing.plan.blueprint_id if existing else None,
        blueprint_version=existing.plan.blueprint_version if existing else None,
        start_date=body.start_date,
        objectives=objectives,
    )
    try:
        plans.check_plan_limits(plan)
    except ValueError as error:
        raise InvalidInput(f"Invalid body: {error}", [{"field": "objectives", "issue": str(error)}]) from error
    stored = store.StoredPlan(plan, clock.iso(clock.now()), caller.user_id, (existing.version + 1) if existing else 1)
    action = "success_plan.updated" if existing else "success_plan.created"
    audit = _audit(caller, action, customer_id, _plan_json(existing.plan if existing else None), _plan_json(plan))
    store.put_plan(caller.workspace_id, stored, [audit], expected=expected)
    clear_done_milestones(caller.workspace_id, existing.plan if existing else None, plan, clock.today())
    return stored


def _check_initiative_owners(workspace_id: str, body: PlanIn, known: dict[str, str | None]) -> None:
    """An initiative's owner works it: an active user of the workspace, not a viewer (400 naming
    `objectives.<n>.initiatives.<m>.owner_id`). An owner the initiative already had is kept as it is."""
    references = [
        (f"objectives.{n}.initiatives.{m}.owner_id", i.owner_id)
        for n, o in enumerate(body.objectives)
        for m, i in enumerate(o.initiatives)
        if i.owner_id is not None and (i.initiative_id, i.owner_id) not in known.items()
    ]
    user_references.check(workspace_id, references, works=True)


def _check_task_links(workspace_id: str, customer_id: str, body: PlanIn, existing: plans.Plan | None) -> None:
    """An initiative links tasks of the plan's customer only: any other id (unknown, another workspace's,
    another customer's — inside the caller's book or not) is the same 400 naming
    `objectives.<n>.initiatives.<m>.task_ids.<k>`, so a link never tells which task ids exist. Links the
    plan already has are kept as they are."""
    linked = plans.task_ids(existing) if existing else set()
    new = [
        (f"objectives.{n}.initiatives.{m}.task_ids.{k}", task_id)
        for n, o in enumerate(body.objectives)
        for m, i in enumerate(o.initiatives)
        for k, task_id in enumerate(i.task_ids)
        if task_id not in linked
    ]
    if not new:
        return
    customers = task_store.task_customers(workspace_id, (task_id for _, task_id in new))
    refused = [
        {"field": field, "issue": f"{task_id} is not a task of this customer"}
        for field, task_id in new
        if task_id not in customers or customers[task_id] != customer_id
    ]
    if refused:
        raise InvalidInput(f"Invalid body: check {', '.join(p['field'] for p in refused)}", refused)


def apply_blueprint(caller: Caller, customer_id: str, body: ApplyBlueprintIn) -> store.StoredPlan:
    """The blueprint's current version applied from `start_date`: its objectives and initiatives with
    due dates relative to the start, and its success tasks created as ordinary tasks (owned by the
    customer's owner) linked from their initiative — plan, tasks and audit entry in one transaction."""
    customer = visible_customer(caller, customer_id)
    try:
        blueprint = store.get_blueprint(caller.workspace_id, body.blueprint_id)
    except NotFound:
        raise InvalidInput(
            f"Invalid body: no blueprint {body.blueprint_id}", [{"field": "blueprint_id", "issue": "not found"}]
        ) from None
    existing = store.get_plan(caller.workspace_id, customer_id)
    expected = _check_version_for_replace(existing, body.version)
    return _apply(
        caller.workspace_id, caller.user_id, customer, blueprint, body.start_date or clock.today(), existing, expected
    )


def _apply(
    workspace_id: str,
    actor: str,
    customer: Customer,
    blueprint: store.StoredBlueprint,
    start: date,
    existing: store.StoredPlan | None,
    expected: int | None,
) -> store.StoredPlan:
    plan, drafts = plans.apply_blueprint(
        blueprint.definition,
        customer_id=customer.customer_id,
        start=start,
        owner_id=customer.owner_id,
        new_id=ids.new_id,
        blueprint_id=blueprint.blueprint_id,
        blueprint_version=blueprint.version,
    )
    now = clock.iso(clock.now())
    tasks: list[TableItem] = [
        task_store.to_item(
            Task(
                task_id=d.task_id,
                workspace_id=workspace_id,
                title=d.title,
                description=f"Success plan: {plan.name}",
                owner_id=customer.owner_id,
                due_date=d.due_date,
                customer_id=customer.customer_id,
                source="manual",
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
        )
        for d in drafts
    ]
    stored = store.StoredPlan(plan, now, actor, (existing.version + 1) if existing else 1)
    audit = audit_store.audit_item(
        workspace_id,
        actor,
        "success_plan.applied",
        f"success_plan:{customer.customer_id}",
        _plan_json(existing.plan if existing else None),
        _plan_json(plan),
        f"blueprint {blueprint.blueprint_id} v{blueprint.version}",
    )
    store.put_plan(workspace_id, stored, [audit, *tasks], expected=expected)
    return stored


def apply_for_playbook(workspace_id: str, customer: Customer, blueprint_name: str, start: date) -> bool:
    """The onboarding playbook's step: apply the named blueprint unless the customer has a plan.
    False when there is nothing to do (no such blueprint, or a plan exists)."""
    if store.get_plan(workspace_id, customer.customer_id) is not None:
        return False
    found = [b for b in store.list_blueprints(workspace_id) if b.definition.name.lower() == blueprint_name.lower()]
    if not found and blueprint_name.lower() in plans.DEFAULT_BLUEPRINTS:
        found = [_seed_default(workspace_id, plans.DEFAULT_BLUEPRINTS[blueprint_name.lower()])]
    if not found:
        return False
    _apply(workspace_id, SYSTEM_ACTOR, customer, found[0], start, None, None)
    return True


def _seed_default(workspace_id: str, definition: plans.BlueprintDefinition) -> store.StoredBlueprint:
    """A workspace's copy of a built-in blueprint (the default onboarding playbook's "Onboarding"),
    made the first time it is needed; from then on it is the workspace's to edit. Its id is fixed, so
    two playbook steps racing to make it make one."""
    blueprint_id = "bpr_default_" + definition.name.lower().replace(" ", "_")
    now = clock.iso(clock.now())
    stored = store.StoredBlueprint(blueprint_id, definition, now, SYSTEM_ACTOR, now, SYSTEM_ACTOR, 1)
    audit = audit_store.audit_item(
        workspace_id,
        SYSTEM_ACTOR,
        "blueprint.created",
        f"blueprint:{blueprint_id}",
        None,
        definition.model_dump(mode="json"),
    )
    try:
        store.put_blueprint(workspace_id, stored, audit, expected=None)
    except Conflict:
        return store.get_blueprint(workspace_id, blueprint_id)
    return stored


def seed_default_blueprints(workspace_id: str) -> list[store.StoredBlueprint]:
    """The built-in blueprints a workspace does not have yet (the demo seed calls it)."""
    names = {b.definition.name.lower() for b in store.list_blueprints(workspace_id)}
    return [_seed_default(workspace_id, d) for key, d in plans.DEFAULT_BLUEPRINTS.items() if key not in names]


def delete_plan(caller: Caller, customer_id: str) -> None:
    stored = get_plan(caller, customer_id)
    store.delete_plan(
        caller.workspace_id,
        customer_id,
        _audit(caller, "success_plan.deleted", customer_id, _plan_json(stored.plan), None),
    )


def _objective(stored: store.StoredPlan, objective_id: str) -> plans.Objective:
    found = plans.find_objective(stored.plan, objective_id)
    if found is None:
        raise NotFound(f"No objective {objective_id}", [{"field": "objective_id", "issue": "not found"}])
    return found


def record_outcome(caller: Caller, customer_id: str, objective_id: str, body: OutcomeIn) -> store.StoredPlan:
    if body.value is None and not body.note:
        raise InvalidInput(
            "Invalid body: an outcome needs a value or a note", [{"field": "value", "issue": "value or note required"}]
        )
    stored = get_plan(caller, customer_id)
    _precondition(body.version, stored.version, "success plan")
    objective = _objective(stored, objective_id)
    day = body.recorded_on or clock.today()
    outcome = plans.Outcome(
        outcome_id=ids.new_id("out"), recorded_on=day, value=body.value, note=body.note, recorded_by=caller.user_id
    )
    after = plans.record_outcome(objective, outcome)
    updated = _save_objective(caller, customer_id, stored, objective, after, "success_plan.outcome_recorded", day)
    entries = [
        _timeline(customer_id, f"Outcome recorded: {objective.title}", "outcome", day, outcome.outcome_id, body.note)
    ]
    if after.status == "achieved" and objective.status != "achieved":
        entries.append(_timeline(customer_id, f"Objective achieved: {objective.title}", "achieved", day, objective_id))
    timeline_store.add_timeline_items(caller.workspace_id, entries)
    return updated


def _save_objective(
    caller: Caller,
    customer_id: str,
    stored: store.StoredPlan,
    before: plans.Objective,
    after: plans.Objective,
    action: str,
    day: date,
    reason: str | None = None,
) -> store.StoredPlan:
    """The plan with one objective changed, as the next version (conditioned on the one read), audited
    with the objective before and after; milestones the change completed are cleared."""
    plan = plans.replace_objective(stored.plan, after)
    updated = store.StoredPlan(plan, clock.iso(clock.now()), caller.user_id, stored.version + 1)
    audit = _audit(caller, action, customer_id, before.model_dump(mode="json"), after.model_dump(mode="json"), reason)
    store.put_plan(caller.workspace_id, updated, [audit], expected=stored.version)
    clear_done_milestones(caller.workspace_id, stored.plan, plan, day)
    return updated


def achieve_objective(caller: Caller, customer_id: str, objective_id: str, body: AchieveIn) -> store.StoredPlan:
    """Mark an objective achieved by hand, with the reason (audited)."""
    stored = get_plan(caller, customer_id)
    _precondition(body.version, stored.version, "success plan")
    objective = _objective(stored, objective_id)
    if objective.status == "achieved":
        raise Conflict(
            f"Objective {objective_id} is already achieved", [{"field": "objective_id", "issue": "achieved"}]
        )
    today = clock.today()
    after = objective.model_copy(update={"status": "achieved", "achieved_on": today, "achieved_reason": body.reason})
    updated = _save_objective(
        caller, customer_id, stored, objective, after, "success_plan.objective_achieved", today, body.reason
    )
    timeline_store.add_timeline_items(
        caller.workspace_id,
        [
            _timeline(
                customer_id, f"Objective achieved: {objective.title}", "achieved", today, objective_id, body.reason
            )
        ],
    )
    return updated


# --- share links -------------------------------------------------------------------------------------------
SHARE_TOKEN_BYTES = 32


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_out(share: store.PlanShare) -> ShareOut:
    return ShareOut(
        share_id=share.share_id, created_at=share.created_at, created_by=share.created_by, valid_until=share.valid_until
    )


def create_share(caller: Caller, customer_id: str, body: ShareIn) -> ShareCreatedOut:
    """A read-only link to the plan's shared milestones, valid `expires_in_days`. The token is random
    (256 bits), shown once; only its hash is stored, beside the ids it opens (decision 0030)."""
    get_plan(caller, customer_id)  # 404: no such customer for the caller, or no plan
    token = ids.new_secret(SHARE_TOKEN_BYTES)
    now = clock.now()
    until = now + timedelta(days=body.expires_in_days)
    share = store.PlanShare(
        workspace_id=caller.workspace_id,
        customer_id=customer_id,
        share_id=ids.new_id("shr"),
        token_hash=_token_hash(token),
        created_at=clock.iso(now),
        created_by=caller.user_id,
        valid_until=clock.iso(until),
    )
    audit = _audit(
        caller, "success_plan.shared", customer_id, None, {"share_id": share.share_id, "valid_until": share.valid_until}
    )
    store.create_share(share, until + timedelta(days=1), audit)  # TTL: removed a day after it expires
    return ShareCreatedOut(**share_out(share).model_dump(), token=token, path=f"/v1/shared/plans/{token}")


def list_shares(caller: Caller, customer_id: str) -> list[store.PlanShare]:
    visible_customer(caller, customer_id)
    now = clock.iso(clock.now())
    return sorted(
        (s for s in store.list_shares(caller.workspace_id, customer_id) if s.valid_until > now),
        key=lambda s: s.created_at,
    )


def revoke_share(caller: Caller, customer_id: str, share_id: str) -> None:
    visible_customer(caller, customer_id)
    share = store.get_share(caller.workspace_id, customer_id, share_id)
    if share is None:
        raise NotFound(f"No share link {share_id}", [{"field": "share_id", "issue": "not found"}])
    store.delete_share(share, _audit(caller, "success_plan.share_revoked", customer_id, {"share_id": share_id}, None))


def open_shared_plan(token: str) -> SharedPlanOut:
    """The shared milestones a link opens; an unknown, revoked or expired link (or a customer without a
    plan any more) is 404, all alike."""
    missing = NotFound("No such shared plan", [{"field": "token", "issue": "not found"}])
    if not token or len(token) > 100:
        raise missing
    share = store.open_link(_token_hash(token))
    if share is None or share.valid_until <= clock.iso(clock.now()):
        raise missing
    stored = store.get_plan(share.workspace_id, share.customer_id)
    customer = customer_store.get_customer(share.workspace_id, share.customer_id)
    if stored is None or customer is None or customer.archived:
        raise missing
    view = plans.shared_view(stored.plan)
    return SharedPlanOut(customer_name=customer.name, valid_until=share.valid_until, **view)


# --- engagements -----------------------------------------------------------------------------------------
def engagements_out(customer_id: str, engagements: plans.Engagements, version: int) -> EngagementsOut:
    return EngagementsOut(
        customer_id=customer_id, current=engagements.current, history=engagements.history, version=version
    )


def get_engagements(caller: Caller, customer_id: str) -> EngagementsOut:
    visible_customer(caller, customer_id)
    found, version = store.get_engagements(caller.workspace_id, customer_id)
    return engagements_out(customer_id, found, version)


def _open(
    workspace_id: str, actor: str, customer_id: str, phase: str, start: date, products: list[str], sent: int | None
) -> tuple[plans.Engagements, int]:
    current, version = store.get_engagements(workspace_id, customer_id)
    _precondition(sent, version, "engagement")
    plan = store.get_plan(workspace_id, customer_id)
    opened = plans.Engagement(
        phase=phase,
        started_on=start,
        products=products,
        plan_name=plan.plan.name if plan is not None else None,
        opened_by=actor,
    )
    after = plans.open_engagement(current, opened)
    if after == current:
        return current, version
    audit = audit_store.audit_item(
        workspace_id,
        actor,
        "engagement.opened",
        f"engagement:{customer_id}",
        current.current.model_dump(mode="json") if current.current else None,
        opened.model_dump(mode="json"),
    )
    return after, store.put_engagements(workspace_id, customer_id, after, audit, seen=version)


def open_engagement(caller: Caller, customer_id: str, body: EngagementOpenIn) -> EngagementsOut:
    """Open a journey phase by hand; the current one closes the day it starts."""
    visible_customer(caller, customer_id)
    start = body.started_on or clock.today()
    current, version = store.get_engagements(caller.workspace_id, customer_id)
    if current.current is not None and start < current.current.started_on:
        raise InvalidInput(
            f"Invalid body: started_on is before the current engagement's start ({current.current.started_on})",
            [{"field": "started_on", "issue": "before the current engagement started"}],
        )
    found, version = _open(
        caller.workspace_id, caller.user_id, customer_id, body.phase, start, body.products, body.version
    )
    return engagements_out(customer_id, found, version)


def close_engagement(caller: Caller, customer_id: str, body: EngagementCloseIn) -> EngagementsOut:
    visible_customer(caller, customer_id)
    current, version = store.get_engagements(caller.workspace_id, customer_id)
    _precondition(body.version, version, "engagement")
    if current.current is None:
        raise Conflict("The customer has no current engagement", [{"field": "phase", "issue": "none open"}])
    after = plans.close_engagement(current, None, clock.today())
    audit = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "engagement.closed",
        f"engagement:{customer_id}",
        current.current.model_dump(mode="json"),
        None,
    )
    version = store.put_engagements(caller.workspace_id, customer_id, after, audit, seen=version)
    return engagements_out(customer_id, after, version)


def engagement_for_playbook(
    workspace_id: str, customer: Customer, playbook_id: str, phase: str, operation: str
) -> bool:
    """A playbook step: open `phase` (closing the current one) or close it if it is current. False when
    there was nothing to do."""
    actor = f"playbook:{playbook_id}"
    if operation == "open":
        before, _ = store.get_engagements(workspace_id, customer.customer_id)
        after, _ = _open(workspace_id, actor, customer.customer_id, phase, clock.today(), [], None)
        return after != before
    current, version = store.get_engagements(workspace_id, customer.customer_id)
    after = plans.close_engagement(current, phase, clock.today())
    if after == current:
        return False
    assert current.current is not None
    audit = audit_store.audit_item(
        workspace_id,
        actor,
        "engagement.closed",
        f"engagement:{customer.customer_id}",
        current.current.model_dump(mode="json"),
        None,
    )
    store.put_engagements(workspace_id, customer.customer_id, after, audit, seen=version)
    return True
