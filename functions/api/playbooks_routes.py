"""Playbooks (directors and admins write, everyone reads), their versions, runs and dry run, and the
workspace's Slack webhook (admins)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, parse_query, route
from keepwell.permissions import Permission
from keepwell.schemas.playbooks import (
    DryRunQuery,
    PlaybookIn,
    PlaybookListOut,
    PlaybookPatchIn,
    RunListQuery,
    SlackSettingsIn,
)
from keepwell.services import playbooks

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/playbooks", methods=["GET"], permission=Permission("playbooks", "read"))
def list_playbooks() -> Response:
    items = playbooks.list_playbooks(current_caller(blueprint))
    return json_response(PlaybookListOut(items=[playbooks.playbook_out(p) for p in items]))


@route(blueprint, "/v1/playbooks", methods=["POST"], permission=Permission("playbooks", "configure"))
def create_playbook() -> Response:
    caller = current_caller(blueprint)
    playbook = playbooks.create_playbook(caller, parse_body(blueprint, PlaybookIn))
    return json_response(playbooks.playbook_out(playbook), status=201)


@route(blueprint, "/v1/playbooks/{playbook_id}", methods=["GET"], permission=Permission("playbooks", "read"))
def get_playbook(playbook_id: str) -> Response:
    return json_response(playbooks.playbook_out(playbooks.get_playbook(current_caller(blueprint), playbook_id)))


@route(blueprint, "/v1/playbooks/{playbook_id}", methods=["PATCH"], permission=Permission("playbooks", "configure"))
def update_playbook(playbook_id: str) -> Response:
    caller = current_caller(blueprint)
    playbook = playbooks.update_playbook(caller, playbook_id, parse_body(blueprint, PlaybookPatchIn))
    return json_response(playbooks.playbook_out(playbook))


@route(blueprint, "/v1/playbooks/{playbook_id}", methods=["DELETE"], permission=Permission("playbooks", "configure"))
def delete_playbook(playbook_id: str) -> Response:
    caller = current_caller(blueprint)
    playbooks.delete_playbook(caller, playbook_id)
    return Response(body="", status_code=204)


@route(blueprint, "/v1/playbooks/{playbook_id}/versions", methods=["GET"], permission=Permission("playbooks", "read"))
def list_playbook_versions(playbook_id: str) -> Response:
    items = playbooks.list_versions(current_caller(blueprint), playbook_id)
    return json_response(PlaybookListOut(items=[playbooks.playbook_out(p) for p in items]))


@route(blueprint, "/v1/playbooks/{playbook_id}/runs", methods=["GET"], permission=Permission("playbooks", "read"))
def list_playbook_runs(playbook_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(playbooks.list_runs(caller, playbook_id, parse_query(blueprint, RunListQuery)))


@route(
    blueprint,
    "/v1/playbooks/{playbook_id}/dry-run",
    methods=["POST"],
    permission=Permission("playbooks", "read"),
    reads_query=True,
)
def dry_run_playbook(playbook_id: str) -> Response:
    # A read: it writes and sends nothing, so every role may ask (a CSM sees their portfolio).
    caller = current_caller(blueprint)
    return json_response(playbooks.dry_run(caller, playbook_id, parse_query(blueprint, DryRunQuery)))


@route(blueprint, "/v1/settings/slack", methods=["GET"], permission=Permission("settings", "read"))
def get_slack_settings() -> Response:
    return json_response(playbooks.get_slack_settings(current_caller(blueprint)))


@route(blueprint, "/v1/settings/slack", methods=["PUT"], permission=Permission("settings", "configure"))
def put_slack_settings() -> Response:
    caller = current_caller(blueprint)
    return json_response(playbooks.set_slack_webhook(caller, parse_body(blueprint, SlackSettingsIn)))
