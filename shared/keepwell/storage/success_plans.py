"""Success plans' storage (issue 21), the only place they talk to DynamoDB.

- `WS#w / CAPABILITIES`: the workspace's product capabilities in one document (at most 100), so the
  scorer reads them with the customer's other inputs in its one BatchGetItem.
- `WS#w / BLUEPRINT#<id>`: a blueprint's current version; `WS#w / BPVERSION#<id>#<000001>` each saved
  version (written with the current one in one transaction, like playbooks).
- `WS#w#CUST#c / SUCCESSPLAN`: the customer's plan as one JSON document with its version (409 on a
  stale version): objectives, initiatives and outcomes change together.
- `WS#w#CUST#c / RISK#<kind>#<ref>`: a risk signal raised (conditional put: raised once).
- `capability_usage` on the customer profile (`WS#w#CUST#c / PROFILE`): every capability's state, so
  segments, playbook conditions and lists read it with the profile (no extra read).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from keepwell.domain.capabilities import Capability, CapabilityUsage, decode, encode
from keepwell.domain.success_plans import BlueprintDefinition, Engagements, Plan
from keepwell.errors import Conflict, NotFound
from keepwell.storage import keys
from keepwell.storage.audit import AuditItem
from keepwell.storage.models import TableItem, table_connection


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _stale(what: str) -> Conflict:
    return Conflict(
        f"The {what} changed meanwhile; read it again and retry",
        [{"field": "version", "issue": "stale"}],
        code="version_conflict",
    )


def _failed_condition(error: Exception) -> bool:
    if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


# --- capabilities: one document per workspace ---------------------------------------------------------
class CapabilitiesItem(TableItem):
    document = UnicodeAttribute()  # {"items": [capability, ...]} as JSON
    revision = NumberAttribute(default=0)  # bumped by every write (optimistic concurrency)


@dataclass(frozen=True)
class StoredCapability:
    capability: Capability
    updated_at: str
    version: int


@dataclass(frozen=True)
class CapabilitySet:
    items: tuple[StoredCapability, ...]
    revision: int  # 0: never written

    def find(self, capability_id: str) -> StoredCapability:
        for stored in self.items:
            if stored.capability.capability_id == capability_id:
                return stored
        raise NotFound(f"No capability {capability_id}", [{"field": "capability_id", "issue": "not found"}])


def _capability_json(stored: StoredCapability) -> dict[str, Any]:
    c = stored.capability
    return {
        "capability_id": c.capability_id,
        "key": c.key,
        "name": c.name,
        "product": c.product,
        "features": list(c.features),
        "threshold_days": c.threshold_days,
        "window_days": c.window_days,
        "updated_at": stored.updated_at,
        "version": stored.version,
    }


def _capability_of(data: Mapping[str, Any]) -> StoredCapability:
    return StoredCapability(
        Capability(
            capability_id=data["capability_id"],
            key=data["key"],
            name=data["name"],
            product=data["product"],
            features=tuple(data["features"]),
            threshold_days=int(data["threshold_days"]),
            window_days=int(data["window_days"]),
        ),
        data["updated_at"],
        int(data["version"]),
    )


def _capability_set(item: CapabilitiesItem) -> CapabilitySet:
    items = json.loads(item.document).get("items", [])
    stored = sorted((_capability_of(d) for d in items), key=lambda s: (s.capability.product, s.capability.name))
    return CapabilitySet(tuple(stored), int(item.revision or 0))


def capabilities_of(raw: dict[str, Any] | None) -> list[Capability]:
    """The capabilities in a raw item read with the scorer's BatchGetItem (None: none defined)."""
    if raw is None:
        return []
    return [s.capability for s in _capability_set(CapabilitiesItem.from_raw_data(raw)).items]


def get_capabilities(workspace_id: str) -> CapabilitySet:
    key = keys.capabilities(workspace_id)
    try:
        return _capability_set(CapabilitiesItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return CapabilitySet((), 0)


def put_capabilities(workspace_id: str, items: list[StoredCapability], audit: AuditItem, *, seen: int) -> None:
    """Replace the workspace's capabilities if nobody wrote them since revision `seen` was read."""
    key = keys.capabilities(workspace_id)
    item = CapabilitiesItem(
        key.pk,
        key.sk,
        entity="capabilities",
        workspace_id=workspace_id,
        document=_json({"items": [_capability_json(s) for s in items]}),
        revision=seen + 1,
    )
    condition = CapabilitiesItem.pk.does_not_exist() if seen == 0 else (CapabilitiesItem.revision == seen)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(item, condition=condition)
            tx.save(audit)
    except TransactWriteError as error:
        if _failed_condition(error):
            raise _stale("capabilities") from error
        raise


# --- capability usage on the profile ----------------------------------------------------------------
class ProfileCapabilityItem(TableItem):
    """The profile, seen only for its capability usage (other attributes untouched)."""

    capability_usage = UnicodeAttribute(null=True)


def get_capability_usage(workspace_id: str, customer_id: str) -> dict[str, CapabilityUsage]:
    key = keys.customer(workspace_id, customer_id)
    try:
        item = ProfileCapabilityItem.get(key.pk, key.sk, attributes_to_get=["pk", "sk", "capability_usage"])
    except DoesNotExist:
        return {}
    return decode(json.loads(item.capability_usage)) if item.capability_usage else {}


def usage_of_raw(profile: dict[str, Any] | None) -> dict[str, CapabilityUsage]:
    """The capability usage on a raw profile item (the scorer's BatchGetItem)."""
    text = (profile or {}).get("capability_usage", {}).get("S")
    return decode(json.loads(text)) if text else {}


def put_capability_usage(workspace_id: str, customer_id: str, usage: Mapping[str, CapabilityUsage]) -> None:
    key = keys.customer(workspace_id, customer_id)
    try:
        ProfileCapabilityItem(key.pk, key.sk).update(
            actions=[ProfileCapabilityItem.capability_usage.set(_json(encode(usage)))],
            condition=ProfileCapabilityItem.pk.exists(),
        )
    except UpdateError as error:
        if _failed_condition(error):
            return  # the customer was deleted meanwhile
        raise


# --- blueprints ---------------------------------------------------------------------------------------
class BlueprintItem(TableItem):
    blueprint_id = UnicodeAttribute()
    document = UnicodeAttribute()  # BlueprintDefinition as JSON
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()
    version = NumberAttribute(default=1)


@dataclass(frozen=True)
class StoredBlueprint:
    blueprint_id: str
    definition: BlueprintDefinition
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    version: int


def _to_blueprint(item: BlueprintItem) -> StoredBlueprint:
    return StoredBlueprint(
        blueprint_id=item.blueprint_id,
        definition=BlueprintDefinition.model_validate_json(item.document),
        created_at=item.created_at,
        created_by=item.created_by,
        updated_at=item.updated_at,
        updated_by=item.updated_by,
        version=int(item.version),
    )


def _blueprint_item(workspace_id: str, stored: StoredBlueprint, key: keys.Key, entity: str) -> BlueprintItem:
    return BlueprintItem(
        key.pk,
        key.sk,
        entity=entity,
        workspace_id=workspace_id,
        blueprint_id=stored.blueprint_id,
        document=stored.definition.model_dump_json(),
        created_at=stored.created_at,
        created_by=stored.created_by,
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
        version=stored.version,
    )


def list_blueprints(workspace_id: str) -> list[StoredBlueprint]:
    pk = keys.workspace_partition(workspace_id)
    items = BlueprintItem.query(pk, BlueprintItem.sk.startswith(keys.BLUEPRINT_PREFIX))
    return sorted((_to_blueprint(i) for i in items), key=lambda b: (b.definition.name.lower(), b.blueprint_id))


def _blueprint_not_found(blueprint_id: str) -> NotFound:
    return NotFound(f"No blueprint {blueprint_id}", [{"field": "blueprint_id", "issue": "not found"}])


def get_blueprint(workspace_id: str, blueprint_id: str, version: int | None = None) -> StoredBlueprint:
    key = (
        keys.blueprint(workspace_id, blueprint_id)
        if version is None
        else keys.blueprint_version(workspace_id, blueprint_id, version)
    )
    try:
        return _to_blueprint(BlueprintItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        raise _blueprint_not_found(blueprint_id) from None


def list_blueprint_versions(workspace_id: str, blueprint_id: str) -> list[StoredBlueprint]:
    pk = keys.workspace_partition(workspace_id)
    prefix = keys.blueprint_version(workspace_id, blueprint_id, 0).sk[:-6]
    return [_to_blueprint(i) for i in BlueprintItem.query(pk, BlueprintItem.sk.startswith(prefix))]


def put_blueprint(workspace_id: str, stored: StoredBlueprint, audit: AuditItem, *, expected: int | None) -> None:
    """Save a new current version (and keep it as a version item) if the current one is still
    `expected` (None: the blueprint is new)."""
    current = _blueprint_item(workspace_id, stored, keys.blueprint(workspace_id, stored.blueprint_id), "blueprint")
    kept = _blueprint_item(
        workspace_id,
        stored,
        keys.blueprint_version(workspace_id, stored.blueprint_id, stored.version),
        "blueprint_version",
    )
    condition = (
        BlueprintItem.pk.does_not_exist()
        if expected is None
        else (BlueprintItem.pk.exists() & (BlueprintItem.version == expected))
    )
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(current, condition=condition)
            tx.save(kept, condition=BlueprintItem.pk.does_not_exist())
            tx.save(audit)
    except TransactWriteError as error:
        if _failed_condition(error):
            raise _stale("blueprint") from error
        raise


def delete_blueprint(workspace_id: str, blueprint_id: str, audit: AuditItem) -> None:
    """The current item goes (its versions stay: plans applied from them still name them)."""
    key = keys.blueprint(workspace_id, blueprint_id)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.delete(BlueprintItem(key.pk, key.sk), condition=BlueprintItem.pk.exists())
            tx.save(audit)
    except TransactWriteError as error:
        if _failed_condition(error):
            raise _blueprint_not_found(blueprint_id) from error
        raise


# --- a customer's plan --------------------------------------------------------------------------------
class SuccessPlanItem(TableItem):
    customer_id = UnicodeAttribute()
    document = UnicodeAttribute()  # Plan as JSON
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()
    version = NumberAttribute(default=1)


@dataclass(frozen=True)
class StoredPlan:
    plan: Plan
    updated_at: str
    updated_by: str
    version: int


def _to_plan(item: SuccessPlanItem) -> StoredPlan:
    return StoredPlan(Plan.model_validate_json(item.document), item.updated_at, item.updated_by, int(item.version))


def get_plan(workspace_id: str, customer_id: str) -> StoredPlan | None:
    key = keys.success_plan(workspace_id, customer_id)
    try:
        return _to_plan(SuccessPlanItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def plan_of(raw: dict[str, Any] | None) -> StoredPlan | None:
    """The plan in a raw item read with the scorer's BatchGetItem."""
    return _to_plan(SuccessPlanItem.from_raw_data(raw)) if raw is not None else None


def put_plan(workspace_id: str, stored: StoredPlan, extra: list[TableItem], *, expected: int | None) -> None:
    """Write the plan at `stored.version` if the stored one is still `expected` (None: no plan yet),
    with `extra` items (audit entries, new success tasks) in the same transaction."""
    key = keys.success_plan(workspace_id, stored.plan.customer_id)
    item = SuccessPlanItem(
        key.pk,
        key.sk,
        entity="success_plan",
        workspace_id=workspace_id,
        customer_id=stored.plan.customer_id,
        document=stored.plan.model_dump_json(),
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
        version=stored.version,
    )
    condition = (
        SuccessPlanItem.pk.does_not_exist()
        if expected is None
        else (SuccessPlanItem.pk.exists() & (SuccessPlanItem.version == expected))
    )
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(item, condition=condition)
            for other in extra:
                tx.save(other)
    except TransactWriteError as error:
        if _failed_condition(error):
            raise _stale("success plan") from error
        raise


def delete_plan(workspace_id: str, customer_id: str, audit: AuditItem) -> None:
    key = keys.success_plan(workspace_id, customer_id)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.delete(SuccessPlanItem(key.pk, key.sk), condition=SuccessPlanItem.pk.exists())
            tx.save(audit)
    except TransactWriteError as error:
        if _failed_condition(error):
            raise NotFound(
                f"Customer {customer_id} has no success plan", [{"field": "customer_id", "issue": "no plan"}]
            ) from error
        raise


# --- risk signals -----------------------------------------------------------------------------------------
class RiskSignalItem(TableItem):
    kind = UnicodeAttribute()
    ref = UnicodeAttribute()
    raised_on = UnicodeAttribute()
    title = UnicodeAttribute()
    evidence = UnicodeAttribute()  # JSON


@dataclass(frozen=True)
class RiskSignal:
    kind: str
    ref: str
    raised_on: str
    title: str
    evidence: dict[str, Any]


def raise_risk_signal(workspace_id: str, customer_id: str, signal: RiskSignal) -> bool:
    """Mark the signal raised; False if it was raised before (so it is raised once, not every day)."""
    key = keys.risk_signal(workspace_id, customer_id, signal.kind, signal.ref)
    try:
        RiskSignalItem(
            key.pk,
            key.sk,
            entity="risk_signal",
            workspace_id=workspace_id,
            kind=signal.kind,
            ref=signal.ref,
            raised_on=signal.raised_on,
            title=signal.title,
            evidence=_json(signal.evidence),
        ).save(condition=RiskSignalItem.pk.does_not_exist())
    except PutError as error:
        if _failed_condition(error):
            return False
        raise
    return True


def clear_risk_signal(workspace_id: str, customer_id: str, kind: str, ref: str) -> None:
    """The condition is over (the capability is adopted again): a later lapse raises anew."""
    key = keys.risk_signal(workspace_id, customer_id, kind, ref)
    with contextlib.suppress(DeleteError):
        RiskSignalItem(key.pk, key.sk).delete()


def list_risk_signals(workspace_id: str, customer_id: str) -> list[RiskSignal]:
    pk = keys.customer_partition(workspace_id, customer_id)
    return [
        RiskSignal(i.kind, i.ref, i.raised_on, i.title, json.loads(i.evidence))
        for i in RiskSignalItem.query(pk, RiskSignalItem.sk.startswith(keys.RISK_PREFIX))
    ]


# --- share links of a plan ------------------------------------------------------------------------------
class PlanShareItem(TableItem):
    """Both sides of a share link: `WS#w#CUST#c / PLANSHARE#<id>` (listed, revoked) and
    `SHAREDLINK#<sha256 of the token> / LINK` (opened), written and deleted together."""

    share_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    valid_until = UnicodeAttribute()  # ISO time; a link past it answers 404 (TTL removes it later)


@dataclass(frozen=True)
class PlanShare:
    workspace_id: str
    customer_id: str
    share_id: str
    token_hash: str
    created_at: str
    created_by: str
    valid_until: str


def _share_items(share: PlanShare, expires_at: datetime) -> list[PlanShareItem]:
    return [
        PlanShareItem(
            key.pk,
            key.sk,
            entity=entity,
            workspace_id=share.workspace_id,
            share_id=share.share_id,
            customer_id=share.customer_id,
            token_hash=share.token_hash,
            created_at=share.created_at,
            created_by=share.created_by,
            valid_until=share.valid_until,
            expires_at=expires_at,
        )
        for key, entity in (
            (keys.plan_share(share.workspace_id, share.customer_id, share.share_id), "plan_share"),
            (keys.shared_link(share.token_hash), "shared_link"),
        )
    ]


def _to_share(item: PlanShareItem) -> PlanShare:
    return PlanShare(
        item.workspace_id,
        item.customer_id,
        item.share_id,
        item.token_hash,
        item.created_at,
        item.created_by,
        item.valid_until,
    )


def create_share(share: PlanShare, expires_at: datetime, audit: AuditItem) -> None:
    with TransactWrite(connection=table_connection()) as tx:
        for item in _share_items(share, expires_at):
            tx.save(item, condition=PlanShareItem.pk.does_not_exist())
        tx.save(audit)


def list_shares(workspace_id: str, customer_id: str) -> list[PlanShare]:
    pk = keys.customer_partition(workspace_id, customer_id)
    return [_to_share(i) for i in PlanShareItem.query(pk, PlanShareItem.sk.startswith(keys.PLAN_SHARE_PREFIX))]


def get_share(workspace_id: str, customer_id: str, share_id: str) -> PlanShare | None:
    key = keys.plan_share(workspace_id, customer_id, share_id)
    try:
        return _to_share(PlanShareItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def delete_share(share: PlanShare, audit: AuditItem) -> None:
    mine = keys.plan_share(share.workspace_id, share.customer_id, share.share_id)
    public = keys.shared_link(share.token_hash)
    with TransactWrite(connection=table_connection()) as tx:
        tx.delete(PlanShareItem(mine.pk, mine.sk))
        tx.delete(PlanShareItem(public.pk, public.sk))
        tx.save(audit)


def open_link(token_hash: str) -> PlanShare | None:
    key = keys.shared_link(token_hash)
    try:
        return _to_share(PlanShareItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


# --- engagements ---------------------------------------------------------------------------------------------
class EngagementsItem(TableItem):
    document = UnicodeAttribute()  # Engagements as JSON
    version = NumberAttribute(default=1)


def get_engagements(workspace_id: str, customer_id: str) -> tuple[Engagements, int]:
    """The customer's engagements and their version (0: none yet)."""
    key = keys.engagements(workspace_id, customer_id)
    try:
        item = EngagementsItem.get(key.pk, key.sk, consistent_read=True)
    except DoesNotExist:
        return Engagements(), 0
    return Engagements.model_validate_json(item.document), int(item.version)


def put_engagements(
    workspace_id: str, customer_id: str, engagements: Engagements, audit: AuditItem, *, seen: int
) -> int:
    """Write them if still at version `seen` (409 otherwise); returns the new version."""
    key = keys.engagements(workspace_id, customer_id)
    item = EngagementsItem(
        key.pk,
        key.sk,
        entity="engagements",
        workspace_id=workspace_id,
        document=engagements.model_dump_json(),
        version=seen + 1,
    )
    condition = EngagementsItem.pk.does_not_exist() if seen == 0 else (EngagementsItem.version == seen)
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(item, condition=condition)
            tx.save(audit)
    except TransactWriteError as error:
        if _failed_condition(error):
            raise _stale("engagement") from error
        raise
    return seen + 1
