"""Who may do what. For now one rule (viewers read only) plus the admin gate; a later change
replaces this with the full permission table, so every check goes through these functions."""

from __future__ import annotations

from keepwell.auth import Caller
from keepwell.errors import Forbidden

READ_ONLY_ROLES = frozenset({"viewer"})


def can_write(caller: Caller) -> bool:
    return caller.role not in READ_ONLY_ROLES


def require_write(caller: Caller) -> None:
    """Raise 403 `forbidden` unless the caller may change data."""
    if not can_write(caller):
        raise Forbidden(f"Role {caller.role} is read-only")


def require_admin(caller: Caller) -> None:
    if caller.role != "admin":
        raise Forbidden("Only workspace admins may do this")
