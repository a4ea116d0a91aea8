"""Playbooks, their versions, enrolment states, runs and step markers: the only code that stores them.

| item | pk | sk |
| --- | --- | --- |
| playbook (current) | `WS#w` | `PLAYBOOK#<p>` |
| playbook version | `WS#w` | `PBVERSION#<p>#v000003` |
| defaults created | `WS#w` | `PLAYBOOKS#DEFAULTS` |
| enrolment state | `WS#w#CUST#c` | `PBSTATE#<p>` |
| run | `WS#w#PLAYBOOK#p` | `RUN#<c>#<episode>` |
| step marker + outcome | `WS#w#PLAYBOOK#p` | `STEP#<c>#<episode>#<nnn>` |

A run is created with a conditional put (`attribute_not_exists`): the same (playbook, customer,
episode) can be enrolled once, whatever the redeliveries. A step is claimed the same way before
its side effect, and its outcome is written on the claim and on the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from keepwell.domain.playbooks import EnrolmentState, Playbook, PlaybookDefinition, Run  # Run: re-exported
from keepwell.errors import Conflict, NotFound
from keepwell.storage import cursors, keys
from keepwell.storage.audit import AuditItem
from keepwell.storage.models import TableItem, table_connection

PLAYBOOK_ENTITY = "playbook"
VERSION_ENTITY = "playbook_version"
DEFAULTS_ENTITY = "playbook_defaults"
RUN_ENTITY = "playbook_run"
STEP_ENTITY = "playbook_step"
STATE_ENTITY = "playbook_state"
LISTING_PREFIX = "PLAYBOOK"  # PLAYBOOK#<id> items and the PLAYBOOKS#DEFAULTS marker, in one Query


def _conditional_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


# --- playbooks ----------------------------------------------------------------------------------
class PlaybookItem(TableItem):
    playbook_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(null=True)
    version = NumberAttribute(null=True)
    definition = JSONAttribute(null=True)
    default_key = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)


def _to_playbook(item: PlaybookItem) -> Playbook:
    return Playbook(
        playbook_id=str(item.playbook_id),
        workspace_id=item.workspace_id,
        definition=PlaybookDefinition.model_validate(item.definition, strict=False),
        version=int(item.version or 1),
        default_key=item.default_key,
        created_at=str(item.created_at),
        created_by=str(item.created_by),
        updated_at=str(item.updated_at),
        updated_by=str(item.updated_by),
    )


def _item(key: keys.Key, entity: str, playbook: Playbook) -> PlaybookItem:
    return PlaybookItem(
        key.pk,
        key.sk,
        entity=entity,
        workspace_id=playbook.workspace_id,
        playbook_id=playbook.playbook_id,
        name=playbook.definition.name,
        enabled=playbook.definition.enabled,
        version=playbook.version,
        definition=playbook.definition.model_dump(mode="json"),
        default_key=playbook.default_key,
        created_at=playbook.created_at,
        created_by=playbook.created_by,
        updated_at=playbook.updated_at,
        updated_by=playbook.updated_by,
    )


@dataclass(frozen=True)
class PlaybookListing:
    playbooks: list[Playbook]
    defaults_created: bool


def list_playbooks(workspace_id: str, *, consistent: bool = False) -> PlaybookListing:
    """Every playbook of the workspace (sorted by name) and whether its defaults were created: one Query."""
    found: list[Playbook] = []
    defaults = False
    pk = keys.workspace_partition(workspace_id)
    for item in PlaybookItem.query(pk, PlaybookItem.sk.startswith(LISTING_PREFIX), consistent_read=consistent):
        if item.entity == DEFAULTS_ENTITY:
            defaults = True
        elif item.entity == PLAYBOOK_ENTITY:
            found.append(_to_playbook(item))
    found.sort(key=lambda p: (p.definition.name.lower(), p.playbook_id))
    return PlaybookListing(found, defaults)


def get_playbook(workspace_id: str, playbook_id: str) -> Playbook | None:
    key = keys.playbook(workspace_id, playbook_id)
    try:
        return _to_playbook(PlaybookItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def require_playbook(workspace_id: str, playbook_id: str) -> Playbook:
    playbook = get_playbook(workspace_id, playbook_id)
    if playbook is None:
        raise NotFound(f"No playbook {playbook_id}", [{"field": "playbook_id", "issue": "not found"}])
    return playbook


def create_playbook(playbook: Playbook, audit: AuditItem | None = None) -> bool:
    """The playbook and its first version (and its audit entry, when given) in one transaction;
    False if the id is taken."""
    ws, pid = playbook.workspace_id, playbook.playbook_id
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(
                _item(keys.playbook(ws, pid), PLAYBOOK_ENTITY, playbook),
                condition=PlaybookItem.pk.does_not_exist(),
            )
            tx.save(_item(keys.playbook_version(ws, pid, playbook.version), VERSION_ENTITY, playbook))
            if audit is not None:
                tx.save(audit, condition=AuditItem.pk.does_not_exist())
    except TransactWriteError as error:
        reasons = error.cancellation_reasons or []
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            return False
        raise
    return True


def update_playbook(before: Playbook, after: Playbook, audit: AuditItem | None = None) -> Playbook:
    """Replace the current playbook if it is still at `before.version`, and keep the new version
    (with its audit entry, when given, in the same transaction)."""
    ws, pid = after.workspace_id, after.playbook_id
    try:
        with TransactWrite(connection=table_connection()) as tx:
            tx.save(
                _item(keys.playbook(ws, pid), PLAYBOOK_ENTITY, after),
                condition=(PlaybookItem.version == before.version),
            )
            tx.save(
                _item(keys.playbook_version(ws, pid, after.version), VERSION_ENTITY, after),
                condition=PlaybookItem.pk.does_not_exist(),
            )
            if audit is not None:
                tx.save(audit, condition=AuditItem.pk.does_not_exist())
    except TransactWriteError as error:
        raise Conflict(
            "The playbook changed meanwhile; read it again and retry",
            [{"field": "version", "issue": "stale"}],
            code="version_conflict",
        ) from error
    return after


def delete_playbook(workspace_id: str, playbook_id: str) -> None:
    """Delete the current playbook (its versions, runs and tasks stay for the record)."""
    key = keys.playbook(workspace_id, playbook_id)
    try:
        PlaybookItem(key.pk, key.sk).delete(condition=PlaybookItem.pk.exists())
    except DeleteError as error:
        if _conditional_failed(error):
            raise NotFound(f"No playbook {playbook_id}", [{"field": "playbook_id", "issue": "not found"}]) from error
        raise


def list_versions(workspace_id: str, playbook_id: str) -> list[Playbook]:
    pk = keys.workspace_partition(workspace_id)
    prefix = keys.playbook_version(workspace_id, playbook_id, 0).sk.rsplit("#", 1)[0] + "#"
    return [_to_playbook(item) for item in PlaybookItem.query(pk, PlaybookItem.sk.startswith(prefix))]


def mark_defaults_created(workspace_id: str, at_iso: str) -> None:
    key = keys.playbook_defaults_marker(workspace_id)
    PlaybookItem(key.pk, key.sk, entity=DEFAULTS_ENTITY, workspace_id=workspace_id, created_at=at_iso).save()


# --- enrolment states ---------------------------------------------------------------------------
class PlaybookStateItem(TableItem):
    playbook_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    active = BooleanAttribute(default=False)
    since = UnicodeAttribute(null=True)
    last_enrolled_on = UnicodeAttribute(null=True)
    enrolments = NumberAttribute(default=0)
    last_episode = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _to_state(item: PlaybookStateItem) -> EnrolmentState:
    return EnrolmentState(
        active=bool(item.active),
        since=_day(item.since),
        last_enrolled_on=_day(item.last_enrolled_on),
        enrolments=int(item.enrolments or 0),
        last_episode=item.last_episode,
    )


def list_states(workspace_id: str, customer_id: str) -> dict[str, EnrolmentState]:
    """The customer's standing with every playbook: one Query of its item collection."""
    pk = keys.customer_partition(workspace_id, customer_id)
    items = PlaybookStateItem.query(
        pk, PlaybookStateItem.sk.startswith(keys.PLAYBOOK_STATE_PREFIX), consistent_read=True
    )
    return {item.playbook_id: _to_state(item) for item in items}


def get_states(workspace_id: str, playbook_id: str, customer_ids: Iterable[str]) -> dict[str, EnrolmentState]:
    """Many customers' standing with one playbook, by key (BatchGetItem pages of 100)."""
    wanted = [keys.playbook_state(workspace_id, c, playbook_id) for c in dict.fromkeys(customer_ids)]
    if not wanted:
        return {}
    return {item.customer_id: _to_state(item) for item in PlaybookStateItem.batch_get([(k.pk, k.sk) for k in wanted])}


def put_state(workspace_id: str, customer_id: str, playbook_id: str, state: EnrolmentState, at_iso: str) -> None:
    key = keys.playbook_state(workspace_id, customer_id, playbook_id)
    PlaybookStateItem(
        key.pk,
        key.sk,
        entity=STATE_ENTITY,
        workspace_id=workspace_id,
        playbook_id=playbook_id,
        customer_id=customer_id,
        active=state.active,
        since=state.since.isoformat() if state.since else None,
        last_enrolled_on=state.last_enrolled_on.isoformat() if state.last_enrolled_on else None,
        enrolments=state.enrolments,
        last_episode=state.last_episode,
        updated_at=at_iso,
    ).save()


# --- runs ---------------------------------------------------------------------------------------
class PlaybookRunItem(TableItem):
    run_id = UnicodeAttribute()
    playbook_id = UnicodeAttribute()
    playbook_name = UnicodeAttribute()
    playbook_version = NumberAttribute()
    customer_id = UnicodeAttribute()
    customer_name = UnicodeAttribute(null=True)
    episode = UnicodeAttribute()
    trigger_type = UnicodeAttribute()
    occurrence = UnicodeAttribute()  # the event type (or daily score) that enrolled the customer
    reason = UnicodeAttribute()
    start_on = UnicodeAttribute()
    enrolled_at = UnicodeAttribute()
    queued_at = UnicodeAttribute(null=True)
    steps = JSONAttribute()  # the planned steps: [{index, action, params}]
    outcomes = MapAttribute[str, Any](default=dict)  # step index -> {status, detail, …}


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return {k: _plain(v) for k, v in value.as_dict().items()}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_run(item: PlaybookRunItem) -> Run:
    fields = {name: getattr(item, name) for name in Run.model_fields}
    return Run.model_validate({**fields, "steps": list(item.steps or []), "outcomes": _plain(item.outcomes) or {}})


def create_run(run: Run) -> bool:
    """Enrol: put the run unless (playbook, customer, episode) already has one. True if it is new."""
    key = keys.playbook_run(run.workspace_id, run.playbook_id, run.customer_id, run.episode)
    item = PlaybookRunItem(
        key.pk,
        key.sk,
        entity=RUN_ENTITY,
        **run.model_dump(mode="json", exclude={"queued_at", "outcomes"}),
        queued_at=None,
        outcomes={},
    )
    try:
        item.save(condition=PlaybookRunItem.pk.does_not_exist())
    except PutError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def get_run(workspace_id: str, playbook_id: str, customer_id: str, episode: str) -> Run | None:
    key = keys.playbook_run(workspace_id, playbook_id, customer_id, episode)
    try:
        return _to_run(PlaybookRunItem.get(key.pk, key.sk, consistent_read=True))
    except DoesNotExist:
        return None


def mark_run_queued(run: Run, at_iso: str) -> None:
    key = keys.playbook_run(run.workspace_id, run.playbook_id, run.customer_id, run.episode)
    PlaybookRunItem(key.pk, key.sk).update(actions=[PlaybookRunItem.queued_at.set(at_iso)])


def record_run_outcome(run: Run, step_index: int, outcome: Mapping[str, Any]) -> None:
    """Each step writes only its own entry of the run's outcome map: concurrent steps never clash."""
    key = keys.playbook_run(run.workspace_id, run.playbook_id, run.customer_id, run.episode)
    PlaybookRunItem(key.pk, key.sk).update(actions=[PlaybookRunItem.outcomes[str(step_index)].set(dict(outcome))])


@dataclass(frozen=True)
class RunPage:
    items: list[Run]
    next_cursor: str | None


def list_runs(
    workspace_id: str, playbook_id: str, *, limit: int, cursor: str | None, customer_id: str | None = None
) -> RunPage:
    """A playbook's runs by customer then episode (one Query of the playbook's partition)."""
    pk = keys.playbook_partition(workspace_id, playbook_id)
    prefix = keys.PLAYBOOK_RUN_PREFIX + (f"{customer_id}#" if customer_id else "")
    start = cursors.decode(cursor, expected={"pk": pk}, prefixes={"sk": prefix})
    results = PlaybookRunItem.query(
        pk, PlaybookRunItem.sk.startswith(prefix), limit=limit, page_size=limit + 1, last_evaluated_key=start
    )
    items = [_to_run(item) for item in results]
    next_key = results.last_evaluated_key if len(items) == limit else None
    return RunPage(items, cursors.encode(next_key))


# --- step markers -------------------------------------------------------------------------------
class PlaybookStepItem(TableItem):
    run_id = UnicodeAttribute()
    step_index = NumberAttribute()
    action = UnicodeAttribute()
    status = UnicodeAttribute()  # running, done, skipped, failed
    claimed_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    outcome = JSONAttribute(null=True)


@dataclass(frozen=True)
class Step:
    status: str
    claimed_at: str
    outcome: dict[str, Any] | None


def _step_key(run: Run, step_index: int) -> keys.Key:
    return keys.playbook_step(run.workspace_id, run.playbook_id, run.customer_id, run.episode, step_index)


def claim_step(run: Run, step_index: int, action: str, at_iso: str) -> bool:
    """Take the step before its side effect; False if someone already did (a duplicate message)."""
    key = _step_key(run, step_index)
    item = PlaybookStepItem(
        key.pk,
        key.sk,
        entity=STEP_ENTITY,
        workspace_id=run.workspace_id,
        run_id=run.run_id,
        step_index=step_index,
        action=action,
        status="running",
        claimed_at=at_iso,
    )
    try:
        item.save(condition=PlaybookStepItem.pk.does_not_exist())
    except PutError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def get_step(run: Run, step_index: int) -> Step | None:
    key = _step_key(run, step_index)
    try:
        item = PlaybookStepItem.get(key.pk, key.sk, consistent_read=True)
    except DoesNotExist:
        return None
    return Step(item.status, item.claimed_at, item.outcome)


def finish_step(run: Run, step_index: int, status: str, outcome: Mapping[str, Any], at_iso: str) -> None:
    key = _step_key(run, step_index)
    PlaybookStepItem(key.pk, key.sk).update(
        actions=[
            PlaybookStepItem.status.set(status),
            PlaybookStepItem.outcome.set(dict(outcome)),
            PlaybookStepItem.finished_at.set(at_iso),
        ]
    )


def release_step(run: Run, step_index: int) -> None:
    """Give a running step back (its side effect certainly did not happen), so a retry can take it."""
    key = _step_key(run, step_index)
    try:
        PlaybookStepItem(key.pk, key.sk).delete(condition=(PlaybookStepItem.status == "running"))
    except DeleteError as error:
        if not _conditional_failed(error):
            raise


def retake_step(run: Run, step_index: int, claimed_at: str, at_iso: str) -> bool:
    """Take over a claim left `running` by a crashed attempt (compare-and-set on its claim time)."""
    key = _step_key(run, step_index)
    try:
        PlaybookStepItem(key.pk, key.sk).update(
            actions=[PlaybookStepItem.claimed_at.set(at_iso)],
            condition=(PlaybookStepItem.status == "running") & (PlaybookStepItem.claimed_at == claimed_at),
        )
    except UpdateError as error:
        if _conditional_failed(error):
            return False
        raise
    return True
