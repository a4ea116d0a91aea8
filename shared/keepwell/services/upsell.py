"""Upsell: admins manage the rules; every customer shows its top 3 recommendations with a score and
the reasons; "create opportunity" turns one into a task and publishes `task.created` (which outbound webhooks
deliver) in the same call."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from keepwell import clock, ids
from keepwell.auth import Caller
from keepwell.domain import upsell as rules
from keepwell.domain.customers import Customer
from keepwell.domain.upsell import Recommendation, UpsellRule
from keepwell.errors import Conflict, InvalidInput, KeepwellError, NotFound, from_validation_error
from keepwell.schemas.renewals import OpportunityIn, OpportunityOut, UpsellRuleIn, UpsellRulePatchIn
from keepwell.services import renewals as renewal_service
from keepwell.services.flags import usage_days
from keepwell.storage import renewals as renewal_store
from keepwell.storage import upsell as store

MAX_RULES = 200
OPPORTUNITY_DUE_DAYS = 7


# --- rules (admin only) ---------------------------------------------------------------------------------
def list_rules(caller: Caller) -> list[UpsellRule]:
    return store.list_rules(caller.workspace_id)


def get_rule(caller: Caller, rule_id: str) -> UpsellRule:
    return store.require_rule(caller.workspace_id, rule_id)


def create_rule(caller: Caller, body: UpsellRuleIn) -> UpsellRule:
    if len(store.list_rules(caller.workspace_id)) >= MAX_RULES:
        raise InvalidInput(
            f"A workspace has at most {MAX_RULES} upsell rules", [{"field": "name", "issue": "too many rules"}]
        )
    now = clock.iso(clock.now())
    rule = UpsellRule.model_validate(
        {
            **body.model_dump(),
            "rule_id": ids.new_id("ups"),
            "workspace_id": caller.workspace_id,
            "created_by": caller.user_id,
            "created_at": now,
            "updated_at": now,
        }
    )
    return store.create_rule(rule)


def update_rule(caller: Caller, rule_id: str, body: UpsellRulePatchIn) -> UpsellRule:
    current = store.require_rule(caller.workspace_id, rule_id)
    if body.version is not None and body.version != current.version:
        raise Conflict(
            f"Rule is at version {current.version}, not {body.version}",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        )
    changes = body.changes()
    for name in ("name", "product", "base_score", "active", "prerequisites", "exclusions", "industries", "triggers"):
        if name in changes and changes[name] is None:
            raise InvalidInput(f"{name} cannot be null", [{"field": name, "issue": "cannot be cleared"}])
    data = {**current.model_dump(), **changes, "updated_at": clock.iso(clock.now())}
    try:
        updated = UpsellRule.model_validate(data)
    except ValidationError as error:
        raise from_validation_error(error) from None
    return store.update_rule(current, updated)


def delete_rule(caller: Caller, rule_id: str) -> None:
    store.delete_rule(caller.workspace_id, rule_id)


# --- recommendations -------------------------------------------------------------------------------------
def facts(workspace_id: str, customer: Customer, today: date) -> rules.AccountFacts:
    return rules.account_facts(
        today=today,
        renewals=renewal_store.list_customer_renewals(workspace_id, customer.customer_id),
        employee_count=customer.employee_count,
        industry=customer.industry,
        plan=customer.plan,
        usage=usage_days(workspace_id, customer.customer_id, today, rules.USAGE_WINDOW_DAYS),
    )


def recommendations_for(workspace_id: str, customer: Customer, today: date | None = None) -> list[Recommendation]:
    account = facts(workspace_id, customer, today or clock.today())
    return rules.recommend(store.list_rules(workspace_id), account)


def recommendations(caller: Caller, customer_id: str) -> list[Recommendation]:
    customer = renewal_service.visible_customer(caller, customer_id)
    return recommendations_for(caller.workspace_id, customer)


def create_opportunity(caller: Caller, customer_id: str, rule_id: str, body: OpportunityIn) -> OpportunityOut:
    """Turn a recommendation into a task for the customer's owner (or `owner_id`). 404 when the rule
    is not among what the customer is recommended now (inactive, ineligible); 501 when this build has
    no tasks service yet (nothing is written)."""
    customer = renewal_service.visible_customer(caller, customer_id)
    rule = store.require_rule(caller.workspace_id, rule_id)
    account = facts(caller.workspace_id, customer, clock.today())
    recommendation = rules.score(rule, account)
    if recommendation is None:
        reason = rules.ineligibility(rule, account) or "not applicable"
        raise NotFound(
            f"Rule {rule_id} does not apply to this customer: {reason}", [{"field": "rule_id", "issue": reason}]
        )
    if renewal_service._tasks_service() is None:
        raise _NotAvailable("Tasks are not available in this build; no opportunity was created")
    task = renewal_service.create_task(
        caller,
        customer,
        title=f"Upsell opportunity: {rule.product} for {customer.name}",
        description=_task_description(recommendation, body.note),
        due_date=body.due_date or clock.today() + timedelta(days=OPPORTUNITY_DUE_DAYS),
        owner_id=body.owner_id,
    )
    assert task is not None
    return OpportunityOut(
        customer_id=customer_id,
        rule_id=rule_id,
        product=rule.product,
        score=recommendation.score,
        why=list(recommendation.why),
        task=task,
    )


def _task_description(recommendation: Recommendation, note: str | None) -> str:
    lines = [f"Recommended {recommendation.product} (score {recommendation.score:g}):"]
    lines += [f"- {reason}" for reason in recommendation.why]
    if note:
        lines += ["", note]
    return "\n".join(lines)


class _NotAvailable(KeepwellError):
    status = 501
    code = "not_implemented"


def as_dicts(items: list[Recommendation]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in items]
