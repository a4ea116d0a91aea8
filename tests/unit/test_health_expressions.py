from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell.domain.health.expressions import MAX_LENGTH, MAX_TEXT, BoundedEval, compile_expression, evaluate
from keepwell.errors import InvalidInput

ROI = "= CLAMP(0, 100, (monthly_savings_usd / mrr) * 10)"
NAMES = {"monthly_savings_usd", "mrr", "seats", "plan", "usage"}


def value_of(expression: str, **values):
    return evaluate(compile_expression(expression, NAMES), values)


def rejection(expression: str, names=NAMES) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        compile_expression(expression, names)
    return error.value


def test_roi_example_at_ten_times_mrr_scores_100():
    assert value_of(ROI, monthly_savings_usd=10_000, mrr=1_000) == 100


def test_roi_example_scales_below_the_cap():
    assert value_of(ROI, monthly_savings_usd=5_000, mrr=1_000) == 50


def test_zero_mrr_makes_the_dimension_na_instead_of_crashing():
    assert value_of(ROI, monthly_savings_usd=10_000, mrr=0) is None


def test_a_missing_value_makes_the_dimension_na():
    assert value_of(ROI, mrr=1_000) is None
    assert value_of(ROI, mrr=1_000, monthly_savings_usd=None) is None


def test_result_is_clamped_to_0_100_even_without_clamp():
    assert value_of("mrr * 2", mrr=500) == 100
    assert value_of("mrr - 50", mrr=10) == 0


def test_if_evaluates_only_the_chosen_branch():
    assert value_of("IF(mrr > 0, monthly_savings_usd / mrr, 0)", mrr=0, monthly_savings_usd=5) == 0
    assert value_of("IF(plan == 'enterprise', 90, 40)", plan="enterprise") == 90


def test_functions_and_boolean_logic():
    assert value_of("MIN(seats, 80) + ABS(-5)", seats=100) == 85
    assert value_of("MAX(seats, 20)", seats=10) == 20
    assert value_of("ROUND(mrr / 3, 1)", mrr=100) == 33.3
    assert value_of("IF(AND(mrr > 1, NOT(seats < 5)), 70, 10)", mrr=2, seats=9) == 70
    assert value_of("IF(mrr > 1 and not seats < 5 or False, 70, 10)", mrr=2, seats=9) == 70
    assert value_of("clamp(0, 100, usage)", usage=64.5) == 64.5  # function names are case-insensitive


def test_syntax_error_reports_line_and_column():
    error = rejection("= CLAMP(0, 100, mrr *)")
    assert "syntax error" in error.message
    assert error.details[0]["line"] == 1
    assert error.details[0]["col"] > 10


def test_unknown_field_lists_the_allowed_ones_and_its_position():
    error = rejection("mrr / mrrr", {"mrr", "seats"})
    assert "unknown field 'mrrr'" in error.message
    assert "allowed fields: mrr, seats" in error.message
    assert error.details[0]["col"] == 7


def test_function_outside_the_list_is_rejected_naming_the_allowed_ones():
    error = rejection("SQRT(mrr)")
    assert "function 'SQRT' is not allowed" in error.message
    assert "CLAMP" in error.message


def test_wrong_number_of_arguments_is_rejected():
    assert "CLAMP takes 3 arguments, got 2" in rejection("CLAMP(0, mrr)").message


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("__import__('os')", "not allowed"),
        ("x.__class__", "attribute access"),
        ("().__class__", "attribute access"),
        ("[i for i in x]", "comprehensions"),
        ("lambda: 1", "lambdas"),
        ("mrr[0]", "subscripts"),
        ("9 ** 9 ** 9", "exponent"),
        ("mrr ** 1000", "too large"),
        ("mrr ** seats", "exponent of ** must be a number"),
        ("10 ** 1000000", "too large"),
        ("99999999999999999999", "too large"),
        ("(y := 1)", "assignment"),
        ("f'{mrr}'", "f-strings"),
        ("", "empty"),
    ],
)
def test_dangerous_or_unsupported_constructs_are_rejected_at_save_time(expression, says):
    assert says in rejection(expression, NAMES | {"x"}).message


def test_expression_length_and_size_are_bounded():
    assert "limit is 500" in rejection("1 + " * 200 + "1").message
    assert "too complex" in rejection("+".join(["mrr"] * 120)[:MAX_LENGTH]).message


def test_a_small_allowed_power_still_evaluates():
    assert value_of("(mrr / 10) ** 2", mrr=50) == 25


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    expression=st.sampled_from(
        [
            "__import__('os')",
            "x.__class__",
            "().__class__",
            "[i for i in x]",
            "lambda: 1",
            "2 ** 99999",
            "open('/etc/passwd')",
            "x.mro()",
        ]
    ),
    prefix=st.sampled_from(["", "= ", "  ", "1 + "]),
)
def test_forbidden_expressions_are_rejected_however_they_are_prefixed(expression, prefix):
    with pytest.raises(InvalidInput):
        compile_expression(prefix + expression, {"x"})


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    savings=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers()),
    mrr=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers()),
)
def test_roi_never_crashes_and_is_na_or_within_0_100(savings, mrr):
    result = evaluate(compile_expression(ROI, NAMES), {"monthly_savings_usd": savings, "mrr": mrr})
    assert result is None or 0 <= result <= 100


# --- hostile expressions: bounded in time and memory whatever the operands (issue #16) ------------------
# Values a customer's fields can hold (a text custom field holds up to 2,000 characters).
HOSTILE_VALUES = {
    "fmt": "%99999999999d",
    "wide": "%999999999d",
    "star": "%*d",
    "long_text": "x" * MAX_TEXT,
    "big": 10**15,
    "small": -(10**15),
    "tiny": 1e-300,
    "flag": True,
    "zero": 0,
}
ATOMS = st.one_of(
    st.sampled_from(sorted(HOSTILE_VALUES)),
    st.sampled_from(['"%99999999999d"', '"%s%s%s"', '"%.999999999f"', '"x"', '""', "99", "1e15", "-1", "0.5"]),
    st.integers(-(10**15), 10**15).map(str),
)
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "==", "<", ">="]
FUNCTIONS = ["CLAMP({}, {}, {})", "MIN({}, {})", "MAX({}, {}, {})", "ABS({})", "ROUND({}, {})", "IF({}, {}, {})"]


def _combine(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(parts, st.sampled_from(OPERATORS), parts).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    called = st.tuples(st.sampled_from(FUNCTIONS), st.lists(parts, min_size=3, max_size=3)).map(
        lambda t: t[0].format(*t[1])
    )
    exponent = st.tuples(parts, st.sampled_from(["2", "99", "100", "-100"])).map(lambda t: f"({t[0]} ** {t[1]})")
    return st.one_of(binary, called, exponent)


HOSTILE = st.recursive(ATOMS, _combine, max_leaves=40)
MEMORY_BOUND = 512 * 1024  # bytes allocated at peak by one evaluation
CPU_BOUND_S = 0.5  # one evaluation's thread CPU time (the evaluator's own budget is 0.05 s)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(source=HOSTILE)
def test_any_accepted_expression_evaluates_within_a_time_and_memory_bound_or_is_na(source):
    try:
        compiled = compile_expression(source, HOSTILE_VALUES)
    except InvalidInput:
        return  # rejected at save time: never evaluated
    tracemalloc.start()
    started = time.thread_time()
    try:
        result = evaluate(compiled, HOSTILE_VALUES)
        spent = time.thread_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, (source, peak)
    assert spent < CPU_BOUND_S, (source, spent)
    assert result is None or 0 <= result <= 100


@pytest.mark.parametrize(
    "source",
    [
        '= IF(("%99999999999d" % 1) == "", 1, 50)',
        '"%999999999d" % 1',
        '("x" * 100) == ""',
        '"a" + "b"',
        '-"text"',
    ],
)
def test_text_in_arithmetic_is_rejected_at_save_time_with_its_position(source):
    error = rejection(source)
    assert "numbers only" in error.message
    assert error.details[0]["line"] == 1 and error.details[0]["col"] >= 1


def test_numeric_functions_fed_text_or_a_huge_round_are_rejected_at_save_time():
    assert "ABS takes numbers, not text" in rejection('ABS("%999999999d")').message
    assert "CLAMP takes numbers" in rejection('CLAMP(0, 100, "x")').message
    error = rejection("ROUND(mrr, -1000000000)")
    assert "at most 15 digits" in error.message and error.details[0]["col"] == 12
    assert value_of("ROUND(mrr, -2)", mrr=1234) == 100  # within the bound it still works (then clamped)


@pytest.mark.parametrize(
    "source",
    [
        'IF((fmt % 1) == "", 1, 50)',  # the attack through a customer's text field
        "IF((wide % big) == 0, 1, 50)",
        "IF((long_text * 1000) == 0, 1, 50)",
        "IF((long_text + long_text) == 0, 1, 50)",
        "ROUND(big, small)",  # digits from a field: bounded when evaluated
        "(big * big * big * big * big * big * big) / big",
        "(big ** 100) / big",
        "(1.5 ** 100) ** 100",
        "ABS(fmt)",
        "-fmt",
    ],
)
def test_hostile_operands_make_the_dimension_na_quickly_and_small(source):
    compiled = compile_expression(source, HOSTILE_VALUES)
    tracemalloc.start()
    try:
        assert evaluate(compiled, HOSTILE_VALUES) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, peak


def test_text_fields_still_compare_and_numbers_still_compute():
    assert value_of("IF(plan == 'enterprise', 90, 40)", plan="enterprise") == 90
    assert value_of("IF(plan != '%d', 90, 40)", plan="%d") == 40
    assert value_of("(mrr % 7) * 10", mrr=100) == 20
    assert value_of("True + 41", mrr=1) == 42


def test_an_evaluation_past_its_cpu_budget_stops():
    compiled = compile_expression("MIN(mrr + 1, mrr + 2, mrr + 3)", NAMES)
    evaluator = BoundedEval({"mrr": 1}, budget_s=-1.0)  # already spent
    with pytest.raises(ArithmeticError, match="too long"):
        evaluator.eval(compiled.source, previously_parsed=compiled.tree)
