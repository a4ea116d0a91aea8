"""The signed-in user's own notifications (any role; nobody sees or marks another user's)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_query, route
from keepwell.permissions import SIGNED_IN
from keepwell.schemas.notifications import NotificationListQuery
from keepwell.services import notifications

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/notifications", methods=["GET"], permission=SIGNED_IN)
def list_notifications() -> Response:
    caller = current_caller(blueprint)
    return json_response(notifications.list_notifications(caller, parse_query(blueprint, NotificationListQuery)))


@route(blueprint, "/v1/notifications/read-all", methods=["POST"], permission=SIGNED_IN)
def mark_all_notifications_read() -> Response:
    return json_response(notifications.mark_all_read(current_caller(blueprint)))


@route(blueprint, "/v1/notifications/{notification_id}/read", methods=["POST"], permission=SIGNED_IN)
def mark_notification_read(notification_id: str) -> Response:
    return json_response(notifications.mark_read(current_caller(blueprint), notification_id))
