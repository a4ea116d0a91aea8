"""User references in a request body, checked one way on every route.

An owner, co-owner or account executive names an active user of the caller's workspace. Someone
given work — a task's `owner_id`, a success-plan initiative's owner, a playbook task step's
`user:<id>` assignee, a customer's owner (its playbooks' tasks go to them) — must also be able to do
it: a viewer changes nothing, so a viewer cannot be given work. A user of another workspace, a
deactivated one and an id that never existed all answer the same 400, naming the field, so the
answer tells nothing about other workspaces.
"""

from __future__ import annotations

from collections.abc import Iterable

from keepwell.errors import InvalidInput
from keepwell.storage import workspaces

NOT_A_USER = "{user_id} is not an active user of this workspace"
A_VIEWER = "{user_id} is a viewer, who cannot be given work"


def problems(workspace_id: str, references: Iterable[tuple[str, str | None]], *, works: bool) -> list[dict[str, str]]:
    """`references`: (field, user id) pairs (None: nothing named). `works`: the user is given work."""
    found: list[dict[str, str]] = []
    read: dict[str, workspaces.UserItem | None] = {}  # a plan names one owner on many initiatives: read once
    for field, user_id in references:
        if user_id is None:
            continue
        if user_id not in read:
            read[user_id] = workspaces.get_user(workspace_id, user_id)
        user = read[user_id]
        if user is None or not user.active:
            found.append({"field": field, "issue": NOT_A_USER.format(user_id=user_id)})
        elif works and user.role == "viewer":
            found.append({"field": field, "issue": A_VIEWER.format(user_id=user_id)})
    return found


def check(workspace_id: str, references: Iterable[tuple[str, str | None]], *, works: bool) -> None:
    """400 `validation_error` naming every field whose user may not be named there; nothing is written."""
    refuse(problems(workspace_id, references, works=works))


def refuse(refused: list[dict[str, str]]) -> None:
    """The 400 of `check` for problems gathered from several `problems` calls (none: nothing to refuse)."""
    if refused:
        raise InvalidInput(f"Invalid body: check {', '.join(p['field'] for p in refused)}", refused)
