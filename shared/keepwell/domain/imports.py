"""Bulk import of a CSV file: limits, reading, column mapping and cell conversion. Pure: no AWS here.

The file is read as a stream of byte chunks (never whole): an incremental UTF-8 decoder, then the
csv module over the decoded lines, so memory holds one chunk and one row whatever the file's size.
Each cell is turned from text into the type the API's schema expects; the service then validates the
row with the very pydantic schema the API uses (docs/import.md).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ImportKind = Literal["customers", "contacts", "renewals"]
KINDS: tuple[ImportKind, ...] = ("customers", "contacts", "renewals")

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 200
MAX_CELL_CHARS = 10_000
HEADER_SAMPLE_BYTES = 64 * 1024  # enough for any header row the column limit allows
CUSTOM_PREFIX = "custom_fields."

FieldType = Literal["text", "number", "integer", "date", "bool", "list"]


@dataclass(frozen=True)
class TargetField:
    name: str
    type: FieldType = "text"
    synonyms: tuple[str, ...] = ()


def _fields(*specs: TargetField) -> dict[str, TargetField]:
    return {spec.name: spec for spec in specs}


TARGETS: dict[ImportKind, dict[str, TargetField]] = {
    "customers": _fields(
        TargetField(
            "name", synonyms=("account", "account_name", "company", "company_name", "customer", "customer_name")
        ),
        TargetField("external_id", synonyms=("id", "account_id", "crm_id", "customer_id", "external", "record_id")),
        TargetField("domain", synonyms=("website", "company_domain", "domain_name", "url")),
        TargetField("arr", "number", synonyms=("annual_recurring_revenue", "annual_revenue", "contract_value")),
        TargetField("mrr", "number", synonyms=("monthly_recurring_revenue",)),
        TargetField("status", synonyms=("lifecycle", "lifecycle_stage", "stage")),
        TargetField("owner_id", synonyms=("csm_id", "owner_user_id")),
        TargetField("owner_email", synonyms=("owner", "csm", "csm_email", "account_owner", "owner_e_mail")),
        TargetField("co_owner_ids", "list", synonyms=("co_owners",)),
        TargetField("tier", synonyms=("segment", "customer_tier")),
        TargetField("industry", synonyms=("vertical", "sector")),
        TargetField("region", synonyms=("geo", "territory")),
        TargetField("country", synonyms=("country_code",)),
        TargetField("plan", synonyms=("product_plan", "subscription", "package")),
        TargetField("employee_count", "integer", synonyms=("employees", "company_size", "headcount")),
        TargetField("seats", "integer", synonyms=("licenses", "licences", "seat_count")),
        TargetField("tags", "list", synonyms=("labels",)),
        TargetField("renewal_date", "date", synonyms=("renewal", "contract_end", "contract_end_date", "renews_on")),
        TargetField("nps", "integer", synonyms=("net_promoter_score",)),
    ),
    "contacts": _fields(
        TargetField("customer_external_id", synonyms=("account_id", "account_external_id", "company_id")),
        TargetField("customer_domain", synonyms=("account_domain", "company_domain", "website", "domain")),
        TargetField("name", synonyms=("full_name", "contact", "contact_name")),
        TargetField("email", synonyms=("email_address", "e_mail", "mail")),
        TargetField("title", synonyms=("job_title", "role", "position")),
        TargetField("phone", synonyms=("phone_number", "telephone", "mobile")),
        TargetField("is_champion", "bool", synonyms=("champion",)),
        TargetField("email_bounced", "bool", synonyms=("bounced",)),
    ),
    "renewals": _fields(
        TargetField("customer_external_id", synonyms=("account_id", "account_external_id", "company_id")),
        TargetField("customer_domain", synonyms=("account_domain", "company_domain", "website", "domain")),
        TargetField("product", synonyms=("subscription", "product_name")),
        TargetField("renewal_date", "date", synonyms=("renewal", "close_date", "contract_end", "contract_end_date")),
        TargetField("current_arr", "number", synonyms=("arr", "amount", "contract_value")),
        TargetField("mrr", "number", synonyms=("monthly_recurring_revenue",)),
        TargetField("auto_renew", "bool", synonyms=("autorenew", "auto_renewal")),
        TargetField("proposed_arr", "number", synonyms=("proposed",)),
        TargetField("expansion_target_arr", "number", synonyms=("expansion_target",)),
        TargetField("account_executive_id", synonyms=("ae_id", "account_executive")),
        TargetField("notes", synonyms=("note", "comments")),
    ),
}

# The columns rows are matched by: each group needs at least one of its fields mapped (the first names
# the group in messages). Fields only a new record needs (a customer's name, a renewal's date) are
# checked per row, so a file that only updates (say ARR by external id) needs no name column.
REQUIRED: dict[ImportKind, tuple[tuple[str, ...], ...]] = {
    "customers": (("external_id", "domain"),),
    "contacts": (("customer_external_id", "customer_domain"), ("email",)),
    "renewals": (("customer_external_id", "customer_domain"),),
}

Mapping = dict[str, str]  # CSV column (as in the header) -> target field


class ImportRefused(Exception):
    """The whole file is refused before anything is written; `reason` says which rule."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class CellError:
    column: str
    message: str


@dataclass
class Row:
    number: int  # the line a spreadsheet shows: the header is row 1
    cells: dict[str, str]  # column -> raw text


# --- reading --------------------------------------------------------------------------------------
def _decoded_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Lines (ends kept, for the csv module) of UTF-8 bytes, with or without a BOM; a wrong encoding
    is refused with the byte offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    offset = 0
    pending = ""
    first = True
    for chunk in chunks:
        if first and chunk[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise ImportRefused("encoding", "The file is UTF-16; save it as CSV UTF-8 and upload it again")
        first = False
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            position = offset + error.start
            raise ImportRefused(
                "encoding",
                f"The file is not UTF-8 (byte 0x{chunk[error.start]:02x} at offset {position}); "
                "save it as CSV UTF-8 and upload it again",
            ) from None
        offset += len(chunk)
        if "\x00" in text:
            raise ImportRefused("encoding", "The file holds NUL bytes: it is not a UTF-8 CSV file")
        pending += text
        lines = pending.splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        yield from lines
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportRefused("encoding", "The file ends inside a UTF-8 character: it is not UTF-8") from None
    if pending:
        yield pending


def detect_delimiter(header_line: str) -> str:
    """Comma or semicolon: whichever the header row (outside quotes) has more of."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    return ";" if outside.count(";") > outside.count(",") else ","


class _Lines:
    """The decoded lines, with the first kept back until the delimiter is known."""

    def __init__(self, chunks: Iterable[bytes]):
        self._lines = _decoded_lines(chunks)
        self.first = next(self._lines, "")

    def __iter__(self) -> Iterator[str]:
        if self.first:
            yield self.first
        yield from self._lines


def read_csv(chunks: Iterable[bytes], max_rows: int | None = None) -> tuple[list[str], Iterator[Row]]:
    """The header and a lazy iterator of the data rows. Refuses (ImportRefused) an empty file, a bad
    header, a wrong encoding, a cell or row too large or more than `max_rows` rows — the rows being
    lazy, the last two surface while iterating, so callers validate the whole file before writing."""
    lines = _Lines(chunks)
    delimiter = detect_delimiter(lines.first)
    csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(iter(lines), delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ImportRefused("malformed", f"The header row cannot be read: {error}") from None
    if not header or not any(cell.strip() for cell in header):
        raise ImportRefused("empty", "The file is empty: the first row must name the columns")
    header = [cell.strip() for cell in header]
    if len(header) > MAX_COLUMNS:
        raise ImportRefused("too_many_columns", f"The file has {len(header)} columns; at most {MAX_COLUMNS}")
    blank = [index + 1 for index, cell in enumerate(header) if not cell]
    if blank:
        raise ImportRefused("header", f"Column {blank[0]} of the header row has no name")
    seen: set[str] = set()
    for cell in header:
        if cell.lower() in seen:
            raise ImportRefused("header", f"The header names the column {cell!r} twice")
        seen.add(cell.lower())
    return header, _rows(reader, header, MAX_ROWS if max_rows is None else max_rows)


def _rows(reader: Any, header: list[str], max_rows: int) -> Iterator[Row]:
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = reader.line_num
            reason = "too_big" if "field larger" in str(error) else "malformed"
            raise ImportRefused(
                reason, f"Row {line} cannot be read: {error} (a cell holds at most {MAX_CELL_CHARS} characters)"
            ) from None
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (spreadsheets leave them at the end) are not rows
        count += 1
        if count > max_rows:
            raise ImportRefused(
                "too_many_rows", f"The file has more than {max_rows:,} rows; split it into smaller files"
            )
        number = count + 1
        if len(cells) > len(header):
            extra = {"__extra__": f"row has {len(cells)} cells but the header names {len(header)} columns"}
            yield Row(number, extra)
            continue
        yield Row(number, {column: cells[index] if index < len(cells) else "" for index, column in enumerate(header)})


# --- mapping --------------------------------------------------------------------------------------
def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def suggest_mapping(header: list[str], kind: ImportKind, custom_field_keys: Iterable[str] = ()) -> Mapping:
    """column -> target for every column whose name (or a usual synonym) names a field; `custom.x`,
    `custom_fields.x` or a defined custom field's key map to that custom field (customers)."""
    targets = TARGETS[kind]
    by_name: dict[str, str] = {}
    for spec in targets.values():
        for alias in (spec.name, *spec.synonyms):
            by_name.setdefault(_normalise(alias), spec.name)
    custom = {_normalise(key): key for key in custom_field_keys} if kind == "customers" else {}
    mapping: Mapping = {}
    taken: set[str] = set()
    for column in header:
        normal = _normalise(column)
        target: str | None = by_name.get(normal)
        if target is None and kind == "customers":
            for prefix in ("custom_fields_", "custom_"):
                if normal.startswith(prefix) and len(normal) > len(prefix):
                    key = custom.get(normal[len(prefix) :], normal[len(prefix) :])
                    target = CUSTOM_PREFIX + key
                    break
            else:
                if normal in custom:
                    target = CUSTOM_PREFIX + custom[normal]
        if target is not None and target not in taken:
            mapping[column] = target
            taken.add(target)
    return mapping


def mapping_problems(mapping: Mapping, header: list[str], kind: ImportKind) -> list[dict[str, str]]:
    """Why a mapping cannot be used, each naming the column or field; empty when it can."""
    problems: list[dict[str, str]] = []
    targets = TARGETS[kind]
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if column not in header:
            problems.append({"field": f"mapping.{column}", "issue": f"the file has no column {column!r}"})
            continue
        is_custom = kind == "customers" and target.startswith(CUSTOM_PREFIX) and len(target) > len(CUSTOM_PREFIX)
        if target not in targets and not is_custom:
            problems.append({"field": f"mapping.{column}", "issue": f"{target!r} is not a {kind} field"})
            continue
        if target in used:
            problems.append(
                {"field": f"mapping.{column}", "issue": f"{target} is already mapped from column {used[target]!r}"}
            )
        used[target] = column
    for group in REQUIRED[kind]:
        if not any(name in used for name in group):
            needed = " or ".join(group)
            problems.append({"field": group[0], "issue": f"required column missing: map a column to {needed}"})
    return problems


# --- cells ----------------------------------------------------------------------------------------
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def _number(text: str) -> float:
    value = text.replace(" ", "").replace("\u00a0", "")
    if _THOUSANDS.match(value):
        value = value.replace(",", "")
    if "," in value:
        raise ValueError("use a dot for decimals (1200.50)")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a number")
    return number


def _convert(target: TargetField, text: str) -> Any:
    if target.type == "text":
        return text
    if target.type == "number":
        try:
            return _number(text)
        except ValueError as error:
            raise ValueError(
                f"{text!r} is not a number: {error}" if "dot" in str(error) else f"{text!r} is not a number"
            ) from None
    if target.type == "integer":
        try:
            number = _number(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if not number.is_integer():
            raise ValueError(f"{text!r} is not a whole number")
        return int(number)
    if target.type == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date as YYYY-MM-DD") from None
    if target.type == "bool":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{text!r} is not true or false")
    return sorted({part.strip() for part in re.split(r"[|;]", text) if part.strip()})


@dataclass
class ConvertedRow:
    number: int
    values: dict[str, Any] = field(default_factory=dict)  # target -> typed value; empty cells left out
    errors: list[CellError] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # target -> the column it came from


def convert_row(row: Row, mapping: Mapping, kind: ImportKind) -> ConvertedRow:
    """Typed values of the mapped, non-empty cells. An empty cell means "leave as is": an import
    never clears a value. Custom fields gather under `custom_fields`."""
    out = ConvertedRow(row.number)
    if "__extra__" in row.cells:
        out.errors.append(CellError("", row.cells["__extra__"]))
        return out
    targets = TARGETS[kind]
    for column, target_name in mapping.items():
        text = row.cells.get(column, "").strip()
        if not text:
            continue
        out.columns[target_name] = column
        if target_name.startswith(CUSTOM_PREFIX):
            out.values.setdefault("custom_fields", {})[target_name[len(CUSTOM_PREFIX) :]] = text
            continue
        try:
            out.values[target_name] = _convert(targets[target_name], text)
        except ValueError as error:
            out.errors.append(CellError(column, str(error)))
    return out


def convert_custom(field_type: str, text: str) -> Any:
    """A custom field's cell as the API would receive it for that field's type (checked afterwards by
    the custom-field rules, the same as a PATCH)."""
    if field_type == "number":
        return _number(text)
    if field_type == "boolean":
        return _convert(TargetField("x", "bool"), text)
    return text


# --- the import itself ----------------------------------------------------------------------------
ImportStatus = Literal[
    "awaiting_upload",  # created; the file goes straight to S3 by the presigned form
    "uploaded",  # the file is there and its header was read; mapping suggested, editable
    "validating",  # dry run queued or running
    "validated",  # dry run done: counts and per-row errors; may be committed
    "committing",  # commit queued or running
    "completed",  # committed (failed rows, if any, are in the failed-rows file)
    "refused",  # the file breaks a whole-file rule (encoding, size, rows, header); nothing written
    "failed",  # the job could not finish (the DLQ holds its message); see `refusal`
]
MAX_ERRORS_SHOWN = 100  # per-row errors kept on the import; all of them are in the failed-rows file


class RowError(BaseModel):
    row: int
    column: str
    message: str


class Refusal(BaseModel):
    reason: str
    message: str


class ImportReport(BaseModel):
    """Counts of a dry run (what would happen) or of a commit (what happened so far)."""

    rows_done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = Field(default_factory=list)
    errors_truncated: bool = False
    started_at: str | None = None
    finished_at: str | None = None

    def add_errors(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            if len(self.errors) < MAX_ERRORS_SHOWN:
                self.errors.append(error)
            else:
                self.errors_truncated = True


class BulkImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    import_id: str
    workspace_id: str
    kind: ImportKind
    status: ImportStatus
    filename: str
    created_by: str
    created_at: str
    updated_at: str
    file_key: str
    size_bytes: int | None = None
    etag: str | None = None  # of the file the dry run read; the commit reads exactly that file
    columns: list[str] = Field(default_factory=list)
    suggested_mapping: dict[str, str] = Field(default_factory=dict)
    mapping: dict[str, str] = Field(default_factory=dict)
    refusal: Refusal | None = None
    dry_run: ImportReport | None = None
    progress: ImportReport | None = None
    failed_rows_key: str | None = None
    version: int = 1
