"""Upsell rules of a workspace (`WS#w / UPSELLRULE#<id>`), listed with one Query of its partition.

A rule is stored as one JSON document (its triggers are a small tagged list) beside its version.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from keepwell.domain.upsell import UpsellRule
from keepwell.errors import Conflict, NotFound
from keepwell.storage import keys
from keepwell.storage.models import TableItem

ENTITY = "upsell_rule"


class UpsellRuleItem(TableItem):
    rule_id = UnicodeAttribute()
    document = UnicodeAttribute()  # JSON of UpsellRule
    version = NumberAttribute(default=1)


def _item(rule: UpsellRule) -> UpsellRuleItem:
    key = keys.upsell_rule(rule.workspace_id, rule.rule_id)
    return UpsellRuleItem(
        key.pk,
        key.sk,
        entity=ENTITY,
        workspace_id=rule.workspace_id,
        rule_id=rule.rule_id,
        document=rule.model_dump_json(),
        version=rule.version,
    )


def _rule(item: UpsellRuleItem) -> UpsellRule:
    return UpsellRule.model_validate_json(item.document)


def _not_found(rule_id: str) -> NotFound:
    return NotFound(f"No upsell rule {rule_id}", [{"field": "rule_id", "issue": "not found"}])


def list_rules(workspace_id: str) -> list[UpsellRule]:
    pk = keys.workspace_partition(workspace_id)
    items = UpsellRuleItem.query(pk, UpsellRuleItem.sk.startswith(keys.UPSELL_RULE_PREFIX))
    return sorted((_rule(i) for i in items), key=lambda r: (r.name.lower(), r.rule_id))


def require_rule(workspace_id: str, rule_id: str) -> UpsellRule:
    key = keys.upsell_rule(workspace_id, rule_id)
    try:
        return _rule(UpsellRuleItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        raise _not_found(rule_id) from None


def create_rule(rule: UpsellRule) -> UpsellRule:
    _item(rule).save(condition=UpsellRuleItem.pk.does_not_exist())
    return rule


def update_rule(before: UpsellRule, after: UpsellRule) -> UpsellRule:
    after = after.model_copy(update={"version": before.version + 1})
    try:
        _item(after).save(condition=UpsellRuleItem.version == before.version)
    except PutError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            raise Conflict(
                "The rule changed meanwhile; read it again and retry",
                [{"field": "version", "issue": "stale"}],
                code="version_conflict",
            ) from error
        raise
    return after


def delete_rule(workspace_id: str, rule_id: str) -> None:
    key = keys.upsell_rule(workspace_id, rule_id)
    try:
        UpsellRuleItem(key.pk, key.sk).delete(condition=UpsellRuleItem.pk.exists())
    except DeleteError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            raise _not_found(rule_id) from error
        raise
