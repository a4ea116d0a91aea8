"""Tasks (everyone but viewers writes; a CSM works on their own and their customers' tasks) and My day."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, parse_query, route
from keepwell.permissions import Permission
from keepwell.schemas.tasks import TaskCreateIn, TaskListQuery, TaskPatchIn
from keepwell.services import tasks

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/tasks", methods=["GET"], permission=Permission("tasks", "read"))
def list_tasks() -> Response:
    return json_response(tasks.list_tasks(current_caller(blueprint), parse_query(blueprint, TaskListQuery)))


@route(blueprint, "/v1/tasks", methods=["POST"], permission=Permission("tasks", "write"))
def create_task() -> Response:
    caller = current_caller(blueprint)
    return json_response(tasks.create_task(caller, parse_body(blueprint, TaskCreateIn)), status=201)


@route(blueprint, "/v1/tasks/{task_id}", methods=["GET"], permission=Permission("tasks", "read"))
def get_task(task_id: str) -> Response:
    return json_response(tasks.get_task(current_caller(blueprint), task_id))


@route(blueprint, "/v1/tasks/{task_id}", methods=["PATCH"], permission=Permission("tasks", "write"))
def update_task(task_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(tasks.update_task(caller, task_id, parse_body(blueprint, TaskPatchIn)))


@route(blueprint, "/v1/my-day", methods=["GET"], permission=Permission("tasks", "read"))
def my_day() -> Response:
    return json_response(tasks.my_day(current_caller(blueprint)))
