"""Product capabilities, success blueprints and customers' success plans (docs/success-plans.md)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, route
from keepwell.permissions import SHARE_LINK, Permission
from keepwell.schemas.success_plans import (
    AchieveIn,
    ApplyBlueprintIn,
    BlueprintIn,
    BlueprintListOut,
    BlueprintPatchIn,
    BlueprintVersionsOut,
    CapabilityIn,
    CapabilityListOut,
    CapabilityPatchIn,
    EngagementCloseIn,
    EngagementOpenIn,
    OutcomeIn,
    PlanIn,
    ShareIn,
    ShareListOut,
)
from keepwell.services import success_plans as service

blueprint = Blueprint(__name__)

CAPABILITY = "/v1/capabilities/{capability_id}"
BLUEPRINT = "/v1/blueprints/{blueprint_id}"
PLAN = "/v1/customers/{customer_id}/success-plan"
OBJECTIVE = PLAN + "/objectives/{objective_id}"


# --- capabilities -----------------------------------------------------------------------------------
@route(blueprint, "/v1/capabilities", methods=["GET"], permission=Permission("capabilities", "read"))
def list_capabilities() -> Response:
    items = service.list_capabilities(current_caller(blueprint))
    return json_response(CapabilityListOut(items=[service.capability_out(c) for c in items]))


@route(blueprint, "/v1/capabilities", methods=["POST"], permission=Permission("capabilities", "configure"))
def create_capability() -> Response:
    caller = current_caller(blueprint)
    created = service.create_capability(caller, parse_body(blueprint, CapabilityIn))
    return json_response(service.capability_out(created), status=201)


@route(blueprint, CAPABILITY, methods=["GET"], permission=Permission("capabilities", "read"))
def get_capability(capability_id: str) -> Response:
    return json_response(service.capability_out(service.get_capability(current_caller(blueprint), capability_id)))


@route(blueprint, CAPABILITY, methods=["PATCH"], permission=Permission("capabilities", "configure"))
def update_capability(capability_id: str) -> Response:
    caller = current_caller(blueprint)
    updated = service.update_capability(caller, capability_id, parse_body(blueprint, CapabilityPatchIn))
    return json_response(service.capability_out(updated))


@route(blueprint, CAPABILITY, methods=["DELETE"], permission=Permission("capabilities", "configure"))
def delete_capability(capability_id: str) -> Response:
    service.delete_capability(current_caller(blueprint), capability_id)
    return Response(body="", status_code=204)


@route(
    blueprint,
    "/v1/customers/{customer_id}/capabilities",
    methods=["GET"],
    permission=Permission("capabilities", "read"),
)
def get_customer_capabilities(customer_id: str) -> Response:
    return json_response(service.customer_capabilities(current_caller(blueprint), customer_id))


# --- blueprints ---------------------------------------------------------------------------------------
@route(blueprint, "/v1/blueprints", methods=["GET"], permission=Permission("blueprints", "read"))
def list_blueprints() -> Response:
    items = service.list_blueprints(current_caller(blueprint))
    return json_response(BlueprintListOut(items=[service.blueprint_out(b) for b in items]))


@route(blueprint, "/v1/blueprints", methods=["POST"], permission=Permission("blueprints", "configure"))
def create_blueprint() -> Response:
    caller = current_caller(blueprint)
    created = service.create_blueprint(caller, parse_body(blueprint, BlueprintIn))
    return json_response(service.blueprint_out(created), status=201)


@route(blueprint, BLUEPRINT, methods=["GET"], permission=Permission("blueprints", "read"))
def get_blueprint(blueprint_id: str) -> Response:
    return json_response(service.blueprint_out(service.get_blueprint(current_caller(blueprint), blueprint_id)))


@route(blueprint, BLUEPRINT, methods=["PATCH"], permission=Permission("blueprints", "configure"))
def update_blueprint(blueprint_id: str) -> Response:
    caller = current_caller(blueprint)
    updated = service.update_blueprint(caller, blueprint_id, parse_body(blueprint, BlueprintPatchIn))
    return json_response(service.blueprint_out(updated))


@route(blueprint, BLUEPRINT, methods=["DELETE"], permission=Permission("blueprints", "configure"))
def delete_blueprint(blueprint_id: str) -> Response:
    service.delete_blueprint(current_caller(blueprint), blueprint_id)
    return Response(body="", status_code=204)


@route(blueprint, BLUEPRINT + "/versions", methods=["GET"], permission=Permission("blueprints", "read"))
def list_blueprint_versions(blueprint_id: str) -> Response:
    items = service.blueprint_versions(current_caller(blueprint), blueprint_id)
    return json_response(BlueprintVersionsOut(items=[service.blueprint_out(b) for b in items]))


# --- a customer's success plan ------------------------------------------------------------------------------
@route(blueprint, PLAN, methods=["GET"], permission=Permission("success_plans", "read"))
def get_success_plan(customer_id: str) -> Response:
    return json_response(service.plan_out(service.get_plan(current_caller(blueprint), customer_id)))


@route(blueprint, PLAN, methods=["PUT"], permission=Permission("success_plans", "write"))
def put_success_plan(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    stored = service.put_plan(caller, customer_id, parse_body(blueprint, PlanIn))
    return json_response(service.plan_out(stored))


@route(blueprint, PLAN, methods=["DELETE"], permission=Permission("success_plans", "write"))
def delete_success_plan(customer_id: str) -> Response:
    service.delete_plan(current_caller(blueprint), customer_id)
    return Response(body="", status_code=204)


@route(blueprint, PLAN + "/apply", methods=["POST"], permission=Permission("success_plans", "write"))
def apply_blueprint(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    stored = service.apply_blueprint(caller, customer_id, parse_body(blueprint, ApplyBlueprintIn))
    return json_response(service.plan_out(stored), status=201)


@route(blueprint, OBJECTIVE + "/outcomes", methods=["POST"], permission=Permission("success_plans", "write"))
def record_outcome(customer_id: str, objective_id: str) -> Response:
    caller = current_caller(blueprint)
    stored = service.record_outcome(caller, customer_id, objective_id, parse_body(blueprint, OutcomeIn))
    return json_response(service.plan_out(stored), status=201)


@route(blueprint, OBJECTIVE + "/achieve", methods=["POST"], permission=Permission("success_plans", "write"))
def achieve_objective(customer_id: str, objective_id: str) -> Response:
    caller = current_caller(blueprint)
    stored = service.achieve_objective(caller, customer_id, objective_id, parse_body(blueprint, AchieveIn))
    return json_response(service.plan_out(stored))


# --- share links (a customer play's milestones, read-only, without a login) ----------------------------------
@route(blueprint, PLAN + "/shares", methods=["GET"], permission=Permission("success_plans", "read"))
def list_plan_shares(customer_id: str) -> Response:
    items = service.list_shares(current_caller(blueprint), customer_id)
    return json_response(ShareListOut(items=[service.share_out(s) for s in items]))


@route(blueprint, PLAN + "/shares", methods=["POST"], permission=Permission("success_plans", "write"))
def create_plan_share(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(service.create_share(caller, customer_id, parse_body(blueprint, ShareIn)), status=201)


@route(blueprint, PLAN + "/shares/{share_id}", methods=["DELETE"], permission=Permission("success_plans", "write"))
def revoke_plan_share(customer_id: str, share_id: str) -> Response:
    service.revoke_share(current_caller(blueprint), customer_id, share_id)
    return Response(body="", status_code=204)


@route(blueprint, "/v1/shared/plans/{token}", methods=["GET"], permission=SHARE_LINK)
def open_shared_plan(token: str) -> Response:
    return json_response(service.open_shared_plan(token))


# --- engagements (the customer's journey phase) --------------------------------------------------------------
ENGAGEMENT = "/v1/customers/{customer_id}/engagement"


@route(blueprint, ENGAGEMENT, methods=["GET"], permission=Permission("success_plans", "read"))
def get_engagement(customer_id: str) -> Response:
    return json_response(service.get_engagements(current_caller(blueprint), customer_id))


@route(blueprint, ENGAGEMENT, methods=["POST"], permission=Permission("success_plans", "write"))
def open_engagement(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(service.open_engagement(caller, customer_id, parse_body(blueprint, EngagementOpenIn)))


@route(blueprint, ENGAGEMENT + "/close", methods=["POST"], permission=Permission("success_plans", "write"))
def close_engagement(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(service.close_engagement(caller, customer_id, parse_body(blueprint, EngagementCloseIn)))
