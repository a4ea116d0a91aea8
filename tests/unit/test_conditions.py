from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell.domain.conditions import (
    compile_condition,
    evaluate,
    health_fields,
    parse_rule,
    parse_text,
    to_dict,
    to_text,
)
from keepwell.errors import InvalidInput

FIELDS = {
    "status": "string",
    "country": "string",
    "arr": "number",
    "renewal_date": "date",
    "tags": "list",
    "is_strategic": "boolean",
    "custom.*": "any",
    **health_fields(["usage", "support"]),
}
ACME = {
    "status": "active",
    "country": "BR",
    "arr": 60000,
    "renewal_date": "2027-01-15",
    "tags": ["beta", "vip"],
    "is_strategic": True,
    "custom.plan": "enterprise",
    "health_score": 58.4,
    "health_band": "Neutral",
    "dimension.usage": 40.0,
    "dimension.support": None,
}


def test_text_form_parses_to_the_documented_tree():
    rule = parse_text('status = "active" AND country IN ("BR","MX") AND arr > 50000', FIELDS)
    assert to_dict(rule) == {
        "all": [
            {"field": "status", "op": "eq", "value": "active"},
            {"field": "country", "op": "in", "value": ["BR", "MX"]},
            {"field": "arr", "op": "gt", "value": 50000},
        ]
    }


def test_a_single_comparison_is_a_leaf():
    expected = {"field": "health_score", "op": "lt", "value": 60}
    assert to_dict(parse_text("health_score < 60", FIELDS)) == expected


def test_json_and_text_forms_evaluate_the_same():
    text = 'status = "active" AND country IN ("BR","MX") AND arr > 50000'
    as_json = to_dict(parse_text(text, FIELDS))
    cases = [(ACME, True), ({**ACME, "country": "US"}, False), ({**ACME, "arr": 50000}, False)]
    for record, expected in cases:
        assert evaluate(parse_text(text, FIELDS), record) is expected
        assert evaluate(parse_rule(as_json, FIELDS), record) is expected


def test_and_binds_tighter_than_or_and_parentheses_override():
    loose = parse_text('country = "US" OR country = "BR" AND arr > 100000', FIELDS)
    grouped = parse_text('(country = "US" OR country = "BR") AND arr > 100000', FIELDS)
    assert evaluate(loose, ACME) is False and evaluate(grouped, ACME) is False
    assert evaluate(loose, {**ACME, "country": "US", "arr": 1}) is True
    assert evaluate(grouped, {**ACME, "country": "US", "arr": 1}) is False


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('status != "churned"', True),
        ("arr >= 60000", True),
        ("arr <= 59999.5", False),
        ('country NOT IN ("BR", "AR")', False),
        ('tags CONTAINS "vip"', True),
        ('custom.plan CONTAINS "ENTER"', True),  # text contains is case-insensitive
        ("custom.plan EXISTS", True),
        ("custom.seats EXISTS", False),
        ("custom.seats NOT EXISTS", True),
        ("dimension.support EXISTS", False),  # N/A dimension
        ("dimension.support < 50", False),  # a missing value matches nothing...
        ("NOT dimension.support < 50", True),  # ...so NOT of it does
        ("arr BETWEEN 50000 AND 60000", True),
        ('renewal_date < "2027-02-01"', True),
        ('renewal_date BETWEEN "2026-12-01" AND "2026-12-31"', False),
        ("is_strategic = true", True),
        ('health_band = "Neutral" AND dimension.usage < 50', True),
        ("health_score < 60", True),
    ],
)
def test_operators(text, matches):
    assert evaluate(parse_text(text, FIELDS), ACME) is matches


def test_keywords_are_case_insensitive():
    assert to_dict(parse_text('arr > 1 and not status = "x" or arr between 1 and 2', FIELDS)) == to_dict(
        parse_text('arr > 1 AND NOT status = "x" OR arr BETWEEN 1 AND 2', FIELDS)
    )


def error_of(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        parse_text(text, FIELDS)
    return error.value


def test_unknown_field_is_reported_with_position_and_the_allowed_fields():
    error = error_of('status = "active" AND contry = "BR"')
    assert "unknown field 'contry'" in error.message
    assert "allowed fields: arr, country" in error.message
    assert error.details[0]["position"] == 23


@pytest.mark.parametrize(
    ("text", "says", "position"),
    [
        ('arr > "lots"', "type mismatch: 'arr' is a number field", 1),
        ("status < 3", "type mismatch: 'lt' needs a number or date field", 1),
        ('tags = "vip"', "use contains or exists", 1),
        ("is_strategic = 1", "must be a boolean", 1),
        ('renewal_date > "soon"', "ISO date", 1),
        ("arr BETWEEN 9 AND 1", "low <= high", 1),
        ("arr >", "expected a value", 6),
        ("(arr > 1", "expected ')'", 9),
        ("arr > 1 arr < 2", "expected AND, OR or the end", 9),
        ("arr ~ 1", "unexpected character '~'", 5),
        ("arr IS 1", "expected an operator after 'arr'", 5),
        ("", "empty", 1),
        ("country IN ()", "expected a value", 13),
    ],
)
def test_text_errors_are_clear_and_positioned(text, says, position):
    error = error_of(text)
    assert says in error.message
    assert error.details[0]["position"] == position


@pytest.mark.parametrize(
    ("tree", "where"),
    [
        (
            {"all": [{"field": "status", "op": "eq", "value": "a"}, {"field": "arr", "op": "gt", "value": "x"}]},
            "condition.all[1].value",
        ),
        ({"any": []}, "condition.any"),
        ({"not": {"field": "nope", "op": "eq", "value": 1}}, "condition.not.value"),
        ({"field": "arr", "op": "like", "value": 1}, "condition.op"),
        ({"field": "arr", "op": "eq"}, "condition.value"),
        ({"field": "arr", "op": "eq", "value": 1, "extra": 2}, "condition"),
        ([1, 2], "condition"),
    ],
)
def test_json_errors_name_the_place(tree, where):
    with pytest.raises(InvalidInput) as error:
        parse_rule(tree, FIELDS)
    assert error.value.details[0]["field"] == where


def test_exists_without_a_value_means_exists_true():
    assert evaluate(parse_rule({"field": "custom.plan", "op": "exists"}, FIELDS), ACME) is True


def test_compile_condition_accepts_either_form():
    assert compile_condition("arr > 1", FIELDS) == compile_condition({"field": "arr", "op": "gt", "value": 1}, FIELDS)


def test_nesting_and_size_are_bounded():
    with pytest.raises(InvalidInput, match="nest at most"):
        parse_text("(" * 20 + "arr > 1" + ")" * 20, FIELDS)
    with pytest.raises(InvalidInput, match="at most 100 rules"):
        parse_text(" OR ".join(["arr > 1"] * 101), FIELDS)


leaf = st.one_of(
    st.builds(lambda v: {"field": "arr", "op": "gt", "value": v}, st.integers(-(10**6), 10**6)),
    st.builds(lambda v: {"field": "status", "op": "eq", "value": v}, st.text(max_size=8)),
    st.builds(
        lambda v: {"field": "country", "op": "in", "value": v},
        st.lists(st.sampled_from(["BR", "MX", "US"]), min_size=1, max_size=3),
    ),
    st.builds(
        lambda a, b: {"field": "arr", "op": "between", "value": sorted([a, b])},
        st.integers(-100, 100),
        st.integers(-100, 100),
    ),
    st.builds(lambda v: {"field": "custom.plan", "op": "exists", "value": v}, st.booleans()),
)
trees = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=8,
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(tree=trees, arr=st.integers(-200, 200), status=st.text(max_size=3))
def test_text_form_round_trips_to_an_equivalent_rule(tree, arr, status):
    rule = parse_rule(tree, FIELDS)
    again = parse_text(to_text(rule), FIELDS)
    record = {**ACME, "arr": arr, "status": status}
    assert evaluate(again, record) == evaluate(rule, record)
