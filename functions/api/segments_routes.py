"""Segments (named conditions over customers), their members, and a customer's segment benchmark."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, parse_query, route
from keepwell.permissions import Permission
from keepwell.schemas.segments import SegmentIn, SegmentListOut, SegmentMembersQuery, SegmentPatchIn
from keepwell.services import segments

blueprint = Blueprint(__name__)


@route(blueprint, "/v1/segments", methods=["GET"], permission=Permission("segments", "read"))
def list_segments() -> Response:
    items = segments.list_segments(current_caller(blueprint))
    return json_response(SegmentListOut(items=[segments.segment_out(s) for s in items]))


@route(blueprint, "/v1/segments", methods=["POST"], permission=Permission("segments", "configure"))
def create_segment() -> Response:
    caller = current_caller(blueprint)
    segment = segments.create_segment(caller, parse_body(blueprint, SegmentIn))
    return json_response(segments.segment_out(segment), status=201)


@route(blueprint, "/v1/segments/{segment_id}", methods=["GET"], permission=Permission("segments", "read"))
def get_segment(segment_id: str) -> Response:
    return json_response(segments.segment_out(segments.get_segment(current_caller(blueprint), segment_id)))


@route(blueprint, "/v1/segments/{segment_id}", methods=["PATCH"], permission=Permission("segments", "configure"))
def update_segment(segment_id: str) -> Response:
    caller = current_caller(blueprint)
    segment = segments.update_segment(caller, segment_id, parse_body(blueprint, SegmentPatchIn))
    return json_response(segments.segment_out(segment))


@route(blueprint, "/v1/segments/{segment_id}", methods=["DELETE"], permission=Permission("segments", "configure"))
def delete_segment(segment_id: str) -> Response:
    caller = current_caller(blueprint)
    segments.delete_segment(caller, segment_id)
    return Response(body="", status_code=204)


@route(blueprint, "/v1/segments/{segment_id}/members", methods=["GET"], permission=Permission("segments", "read"))
def list_segment_members(segment_id: str) -> Response:
    query = parse_query(blueprint, SegmentMembersQuery)
    return json_response(segments.members(current_caller(blueprint), segment_id, query.limit, query.cursor))


@route(blueprint, "/v1/customers/{customer_id}/benchmark", methods=["GET"], permission=Permission("segments", "read"))
def get_customer_benchmark(customer_id: str) -> Response:
    return json_response(segments.benchmark(current_caller(blueprint), customer_id))
