"""Pure customer rules: revenue derivation, domain normalisation, patch merge, custom field values,
contact role changes, note titles and page cursors. No AWS."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepwell.domain import contacts as contact_rules
from keepwell.domain.custom_fields import CustomFieldDefinition, validate_values
from keepwell.domain.customers import Customer, apply_patch, changed_fields, derive_revenue, normalise_domain
from keepwell.domain.timeline import note_title
from keepwell.errors import InvalidInput
from keepwell.storage import cursors

NOW = "2026-11-20T09:30:00.000Z"


def customer(**fields: Any) -> Customer:
    base: dict[str, Any] = {
        "customer_id": "cus_1",
        "workspace_id": "ws_acme",
        "name": "Acme",
        "created_at": "t0",
        "updated_at": "t0",
    }
    return Customer(**{**base, **fields})


# --- revenue -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arr", "mrr", "expected"),
    [
        (120000, None, (120000.0, 10000.0)),
        (None, 999.99, (11999.88, 999.99)),
        (100000, None, (100000.0, 8333.33)),
        (100000, 8333.33, (100000.0, 8333.33)),
        (None, None, (0.0, 0.0)),
        (0, 0, (0.0, 0.0)),
    ],
)
def test_revenue_is_completed_from_whichever_figure_is_given(
    arr: float | None, mrr: float | None, expected: tuple[float, float]
) -> None:
    assert derive_revenue(arr, mrr) == expected


@pytest.mark.parametrize(("arr", "mrr"), [(120000, 10000.02), (120000, 9999.98), (12, 2)])
def test_arr_and_mrr_more_than_a_cent_apart_per_month_are_rejected_naming_mrr(arr: float, mrr: float) -> None:
    with pytest.raises(InvalidInput) as error:
        derive_revenue(arr, mrr)
    assert error.value.details[0]["field"] == "mrr"


def test_negative_revenue_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        derive_revenue(-1, None)


@given(st.integers(min_value=0, max_value=10**9))
def test_derived_mrr_always_agrees_with_its_arr(cents: int) -> None:
    arr, mrr = derive_revenue(cents / 100, None)
    assert derive_revenue(arr, mrr) == (arr, mrr)


# --- domains -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme.com", "acme.com"),
        ("  https://WWW.Acme.co.uk/pricing?x=1 ", "acme.co.uk"),
        ("http://app.acme.io:8443/login", "app.acme.io"),
        ("acme.com.", "acme.com"),
        ("user@mail.acme.com", "mail.acme.com"),
    ],
)
def test_domains_are_normalised_to_the_bare_lower_case_host(raw: str, expected: str) -> None:
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize("raw", ["", "acme", "not a domain", "-acme.com", "acme..com", "https://", "acme.c0m"])
def test_things_that_are_not_domains_are_rejected(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_domain(raw)


# --- patch merge ---------------------------------------------------------------------------------
def test_patch_changes_only_the_given_fields_and_stamps_updated_at() -> None:
    before = customer(tier="gold", region="EMEA", arr=1200.0, mrr=100.0)
    after = apply_patch(before, {"tier": "silver"}, now_iso=NOW)
    assert (after.tier, after.region, after.arr, after.updated_at) == ("silver", "EMEA", 1200.0, NOW)
    assert changed_fields(before, after) == {"tier": "silver", "updated_at": NOW}


def test_patch_null_clears_optional_fields() -> None:
    after = apply_patch(
        customer(tier="gold", renewal_date=date(2027, 1, 1), tags=["a"]),
        {"tier": None, "renewal_date": None, "tags": None},
        now_iso=NOW,
    )
    assert (after.tier, after.renewal_date, after.tags) == (None, None, [])


@pytest.mark.parametrize("field", ["name", "status", "arr", "archived"])
def test_patch_null_on_a_required_field_is_rejected(field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        apply_patch(customer(), {field: None}, now_iso=NOW)
    assert error.value.details[0]["field"] == field


def test_patch_with_only_mrr_rederives_arr() -> None:
    after = apply_patch(customer(arr=1200.0, mrr=100.0), {"mrr": 250}, now_iso=NOW)
    assert (after.arr, after.mrr) == (3000.0, 250.0)


def test_patch_merges_custom_fields_key_by_key() -> None:
    before = customer(custom_fields={"a": 1, "b": "x"})
    assert apply_patch(before, {"custom_fields": {"b": None, "c": True}}, now_iso=NOW).custom_fields == {
        "a": 1,
        "c": True,
    }
    assert apply_patch(before, {"custom_fields": None}, now_iso=NOW).custom_fields == {}


def test_patch_does_not_touch_the_original() -> None:
    before = customer(tier="gold")
    apply_patch(before, {"tier": "silver"}, now_iso=NOW)
    assert before.tier == "gold"


# --- custom field values -------------------------------------------------------------------------
DEFINITIONS = [
    CustomFieldDefinition(key="seats_sold", label="Seats", type="number"),
    CustomFieldDefinition(key="pilot", label="Pilot", type="boolean"),
    CustomFieldDefinition(key="kickoff", label="Kickoff", type="date"),
    CustomFieldDefinition(key="plan", label="Plan", type="select", options=["basic", "pro"]),
    CustomFieldDefinition(key="notes", label="Notes", type="text"),
]


def test_values_fitting_their_definitions_pass() -> None:
    values = {
        "seats_sold": 12.5,
        "pilot": False,
        "kickoff": "2026-01-31",
        "plan": "pro",
        "notes": "ok",
        "x": None,
    }
    with pytest.raises(InvalidInput):  # "x" is unknown even with a null value
        validate_values(values, DEFINITIONS)
    del values["x"]
    assert validate_values(values, DEFINITIONS) == values


def test_every_offending_key_is_named_once() -> None:
    with pytest.raises(InvalidInput) as error:
        validate_values({"seats_sold": True, "plan": "gold", "colour": "red", "notes": "fine"}, DEFINITIONS)
    assert {d["field"] for d in error.value.details} == {
        "custom_fields.seats_sold",
        "custom_fields.plan",
        "custom_fields.colour",
    }


def test_select_definition_needs_unique_options_and_others_none() -> None:
    with pytest.raises(ValueError):
        CustomFieldDefinition(key="plan", label="Plan", type="select")
    with pytest.raises(ValueError):
        CustomFieldDefinition(key="plan", label="Plan", type="select", options=["a", "a"])
    with pytest.raises(ValueError):
        CustomFieldDefinition(key="plan", label="Plan", type="text", options=["a"])


# --- contacts and notes --------------------------------------------------------------------------
def contact(**fields: Any) -> contact_rules.Contact:
    base: dict[str, Any] = {
        "contact_id": "con_1",
        "customer_id": "cus_1",
        "workspace_id": "ws_acme",
        "name": "Dana",
        "created_at": "t0",
        "updated_at": "t0",
    }
    return contact_rules.Contact(**{**base, **fields})


def test_a_new_title_records_a_role_change_but_a_first_title_does_not() -> None:
    assert apply_contact(contact(title="CTO"), {"title": "CEO"}).role_change_recorded_at == NOW
    assert apply_contact(contact(title=None), {"title": "CEO"}).role_change_recorded_at is None
    assert apply_contact(contact(title="CTO"), {"title": "CTO"}).role_change_recorded_at is None


def apply_contact(current: contact_rules.Contact, changes: dict[str, Any]) -> contact_rules.Contact:
    return contact_rules.apply_patch(current, changes, now_iso=NOW)


@pytest.mark.parametrize(("raw", "expected"), [("Dana@ACME.com", "Dana@acme.com"), (" a@b.io ", "a@b.io")])
def test_email_domain_is_lower_cased(raw: str, expected: str) -> None:
    assert contact_rules.normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["dana", "dana@acme", "@acme.com", "da na@acme.com"])
def test_malformed_emails_are_rejected(raw: str) -> None:
    with pytest.raises(ValueError):
        contact_rules.normalise_email(raw)


def test_untitled_note_is_titled_by_its_first_line() -> None:
    assert note_title(None, "Call went well\nmore") == "Call went well"
    assert note_title("  ", "x" * 100) == "x" * 79 + "…"
    assert note_title("QBR", "body") == "QBR"


# --- cursors -------------------------------------------------------------------------------------
def test_cursor_round_trips_for_its_own_partition_only() -> None:
    key = {"pk": {"S": "WS#ws_acme#CUST#c1"}, "sk": {"S": "TL#2026#x"}}
    cursor = cursors.encode(key)
    assert cursor is not None
    assert cursors.decode(cursor, expected={"pk": "WS#ws_acme#CUST#c1"}, prefixes={"sk": "TL#"}) == key
    with pytest.raises(InvalidInput):
        cursors.decode(cursor, expected={"pk": "WS#ws_acme#CUST#c2"}, prefixes={"sk": "TL#"})
    with pytest.raises(InvalidInput):
        cursors.decode(cursor, expected={"pk": "WS#ws_acme#CUST#c1"}, prefixes={"sk": "CONTACT#"})


def test_no_last_key_means_no_cursor() -> None:
    assert cursors.encode(None) is None
    assert cursors.decode(None, expected={}, prefixes={}) is None
