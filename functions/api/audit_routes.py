"""The audit log (directors and admins): every configuration change and sensitive action, newest first."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_query, route
from keepwell.permissions import Permission
from keepwell.schemas.audit import AuditQuery
from keepwell.services import audit_log

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/audit", methods=["GET"], permission=Permission("audit", "read"))
def list_audit_entries() -> Response:
    caller = current_caller(blueprint)
    return json_response(audit_log.list_entries(caller, parse_query(blueprint, AuditQuery)))
