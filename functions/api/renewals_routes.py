"""Renewals (pipeline, upcoming table and CSV, forecast), churn, flags and scores, upsell rules and
recommendations, revenue metrics. Each view: parse → one call into keepwell.services → respond."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, parse_query, raw_body, route
from keepwell.permissions import Permission
from keepwell.schemas.renewals import (
    ChurnIn,
    ForecastChangeIn,
    ForecastChangesOut,
    ForecastChangesQuery,
    ForecastSettingsIn,
    ForecastSettingsOut,
    OpportunityIn,
    PipelineQuery,
    RecommendationOut,
    RecommendationsOut,
    RenewalCloseIn,
    RenewalCreateIn,
    RenewalListOut,
    RenewalPatchIn,
    RevenueQuery,
    UpcomingQuery,
    UpsellRuleIn,
    UpsellRuleListOut,
    UpsellRuleOut,
    UpsellRulePatchIn,
)
from keepwell.services import churn, flags, renewals, revenue, upsell

blueprint = Blueprint(__name__)


# --- the pipeline and the upcoming table ------------------------------------------------------------
@route(blueprint, "/v1/renewals", methods=["GET"], permission=Permission("renewals", "read"))
def get_pipeline() -> Response:
    return json_response(renewals.pipeline(current_caller(blueprint), parse_query(blueprint, PipelineQuery)))


@route(blueprint, "/v1/renewals/upcoming", methods=["GET"], permission=Permission("renewals", "read"))
def get_upcoming() -> Response:
    return json_response(renewals.upcoming(current_caller(blueprint), parse_query(blueprint, UpcomingQuery)))


@route(blueprint, "/v1/renewals/upcoming/export", methods=["GET"], permission=Permission("renewals", "read"))
def export_upcoming() -> Response:
    text = renewals.upcoming_csv(current_caller(blueprint), parse_query(blueprint, UpcomingQuery))
    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="upcoming-renewals.csv"',
        },
    )


@route(blueprint, "/v1/renewals/forecast-categories", methods=["GET"], permission=Permission("renewals", "read"))
def get_forecast_categories() -> Response:
    settings = renewals.forecast_settings(current_caller(blueprint))
    return json_response(ForecastSettingsOut.model_validate(settings.model_dump()))


@route(blueprint, "/v1/renewals/forecast-categories", methods=["PUT"], permission=Permission("forecasts", "configure"))
def put_forecast_categories() -> Response:
    caller = current_caller(blueprint)
    settings = renewals.put_forecast_settings(caller, parse_body(blueprint, ForecastSettingsIn))
    return json_response(ForecastSettingsOut.model_validate(settings.model_dump()))


@route(blueprint, "/v1/renewals/forecast-changes", methods=["GET"], permission=Permission("forecasts", "read"))
def list_forecast_changes() -> Response:
    query = parse_query(blueprint, ForecastChangesQuery)
    return json_response(ForecastChangesOut(items=renewals.forecast_changes(current_caller(blueprint), query.days)))


# --- one customer's renewals ----------------------------------------------------------------------------
@route(blueprint, "/v1/customers/{customer_id}/renewals", methods=["GET"], permission=Permission("renewals", "read"))
def list_renewals(customer_id: str) -> Response:
    items = renewals.list_renewals(current_caller(blueprint), customer_id)
    return json_response(RenewalListOut(items=[renewals.renewal_out(r) for r in items]))


@route(blueprint, "/v1/customers/{customer_id}/renewals", methods=["POST"], permission=Permission("renewals", "write"))
def create_renewal(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    renewal = renewals.create_renewal(caller, customer_id, parse_body(blueprint, RenewalCreateIn))
    return json_response(renewals.renewal_out(renewal), status=201)


@route(
    blueprint,
    "/v1/customers/{customer_id}/renewals/{renewal_id}",
    methods=["GET"],
    permission=Permission("renewals", "read"),
)
def get_renewal(customer_id: str, renewal_id: str) -> Response:
    return json_response(renewals.get_renewal(current_caller(blueprint), customer_id, renewal_id))


@route(
    blueprint,
    "/v1/customers/{customer_id}/renewals/{renewal_id}",
    methods=["PATCH"],
    permission=Permission("renewals", "write"),
)
def update_renewal(customer_id: str, renewal_id: str) -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, RenewalPatchIn)
    return json_response(renewals.renewal_out(renewals.update_renewal(caller, customer_id, renewal_id, body)))


@route(
    blueprint,
    "/v1/customers/{customer_id}/renewals/{renewal_id}/forecast",
    methods=["PATCH"],
    permission=Permission("forecasts", "write"),
)
def change_forecast(customer_id: str, renewal_id: str) -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, ForecastChangeIn)
    return json_response(renewals.renewal_out(renewals.change_forecast(caller, customer_id, renewal_id, body)))


@route(
    blueprint,
    "/v1/customers/{customer_id}/renewals/{renewal_id}/close",
    methods=["POST"],
    permission=Permission("renewals", "write"),
)
def close_renewal(customer_id: str, renewal_id: str) -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, RenewalCloseIn)
    return json_response(renewals.renewal_out(renewals.close_renewal(caller, customer_id, renewal_id, body)))


# --- churn, flags, scores --------------------------------------------------------------------------------
@route(blueprint, "/v1/customers/{customer_id}/churn", methods=["POST"], permission=Permission("churn", "write"))
def mark_churned(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(churn.mark_churned(caller, customer_id, parse_body(blueprint, ChurnIn)))


@route(blueprint, "/v1/customers/{customer_id}/flags", methods=["GET"], permission=Permission("churn", "read"))
def get_flags(customer_id: str) -> Response:
    return json_response(flags.customer_flags(current_caller(blueprint), customer_id))


@route(blueprint, "/v1/customers/{customer_id}/scores", methods=["GET"], permission=Permission("churn", "read"))
def get_scores(customer_id: str) -> Response:
    return json_response(churn.scores(current_caller(blueprint), customer_id))


# --- upsell ------------------------------------------------------------------------------------------------
@route(blueprint, "/v1/upsell/rules", methods=["GET"], permission=Permission("upsell_rules", "read"))
def list_upsell_rules() -> Response:
    items = upsell.list_rules(current_caller(blueprint))
    return json_response(UpsellRuleListOut(items=[UpsellRuleOut.of(r) for r in items]))


@route(blueprint, "/v1/upsell/rules", methods=["POST"], permission=Permission("upsell_rules", "configure"))
def create_upsell_rule() -> Response:
    caller = current_caller(blueprint)
    rule = upsell.create_rule(caller, parse_body(blueprint, UpsellRuleIn))
    return json_response(UpsellRuleOut.of(rule), status=201)


@route(blueprint, "/v1/upsell/rules/{rule_id}", methods=["GET"], permission=Permission("upsell_rules", "read"))
def get_upsell_rule(rule_id: str) -> Response:
    return json_response(UpsellRuleOut.of(upsell.get_rule(current_caller(blueprint), rule_id)))


@route(blueprint, "/v1/upsell/rules/{rule_id}", methods=["PATCH"], permission=Permission("upsell_rules", "configure"))
def update_upsell_rule(rule_id: str) -> Response:
    caller = current_caller(blueprint)
    rule = upsell.update_rule(caller, rule_id, parse_body(blueprint, UpsellRulePatchIn))
    return json_response(UpsellRuleOut.of(rule))


@route(blueprint, "/v1/upsell/rules/{rule_id}", methods=["DELETE"], permission=Permission("upsell_rules", "configure"))
def delete_upsell_rule(rule_id: str) -> Response:
    caller = current_caller(blueprint)
    upsell.delete_rule(caller, rule_id)
    return Response(body="", status_code=204)


@route(
    blueprint,
    "/v1/customers/{customer_id}/recommendations",
    methods=["GET"],
    permission=Permission("upsell", "read"),
)
def get_recommendations(customer_id: str) -> Response:
    items = upsell.recommendations(current_caller(blueprint), customer_id)
    return json_response(RecommendationsOut(customer_id=customer_id, items=[RecommendationOut.of(r) for r in items]))


@route(
    blueprint,
    "/v1/customers/{customer_id}/recommendations/{rule_id}/opportunity",
    methods=["POST"],
    permission=Permission("upsell", "write"),
)
def create_opportunity(customer_id: str, rule_id: str) -> Response:
    caller = current_caller(blueprint)
    body = parse_body(blueprint, OpportunityIn) if raw_body(blueprint).strip() else OpportunityIn()
    return json_response(upsell.create_opportunity(caller, customer_id, rule_id, body), status=201)


# --- revenue metrics ----------------------------------------------------------------------------------------
@route(blueprint, "/v1/metrics/revenue", methods=["GET"], permission=Permission("revenue_metrics", "read"))
def get_revenue_metrics() -> Response:
    return json_response(revenue.revenue_metrics(current_caller(blueprint), parse_query(blueprint, RevenueQuery)))
