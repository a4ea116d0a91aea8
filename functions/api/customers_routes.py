"""Customers, their contacts and their timeline (notes): the portfolio's records."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, parse_query, route
from keepwell.permissions import Permission
from keepwell.schemas.contacts import ContactCreateIn, ContactListOut, ContactOut, ContactPatchIn
from keepwell.schemas.customers import (
    CustomerCreateIn,
    CustomerListOut,
    CustomerListQuery,
    CustomerOut,
    CustomerPatchIn,
)
from keepwell.schemas.timeline import NoteIn, TimelineItemOut, TimelineListOut, TimelineQuery
from keepwell.services import contacts, customers, timeline

blueprint = Blueprint(__name__)


# --- customers ----------------------------------------------------------------------------------
@route(blueprint, "/v1/customers", methods=["GET"], permission=Permission("customers", "read"))
def list_customers() -> Response:
    page = customers.list_customers(current_caller(blueprint), parse_query(blueprint, CustomerListQuery))
    return json_response(CustomerListOut(items=[CustomerOut.of(c) for c in page.items], next_cursor=page.next_cursor))


@route(blueprint, "/v1/customers", methods=["POST"], permission=Permission("customers", "write"))
def create_customer() -> Response:
    caller = current_caller(blueprint)
    customer = customers.create_customer(caller, parse_body(blueprint, CustomerCreateIn))
    return json_response(CustomerOut.of(customer), status=201)


@route(blueprint, "/v1/customers/{customer_id}", methods=["GET"], permission=Permission("customers", "read"))
def get_customer(customer_id: str) -> Response:
    return json_response(CustomerOut.of(customers.get_customer(current_caller(blueprint), customer_id)))


@route(blueprint, "/v1/customers/{customer_id}", methods=["PATCH"], permission=Permission("customers", "write"))
def update_customer(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    customer = customers.update_customer(caller, customer_id, parse_body(blueprint, CustomerPatchIn))
    return json_response(CustomerOut.of(customer))


@route(blueprint, "/v1/customers/{customer_id}/archive", methods=["POST"], permission=Permission("customers", "write"))
def archive_customer(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(CustomerOut.of(customers.archive_customer(caller, customer_id)))


# --- contacts -----------------------------------------------------------------------------------
@route(blueprint, "/v1/customers/{customer_id}/contacts", methods=["GET"], permission=Permission("contacts", "read"))
def list_contacts(customer_id: str) -> Response:
    items = contacts.list_contacts(current_caller(blueprint), customer_id)
    return json_response(ContactListOut(items=[ContactOut.of(c) for c in items]))


@route(blueprint, "/v1/customers/{customer_id}/contacts", methods=["POST"], permission=Permission("contacts", "write"))
def create_contact(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    contact = contacts.create_contact(caller, customer_id, parse_body(blueprint, ContactCreateIn))
    return json_response(ContactOut.of(contact), status=201)


@route(
    blueprint,
    "/v1/customers/{customer_id}/contacts/{contact_id}",
    methods=["PATCH"],
    permission=Permission("contacts", "write"),
)
def update_contact(customer_id: str, contact_id: str) -> Response:
    caller = current_caller(blueprint)
    contact = contacts.update_contact(caller, customer_id, contact_id, parse_body(blueprint, ContactPatchIn))
    return json_response(ContactOut.of(contact))


@route(
    blueprint,
    "/v1/customers/{customer_id}/contacts/{contact_id}",
    methods=["DELETE"],
    permission=Permission("contacts", "write"),
)
def delete_contact(customer_id: str, contact_id: str) -> Response:
    caller = current_caller(blueprint)
    contacts.delete_contact(caller, customer_id, contact_id)
    return Response(body="", status_code=204)


# --- timeline -----------------------------------------------------------------------------------
@route(blueprint, "/v1/customers/{customer_id}/timeline", methods=["GET"], permission=Permission("timeline", "read"))
def list_timeline(customer_id: str) -> Response:
    page = timeline.list_timeline(current_caller(blueprint), customer_id, parse_query(blueprint, TimelineQuery))
    return json_response(
        TimelineListOut(items=[TimelineItemOut.of(e) for e in page.items], next_cursor=page.next_cursor)
    )


@route(blueprint, "/v1/customers/{customer_id}/notes", methods=["POST"], permission=Permission("timeline", "write"))
def add_note(customer_id: str) -> Response:
    caller = current_caller(blueprint)
    entry = timeline.add_note(caller, customer_id, parse_body(blueprint, NoteIn))
    return json_response(TimelineItemOut.of(entry), status=201)
