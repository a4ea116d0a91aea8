"""The import's pure rules: reading a CSV stream, whole-file refusals, the suggested mapping, the
mapping check and the conversion of cells (keepwell.domain.imports)."""

from __future__ import annotations

from datetime import date

import pytest

from keepwell.domain import imports as rules
from keepwell.domain.imports import ImportRefused, Row


def read(data: bytes, chunk: int = 7, max_rows: int | None = None) -> tuple[list[str], list[Row]]:
    """Fed in small chunks, so multi-byte characters and quoted newlines straddle chunk ends."""
    header, rows = rules.read_csv((data[i : i + chunk] for i in range(0, len(data), chunk)), max_rows=max_rows)
    return header, list(rows)


def test_bom_semicolons_quotes_and_newlines_inside_quotes_are_read() -> None:
    data = '\ufeffName;Note\r\n"Café; ""quoted""";"two\nlines"\r\nB;\r\n'.encode()
    header, rows = read(data)
    assert header == ["Name", "Note"]
    assert [r.cells for r in rows] == [{"Name": 'Café; "quoted"', "Note": "two\nlines"}, {"Name": "B", "Note": ""}]
    assert [r.number for r in rows] == [2, 3]


def test_blank_lines_are_not_rows_and_short_rows_are_padded() -> None:
    _, rows = read(b"a,b,c\n1\n\n,,\n2,3,4\n")
    assert [r.cells for r in rows] == [{"a": "1", "b": "", "c": ""}, {"a": "2", "b": "3", "c": "4"}]


def test_a_row_with_more_cells_than_the_header_is_a_row_error() -> None:
    _, rows = read(b"a,b\n1,2,3\n")
    converted = rules.convert_row(rows[0], {"a": "name"}, "customers")
    assert converted.errors[0].message == "row has 3 cells but the header names 2 columns"


def test_latin1_is_refused_with_the_offset_of_the_first_bad_byte() -> None:
    with pytest.raises(ImportRefused) as refused:
        read("Name\nCafé\n".encode("latin-1"))
    assert refused.value.reason == "encoding"
    assert "byte 0xe9 at offset 8" in refused.value.message


def test_utf16_is_refused_by_name() -> None:
    with pytest.raises(ImportRefused, match="UTF-16"):
        read("Name\nA\n".encode("utf-16"))


def test_more_rows_than_allowed_are_refused_while_reading() -> None:
    _, rows = rules.read_csv([b"a\n1\n2\n3\n"], max_rows=2)
    assert next(rows).cells == {"a": "1"}
    next(rows)
    with pytest.raises(ImportRefused) as refused:
        next(rows)
    assert refused.value.reason == "too_many_rows"


def test_a_cell_larger_than_the_limit_is_refused() -> None:
    with pytest.raises(ImportRefused) as refused:
        read(b'a\n"' + b"x" * (rules.MAX_CELL_CHARS + 1) + b'"\n', chunk=4096)
    assert refused.value.reason == "too_big"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"a,,c\n", "header"),
        (b"a,A\n", "header"),
        (b",".join(f"c{i}".encode() for i in range(rules.MAX_COLUMNS + 1)) + b"\n", "too_many_columns"),
    ],
)
def test_bad_headers_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        read(data)
    assert refused.value.reason == reason


def test_the_suggested_mapping_knows_usual_names_and_custom_fields() -> None:
    header = [
        "Account Name",
        "CRM ID",
        "Website",
        "Annual Recurring Revenue",
        "CSM Email",
        "custom.sla",
        "Health",
        "Region",
    ]
    assert rules.suggest_mapping(header, "customers", custom_field_keys=["sla"]) == {
        "Account Name": "name",
        "CRM ID": "external_id",
        "Website": "domain",
        "Annual Recurring Revenue": "arr",
        "CSM Email": "owner_email",
        "custom.sla": "custom_fields.sla",
        "Region": "region",
    }


def test_a_field_is_suggested_for_one_column_only() -> None:
    assert rules.suggest_mapping(["Company", "Account Name"], "customers") == {"Company": "name"}


def test_mapping_problems_name_the_column_or_the_missing_field() -> None:
    problems = rules.mapping_problems(
        {"Nope": "name", "Email": "emial", "A": "title", "B": "title"}, ["Email", "A", "B"], "contacts"
    )
    assert problems == [
        {"field": "mapping.Nope", "issue": "the file has no column 'Nope'"},
        {"field": "mapping.Email", "issue": "'emial' is not a contacts field"},
        {"field": "mapping.B", "issue": "title is already mapped from column 'A'"},
        {
            "field": "customer_external_id",
            "issue": "required column missing: map a column to customer_external_id or customer_domain",
        },
        {"field": "email", "issue": "required column missing: map a column to email"},
    ]


def test_cells_are_typed_and_empty_cells_left_out() -> None:
    row = Row(
        2,
        {"ARR": "1,250,000.50", "Seats": "40", "Renewal": "2027-01-31", "Tags": "a | b;a", "Tier": " ", "x": "1.5"},
    )
    mapping = {"ARR": "arr", "Seats": "seats", "Renewal": "renewal_date", "Tags": "tags", "Tier": "tier"}
    converted = rules.convert_row(row, mapping, "customers")
    assert converted.errors == []
    assert converted.values == {"arr": 1250000.5, "seats": 40, "renewal_date": date(2027, 1, 31), "tags": ["a", "b"]}


@pytest.mark.parametrize(
    ("target", "text", "message"),
    [
        ("arr", "12,5", "use a dot for decimals"),
        ("arr", "nan", "not a number"),
        ("seats", "4.5", "not a whole number"),
        ("renewal_date", "31/01/2027", "not a date as YYYY-MM-DD"),
    ],
)
def test_bad_cells_are_errors_naming_their_column(target: str, text: str, message: str) -> None:
    converted = rules.convert_row(Row(7, {"Col": text}), {"Col": target}, "customers")
    assert converted.errors[0].column == "Col"
    assert message in converted.errors[0].message


def test_booleans_accept_the_usual_spellings() -> None:
    for text, value in (("Yes", True), ("n", False), ("TRUE", True), ("0", False)):
        assert rules.convert_row(Row(2, {"c": text}), {"c": "is_champion"}, "contacts").values == {"is_champion": value}
    assert rules.convert_row(Row(2, {"c": "maybe"}), {"c": "is_champion"}, "contacts").errors
