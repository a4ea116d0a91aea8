"""Workspaces and their users.

The workspace item counts its active admins (`active_admins`). Every write that makes a user an
active admin or stops them being one changes the count in the same transaction as the user, and a
decrement is conditioned on the count staying ≥ 1: "never fewer than one active admin" holds even
when two admins demote each other at the same instant (one of the two transactions is refused).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from keepwell import clock
from keepwell.errors import Conflict
from keepwell.permissions import WORKSPACE_ADMIN
from keepwell.storage import keys, renewal_rows
from keepwell.storage.models import TableItem, UserItem, WorkspaceItem, table_connection


class CountedWorkspaceItem(WorkspaceItem):
    """The workspace item with its count of active admins (absent on workspaces created before it:
    `ensure_admin_count` fills it in from the user list before the first change that needs it)."""

    active_admins = NumberAttribute(null=True)


class InvitationItem(TableItem):
    """An invitation to join a workspace; only the one-time token's hash is stored (in the key)."""

    invitation_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    invited_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    valid_until = UnicodeAttribute()
    accepted_at = UnicodeAttribute(null=True)
    accepted_by = UnicodeAttribute(null=True)


def create_workspace(workspace_id: str, name: str, timezone: str = "UTC", scoring_hour: int = 5) -> WorkspaceItem:
    key = keys.workspace(workspace_id)
    item = CountedWorkspaceItem(
        key.pk,
        key.sk,
        entity="workspace",
        workspace_id=workspace_id,
        name=name,
        timezone=timezone,
        scoring_hour=scoring_hour,
        created_at=clock.iso(clock.now()),
        gsi1pk=keys.SCHEDULER_LISTING,
        gsi1sk=workspace_id,
        active_admins=0,
    )
    item.save(condition=WorkspaceItem.pk.does_not_exist())
    renewal_rows.mark_kept(workspace_id)  # no renewal yet: every one will carry its pipeline row
    return item


def get_workspace(workspace_id: str) -> WorkspaceItem | None:
    key = keys.workspace(workspace_id)
    try:
        return WorkspaceItem.get(key.pk, key.sk)
    except DoesNotExist:
        return None


def put_user(workspace_id: str, user_id: str, email: str, name: str, role: str) -> UserItem:
    """Create or replace a user (seeding, tests), keeping the admin count right."""
    item = new_user_item(workspace_id, user_id, email, name, role)
    _write_user(get_user(workspace_id, user_id), item)
    return item


def add_user(item: UserItem) -> UserItem:
    """Create a user that does not exist yet (409 if it does), counting a new admin."""
    _write_user(None, item)
    return item


def get_user(workspace_id: str, user_id: str) -> UserItem | None:
    key = keys.user(workspace_id, user_id)
    try:
        return UserItem.get(key.pk, key.sk)
    except DoesNotExist:
        return None


def list_users(workspace_id: str) -> list[UserItem]:
    pk = keys.workspace_partition(workspace_id)
    return list(UserItem.query(pk, UserItem.sk.startswith(keys.USER_PREFIX)))


def update_user(item: UserItem, *, role: str | None = None, active: bool | None = None) -> UserItem:
    """Change a user's role or active flag, only if nobody changed them since `item` was read
    (a concurrent change answers 409 `version_conflict` rather than being overwritten). Taking the
    last active admin away answers 409 `last_admin` and changes nothing."""
    actions: list[Action] = []
    if role is not None:
        actions.append(UserItem.role.set(role))
    if active is not None:
        actions.append(UserItem.active.set(active))
    delta = _admin_delta(item, role if role is not None else item.role, active if active is not None else item.active)
    unchanged = (UserItem.role == item.role) & (UserItem.active == item.active)
    if delta == 0:
        try:
            item.update(actions=actions, condition=unchanged)
        except UpdateError as error:
            raise _changed_meanwhile(item.user_id) from error
        return item
    ensure_admin_count(item.workspace_id)
    try:
        with TransactWrite(connection=table_connection()) as transaction:
            transaction.update(item, actions=actions, condition=unchanged)  # first: reason 0
            _count_admins(transaction, item.workspace_id, item.user_id, delta)
    except TransactWriteError as error:
        raise _refused(error, item.user_id) from error
    if role is not None:  # a transaction does not hand the new values back, unlike UpdateItem
        item.role = role
    if active is not None:
        item.active = active
    return item


# --- the admin count --------------------------------------------------------------------------------
def _is_active_admin(role: str | None, active: bool | None) -> bool:
    return role == WORKSPACE_ADMIN and bool(active)


def _admin_delta(before: UserItem | None, role: str, active: bool) -> int:
    was = before is not None and _is_active_admin(before.role, before.active)
    return int(_is_active_admin(role, active)) - int(was)


def _count_admins(transaction: TransactWrite, workspace_id: str, user_id: str, delta: int) -> None:
    """Add `delta` to the workspace's admin count in `transaction`; a decrement only while another
    active admin remains (the count is > 1 before it)."""
    key = keys.workspace(workspace_id)
    condition: Condition = CountedWorkspaceItem.pk.exists()
    if delta < 0:
        condition &= CountedWorkspaceItem.active_admins > -delta
    transaction.update(
        CountedWorkspaceItem(key.pk, key.sk),
        actions=[CountedWorkspaceItem.active_admins.add(delta)],
        condition=condition,
    )


def check_other_active_admin(workspace_id: str, user_id: str) -> None:
    """409 `last_admin` now, before other writes, when `user_id` is the workspace's last active admin
    (`update_user` refuses it again in its own transaction)."""
    ensure_admin_count(workspace_id)
    count = admin_count(workspace_id)
    if count is not None and count <= 1:
        raise _last_admin(user_id)


def _last_admin(user_id: str) -> Conflict:
    return Conflict(
        f"{user_id} is the workspace's last admin; make another user admin first",
        [{"field": "user_id", "issue": "last admin"}],
        code="last_admin",
    )


def _changed_meanwhile(user_id: str) -> Conflict:
    return Conflict(f"User {user_id} changed meanwhile; read it again", code="version_conflict")


def _refused(error: TransactWriteError, user_id: str) -> Conflict:
    """The Conflict a refused user + count transaction means: the user changed (reason 0), or the
    count said this was the last active admin (reason 1)."""
    reasons = [r.code if r is not None else None for r in (error.cancellation_reasons or [])]
    if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed" and reasons[0] != "ConditionalCheckFailed":
        return _last_admin(user_id)
    return _changed_meanwhile(user_id)


def admin_count(workspace_id: str) -> int | None:
    """The workspace's count of active admins (None: not counted yet, or no such workspace)."""
    key = keys.workspace(workspace_id)
    try:
        item = CountedWorkspaceItem.get(key.pk, key.sk, consistent_read=True, attributes_to_get=["active_admins"])
    except DoesNotExist:
        return None
    return None if item.active_admins is None else int(item.active_admins)


def ensure_admin_count(workspace_id: str) -> None:
    """Count the active admins of a workspace created before the count existed (one GetItem when it
    is there). Set only if still absent: every change that moves the count first comes here, so no
    change can land between the user list read and this write without this write being refused."""
    if admin_count(workspace_id) is not None:
        return
    counted = sum(1 for u in list_users(workspace_id) if _is_active_admin(u.role, u.active))
    key = keys.workspace(workspace_id)
    try:
        CountedWorkspaceItem(key.pk, key.sk).update(
            actions=[CountedWorkspaceItem.active_admins.set(counted)],
            condition=CountedWorkspaceItem.pk.exists() & CountedWorkspaceItem.active_admins.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        # Counted meanwhile by another change (or no such workspace, which the change itself reports).


def _write_user(before: UserItem | None, after: UserItem) -> None:
    """Put `after` if the user is still `before` (or still absent), the count in the same transaction."""
    if before is None:
        unchanged = UserItem.pk.does_not_exist()
    else:
        unchanged = (UserItem.role == before.role) & (UserItem.active == before.active)
    delta = _admin_delta(before, after.role, after.active)
    if delta == 0:
        try:
            after.save(condition=unchanged)
        except PutError as error:
            raise _changed_meanwhile(after.user_id) from error
        return
    ensure_admin_count(after.workspace_id)
    try:
        with TransactWrite(connection=table_connection()) as transaction:
            transaction.save(after, condition=unchanged)  # puts before updates: reason 0
            _count_admins(transaction, after.workspace_id, after.user_id, delta)
    except TransactWriteError as error:
        raise _refused(error, after.user_id) from error


def put_invitation(item: InvitationItem) -> InvitationItem:
    try:
        item.save(condition=InvitationItem.pk.does_not_exist())
    except PutError as error:
        raise Conflict("Invitation token collision; retry") from error
    return item


def get_invitation(workspace_id: str, token_hash: str) -> InvitationItem | None:
    key = keys.invitation(workspace_id, token_hash)
    try:
        return InvitationItem.get(key.pk, key.sk)
    except DoesNotExist:
        return None


def list_invitations(workspace_id: str) -> list[InvitationItem]:
    pk = keys.workspace_partition(workspace_id)
    return list(InvitationItem.query(pk, InvitationItem.sk.startswith(keys.INVITATION_PREFIX)))


def accept_invitation(invitation: InvitationItem, user: UserItem, accepted_at: str) -> None:
    """Mark the invitation used and create the user (and count a new admin), all or nothing: a token
    works once, and an existing user of the workspace is never overwritten."""
    if _is_active_admin(user.role, user.active):
        ensure_admin_count(user.workspace_id)
    try:
        with TransactWrite(connection=table_connection()) as transaction:
            transaction.update(
                invitation,
                actions=[
                    InvitationItem.accepted_at.set(accepted_at),
                    InvitationItem.accepted_by.set(user.user_id),
                ],
                condition=InvitationItem.accepted_at.does_not_exist(),
            )
            transaction.save(user, condition=UserItem.pk.does_not_exist())
            if _is_active_admin(user.role, user.active):
                _count_admins(transaction, user.workspace_id, user.user_id, 1)
    except TransactWriteError as error:
        raise Conflict("The invitation was already used, or the user already belongs to the workspace") from error


def new_user_item(
    workspace_id: str, user_id: str, email: str, name: str, role: str, subject: str | None = None
) -> UserItem:
    key = keys.user(workspace_id, user_id)
    item = UserItem(
        key.pk,
        key.sk,
        entity="user",
        workspace_id=workspace_id,
        user_id=user_id,
        email=email,
        name=name,
        role=role,
        active=True,
        created_at=clock.iso(clock.now()),
    )
    if subject:
        item.subject, item.gsi1pk, item.gsi1sk = subject, keys.subject_index(subject), workspace_id
    return item


# --- identities: who signs in as which user of which workspace ------------------------------------------
def memberships_of_subject(subject: str) -> list[UserItem]:
    """Every user record (active or not) of the person the issuer calls `subject`, one per workspace."""
    return list(UserItem.gsi1.query(keys.subject_index(subject)))


def link_subject(item: UserItem, subject: str) -> UserItem:
    """Tie a user record to the identity that signs in as it; a record tied to another identity stays so."""
    try:
        item.update(
            actions=[
                UserItem.subject.set(subject),
                UserItem.gsi1pk.set(keys.subject_index(subject)),
                UserItem.gsi1sk.set(item.workspace_id),
            ],
            condition=UserItem.pk.exists() & (UserItem.subject.does_not_exist() | (UserItem.subject == subject)),
        )
    except UpdateError as error:
        raise Conflict(f"User {item.user_id} already signs in with another identity") from error
    return item


def invitations_for_email(email: str) -> list[InvitationItem]:
    """Invitations sent to `email` in any workspace (used or not), from gsi2."""
    return list(InvitationItem.gsi2.query(keys.invitee_index(email)))


def list_workspaces_for_scheduler() -> list[WorkspaceItem]:
    """Every workspace (id, timezone, scoring hour): the hourly scheduler picks those whose hour has come."""
    return list(WorkspaceItem.gsi1.query(keys.SCHEDULER_LISTING))


# --- workspace settings ----------------------------------------------------------------------------
GENERAL_SETTINGS = "general"  # key of the currency and fiscal year in the workspace item's settings map
DEFAULT_CURRENCY = "USD"
DEFAULT_FISCAL_YEAR_START_MONTH = 1


def general_settings(item: WorkspaceItem) -> dict[str, object]:
    raw = item.settings.as_dict() if hasattr(item.settings, "as_dict") else dict(item.settings or {})
    general = dict(raw.get(GENERAL_SETTINGS) or {})
    return {
        "currency": general.get("currency", DEFAULT_CURRENCY),
        "fiscal_year_start_month": int(general.get("fiscal_year_start_month", DEFAULT_FISCAL_YEAR_START_MONTH)),
    }


def update_workspace(
    item: WorkspaceItem,
    *,
    name: str | None = None,
    timezone: str | None = None,
    scoring_hour: int | None = None,
    general: dict[str, object] | None = None,
) -> WorkspaceItem:
    """Change the workspace's own settings in one UpdateItem. The scheduler lists workspaces with their
    timezone and scoring hour on each run, so a new hour applies from the next hourly run."""
    actions: list[Action] = []
    if name is not None:
        actions.append(WorkspaceItem.name.set(name))
    if timezone is not None:
        actions.append(WorkspaceItem.timezone.set(timezone))
    if scoring_hour is not None:
        actions.append(WorkspaceItem.scoring_hour.set(scoring_hour))
    if general is not None:
        actions.append(WorkspaceItem.settings[GENERAL_SETTINGS].set(general))
    if actions:
        item.update(actions=actions, condition=WorkspaceItem.pk.exists())
    return item
