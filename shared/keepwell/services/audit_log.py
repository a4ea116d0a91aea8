"""The audit log as directors and admins read it: who changed what, when, from what to what.

Writers live next to the changes they describe (services/*, via keepwell.storage.audit); this module
only answers `GET /v1/audit`. Who may read it (directors and admins) is the permission table's
`audit: read`, checked by the route.
"""

from __future__ import annotations

from keepwell.auth import Caller
from keepwell.schemas.audit import AuditEntryOut, AuditListOut, AuditQuery
from keepwell.storage import audit as store


def list_entries(caller: Caller, query: AuditQuery) -> AuditListOut:
    """The caller's workspace's entries matching the query, newest first, one page (always the
    caller's workspace: every key starts with it)."""
    wanted = store.AuditFilter(
        target=query.target,
        actor_id=query.actor,
        action=query.action,
        since=query.since,
        until=query.until,
    )
    page = store.query_entries(caller.workspace_id, wanted, query.limit, query.cursor)
    return AuditListOut(
        items=[AuditEntryOut.of(entry) for entry in page.items],
        next_cursor=page.next_cursor,
    )
