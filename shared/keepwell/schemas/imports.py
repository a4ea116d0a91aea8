"""Request and response bodies of the bulk import routes (`/v1/imports`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keepwell.domain.imports import MAX_COLUMNS, REQUIRED, TARGETS, BulkImport, ImportKind, ImportReport, Refusal

_BODY = ConfigDict(extra="forbid", strict=True)
FileName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Column = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Target = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class ImportCreateIn(BaseModel):
    model_config = _BODY

    kind: ImportKind
    filename: FileName


class ImportMappingIn(BaseModel):
    """CSV column (exactly as in the header) -> Keepwell field; columns left out are not imported."""

    model_config = _BODY

    mapping: dict[Column, Target] = Field(max_length=MAX_COLUMNS)


class UploadFormOut(BaseModel):
    """POST the file to `url` as multipart/form-data: every field of `fields`, then the file as `file`."""

    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in: int


class ImportOut(BaseModel):
    import_id: str
    kind: str
    status: str
    filename: str
    created_by: str
    created_at: str
    updated_at: str
    size_bytes: int | None
    columns: list[str]
    suggested_mapping: dict[str, str]
    mapping: dict[str, str]
    refusal: Refusal | None
    dry_run: ImportReport | None
    progress: ImportReport | None
    failed_rows_available: bool
    # What a column may be mapped to (besides `custom_fields.<key>` for customers), and the groups of
    # which the mapping needs at least one field each: a mapping screen offers these, never a copy.
    fields: list[str]
    required: list[list[str]]

    @classmethod
    def of(cls, bulk: BulkImport) -> ImportOut:
        data: dict[str, Any] = bulk.model_dump(
            exclude={"workspace_id", "file_key", "etag", "failed_rows_key", "version"}
        )
        return cls.model_validate(
            {
                **data,
                "failed_rows_available": bulk.failed_rows_key is not None,
                "fields": list(TARGETS[bulk.kind]),
                "required": [list(group) for group in REQUIRED[bulk.kind]],
            }
        )


class ImportCreatedOut(ImportOut):
    upload: UploadFormOut


class ImportListOut(BaseModel):
    items: list[ImportOut]


class FailedRowsOut(BaseModel):
    """A link to the failed rows as CSV: each row's number, its errors, then its cells as uploaded.
    `url` is null while the dry run or commit runs, and when no row failed."""

    url: str | None
    expires_in: int
    rows: int
