"""Users and invitations (admins manage them; directors read the list; every role reads the people's
names). Accepting an invitation is authenticated by the one-time token and the invitee's bearer token,
not by a role."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, raw_body, route
from keepwell.permissions import INVITATION_TOKEN, SIGNED_IN, Permission
from keepwell.schemas.users import (
    DeactivateIn,
    HandoverIn,
    InvitationAcceptIn,
    InvitationIn,
    InvitationListOut,
    PeopleOut,
    RoleChangeIn,
    UserListOut,
)
from keepwell.services import users
from keepwell.settings import get_settings

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/users", methods=["GET"], permission=Permission("users", "read"))
def list_users() -> Response:
    return json_response(UserListOut(items=users.list_users(current_caller(blueprint))))


@route(blueprint, "/v1/people", methods=["GET"], permission=SIGNED_IN)
def list_people() -> Response:
    return json_response(PeopleOut(items=users.list_people(current_caller(blueprint))))


@route(blueprint, "/v1/users/{user_id}/role", methods=["PUT"], permission=Permission("users", "configure"))
def change_user_role(user_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(users.change_role(caller, user_id, parse_body(blueprint, RoleChangeIn)))


@route(blueprint, "/v1/users/{user_id}/deactivate", methods=["POST"], permission=Permission("users", "configure"))
def deactivate_user(user_id: str) -> Response:
    body = parse_body(blueprint, DeactivateIn) if raw_body(blueprint).strip() else None  # the body is optional
    return json_response(users.deactivate(current_caller(blueprint), user_id, body))


@route(blueprint, "/v1/users/{user_id}/hand-over", methods=["POST"], permission=Permission("users", "configure"))
def hand_over_book(user_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(users.hand_over_book(caller, user_id, parse_body(blueprint, HandoverIn)))


@route(blueprint, "/v1/users/{user_id}/reactivate", methods=["POST"], permission=Permission("users", "configure"))
def reactivate_user(user_id: str) -> Response:
    return json_response(users.reactivate(current_caller(blueprint), user_id))


@route(blueprint, "/v1/invitations", methods=["GET"], permission=Permission("users", "read"))
def list_invitations() -> Response:
    return json_response(InvitationListOut(items=users.list_invitations(current_caller(blueprint))))


@route(blueprint, "/v1/invitations", methods=["POST"], permission=Permission("users", "configure"))
def invite_user() -> Response:
    caller = current_caller(blueprint)
    return json_response(users.invite(caller, parse_body(blueprint, InvitationIn)), status=201)


@route(blueprint, "/v1/invitations/accept", methods=["POST"], permission=INVITATION_TOKEN)
def accept_invitation() -> Response:
    request = blueprint.current_request
    identity = users.invitee(request.headers.get("authorization") if request else None, get_settings())
    return json_response(users.accept_invitation(identity, parse_body(blueprint, InvitationAcceptIn)), status=201)
