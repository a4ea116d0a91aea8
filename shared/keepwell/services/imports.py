"""Bulk import use cases: start an import (presigned upload), read its header and suggest a mapping,
edit the mapping, run a dry run, commit, and the job that does both on the import queue.

Every row is validated with the API's own schemas (CustomerPatchIn/CreateIn, ContactPatchIn/CreateIn,
RenewalPatchIn/CreateIn) and rules (revenue derivation, known users, custom field types). Rows are
matched on external_id, then domain (customers) or email within the customer (contacts); an empty
cell leaves the stored value alone and an import never deletes. docs/import.md, decision 0028.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from keepwell import clock, ids
from keepwell.adapters import event_bus, files, queues
from keepwell.auth import Caller
from keepwell.domain import custom_fields as field_rules
from keepwell.domain import imports as rules
from keepwell.domain.contacts import Contact
from keepwell.domain.contacts import apply_patch as patch_contact
from keepwell.domain.customers import Customer, apply_patch, derive_revenue, normalise_domain
from keepwell.domain.imports import BulkImport, ImportRefused, ImportReport, Refusal, Row, RowError
from keepwell.errors import Conflict, InvalidInput, KeepwellError
from keepwell.observability import logger
from keepwell.schemas.contacts import ContactCreateIn, ContactPatchIn
from keepwell.schemas.customers import CustomerCreateIn, CustomerPatchIn
from keepwell.schemas.imports import ImportCreateIn, ImportMappingIn
from keepwell.schemas.messages import ImportJob
from keepwell.schemas.renewals import RenewalCreateIn, RenewalPatchIn
from keepwell.services import customers as customer_service
from keepwell.services import renewal_schedule, user_references
from keepwell.services import renewals as renewal_service
from keepwell.settings import get_settings
from keepwell.storage import audit as audit_store
from keepwell.storage import contacts as contact_store
from keepwell.storage import custom_fields as field_store
from keepwell.storage import customers as customer_store
from keepwell.storage import imports as store
from keepwell.storage import keys, workspaces
from keepwell.storage import renewals as renewal_store

UPLOAD_EXPIRES_SECONDS = 900
DOWNLOAD_EXPIRES_SECONDS = 900
CHUNK_ROWS = 250  # rows looked up and written together
CHECKPOINT_ROWS = 5_000  # progress (and the failed-rows file so far) saved at least this often
STOP_WITH_MS_LEFT = 60_000  # a job hands over to a fresh invocation with this much time left
FAILED_ROWS_FILE = "failed-rows.csv"
UPLOAD_FILE = "upload.csv"
_Body = TypeVar("_Body", bound=BaseModel)  # a row's validated body (the API's patch schema of its kind)


# --- API --------------------------------------------------------------------------------------------
def start_import(caller: Caller, body: ImportCreateIn) -> tuple[BulkImport, dict[str, Any]]:
    """A new import and the presigned form its file is uploaded with (S3 enforces the size limit)."""
    now = clock.iso(clock.now())
    import_id = ids.new_id("imp")
    bulk = BulkImport(
        import_id=import_id,
        workspace_id=caller.workspace_id,
        kind=body.kind,
        status="awaiting_upload",
        filename=body.filename,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
        file_key=keys.import_file(caller.workspace_id, import_id, UPLOAD_FILE),
    )
    store.create_import(bulk)
    form = files.presigned_upload(bulk.file_key, rules.MAX_BYTES, UPLOAD_EXPIRES_SECONDS)
    return bulk, {**form, "max_bytes": rules.MAX_BYTES, "expires_in": UPLOAD_EXPIRES_SECONDS}


def list_imports(caller: Caller) -> list[BulkImport]:
    return store.list_imports(caller.workspace_id)


def get_import(caller: Caller, import_id: str) -> BulkImport:
    """The import; once its file is uploaded, the first read checks its size and header and suggests
    a mapping from the column names."""
    bulk = store.require_import(caller.workspace_id, import_id)
    if bulk.status == "awaiting_upload":
        bulk = _inspect(bulk)
    return bulk


def _inspect(bulk: BulkImport) -> BulkImport:
    stored = files.describe(bulk.file_key)
    if stored is None:
        return bulk
    now = clock.iso(clock.now())
    update: dict[str, Any] = {"size_bytes": stored.size, "etag": stored.etag, "updated_at": now}
    try:
        if stored.size > rules.MAX_BYTES:
            raise ImportRefused(
                "too_big", f"The file is {stored.size:,} bytes; at most {rules.MAX_BYTES:,} (20 MB) are accepted"
            )
        sample = files.read_start(bulk.file_key, min(stored.size, rules.HEADER_SAMPLE_BYTES), stored.etag)
        header, _ = rules.read_csv([sample])
    except ImportRefused as refused:
        update |= {"status": "refused", "refusal": Refusal(reason=refused.reason, message=refused.message)}
    else:
        custom_keys = [d.key for d in field_store.list_definitions(bulk.workspace_id)]
        suggested = rules.suggest_mapping(header, bulk.kind, custom_keys)
        update |= {"status": "uploaded", "columns": header, "suggested_mapping": suggested, "mapping": suggested}
    return _save(bulk, update)


def _save(bulk: BulkImport, update: dict[str, Any]) -> BulkImport:
    return store.save_import(bulk, bulk.model_copy(update=update))


def _require_status(bulk: BulkImport, allowed: tuple[str, ...], doing: str) -> None:
    if bulk.status in allowed:
        return
    if bulk.status == "refused" and bulk.refusal is not None:
        raise InvalidInput(
            f"The file was refused: {bulk.refusal.message}", [{"field": "file", "issue": bulk.refusal.reason}]
        )
    if bulk.status == "awaiting_upload":
        raise Conflict(f"Upload the file before you {doing}", [{"field": "status", "issue": bulk.status}])
    raise Conflict(f"An import that is {bulk.status} cannot {doing}", [{"field": "status", "issue": bulk.status}])


def set_mapping(caller: Caller, import_id: str, body: ImportMappingIn) -> BulkImport:
    """Replace the mapping; 400 naming each bad column or missing required field. Any earlier dry
    run no longer applies."""
    bulk = get_import(caller, import_id)
    _require_status(bulk, ("uploaded", "validated"), "change its mapping")
    _check_mapping(bulk, body.mapping)
    return _save(
        bulk, {"mapping": body.mapping, "status": "uploaded", "dry_run": None, "updated_at": clock.iso(clock.now())}
    )


def _check_mapping(bulk: BulkImport, mapping: dict[str, str]) -> None:
    problems = rules.mapping_problems(mapping, bulk.columns, bulk.kind)
    if problems:
        raise InvalidInput(f"The mapping cannot be used: {problems[0]['issue']}", problems)


def start_dry_run(caller: Caller, import_id: str) -> BulkImport:
    bulk = get_import(caller, import_id)
    _require_status(bulk, ("uploaded", "validated"), "run a dry run")
    _check_mapping(bulk, bulk.mapping)
    now = clock.iso(clock.now())
    saved = _save(bulk, {"status": "validating", "dry_run": ImportReport(started_at=now), "updated_at": now})
    _enqueue(saved, "dry_run")
    return saved


def start_commit(caller: Caller, import_id: str) -> BulkImport:
    """Queue the commit of a dry-run import (the dry run is the gate: whole-file rules passed)."""
    bulk = get_import(caller, import_id)
    if bulk.status == "uploaded":
        raise Conflict(
            "Run a dry run of this mapping before committing", [{"field": "status", "issue": "dry run needed"}]
        )
    _require_status(bulk, ("validated",), "be committed")
    now = clock.iso(clock.now())
    saved = _save(
        bulk,
        {"status": "committing", "progress": ImportReport(started_at=now), "failed_rows_key": None, "updated_at": now},
    )
    _enqueue(saved, "commit")
    return saved


def _enqueue(bulk: BulkImport, phase: str) -> None:
    job = ImportJob(workspace_id=bulk.workspace_id, import_id=bulk.import_id, phase=phase)  # type: ignore[arg-type]
    queues.send_messages(_queue_url(), [job])


def failed_rows_link(caller: Caller, import_id: str) -> tuple[str | None, int, int]:
    """(url, expires_in, rows) of the failed-rows CSV of the latest dry run or commit; no url while it
    runs or when every row passed."""
    bulk = store.require_import(caller.workspace_id, import_id)
    report = bulk.progress or bulk.dry_run
    if bulk.failed_rows_key is None or report is None or report.finished_at is None or not report.failed:
        return None, 0, 0
    base = bulk.filename.rsplit(".", 1)[0] or "import"
    url = files.presigned_download(bulk.failed_rows_key, f"{base}-failed-rows.csv", DOWNLOAD_EXPIRES_SECONDS)
    return url, DOWNLOAD_EXPIRES_SECONDS, report.failed


# --- the job ----------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one row did (or would do)."""

    kind: str  # created, updated, unchanged, failed
    errors: list[RowError] = field(default_factory=list)


class _Workspace:
    """What validation needs from the workspace, read once per job: users and custom fields."""

    def __init__(self, workspace_id: str):
        users = [u for u in workspaces.list_users(workspace_id) if u.active]
        self.user_ids = {u.user_id for u in users}
        self.viewer_ids = {u.user_id for u in users if u.role == "viewer"}  # may co-own, not own (API's rule)
        self.user_by_email = {u.email.lower(): u.user_id for u in users}
        self.custom_fields = field_store.list_definitions(workspace_id)
        self.custom_types = {d.key: d.type for d in self.custom_fields}


def run_job(job: ImportJob, remaining_ms: Callable[[], int]) -> None:
    """Run or resume a dry run or commit. Progress and the failed-rows file so far are saved together
    every CHECKPOINT_ROWS rows, so a redelivered or handed-over message resumes after the last
    checkpoint and counts each row once. With little time left it hands over to a new message."""
    bulk = store.get_import(job.workspace_id, job.import_id)
    wanted = "validating" if job.phase == "dry_run" else "committing"
    if bulk is None or bulk.status != wanted:
        logger.info("stale import message", extra={"import_id": job.import_id, "phase": job.phase})
        return
    commit = job.phase == "commit"
    report = (bulk.progress if commit else bulk.dry_run) or ImportReport(started_at=clock.iso(clock.now()))
    runner = _Runner(bulk, commit, report)
    try:
        finished = runner.run(remaining_ms)
    except ImportRefused as refused:
        runner.close()
        _save(
            store.require_import(bulk.workspace_id, bulk.import_id),
            {
                "status": "refused",
                "refusal": Refusal(reason=refused.reason, message=refused.message),
                "updated_at": clock.iso(clock.now()),
            },
        )
        return
    except files.FileChanged:
        runner.close()
        _save(
            store.require_import(bulk.workspace_id, bulk.import_id),
            {
                "status": "refused",
                "refusal": Refusal(
                    reason="file_changed", message="The file was uploaded again after its dry run; start a new import"
                ),
                "updated_at": clock.iso(clock.now()),
            },
        )
        return
    if not finished:
        queues.send_messages(_queue_url(), [job])  # hand over: the next invocation resumes at the checkpoint
        return
    if commit:
        audit_store.record_audit(
            bulk.workspace_id,
            bulk.created_by,
            "import.completed",
            f"import:{bulk.import_id}",
            None,
            {
                "kind": bulk.kind,
                "filename": bulk.filename,
                **runner.report.model_dump(include={"rows_done", "created", "updated", "unchanged", "failed"}),
            },
        )


def _queue_url() -> str:
    return get_settings().import_queue_url


def mark_failed(job: ImportJob, message: str) -> None:
    """The job's message is on its way to the DLQ: say so on the import."""
    bulk = store.get_import(job.workspace_id, job.import_id)
    if bulk is None or bulk.status not in ("validating", "committing"):
        return
    _save(
        bulk,
        {
            "status": "failed",
            "refusal": Refusal(reason="job_failed", message=message),
            "updated_at": clock.iso(clock.now()),
        },
    )


class _Runner:
    def __init__(self, bulk: BulkImport, commit: bool, report: ImportReport):
        self.bulk = bulk
        self.commit = commit
        self.report = report
        self.caller = Caller(bulk.workspace_id, bulk.created_by, "admin")
        self.workspace = _Workspace(bulk.workspace_id)
        self.seen: dict[str, int] = {}  # match key -> first row carrying it (duplicates in the file)
        self._failed_path: str | None = None
        self._failed_file: Any = None
        self._failed_writer: Any = None
        self.failed_rows = 0

    # failed rows are appended to a local file (never held in memory), uploaded at each checkpoint
    def _open_failed(self, header: list[str]) -> None:
        handle, self._failed_path = tempfile.mkstemp(suffix=".csv")
        os.close(handle)
        resumed = self.report.rows_done > 0 and self.bulk.failed_rows_key is not None
        if resumed:
            with open(self._failed_path, "wb") as out:
                for chunk in files.stream(self.bulk.failed_rows_key or "", None):
                    out.write(chunk)
        self._failed_file = open(self._failed_path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._failed_writer = csv.writer(self._failed_file, lineterminator="\r\n")
        if not resumed:
            self._failed_writer.writerow(["row", "errors", *header])

    def close(self) -> None:
        if self._failed_file is not None:
            self._failed_file.close()
            self._failed_file = None
        if self._failed_path and os.path.exists(self._failed_path):
            os.unlink(self._failed_path)

    def run(self, remaining_ms: Callable[[], int]) -> bool:
        header, rows = rules.read_csv(files.stream(self.bulk.file_key, self.bulk.etag))
        if header != self.bulk.columns:
            raise ImportRefused("header", "The file's header changed after it was uploaded; start a new import")
        self._open_failed(header)
        try:
            return self._run(header, rows, remaining_ms)
        finally:
            self.close()

    def _run(self, header: list[str], rows: Iterator[Row], remaining_ms: Callable[[], int]) -> bool:
        resume_after = self.report.rows_done
        since_checkpoint = 0
        chunk: list[Row] = []
        position = 0
        for row in rows:
            position += 1
            if position <= resume_after:
                self._remember(row)  # rows done before: only their keys (duplicates) matter now
                continue
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                self._chunk(chunk)
                since_checkpoint += len(chunk)
                chunk = []
                if since_checkpoint >= CHECKPOINT_ROWS:
                    self._checkpoint(finished=False)
                    since_checkpoint = 0
                if remaining_ms() < STOP_WITH_MS_LEFT:
                    self._checkpoint(finished=False)
                    return False
        if chunk:
            self._chunk(chunk)
        self._checkpoint(finished=True)
        return True

    def _remember(self, row: Row) -> None:
        converted = rules.convert_row(row, self.bulk.mapping, self.bulk.kind)
        for key in _match_keys(self.bulk.kind, converted.values):
            self.seen.setdefault(key, row.number)

    def _chunk(self, chunk: list[Row]) -> None:
        plan = {"customers": self._customers, "contacts": self._contacts, "renewals": self._renewals}[self.bulk.kind]
        outcomes = plan(chunk)
        for row, outcome in zip(chunk, outcomes, strict=True):
            self.report.rows_done += 1
            if outcome.kind == "failed":
                self.report.failed += 1
                self.report.add_errors(outcome.errors)
                text = "; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in outcome.errors)
                self._failed_writer.writerow([row.number, text, *(row.cells.get(c, "") for c in self.bulk.columns)])
                self.failed_rows += 1
            else:
                setattr(self.report, outcome.kind, getattr(self.report, outcome.kind) + 1)

    def _checkpoint(self, *, finished: bool) -> None:
        """Progress and the failed-rows file go together: a resumed job appends to exactly this file."""
        self._failed_file.flush()
        failed_key = self.bulk.failed_rows_key
        if self.report.failed:
            failed_key = keys.import_file(self.bulk.workspace_id, self.bulk.import_id, FAILED_ROWS_FILE)
            files.upload(failed_key, self._failed_path or "")
        now = clock.iso(clock.now())
        update: dict[str, Any] = {"failed_rows_key": failed_key, "updated_at": now}
        if finished:
            self.report.finished_at = now
            update["status"] = "completed" if self.commit else "validated"
        update["progress" if self.commit else "dry_run"] = self.report.model_copy(deep=True)
        current = store.require_import(self.bulk.workspace_id, self.bulk.import_id)
        self.bulk = _save(current, update)

    # --- validation shared by the kinds --------------------------------------------------------------
    def _validate(self, row: Row, schema: type[BaseModel]) -> tuple[rules.ConvertedRow, BaseModel | None]:
        converted = rules.convert_row(row, self.bulk.mapping, self.bulk.kind)
        values = dict(converted.values)
        if "custom_fields" in values:
            values["custom_fields"] = self._custom_values(converted, values["custom_fields"])
        if "owner_email" in values:
            email = values.pop("owner_email").lower()
            owner = self.workspace.user_by_email.get(email)
            if owner is None:
                unknown = user_references.NOT_A_USER.format(user_id=email)
                converted.errors.append(_cell(converted, "owner_email", unknown))
            else:
                values["owner_id"] = owner
                converted.columns.setdefault("owner_id", converted.columns["owner_email"])
        for name in ("customer_external_id", "customer_domain"):
            values.pop(name, None)
        if converted.errors:
            return converted, None
        try:
            body = schema.model_validate(values)
        except ValidationError as error:
            for problem in error.errors():
                name = str(problem["loc"][0]) if problem["loc"] else ""
                converted.errors.append(_cell(converted, name, problem["msg"]))
            return converted, None
        return converted, body

    def _custom_values(self, converted: rules.ConvertedRow, raw: dict[str, str]) -> dict[str, Any]:
        typed: dict[str, Any] = {}
        for key, text in raw.items():
            field_type = self.workspace.custom_types.get(key)
            column = converted.columns.get(rules.CUSTOM_PREFIX + key, key)
            if field_type is None:
                converted.errors.append(rules.CellError(column, f"{key} is not a custom field of this workspace"))
                continue
            try:
                typed[key] = rules.convert_custom(field_type, text)
            except ValueError:
                converted.errors.append(rules.CellError(column, f"{text!r} is not a {field_type}"))
                continue
        try:
            return field_rules.validate_values(typed, self.workspace.custom_fields) if typed else {}
        except InvalidInput as error:
            for detail in error.details:
                key = detail.get("field", "")
                converted.errors.append(
                    rules.CellError(converted.columns.get(rules.CUSTOM_PREFIX + key, key), detail.get("issue", ""))
                )
            return {}

    def _check_users(self, converted: rules.ConvertedRow, values: dict[str, Any]) -> None:
        """Users a row names are active users of the workspace (as over the API: user_references), checked
        in the dry run too, so it fails the rows the commit would."""
        named = [(name, values.get(name)) for name in ("owner_id", "account_executive_id")]
        named += [("co_owner_ids", user_id) for user_id in values.get("co_owner_ids") or []]
        for name, user_id in named:
            if user_id is not None and user_id not in self.workspace.user_ids:
                converted.errors.append(_cell(converted, name, user_references.NOT_A_USER.format(user_id=user_id)))
            elif name == "owner_id" and user_id in self.workspace.viewer_ids:
                converted.errors.append(_cell(converted, name, user_references.A_VIEWER.format(user_id=user_id)))

    def _duplicate(self, converted: rules.ConvertedRow, keys_: list[str]) -> bool:
        for key in keys_:
            first = self.seen.get(key)
            if first is not None and first != converted.number:
                name, value = key.split(":", 1)
                column = name if name in converted.columns else next(iter(converted.columns), "")
                converted.errors.append(
                    _cell(converted, column, f"{value} is also on row {first}; a file names each record once")
                )
                return True
        for key in keys_:
            self.seen.setdefault(key, converted.number)
        return False

    # --- customers -------------------------------------------------------------------------------------
    def _customers(self, chunk: list[Row]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        valid: list[tuple[int, rules.ConvertedRow, CustomerPatchIn]] = []
        for index, row in enumerate(chunk):
            converted, body = self._validate(row, CustomerPatchIn)
            if body is not None:
                assert isinstance(body, CustomerPatchIn)
                self._check_users(converted, body.changes())
                if not converted.errors:
                    keys_ = _match_keys("customers", {"external_id": body.external_id, "domain": body.domain})
                    if not self._duplicate(converted, keys_):
                        valid.append((index, converted, body))
            outcomes.append(Outcome("failed", _errors(converted)))
        found = customer_store.find_customer_ids_batch(
            self.bulk.workspace_id,
            external_ids=[b.external_id for _, _, b in valid if b.external_id],
            domains=[b.domain for _, _, b in valid if b.domain],
        )
        profiles = customer_store.get_customers_batch(self.bulk.workspace_id, set(found.values()))
        writes: list[customer_store.CustomerWrite] = []
        write_rows: list[int] = []
        now = clock.iso(clock.now())
        for index, converted, body in valid:
            try:
                write = self._customer_write(converted, body, found, profiles, now)
            except InvalidInput as error:
                for detail in error.details or [{"field": "", "issue": error.message}]:
                    converted.errors.append(_cell(converted, detail.get("field", ""), detail.get("issue", "")))
                outcomes[index] = Outcome("failed", _errors(converted))
                continue
            if write is None:
                outcomes[index] = Outcome("unchanged")
                continue
            outcomes[index] = Outcome("created" if write.before is None else "updated")
            writes.append(write)
            write_rows.append(index)
        if self.commit and writes:
            refused = customer_store.write_customers_batch(writes)
            for position in refused:
                outcomes[write_rows[position]] = Outcome(
                    "failed",
                    [
                        RowError(
                            row=chunk[write_rows[position]].number,
                            column="",
                            message="another change got there first (domain or external_id taken, or the customer "
                            "was edited meanwhile); import the row again",
                        )
                    ],
                )
            done = [w for position, w in enumerate(writes) if position not in refused]
            _publish(done)
            # A set or moved renewal date opens or moves its renewal, as over the API: a new customer's
            # first renewal in batches, a changed date of an existing customer through the same service.
            renewal_schedule.open_first_renewals([w.after for w in done if w.before is None], self.bulk.created_by)
            for write in done:
                if write.before is not None and write.after.renewal_date != write.before.renewal_date:
                    renewal_schedule.follow_renewal_date(write.after, self.bulk.created_by)
        return outcomes

    def _customer_write(
        self,
        converted: rules.ConvertedRow,
        body: CustomerPatchIn,
        found: dict[str, str],
        profiles: dict[str, Customer],
        now: str,
    ) -> customer_store.CustomerWrite | None:
        by_external = found.get(f"external_id:{body.external_id}") if body.external_id else None
        by_domain = found.get(f"domain:{body.domain}") if body.domain else None
        if by_external and by_domain and by_external != by_domain:
            raise InvalidInput(
                "conflict",
                [
                    {
                        "field": "domain",
                        "issue": f"{body.domain} belongs to another customer than external_id {body.external_id}",
                    }
                ],
            )
        target = by_external or by_domain
        changes = body.changes()
        if target is None or target not in profiles:
            if "name" not in changes:
                raise InvalidInput("name", [{"field": "name", "issue": "a new customer needs a name"}])
            create = CustomerCreateIn.model_validate(changes)
            arr, mrr = derive_revenue(create.arr, create.mrr)
            customer = Customer(
                **create.model_dump(exclude={"arr", "mrr", "custom_fields"}),
                customer_id=ids.new_id("cus"),
                workspace_id=self.bulk.workspace_id,
                arr=arr,
                mrr=mrr,
                custom_fields={k: v for k, v in create.custom_fields.items() if v is not None},
                created_at=now,
                updated_at=now,
                version=1,
            )
            return customer_store.CustomerWrite(None, customer)
        current = profiles[target]
        if by_external is None and current.external_id and body.external_id and current.external_id != body.external_id:
            raise InvalidInput(
                "conflict",
                [
                    {
                        "field": "external_id",
                        "issue": f"the customer with domain {body.domain} has external_id {current.external_id}",
                    }
                ],
            )
        updated = apply_patch(current, changes, now_iso=now)
        if updated.model_dump(exclude={"updated_at"}) == current.model_dump(exclude={"updated_at"}):
            return None
        return customer_store.CustomerWrite(current, updated.model_copy(update={"version": current.version + 1}))

    # --- contacts --------------------------------------------------------------------------------------
    def _rows_of_customers(
        self, chunk: list[Row], schema: type[_Body]
    ) -> tuple[list[Outcome], list[tuple[int, rules.ConvertedRow, _Body, str]]]:
        """Validate a chunk of rows that name a customer (by external id or domain; contacts and
        renewals): every row's outcome ("failed" until decided), and the valid rows whose customer was
        found, with its id."""
        outcomes: list[Outcome] = []
        valid: list[tuple[int, rules.ConvertedRow, _Body]] = []
        for index, row in enumerate(chunk):
            converted, body = self._validate(row, schema)
            if body is not None:
                valid.append((index, converted, body))  # type: ignore[arg-type]
            outcomes.append(Outcome("failed", _errors(converted)))
        found = customer_store.find_customer_ids_batch(
            self.bulk.workspace_id,
            external_ids=[c.values["customer_external_id"] for _, c, _ in valid if "customer_external_id" in c.values],
            domains=[d for _, c, _ in valid if (d := _domain_of(c)) is not None],
        )
        resolved: list[tuple[int, rules.ConvertedRow, _Body, str]] = []
        for index, converted, body in valid:
            customer_id = _customer_ref(converted, found)
            if customer_id is None:
                outcomes[index] = Outcome("failed", _errors(converted))
            else:
                resolved.append((index, converted, body, customer_id))
        return outcomes, resolved

    def _contacts(self, chunk: list[Row]) -> list[Outcome]:
        outcomes, resolved = self._rows_of_customers(chunk, ContactPatchIn)
        profiles = contact_store.contact_targets_batch(self.bulk.workspace_id, {r[3] for r in resolved})
        existing = contact_store.list_contacts_of(self.bulk.workspace_id, profiles)
        writes: list[contact_store.ContactWrite] = []
        write_rows: list[int] = []
        now = clock.iso(clock.now())
        for index, converted, body, customer_id in resolved:
            profile = profiles.get(customer_id)
            if profile is None:
                converted.errors.append(_cell(converted, "customer_external_id", "the customer no longer exists"))
                outcomes[index] = Outcome("failed", _errors(converted))
                continue
            changes = body.changes()
            email = changes.get("email")
            if email is None:
                converted.errors.append(_cell(converted, "email", "contacts are matched by email: the cell is empty"))
                outcomes[index] = Outcome("failed", _errors(converted))
                continue
            if self._duplicate(converted, [f"email:{customer_id}:{email}"]):
                outcomes[index] = Outcome("failed", _errors(converted))
                continue
            match = next((c for c in existing.get(customer_id, []) if c.email == email), None)
            wants_champion = bool(changes.pop("is_champion", False))  # `false` never unsets a champion
            champion = wants_champion and (match is None or profile.champion_contact_id != match.contact_id)
            if match is None:
                if "name" not in changes:
                    converted.errors.append(_cell(converted, "name", "a new contact needs a name"))
                    outcomes[index] = Outcome("failed", _errors(converted))
                    continue
                create = ContactCreateIn.model_validate(changes)
                contact = Contact(
                    **create.model_dump(exclude={"is_champion"}),
                    contact_id=ids.new_id("con"),
                    customer_id=customer_id,
                    workspace_id=self.bulk.workspace_id,
                    created_at=now,
                    updated_at=now,
                )
                writes.append(contact_store.ContactWrite(contact, create=True, champion=champion))
                write_rows.append(index)
                outcomes[index] = Outcome("created")
                existing.setdefault(customer_id, []).append(contact)
                continue
            updated = patch_contact(match, changes, now_iso=now)
            same = updated.model_dump(exclude={"updated_at"}) == match.model_dump(exclude={"updated_at"})
            if same and not champion:
                outcomes[index] = Outcome("unchanged")
                continue
            writes.append(
                contact_store.ContactWrite(updated, create=False, champion=champion, previous_title=match.title)
            )
            write_rows.append(index)
            outcomes[index] = Outcome("updated")
        if self.commit and writes:
            refused = contact_store.write_contacts_batch(writes, now_iso=now)
            for position in refused:
                row = chunk[write_rows[position]]
                outcomes[write_rows[position]] = Outcome(
                    "failed", [RowError(row=row.number, column="", message="the customer or contact changed meanwhile")]
                )
        return outcomes

    # --- renewals (few per customer: written one by one through the renewal service) -------------------
    def _renewals(self, chunk: list[Row]) -> list[Outcome]:
        outcomes, resolved = self._rows_of_customers(chunk, RenewalPatchIn)
        for index, converted, body, customer_id in resolved:
            changes = body.changes()
            self._check_users(converted, changes)
            if converted.errors:
                outcomes[index] = Outcome("failed", _errors(converted))
                continue
            if self._duplicate(converted, [f"renewal:{customer_id}:{changes.get('product') or ''}"]):
                outcomes[index] = Outcome("failed", _errors(converted))
                continue
            try:
                outcomes[index] = self._renewal(customer_id, changes)
            except KeepwellError as error:
                for detail in error.details or [{"field": "", "issue": error.message}]:
                    converted.errors.append(
                        _cell(converted, detail.get("field", ""), detail.get("issue", error.message))
                    )
                outcomes[index] = Outcome("failed", _errors(converted))
        return outcomes

    def _renewal(self, customer_id: str, changes: dict[str, Any]) -> Outcome:
        product = changes.get("product")
        open_ = [
            r
            for r in renewal_store.list_customer_renewals(self.bulk.workspace_id, customer_id)
            if r.is_open and r.product == product
        ]
        match = min(open_, key=lambda r: r.renewal_date) if open_ else None
        if match is None:
            if "renewal_date" not in changes:
                raise InvalidInput("renewal_date", [{"field": "renewal_date", "issue": "a new renewal needs a date"}])
            body = RenewalCreateIn.model_validate(changes)
            if self.commit:
                renewal_service.create_renewal(self.caller, customer_id, body)
            return Outcome("created")
        current = match.model_dump()
        if all(current.get(name) == value for name, value in changes.items()):
            return Outcome("unchanged")
        if self.commit:
            saved = renewal_service.update_renewal(
                self.caller, customer_id, match.renewal_id, RenewalPatchIn.model_validate(changes)
            )
            if saved.version == match.version:
                return Outcome("unchanged")
        return Outcome("updated")


def _cell(converted: rules.ConvertedRow, name: str, message: str) -> rules.CellError:
    return rules.CellError(converted.columns.get(name, name), message)


def _errors(converted: rules.ConvertedRow) -> list[RowError]:
    return [RowError(row=converted.number, column=e.column, message=e.message) for e in converted.errors]


def _match_keys(kind: str, values: dict[str, Any]) -> list[str]:
    if kind != "customers":
        return []
    found = []
    if values.get("external_id"):
        found.append(f"external_id:{values['external_id']}")
    if values.get("domain"):
        found.append(f"domain:{values['domain']}")
    return found


def _domain_of(converted: rules.ConvertedRow) -> str | None:
    raw = converted.values.get("customer_domain")
    if raw is None:
        return None
    try:
        return normalise_domain(raw)
    except ValueError:
        return None


def _customer_ref(converted: rules.ConvertedRow, found: dict[str, str]) -> str | None:
    """The customer a contact or renewal row names (external id first); records why when none."""
    external = converted.values.get("customer_external_id")
    if external is not None:
        customer_id = found.get(f"external_id:{external}")
        if customer_id is None:
            converted.errors.append(_cell(converted, "customer_external_id", f"no customer has external_id {external}"))
        return customer_id
    domain = _domain_of(converted)
    customer_id = found.get(f"domain:{domain}") if domain else None
    if customer_id is None:
        raw = converted.values.get("customer_domain")
        converted.errors.append(_cell(converted, "customer_domain", f"no customer has domain {raw}"))
    return customer_id


def _publish(writes: list[customer_store.CustomerWrite]) -> None:
    """`customer.changed` for each created or updated customer, in PutEvents batches (as the API does)."""
    events = [customer_service.changed_event(w.before, w.after) for w in writes]
    try:
        event_bus.publish(events)
    except Exception:
        logger.exception("customer.changed events of an import chunk were not published")
