"""No DynamoDB Scan anywhere in the deployed code: every read addresses items by key or index.

A Scan reads every workspace's items (tenancy) and its cost grows with the whole table.
"""

from __future__ import annotations

import textwrap

import pytest

from infra.checks import python_files, scan_calls_in_source, scan_calls_in_tree
from infra.template import ROOT


def test_functions_and_shared_contain_no_scan():
    findings = scan_calls_in_tree(("functions", "shared"))
    assert not findings, "Scan is not allowed:\n" + "\n".join(map(str, findings))


def test_the_checker_walks_every_handler_and_the_storage_layer():
    # Guard against a checker that silently looks at nothing (wrong root, wrong glob).
    walked = {path.relative_to(ROOT).as_posix() for path in python_files(("functions", "shared"))}
    assert "shared/keepwell/storage/models.py" in walked
    assert "functions/api/api_app.py" in walked
    assert "functions/scorer/scorer_handler.py" in walked


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("table.scan(FilterExpression='x')", "call to .scan()"),
        ("boto3.client('dynamodb').scan(TableName='t')", "call to .scan()"),
        ("for item in CustomerItem.scan(CustomerItem.name == 'a'): pass", "call to .scan()"),
        ("CustomerItem.parallel_scan(segment=0, total_segments=4)", "call to .parallel_scan()"),
        ("client.get_paginator('Scan').paginate(TableName='t')", "get_paginator('Scan')"),
        ("client._make_api_call('Scan', {'TableName': 't'})", "_make_api_call('Scan')"),
        ("getattr(table, 'scan')()", "getattr(..., 'scan')"),
        ("client.execute(operation_name='Scan')", "operation_name='Scan'"),
        ("request = {'operation': 'Scan', 'table': 't'}", "'operation': 'Scan'"),
    ],
)
def test_the_checker_catches_each_way_of_scanning(snippet, expected):
    findings = scan_calls_in_source(snippet, "offender.py")
    assert [f.what for f in findings] == [expected]
    assert findings[0].path == "offender.py" and findings[0].line == 1


def test_the_checker_reports_the_file_and_line_in_a_planted_module(tmp_path):
    package = tmp_path / "shared" / "keepwell" / "storage"
    package.mkdir(parents=True)
    (package / "sneaky.py").write_text(
        textwrap.dedent("""\
        from keepwell.storage.models import CustomerItem


        def all_customers():
            return list(CustomerItem.scan())
    """)
    )
    (package / "fine.py").write_text("def get(table, key):\n    return table.get_item(Key=key)\n")
    findings = scan_calls_in_tree(("shared",), base=tmp_path)
    assert [(f.path, f.line) for f in findings] == [("shared/keepwell/storage/sneaky.py", 5)]


@pytest.mark.parametrize(
    "snippet",
    [
        "table.query(KeyConditionExpression='pk = :pk')",
        "table.get_item(Key={'pk': 'WS#a', 'sk': 'X'})",
        "CustomerItem.query('WS#a')",
        "text = 'Scan the QR code'",  # prose, not an operation
        "scanner.scan_text('a')",
        "scan = 3",
    ],
)
def test_the_checker_leaves_key_addressed_reads_and_prose_alone(snippet):
    assert scan_calls_in_source(snippet) == []
