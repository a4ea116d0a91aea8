"""The workspace's own settings (admins): name, timezone, scoring hour, currency, fiscal year, competitors."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, route
from keepwell.permissions import Permission
from keepwell.schemas.workspace_settings import WorkspaceSettingsPatchIn
from keepwell.services import workspace_settings

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/settings/workspace", methods=["GET"], permission=Permission("settings", "read"))
def get_workspace_settings() -> Response:
    return json_response(workspace_settings.get_settings(current_caller(blueprint)))


@route(blueprint, "/v1/settings/workspace", methods=["PATCH"], permission=Permission("settings", "configure"))
def change_workspace_settings() -> Response:
    caller = current_caller(blueprint)
    return json_response(workspace_settings.change_settings(caller, parse_body(blueprint, WorkspaceSettingsPatchIn)))
