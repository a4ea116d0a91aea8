"""Health model configuration: the model in force, its versions, presets, changes and dry runs."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, parse_query, raw_body, route
from keepwell.permissions import Permission
from keepwell.schemas.backtests import BacktestIn
from keepwell.schemas.health_model_api import HealthModelPutIn, HealthModelSavedOut, VersionListQuery
from keepwell.services import backtest_jobs, health_models

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/health/model", methods=["GET"], permission=Permission("health_model", "read"))
def get_health_model() -> Response:
    return json_response(health_models.model_out(health_models.get_model(current_caller(blueprint))))


@route(blueprint, "/v1/health/model", methods=["PUT"], permission=Permission("health_model", "configure"))
def put_health_model() -> Response:
    caller = current_caller(blueprint)
    stored, job_id = health_models.save_model(caller, parse_body(blueprint, HealthModelPutIn))
    out = health_models.model_out(stored)
    return json_response(HealthModelSavedOut(**out.model_dump(), recalculation_job_id=job_id))


@route(blueprint, "/v1/health/model/versions", methods=["GET"], permission=Permission("health_model", "read"))
def list_health_model_versions() -> Response:
    query = parse_query(blueprint, VersionListQuery)
    return json_response(health_models.list_versions(current_caller(blueprint), query.limit, query.cursor))


@route(blueprint, "/v1/health/model/versions/{version}", methods=["GET"], permission=Permission("health_model", "read"))
def get_health_model_version(version: str) -> Response:
    return json_response(health_models.model_out(health_models.get_version(current_caller(blueprint), version)))


@route(blueprint, "/v1/health/model/dry-run", methods=["POST"], permission=Permission("health_model", "configure"))
def dry_run_health_model() -> Response:
    caller = current_caller(blueprint)
    return json_response(health_models.dry_run_model(caller, parse_body(blueprint, HealthModelPutIn)))


@route(blueprint, "/v1/health/presets", methods=["GET"], permission=Permission("health_model", "read"))
def list_health_presets() -> Response:
    return json_response(health_models.list_presets())


@route(blueprint, "/v1/health/model/backtest", methods=["POST"], permission=Permission("health_model", "configure"))
def start_health_model_backtest() -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, BacktestIn) if raw_body(blueprint).strip() else BacktestIn()  # the body is optional
    return json_response(backtest_jobs.start_backtest(caller, body), status=202)


@route(
    blueprint,
    "/v1/health/model/backtest/{backtest_id}",
    methods=["GET"],
    permission=Permission("health_model", "configure"),
)
def get_health_model_backtest(backtest_id: str) -> Response:
    return json_response(backtest_jobs.get_backtest(current_caller(blueprint), backtest_id))
