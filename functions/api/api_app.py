"""The Customer 360 HTTP API. Each view: parse → one call into keepwell.services → respond."""

from __future__ import annotations

from typing import Any

import api_keys_routes
import audit_routes
import health_model_routes
import health_routes
import hubspot_routes
import imports_routes
import integrations_routes
import notifications_routes
import openapi_routes
import playbooks_routes
import renewals_routes
import segments_routes
import success_plans_routes
import tasks_routes
import users_routes
import webhooks_routes
import workspace_routes
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Response

from keepwell.http import create_app, current_caller, json_response, parse_body, parse_query, route
from keepwell.observability import logger, metrics
from keepwell.permissions import SIGNED_IN, Permission
from keepwell.schemas.contacts import ContactCreateIn, ContactListOut, ContactOut, ContactPatchIn
from keepwell.schemas.custom_fields import CustomFieldIn, CustomFieldListOut, CustomFieldOut
from keepwell.schemas.customers import (
    CustomerCreateIn,
    CustomerListOut,
    CustomerListQuery,
    CustomerOut,
    CustomerPatchIn,
)
from keepwell.schemas.timeline import NoteIn, TimelineItemOut, TimelineListOut, TimelineQuery
from keepwell.services import contacts, custom_fields, customers, profile, timeline

app = create_app("keepwell-api")
app.register_blueprint(api_keys_routes.blueprint)  # /v1/api-keys (admin only)
app.register_blueprint(health_model_routes.blueprint)  # /v1/health/model, /v1/health/presets
app.register_blueprint(health_routes.blueprint)  # recalculations, /v1/customers/{id}/health[/history]
app.register_blueprint(integrations_routes.blueprint)  # /v1/integrations (admin only)
app.register_blueprint(openapi_routes.blueprint)  # /v1/openapi.json (public)
app.register_blueprint(segments_routes.blueprint)  # /v1/segments, /v1/customers/{id}/benchmark
app.register_blueprint(webhooks_routes.blueprint)  # /v1/webhooks (admin only)
app.register_blueprint(playbooks_routes.blueprint)  # /v1/playbooks, /v1/settings/slack
app.register_blueprint(tasks_routes.blueprint)  # /v1/tasks, /v1/my-day
app.register_blueprint(renewals_routes.blueprint)  # renewals, churn, flags, scores, upsell, /v1/metrics/revenue
app.register_blueprint(users_routes.blueprint)  # /v1/users, /v1/invitations (admins; directors read)
app.register_blueprint(audit_routes.blueprint)  # /v1/audit (directors and admins)
app.register_blueprint(notifications_routes.blueprint)  # /v1/notifications (the caller's own)
app.register_blueprint(imports_routes.blueprint)  # /v1/imports (admin only; issue 20)
app.register_blueprint(hubspot_routes.blueprint)  # /v1/hubspot/connection (admin only; issue 20)
app.register_blueprint(workspace_routes.blueprint)  # /v1/settings/workspace (admin only)
app.register_blueprint(success_plans_routes.blueprint)  # /v1/capabilities, /v1/blueprints, success plans


@route(app, "/v1/me", methods=["GET"], permission=SIGNED_IN)
def get_me() -> Response:
    return json_response(profile.who_am_i(current_caller(app)))


# --- customers ----------------------------------------------------------------------------------
@route(app, "/v1/customers", methods=["GET"], permission=Permission("customers", "read"))
def list_customers() -> Response:
    page = customers.list_customers(current_caller(app), parse_query(app, CustomerListQuery))
    return json_response(CustomerListOut(items=[CustomerOut.of(c) for c in page.items], next_cursor=page.next_cursor))


@route(app, "/v1/customers", methods=["POST"], permission=Permission("customers", "write"))
def create_customer() -> Response:
    caller = current_caller(app)
    customer = customers.create_customer(caller, parse_body(app, CustomerCreateIn))
    return json_response(CustomerOut.of(customer), status=201)


@route(app, "/v1/customers/{customer_id}", methods=["GET"], permission=Permission("customers", "read"))
def get_customer(customer_id: str) -> Response:
    return json_response(CustomerOut.of(customers.get_customer(current_caller(app), customer_id)))


@route(app, "/v1/customers/{customer_id}", methods=["PATCH"], permission=Permission("customers", "write"))
def update_customer(customer_id: str) -> Response:
    caller = current_caller(app)
    customer = customers.update_customer(caller, customer_id, parse_body(app, CustomerPatchIn))
    return json_response(CustomerOut.of(customer))


@route(app, "/v1/customers/{customer_id}/archive", methods=["POST"], permission=Permission("customers", "write"))
def archive_customer(customer_id: str) -> Response:
    caller = current_caller(app)
    return json_response(CustomerOut.of(customers.archive_customer(caller, customer_id)))


# --- contacts -----------------------------------------------------------------------------------
@route(app, "/v1/customers/{customer_id}/contacts", methods=["GET"], permission=Permission("contacts", "read"))
def list_contacts(customer_id: str) -> Response:
    items = contacts.list_contacts(current_caller(app), customer_id)
    return json_response(ContactListOut(items=[ContactOut.of(c) for c in items]))


@route(app, "/v1/customers/{customer_id}/contacts", methods=["POST"], permission=Permission("contacts", "write"))
def create_contact(customer_id: str) -> Response:
    caller = current_caller(app)
    contact = contacts.create_contact(caller, customer_id, parse_body(app, ContactCreateIn))
    return json_response(ContactOut.of(contact), status=201)


@route(
    app,
    "/v1/customers/{customer_id}/contacts/{contact_id}",
    methods=["PATCH"],
    permission=Permission("contacts", "write"),
)
def update_contact(customer_id: str, contact_id: str) -> Response:
    caller = current_caller(app)
    contact = contacts.update_contact(caller, customer_id, contact_id, parse_body(app, ContactPatchIn))
    return json_response(ContactOut.of(contact))


@route(
    app,
    "/v1/customers/{customer_id}/contacts/{contact_id}",
    methods=["DELETE"],
    permission=Permission("contacts", "write"),
)
def delete_contact(customer_id: str, contact_id: str) -> Response:
    caller = current_caller(app)
    contacts.delete_contact(caller, customer_id, contact_id)
    return Response(body="", status_code=204)


# --- timeline -----------------------------------------------------------------------------------
@route(app, "/v1/customers/{customer_id}/timeline", methods=["GET"], permission=Permission("timeline", "read"))
def list_timeline(customer_id: str) -> Response:
    page = timeline.list_timeline(current_caller(app), customer_id, parse_query(app, TimelineQuery))
    return json_response(
        TimelineListOut(items=[TimelineItemOut.of(e) for e in page.items], next_cursor=page.next_cursor)
    )


@route(app, "/v1/customers/{customer_id}/notes", methods=["POST"], permission=Permission("timeline", "write"))
def add_note(customer_id: str) -> Response:
    caller = current_caller(app)
    entry = timeline.add_note(caller, customer_id, parse_body(app, NoteIn))
    return json_response(TimelineItemOut.of(entry), status=201)


# --- custom fields ------------------------------------------------------------------------------
@route(app, "/v1/custom-fields", methods=["GET"], permission=Permission("custom_fields", "read"))
def list_custom_fields() -> Response:
    items = custom_fields.list_custom_fields(current_caller(app))
    return json_response(CustomFieldListOut(items=[CustomFieldOut.of(d) for d in items]))


@route(app, "/v1/custom-fields", methods=["POST"], permission=Permission("custom_fields", "configure"))
def create_custom_field() -> Response:
    caller = current_caller(app)
    definition = custom_fields.create_custom_field(caller, parse_body(app, CustomFieldIn))
    return json_response(CustomFieldOut.of(definition), status=201)


@route(app, "/v1/custom-fields/{field_key}", methods=["DELETE"], permission=Permission("custom_fields", "configure"))
def delete_custom_field(field_key: str) -> Response:
    caller = current_caller(app)
    custom_fields.delete_custom_field(caller, field_key)
    return Response(body="", status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app(event, context)
