"""Bulk import end to end on moto: POST /v1/imports, the presigned upload to S3, the suggested mapping,
the dry run and the commit through the import queue and the real ImportFunction handler."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
import requests

from infra.functions import FakeLambdaContext, load_handler
from infra.template import Resolver
from keepwell.domain import imports as rules
from keepwell.services import imports as import_service
from keepwell.services import schedule_runs
from tests.conftest import ApiClient, ApiResponse

CUSTOMERS_CSV = (
    "Company Name,External ID,Website,ARR,Owner Email,Tier,Renewal Date,Tags\r\n"
    "Acme Corp,acme-1,acme.example,120000,csm-1@acme.test,Gold,2027-03-01,eu|priority\r\n"
    '"Globex, Inc",globex-1,globex.example,60000,csm-2@acme.test,Silver,,\r\n'
    "Initech,initech-1,initech.example,lots,csm-1@acme.test,Bronze,2027-13-01,\r\n"
    "Umbrella,umbrella-1,umbrella.example,30000,nobody@acme.test,,,\r\n"
)


def queue_url() -> str:
    return os.environ["IMPORT_QUEUE_URL"]


def run_import_jobs(passes: int = 20) -> int:
    """Deliver the import queue's messages to the real handler, as Lambda's SQS poller would."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    handler = load_handler("ImportFunction")
    for handled in range(passes):
        messages = sqs.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=1, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return handled
        message = messages[0]
        event = {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:keepwell-local-ImportQueue",
                    "awsRegion": "us-east-1",
                }
            ]
        }
        result = handler(event, FakeLambdaContext("ImportFunction", timeout_ms=900_000))
        assert result == {"batchItemFailures": []}
        sqs.delete_message(QueueUrl=queue_url(), ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the import queue did not drain")


def start(api: ApiClient, kind: str, content: bytes, filename: str = "book.csv") -> dict[str, Any]:
    created = api.post("/v1/imports", {"kind": kind, "filename": filename})
    assert created.status == 201, created.body
    form = created.body["upload"]
    uploaded = requests.post(form["url"], data=form["fields"], files={"file": (filename, content)}, timeout=10)
    assert uploaded.status_code in (200, 204), uploaded.text
    return dict(created.body)


def get(api: ApiClient, import_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/imports/{import_id}")
    assert response.status == 200, response.body
    return dict(response.body)


def dry_run(api: ApiClient, import_id: str) -> dict[str, Any]:
    response = api.post(f"/v1/imports/{import_id}/dry-run")
    assert response.status == 202, response.body
    run_import_jobs()
    return get(api, import_id)


def commit(api: ApiClient, import_id: str) -> dict[str, Any]:
    response = api.post(f"/v1/imports/{import_id}/commit")
    assert response.status == 202, response.body
    run_import_jobs()
    return get(api, import_id)


def import_file(api: ApiClient, kind: str, text: str, mapping: dict[str, str] | None = None) -> dict[str, Any]:
    bulk = start(api, kind, text.encode())
    if mapping is not None:
        assert api.request("PUT", f"/v1/imports/{bulk['import_id']}/mapping", body={"mapping": mapping}).status == 200
    checked = dry_run(api, bulk["import_id"])
    assert checked["status"] == "validated", checked
    return commit(api, bulk["import_id"])


def customers_by_external_id(api: ApiClient) -> dict[str, dict[str, Any]]:
    items = api.get("/v1/customers", limit=200).body["items"]
    return {c["external_id"]: c for c in items}


def failed_rows_csv(api: ApiClient, import_id: str) -> list[dict[str, str]]:
    link: ApiResponse = api.get(f"/v1/imports/{import_id}/failed-rows")
    assert link.status == 200, link.body
    downloaded = requests.get(link.body["url"], timeout=10)
    assert downloaded.status_code == 200
    return list(csv.DictReader(io.StringIO(downloaded.content.decode("utf-8"))))


def test_upload_reads_the_header_and_suggests_a_mapping(admin_api: ApiClient, aws: Resolver) -> None:
    bulk = start(admin_api, "customers", CUSTOMERS_CSV.encode())
    assert bulk["status"] == "awaiting_upload"
    seen = get(admin_api, bulk["import_id"])
    assert seen["status"] == "uploaded"
    assert seen["columns"][:3] == ["Company Name", "External ID", "Website"]
    assert seen["suggested_mapping"] == {
        "Company Name": "name",
        "External ID": "external_id",
        "Website": "domain",
        "ARR": "arr",
        "Owner Email": "owner_email",
        "Tier": "tier",
        "Renewal Date": "renewal_date",
        "Tags": "tags",
    }
    assert seen["mapping"] == seen["suggested_mapping"]


def test_dry_run_reports_row_errors_and_counts_and_writes_nothing(admin_api: ApiClient, aws: Resolver) -> None:
    bulk = start(admin_api, "customers", CUSTOMERS_CSV.encode())
    report = dry_run(admin_api, bulk["import_id"])
    assert report["status"] == "validated"
    counts = {k: report["dry_run"][k] for k in ("rows_done", "created", "updated", "unchanged", "failed")}
    assert counts == {"rows_done": 4, "created": 2, "updated": 0, "unchanged": 0, "failed": 2}
    errors = {(e["row"], e["column"]) for e in report["dry_run"]["errors"]}
    assert errors == {(4, "ARR"), (4, "Renewal Date"), (5, "Owner Email")}
    assert any("not a number" in e["message"] for e in report["dry_run"]["errors"])
    assert admin_api.get("/v1/customers").body["items"] == []  # nothing written


def test_commit_creates_customers_and_lists_the_failed_rows(
    admin_api: ApiClient, aws: Resolver, published: list[Any]
) -> None:
    bulk = start(admin_api, "customers", CUSTOMERS_CSV.encode())
    dry_run(admin_api, bulk["import_id"])
    done = commit(admin_api, bulk["import_id"])
    assert done["status"] == "completed"
    assert {k: done["progress"][k] for k in ("rows_done", "created", "failed")} == {
        "rows_done": 4,
        "created": 2,
        "failed": 2,
    }
    customers = customers_by_external_id(admin_api)
    assert set(customers) == {"acme-1", "globex-1"}
    acme = customers["acme-1"]
    assert (acme["name"], acme["domain"], acme["arr"], acme["mrr"]) == ("Acme Corp", "acme.example", 120000, 10000)
    assert (acme["owner_id"], acme["tier"], acme["renewal_date"], acme["tags"]) == (
        "csm-1",
        "Gold",
        "2027-03-01",
        ["eu", "priority"],
    )
    assert customers["globex-1"]["name"] == "Globex, Inc"
    failed = failed_rows_csv(admin_api, bulk["import_id"])
    assert [row["row"] for row in failed] == ["4", "5"]
    assert failed[0]["Company Name"] == "Initech" and "ARR" in failed[0]["errors"]
    assert "nobody@acme.test is not an active user of this workspace" in failed[1]["errors"]
    audit = admin_api.get("/v1/audit", action="import.completed").body["items"]
    assert len(audit) == 1 and audit[0]["after"]["created"] == 2 and audit[0]["after"]["failed"] == 2
    assert sum(1 for e in published if e.detail_type == "customer.changed") == 2
    # a csm owner sees the imported customer in their book
    csm = ApiClient(admin_api.caller.__class__(admin_api.caller.workspace_id, "csm-1", "csm"))  # type: ignore[union-attr]
    assert [c["external_id"] for c in csm.get("/v1/customers").body["items"]] == ["acme-1"]


def test_a_rerun_changes_nothing_and_a_changed_value_updates_only_that_field(
    admin_api: ApiClient, aws: Resolver
) -> None:
    text = (
        "Name,External ID,Domain,ARR,Industry\r\n"
        "Acme,acme-1,acme.example,1200,Retail\r\n"
        "Beta,beta-1,beta.example,2400,\r\n"
    )
    first = import_file(admin_api, "customers", text)
    assert first["progress"]["created"] == 2
    before = customers_by_external_id(admin_api)
    again = import_file(admin_api, "customers", text)
    assert {k: again["progress"][k] for k in ("created", "updated", "unchanged")} == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
    }
    assert customers_by_external_id(admin_api) == before
    # ARR changed for Acme; Beta's empty industry cell leaves nothing cleared; matched by domain alone
    changed = "Name,Domain,ARR,Industry\r\nAcme,acme.example,2400,Retail\r\nBeta,beta.example,2400,\r\n"
    third = import_file(admin_api, "customers", changed)
    assert {k: third["progress"][k] for k in ("created", "updated", "unchanged")} == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    after = customers_by_external_id(admin_api)
    assert after["acme-1"]["arr"] == 2400 and after["acme-1"]["mrr"] == 200
    assert after["acme-1"]["version"] == before["acme-1"]["version"] + 1
    assert after["acme-1"]["industry"] == "Retail"
    assert after["beta-1"] == before["beta-1"]


def test_an_import_never_deletes_customers_missing_from_the_file(admin_api: ApiClient, aws: Resolver) -> None:
    import_file(admin_api, "customers", "Name,External ID\r\nA,a-1\r\nB,b-1\r\n")
    import_file(admin_api, "customers", "Name,External ID\r\nA,a-1\r\n")
    assert set(customers_by_external_id(admin_api)) == {"a-1", "b-1"}


def test_duplicate_and_conflicting_keys_fail_their_row(admin_api: ApiClient, aws: Resolver) -> None:
    admin_api.post("/v1/customers", {"name": "Old", "external_id": "old-1", "domain": "old.example"})
    text = (
        "Name,External ID,Domain\r\n"
        "A,a-1,a.example\r\n"
        "A again,a-1,other.example\r\n"  # external_id already on row 2
        "C,c-1,old.example\r\n"  # domain belongs to old-1, which has another external id
    )
    done = import_file(admin_api, "customers", text)
    assert done["progress"]["created"] == 1 and done["progress"]["failed"] == 2
    messages = {e["row"]: (e["column"], e["message"]) for e in done["progress"]["errors"]}
    assert messages[3][0] == "External ID" and "also on row 2" in messages[3][1]
    assert "has external_id old-1" in messages[4][1]


def test_semicolon_bom_and_quoted_fields_are_read(admin_api: ApiClient, aws: Resolver) -> None:
    text = '\ufeffName;External ID;ARR\r\n"Acme; ""the"" best";acme-1;1,200.50\r\n'
    bulk = start(admin_api, "customers", text.encode("utf-8"))
    dry_run(admin_api, bulk["import_id"])
    commit(admin_api, bulk["import_id"])
    acme = customers_by_external_id(admin_api)["acme-1"]
    assert (acme["name"], acme["arr"]) == ('Acme; "the" best', 1200.5)


def test_a_file_that_is_not_utf8_is_refused_before_anything_is_written(admin_api: ApiClient, aws: Resolver) -> None:
    text = "Name,External ID\r\n" + "".join(f"Caf\u00e9 {n},c-{n}\r\n" for n in range(300))
    bulk = start(admin_api, "customers", text.encode("latin-1"))
    seen = get(admin_api, bulk["import_id"])
    assert seen["status"] == "refused" and seen["refusal"]["reason"] == "encoding"
    assert "not UTF-8" in seen["refusal"]["message"]
    refused = admin_api.post(f"/v1/imports/{bulk['import_id']}/dry-run")
    assert refused.status == 400 and "not UTF-8" in refused.body["error"]["message"]
    assert admin_api.get("/v1/customers").body["items"] == []


def test_too_many_rows_is_refused_by_the_dry_run_and_cannot_be_committed(
    admin_api: ApiClient, aws: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "MAX_ROWS", 3)
    text = "Name,External ID\r\n" + "".join(f"C{n},c-{n}\r\n" for n in range(4))
    bulk = start(admin_api, "customers", text.encode())
    report = dry_run(admin_api, bulk["import_id"])
    assert report["status"] == "refused" and report["refusal"]["reason"] == "too_many_rows"
    assert "more than 3 rows" in report["refusal"]["message"]
    assert admin_api.post(f"/v1/imports/{bulk['import_id']}/commit").status == 400
    assert admin_api.get("/v1/customers").body["items"] == []


def test_a_file_over_the_size_limit_is_refused(
    admin_api: ApiClient, aws: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "MAX_BYTES", 40)
    bulk = start(admin_api, "customers", ("Name,External ID\r\n" + "Acme,acme-1\r\n" * 10).encode())
    seen = get(admin_api, bulk["import_id"])
    assert seen["status"] == "refused" and seen["refusal"]["reason"] == "too_big"


def test_a_missing_required_column_is_refused_naming_it(admin_api: ApiClient, aws: Resolver) -> None:
    bulk = start(admin_api, "customers", b"Company Name,ARR\r\nAcme,100\r\n")
    refused = admin_api.post(f"/v1/imports/{bulk['import_id']}/dry-run")
    assert refused.status == 400
    assert refused.body["error"]["details"] == [
        {"field": "external_id", "issue": "required column missing: map a column to external_id or domain"}
    ]
    bad = admin_api.request(
        "PUT", f"/v1/imports/{bulk['import_id']}/mapping", body={"mapping": {"ARR": "arr", "Nope": "name"}}
    )
    assert bad.status == 400
    assert {d["field"] for d in bad.body["error"]["details"]} == {"mapping.Nope", "external_id"}


def test_an_edited_mapping_is_used_and_custom_fields_are_typed(admin_api: ApiClient, aws: Resolver) -> None:
    admin_api.post("/v1/custom-fields", {"key": "sla_hours", "label": "SLA", "type": "number"})
    text = "Account,Ref,Hours,Note\r\nAcme,r-1,24,ignored\r\nBeta,r-2,soon,ignored\r\n"
    done = import_file(
        admin_api,
        "customers",
        text,
        mapping={"Account": "name", "Ref": "external_id", "Hours": "custom_fields.sla_hours"},
    )
    assert done["progress"]["created"] == 1 and done["progress"]["failed"] == 1
    assert done["progress"]["errors"][0]["column"] == "Hours"
    assert customers_by_external_id(admin_api)["r-1"]["custom_fields"] == {"sla_hours": 24}


def test_contacts_are_matched_by_customer_and_email(admin_api: ApiClient, aws: Resolver) -> None:
    import_file(admin_api, "customers", "Name,External ID,Domain\r\nAcme,acme-1,acme.example\r\n")
    text = (
        "Account ID,Full Name,Email,Job Title,Champion\r\n"
        "acme-1,Dana Scully,dana@ACME.example,VP Ops,yes\r\n"
        "acme-1,Fox Mulder,fox@acme.example,,no\r\n"
        "nobody-1,Walter Skinner,walter@x.example,,\r\n"
    )
    first = import_file(admin_api, "contacts", text)
    assert {k: first["progress"][k] for k in ("created", "failed")} == {"created": 2, "failed": 1}
    assert first["progress"]["errors"][0]["column"] == "Account ID"
    customer = customers_by_external_id(admin_api)["acme-1"]
    contacts = admin_api.get(f"/v1/customers/{customer['customer_id']}/contacts").body["items"]
    by_email = {c["email"]: c for c in contacts}
    assert set(by_email) == {"dana@acme.example", "fox@acme.example"}
    assert by_email["dana@acme.example"]["is_champion"] is True
    again = import_file(admin_api, "contacts", text)
    assert {k: again["progress"][k] for k in ("created", "updated", "unchanged")} == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
    }
    retitled = "Account ID,Email,Job Title\r\nacme-1,fox@acme.example,Director\r\n"
    third = import_file(admin_api, "contacts", retitled)
    assert third["progress"]["updated"] == 1
    contacts = admin_api.get(f"/v1/customers/{customer['customer_id']}/contacts").body["items"]
    fox = next(c for c in contacts if c["email"] == "fox@acme.example")
    assert (fox["name"], fox["title"]) == ("Fox Mulder", "Director")
    # The profile's contact counters (the Relationship dimension, issue 21) followed every import: two
    # contacts, the re-import moved nothing, Fox's new title made him a second executive.
    from keepwell.domain.contacts import ContactDepth
    from keepwell.storage import health_snapshots

    day = date(2026, 11, 20)
    read = health_snapshots.read_scoring_inputs(admin_api.caller.workspace_id, customer["customer_id"], day, day)
    assert read.contacts == ContactDepth(total=2, executive=2)


def test_contacts_already_there_are_matched_whether_or_not_the_profile_counts_them(
    admin_api: ApiClient, aws: Resolver
) -> None:
    """A contacts import skips looking for existing contacts only where the profile's counters say there
    are none: a contact added through the API, or kept on a profile written before the counters
    existed (no counter attributes), is still found by email and not created twice."""
    from keepwell.storage import keys

    import_file(
        admin_api,
        "customers",
        "Name,External ID,Domain\r\nAcme,acme-1,acme.example\r\nGlobex,globex-1,globex.example\r\n",
    )
    ids = {ext: c["customer_id"] for ext, c in customers_by_external_id(admin_api).items()}
    for ext, customer_id in ids.items():
        email = f"dana@{ext.split('-')[0]}.example"
        assert admin_api.post(f"/v1/customers/{customer_id}/contacts", {"name": "Dana", "email": email}).status == 201
    profile = keys.customer(admin_api.caller.workspace_id, ids["globex-1"])
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=aws.physical["KeepwellTable"]["Ref"],
        Key={"pk": {"S": profile.pk}, "sk": {"S": profile.sk}},
        UpdateExpression="REMOVE contacts_total, contacts_executive, contacts_manager, contacts_practitioner",
    )
    text = "Account ID,Full Name,Email\r\nacme-1,Dana,dana@acme.example\r\nglobex-1,Dana,dana@globex.example\r\n"
    result = import_file(admin_api, "contacts", text)
    assert {k: result["progress"][k] for k in ("created", "unchanged", "failed")} == {
        "created": 0,
        "unchanged": 2,
        "failed": 0,
    }
    for customer_id in ids.values():
        assert len(admin_api.get(f"/v1/customers/{customer_id}/contacts").body["items"]) == 1


def test_renewals_are_created_then_left_unchanged(admin_api: ApiClient, aws: Resolver) -> None:
    import_file(admin_api, "customers", "Name,External ID,ARR\r\nAcme,acme-1,12000\r\n")
    text = "Account ID,Renewal Date,Product,ARR\r\nacme-1,2027-05-01,,\r\nacme-1,2027-06-01,Analytics,2400\r\n"
    first = import_file(admin_api, "renewals", text)
    assert first["progress"]["created"] == 2, first["progress"]
    customer = customers_by_external_id(admin_api)["acme-1"]
    renewals = admin_api.get(f"/v1/customers/{customer['customer_id']}/renewals").body["items"]
    assert sorted((r["product"] or "", r["renewal_date"], r["current_arr"]) for r in renewals) == [
        ("", "2027-05-01", 12000),
        ("Analytics", "2027-06-01", 2400),
    ]
    again = import_file(admin_api, "renewals", text)
    assert again["progress"]["unchanged"] == 2
    moved = import_file(admin_api, "renewals", "Account ID,Renewal Date\r\nacme-1,2027-07-01\r\n")
    assert moved["progress"]["updated"] == 1
    assert customers_by_external_id(admin_api)["acme-1"]["renewal_date"] == "2027-07-01"


def test_a_renewals_dry_run_fails_a_row_whose_account_executive_the_commit_would_refuse(
    admin_api: ApiClient, aws: Resolver
) -> None:
    """The dry run promises what the commit does: an account executive who is not an active user of the
    workspace (unknown, or another workspace's) fails the row in both, with the API's wording."""
    import_file(admin_api, "customers", "Name,External ID\r\nAcme,acme-1\r\nGlobex,globex-1\r\nHooli,hooli-1\r\n")
    rows = ["Account ID,Renewal Date,AE", "acme-1,2027-05-01,csm-2", "globex-1,2027-05-01,usr_nobody"]
    text = "\r\n".join([*rows, "hooli-1,2027-05-01,admin-9", ""])
    bulk = start(admin_api, "renewals", text.encode())
    mapping = {"Account ID": "customer_external_id", "Renewal Date": "renewal_date", "AE": "account_executive_id"}
    assert admin_api.request("PUT", f"/v1/imports/{bulk['import_id']}/mapping", body={"mapping": mapping}).status == 200
    checked = dry_run(admin_api, bulk["import_id"])
    expected_errors = [
        {"row": 3, "column": "AE", "message": "usr_nobody is not an active user of this workspace"},
        {"row": 4, "column": "AE", "message": "admin-9 is not an active user of this workspace"},
    ]
    assert (checked["dry_run"]["created"], checked["dry_run"]["failed"]) == (1, 2), checked["dry_run"]
    assert checked["dry_run"]["errors"] == expected_errors
    done = commit(admin_api, bulk["import_id"])
    assert (done["progress"]["created"], done["progress"]["failed"]) == (1, 2)
    assert done["progress"]["errors"] == expected_errors


def test_a_viewer_may_co_own_an_imported_customer_but_not_own_it(admin_api: ApiClient, aws: Resolver) -> None:
    """As over the API: the owner is given the customer's work, which a viewer cannot do."""
    rows = ["Name,External ID,Owner Email,Co-owners", "Acme,acme-1,viewer-1@acme.test,"]
    text = "\r\n".join([*rows, "Globex,globex-1,csm-1@acme.test,viewer-1", ""])
    bulk = start(admin_api, "customers", text.encode())
    mapping = {"Name": "name", "External ID": "external_id", "Owner Email": "owner_email", "Co-owners": "co_owner_ids"}
    assert admin_api.request("PUT", f"/v1/imports/{bulk['import_id']}/mapping", body={"mapping": mapping}).status == 200
    checked = dry_run(admin_api, bulk["import_id"])
    assert (checked["dry_run"]["created"], checked["dry_run"]["failed"]) == (1, 1), checked["dry_run"]
    assert checked["dry_run"]["errors"] == [
        {"row": 2, "column": "Owner Email", "message": "viewer-1 is a viewer, who cannot be given work"}
    ]
    commit(admin_api, bulk["import_id"])
    assert customers_by_external_id(admin_api)["globex-1"]["co_owner_ids"] == ["viewer-1"]
    assert "acme-1" not in customers_by_external_id(admin_api)


def test_the_failed_rows_download_keeps_a_file_name_with_quotes_line_breaks_or_accents_inside_its_header(
    admin_api: ApiClient, aws: Resolver
) -> None:
    """The name comes from the import's body; written raw into Content-Disposition, a quote or a line
    break ended the header value (a broken or refused download) and accents were not encoded."""
    name = 'Kunden "Q3"\r\nX-Injected: 1 Übersicht.csv'
    bulk = start(admin_api, "customers", b"Name,External ID,ARR\r\nAcme,acme-1,lots\r\n", filename=name)
    assert dry_run(admin_api, bulk["import_id"])["dry_run"]["failed"] == 1
    link = admin_api.get(f"/v1/imports/{bulk['import_id']}/failed-rows").body["url"]
    downloaded = requests.get(link, timeout=10)
    assert downloaded.status_code == 200 and "X-Injected" not in downloaded.headers
    assert downloaded.headers["Content-Disposition"] == (
        'attachment; filename="Kunden _Q3___X-Injected: 1 _bersicht-failed-rows.csv"; '
        "filename*=UTF-8''Kunden%20%22Q3%22%0D%0AX-Injected%3A%201%20%C3%9Cbersicht-failed-rows.csv"
    )


def test_a_job_near_its_timeout_hands_over_and_counts_each_row_once(
    admin_api: ApiClient, aws: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_service, "CHUNK_ROWS", 2)
    monkeypatch.setattr(import_service, "CHECKPOINT_ROWS", 2)
    text = "Name,External ID,ARR\r\n" + "".join(f"C{n},c-{n},{'x' if n == 3 else n}\r\n" for n in range(7))
    bulk = start(admin_api, "customers", text.encode())
    dry_run(admin_api, bulk["import_id"])
    assert admin_api.post(f"/v1/imports/{bulk['import_id']}/commit").status == 202
    # every invocation has too little time left after its first chunk: it checkpoints and hands over
    monkeypatch.setattr(FakeLambdaContext, "get_remaining_time_in_millis", lambda self: 1_000)
    handled = run_import_jobs()
    assert handled == 4  # 7 rows, 2 a chunk
    done = get(admin_api, bulk["import_id"])
    assert done["status"] == "completed"
    assert {k: done["progress"][k] for k in ("rows_done", "created", "failed")} == {
        "rows_done": 7,
        "created": 6,
        "failed": 1,
    }
    assert len(customers_by_external_id(admin_api)) == 6
    assert [row["row"] for row in failed_rows_csv(admin_api, bulk["import_id"])] == ["5"]


def test_a_poison_message_fails_alone(aws: Resolver) -> None:
    handler = load_handler("ImportFunction")
    event = {
        "Records": [
            {
                "messageId": "bad-1",
                "receiptHandle": "rh",
                "body": '{"workspace_id": "ws#x"}',
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:keepwell-local-ImportQueue",
                "awsRegion": "us-east-1",
            }
        ]
    }
    assert handler(event, FakeLambdaContext("ImportFunction")) == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}


def test_imports_are_run_by_admins_read_by_directors_and_private_to_their_workspace(
    admin_api: ApiClient, other_admin_api: ApiClient, aws: Resolver
) -> None:
    bulk = start(admin_api, "customers", b"Name,External ID\r\nA,a-1\r\n")
    assert other_admin_api.get(f"/v1/imports/{bulk['import_id']}").status == 404
    assert other_admin_api.post(f"/v1/imports/{bulk['import_id']}/dry-run").status == 404
    assert other_admin_api.get("/v1/imports").body["items"] == []
    director = ApiClient(admin_api.caller.__class__(admin_api.caller.workspace_id, "director-1", "director"))  # type: ignore[union-attr]
    assert director.post("/v1/imports", {"kind": "customers", "filename": "x.csv"}).status == 403
    assert director.post(f"/v1/imports/{bulk['import_id']}/commit").status == 403
    assert director.get(f"/v1/imports/{bulk['import_id']}").status == 200
    csm = ApiClient(admin_api.caller.__class__(admin_api.caller.workspace_id, "csm-1", "csm"))  # type: ignore[union-attr]
    assert csm.get(f"/v1/imports/{bulk['import_id']}").status == 403


def test_imported_customers_are_scored_by_the_next_daily_run(admin_api: ApiClient, aws: Resolver) -> None:
    import_file(admin_api, "customers", "Name,External ID\r\nA,a-1\r\nB,b-1\r\n")
    imported = {c["customer_id"] for c in customers_by_external_id(admin_api).values()}
    assert schedule_runs.fan_out_due_workspaces(datetime(2026, 11, 20, 5, 0, tzinfo=UTC)) == {"ws_acme": 2}
    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies = sqs.receive_message(QueueUrl=os.environ["SCORING_QUEUE_URL"], MaxNumberOfMessages=10)["Messages"]
    assert {json.loads(m["Body"])["customer_id"] for m in bodies} == imported


def test_an_imported_renewal_date_opens_the_customers_renewal_and_a_moved_date_moves_it(
    admin_api: ApiClient, aws: Resolver
) -> None:
    """As over the API (docs/renewals.md): the renewals pipeline shows an imported book at once."""

    def open_renewals(customer_id: str) -> list[tuple[str, str]]:
        items = admin_api.get(f"/v1/customers/{customer_id}/renewals").body["items"]
        return [(r["renewal_date"], r["status"]) for r in items if r["product"] is None]

    text = "Name,External ID,Renewal Date\r\nAcme,acme-1,2027-03-01\r\nBeta,beta-1,\r\n"
    assert import_file(admin_api, "customers", text)["progress"]["created"] == 2
    imported = customers_by_external_id(admin_api)
    assert open_renewals(imported["acme-1"]["customer_id"]) == [("2027-03-01", "open")]
    assert open_renewals(imported["beta-1"]["customer_id"]) == []  # no date, no renewal
    assert import_file(admin_api, "customers", text)["progress"]["unchanged"] == 2
    assert open_renewals(imported["acme-1"]["customer_id"]) == [("2027-03-01", "open")]  # still one
    moved = "Name,External ID,Renewal Date\r\nAcme,acme-1,2027-04-15\r\n"
    assert import_file(admin_api, "customers", moved)["progress"]["updated"] == 1
    assert open_renewals(imported["acme-1"]["customer_id"]) == [("2027-04-15", "open")]
