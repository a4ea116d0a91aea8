"""Workspaces and their users."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from keepwell import clock
from keepwell.storage import keys
from keepwell.storage.models import UserItem, WorkspaceItem


def create_workspace(workspace_id: str, name: str, timezone: str = "UTC", scoring_hour: int = 5) -> WorkspaceItem:
    key = keys.workspace(workspace_id)
    item = WorkspaceItem(
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
    )
    item.save(condition=WorkspaceItem.pk.does_not_exist())
    return item


def get_workspace(workspace_id: str) -> WorkspaceItem | None:
    key = keys.workspace(workspace_id)
    try:
        return WorkspaceItem.get(key.pk, key.sk)
    except DoesNotExist:
        return None


def put_user(workspace_id: str, user_id: str, email: str, name: str, role: str) -> UserItem:
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
    item.save()
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


def list_workspaces_for_scheduler() -> list[WorkspaceItem]:
    """Every workspace (id, timezone, scoring hour): the hourly scheduler picks those whose hour has come."""
    return list(WorkspaceItem.gsi1.query(keys.SCHEDULER_LISTING))
