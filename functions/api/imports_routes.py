"""Bulk imports (admin): start an import (presigned upload), read it, edit its mapping, dry run, commit,
and the failed rows as a CSV link. The work itself runs on the import queue (functions/imports)."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from keepwell.http import current_caller, json_response, parse_body, route
from keepwell.permissions import Permission
from keepwell.schemas.imports import (
    FailedRowsOut,
    ImportCreatedOut,
    ImportCreateIn,
    ImportListOut,
    ImportMappingIn,
    ImportOut,
    UploadFormOut,
)
from keepwell.services import imports

blueprint = Blueprint(__name__)
READ = Permission("imports", "read")
WRITE = Permission("imports", "write")


@route(blueprint, "/v1/imports", methods=["POST"], permission=WRITE)
def start_import() -> Response:
    bulk, form = imports.start_import(current_caller(blueprint), parse_body(blueprint, ImportCreateIn))
    out = ImportCreatedOut.model_validate({**ImportOut.of(bulk).model_dump(), "upload": UploadFormOut(**form)})
    return json_response(out, status=201)


@route(blueprint, "/v1/imports", methods=["GET"], permission=READ)
def list_imports() -> Response:
    return json_response(
        ImportListOut(items=[ImportOut.of(b) for b in imports.list_imports(current_caller(blueprint))])
    )


@route(blueprint, "/v1/imports/{import_id}", methods=["GET"], permission=READ)
def get_import(import_id: str) -> Response:
    return json_response(ImportOut.of(imports.get_import(current_caller(blueprint), import_id)))


@route(blueprint, "/v1/imports/{import_id}/mapping", methods=["PUT"], permission=WRITE)
def set_mapping(import_id: str) -> Response:
    caller = current_caller(blueprint)
    return json_response(ImportOut.of(imports.set_mapping(caller, import_id, parse_body(blueprint, ImportMappingIn))))


@route(blueprint, "/v1/imports/{import_id}/dry-run", methods=["POST"], permission=WRITE)
def start_dry_run(import_id: str) -> Response:
    return json_response(ImportOut.of(imports.start_dry_run(current_caller(blueprint), import_id)), status=202)


@route(blueprint, "/v1/imports/{import_id}/commit", methods=["POST"], permission=WRITE)
def start_commit(import_id: str) -> Response:
    return json_response(ImportOut.of(imports.start_commit(current_caller(blueprint), import_id)), status=202)


@route(blueprint, "/v1/imports/{import_id}/failed-rows", methods=["GET"], permission=READ)
def failed_rows(import_id: str) -> Response:
    url, expires_in, rows = imports.failed_rows_link(current_caller(blueprint), import_id)
    return json_response(FailedRowsOut(url=url, expires_in=expires_in, rows=rows))
