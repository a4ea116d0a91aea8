"""Recalculations (start one, follow its progress) and a customer's current health and history."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_query, route
from keepwell.permissions import Permission
from keepwell.schemas.health_api import HealthHistoryQuery, RecalculationOut
from keepwell.services import customer_health, recalculation

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/health/recalculate", methods=["POST"], permission=Permission("health", "recalculate"))
def start_recalculation() -> Response:
    job = recalculation.request_recalculation(current_caller(blueprint))
    return json_response(RecalculationOut.model_validate(job), status=202)


@route(blueprint, "/v1/health/recalculations/{job_id}", methods=["GET"], permission=Permission("health", "read"))
def get_recalculation(job_id: str) -> Response:
    job = recalculation.get_recalculation(current_caller(blueprint), job_id)
    return json_response(RecalculationOut.model_validate(job))


@route(blueprint, "/v1/customers/{customer_id}/health", methods=["GET"], permission=Permission("health", "read"))
def get_customer_health(customer_id: str) -> Response:
    return json_response(customer_health.get_customer_health(current_caller(blueprint), customer_id))


@route(
    blueprint,
    "/v1/customers/{customer_id}/health/history",
    methods=["GET"],
    permission=Permission("health", "read"),
)
def get_customer_health_history(customer_id: str) -> Response:
    query = parse_query(blueprint, HealthHistoryQuery)
    history = customer_health.get_customer_health_history(current_caller(blueprint), customer_id, query.days)
    return json_response(history)


@route(
    blueprint,
    "/v1/customers/{customer_id}/health/dimensions/{dimension}",
    methods=["GET"],
    permission=Permission("health", "read"),
)
def get_customer_health_dimension(customer_id: str, dimension: str) -> Response:
    query = parse_query(blueprint, HealthHistoryQuery)  # the same `days` window as the history
    detail = customer_health.get_dimension_detail(current_caller(blueprint), customer_id, dimension, query.days)
    return json_response(detail)
