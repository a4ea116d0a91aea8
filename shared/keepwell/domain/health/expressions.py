"""Custom dimensions as spreadsheet-like expressions.

Example: `= CLAMP(0, 100, (monthly_savings_usd / mrr) * 10)`.

Validated once at save time with `ast` (a whitelist of node types, names and functions, plus size
limits) and evaluated with simpleeval, never `eval`. Evaluation is bounded whatever the operands (a
customer's text field can hold anything): arithmetic takes numbers only (so `%` never formats text and
`*` never repeats it), every intermediate text, number and exponent is size-checked as it is produced,
and each evaluation has a CPU-time budget. Any failure (division by zero, a missing value, an
oversized number, text in arithmetic, the budget spent) makes the dimension N/A for that customer
rather than crashing."""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simpleeval import DEFAULT_OPERATORS, SimpleEval

from keepwell.errors import InvalidInput

MAX_LENGTH = 500
MAX_NODES = 150
MAX_EXPONENT = 100
MAX_LITERAL = 1e15
MAX_MAGNITUDE = 1e100  # any intermediate beyond this is treated as a failed evaluation
MAX_TEXT = 2000  # longest text (or list) an evaluation may read or produce: a custom text field's limit
MAX_ROUND_DIGITS = 15
CPU_BUDGET_S = 0.05  # per evaluation, thread CPU time (a busy machine's waits do not count)
_MAX_INT = 10**100
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


class EvaluationLimit(ArithmeticError):
    """An evaluation went beyond a size or time bound (the dimension is N/A for that customer)."""


def _number(value: Any) -> int | float:
    """Arithmetic operands are numbers (True/False count as 1/0): no text formatting or repetition."""
    if isinstance(value, int | float):
        return value
    raise TypeError(f"arithmetic works on numbers only, not {type(value).__name__}")


def _bounded(value: Any) -> Any:
    """Raise EvaluationLimit if an intermediate result is beyond the size limits."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_INT:
            raise EvaluationLimit("number too large")
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise EvaluationLimit("number too large")
    elif hasattr(value, "__len__") and len(value) > MAX_TEXT:
        raise EvaluationLimit(f"text longer than {MAX_TEXT} characters")
    return value


def _arithmetic(operation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        return _bounded(operation(_number(left), _number(right)))

    return apply


def _unary(operation: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: operation(_number(value))


def _clamp(low: Any, high: Any, value: Any) -> Any:
    return max(low, min(high, value))


def _round(value: Any, digits: Any = 0) -> Any:
    places = int(_number(digits))
    if abs(places) > MAX_ROUND_DIGITS:  # round(n, -10**9) would build 10**(10**9)
        raise EvaluationLimit(f"ROUND takes at most {MAX_ROUND_DIGITS} digits")
    return round(_number(value), places)


def _power(base: Any, exponent: Any) -> Any:
    base, exponent = _number(base), _number(exponent)
    if abs(exponent) > MAX_EXPONENT or abs(base) > MAX_MAGNITUDE:
        raise EvaluationLimit("power too large")
    if abs(base) > 1 and exponent * math.log10(abs(base)) > math.log10(MAX_MAGNITUDE):
        raise EvaluationLimit("power too large")  # checked before the number is built
    return base**exponent


def _abs(value: Any) -> Any:
    return abs(_number(value))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "CLAMP": _clamp,
    "MIN": min,
    "MAX": max,
    "ABS": _abs,
    "ROUND": _round,
    "AND": lambda *args: all(args),
    "OR": lambda *args: any(args),
    "NOT": lambda value: not value,
    # IF is rewritten to a conditional expression before evaluation so only the chosen branch runs.
}
FUNCTION_ARITY: dict[str, tuple[int, int]] = {
    "CLAMP": (3, 3),
    "MIN": (2, 20),
    "MAX": (2, 20),
    "ABS": (1, 1),
    "ROUND": (1, 2),
    "IF": (3, 3),
    "AND": (1, 20),
    "OR": (1, 20),
    "NOT": (1, 1),
}
FUNCTION_NAMES = tuple(sorted(FUNCTION_ARITY))

# simpleeval's defaults, narrowed: its Mod is Python's `%` (text formatting) and its Mult repeats text up
# to 100,000 characters, so arithmetic is numbers-only here; comparisons and `not` keep the defaults.
_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    op: DEFAULT_OPERATORS[op] for op in (ast.Eq, ast.NotEq, ast.Gt, ast.Lt, ast.GtE, ast.LtE, ast.Not)
}
_OPERATORS.update(
    {
        ast.Add: _arithmetic(operator.add),
        ast.Sub: _arithmetic(operator.sub),
        ast.Mult: _arithmetic(operator.mul),
        ast.Div: _arithmetic(operator.truediv),
        ast.FloorDiv: _arithmetic(operator.floordiv),
        ast.Mod: _arithmetic(operator.mod),
        ast.Pow: _arithmetic(_power),
        ast.USub: _unary(operator.neg),
        ast.UAdd: _unary(operator.pos),
    }
)

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.IfExp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
)
_CONSTRUCT_NAMES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "subscripts (a[b])",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "f-strings",
    ast.Starred: "star arguments",
    ast.Await: "await",
    ast.Yield: "yield",
}


def expression_names(variables: Iterable[str]) -> frozenset[str]:
    """Names an expression may use: the declared variables plus every standard metric and dimension."""
    from keepwell.domain.health.dimensions import METRIC_NAMES
    from keepwell.domain.health.model import STANDARD_DIMENSIONS

    return frozenset(variables) | METRIC_NAMES | frozenset(STANDARD_DIMENSIONS)


@dataclass(frozen=True)
class CompiledExpression:
    source: str
    tree: ast.expr  # IF already rewritten to a lazy conditional
    names: frozenset[str]  # variables it reads


def _error(message: str, line: int | None = None, col: int | None = None, issue: str = "invalid") -> InvalidInput:
    where = f" (line {line}, col {col})" if line is not None else ""
    detail: dict[str, Any] = {"field": "expression", "issue": issue}
    if line is not None:
        detail.update(line=line, col=col)
    return InvalidInput(f"Invalid expression: {message}{where}", details=[detail])


class _RewriteIf(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id.upper() == "IF":
            test, body, orelse = node.args
            return ast.copy_location(ast.IfExp(test=test, body=body, orelse=orelse), node)
        if isinstance(node.func, ast.Name):
            node.func = ast.copy_location(ast.Name(id=node.func.id.upper(), ctx=ast.Load()), node.func)
        return node


_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}


NUMERIC_FUNCTIONS = frozenset({"CLAMP", "ABS", "ROUND"})


def _constant_number(node: ast.expr) -> float | None:
    """The value of a number literal, possibly negated; None for anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sign * node.value
    return None


def _is_text(*operands: ast.expr) -> bool:
    return any(isinstance(o, ast.Constant) and isinstance(o.value, str) for o in operands)


def compile_expression(source: str, allowed_names: Iterable[str]) -> CompiledExpression:
    """Parse and check an expression; raise InvalidInput with a clear message and position if not allowed.

    A leading `=` (spreadsheet style) is optional. Function names are case-insensitive."""
    allowed = frozenset(allowed_names)
    text = source.strip()
    offset = 0
    if text.startswith("="):
        offset = len(source) - len(source.lstrip()) + 1
        text = text[1:]
    if not text.strip():
        raise _error("expression is empty", issue="empty")
    if len(source) > MAX_LENGTH:
        raise _error(f"expression is {len(source)} characters, the limit is {MAX_LENGTH}", issue="too_long")
    lead = len(text) - len(text.lstrip())
    offset += lead
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        col = (error.offset or 1) + (offset if (error.lineno or 1) == 1 else 0)
        raise _error(f"syntax error: {error.msg}", error.lineno or 1, col, "syntax") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        message = f"expression is too complex ({len(nodes)} parts, limit {MAX_NODES})"
        raise _error(message, issue="too_complex")

    def pos(node: ast.AST) -> tuple[int, int]:
        line = getattr(node, "lineno", 1)
        return line, getattr(node, "col_offset", 0) + 1 + (offset if line == 1 else 0)

    used: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise _error("only plain function calls are allowed", *pos(node), issue="disallowed")
            name = node.func.id.upper()
            if name not in FUNCTION_ARITY:
                raise _error(
                    f"function '{node.func.id}' is not allowed; allowed functions: {', '.join(FUNCTION_NAMES)}",
                    *pos(node),
                    issue="unknown_function",
                )
            if node.keywords:
                raise _error(f"{name} takes no named arguments", *pos(node), issue="disallowed")
            low, high = FUNCTION_ARITY[name]
            if not low <= len(node.args) <= high:
                expected = str(low) if low == high else f"{low} to {high}"
                raise _error(f"{name} takes {expected} arguments, got {len(node.args)}", *pos(node), issue="arity")
            if name in NUMERIC_FUNCTIONS and _is_text(*node.args):
                raise _error(f"{name} takes numbers, not text", *pos(node), issue="disallowed")
            if name == "ROUND" and len(node.args) == 2:
                digits = _constant_number(node.args[1])
                if digits is not None and abs(digits) > MAX_ROUND_DIGITS:
                    message = f"ROUND takes at most {MAX_ROUND_DIGITS} digits either way, got {digits:g}"
                    raise _error(message, *pos(node.args[1]), issue="too_large")
        elif isinstance(node, ast.Name):
            continue  # checked below, knowing which names are call targets
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or node.value is None:
                continue
            if isinstance(node.value, int | float):
                if abs(node.value) > MAX_LITERAL:
                    raise _error(
                        f"number {node.value} is too large (limit {MAX_LITERAL:g})", *pos(node), issue="too_large"
                    )
            elif isinstance(node.value, str):
                if len(node.value) > 100:
                    raise _error("text constants are limited to 100 characters", *pos(node), issue="too_large")
            else:
                raise _error(
                    "only numbers, text and True/False are allowed as constants",
                    *pos(node),
                    issue="disallowed",
                )
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC) and _is_text(node.left, node.right):
            symbol = _SYMBOLS[type(node.op)]
            raise _error(
                f"text cannot be used with '{symbol}': arithmetic works on numbers only (no text formatting"
                " or repetition)",
                *pos(node),
                issue="disallowed",
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd) and _is_text(node.operand):
            raise _error("text cannot be negated: arithmetic works on numbers only", *pos(node), issue="disallowed")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = node.right
            if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.operand, ast.Constant):
                exponent = exponent.operand
            if not isinstance(exponent, ast.Constant) or not isinstance(exponent.value, int | float):
                raise _error("the exponent of ** must be a number", *pos(node), issue="disallowed")
            if abs(exponent.value) > MAX_EXPONENT:
                raise _error(
                    f"exponent {exponent.value} is too large (limit {MAX_EXPONENT})",
                    *pos(node),
                    issue="too_large",
                )
        elif not isinstance(node, _ALLOWED_NODES):
            what = _CONSTRUCT_NAMES.get(type(node), type(node).__name__)
            raise _error(f"{what} not allowed", *pos(node), issue="disallowed")
    call_targets = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        if isinstance(node, ast.Name) and id(node) not in call_targets:
            if node.id.startswith("_"):
                raise _error(f"name '{node.id}' is not allowed", *pos(node), issue="disallowed")
            if node.id in ("True", "False"):
                continue
            if node.id not in allowed:
                raise _error(
                    f"unknown field '{node.id}'; allowed fields: {', '.join(sorted(allowed)) or '(none)'}",
                    *pos(node),
                    issue="unknown_field",
                )
            used.add(node.id)
    rewritten = _RewriteIf().visit(tree)
    ast.fix_missing_locations(rewritten)
    return CompiledExpression(source=source, tree=rewritten.body, names=frozenset(used))


def _checked(function: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *args: _bounded(function(*args))


_FUNCTIONS_FOR_EVAL: dict[str, Callable[..., Any]] = {name: _checked(fn) for name, fn in FUNCTIONS.items()}


class BoundedEval(SimpleEval):
    """simpleeval with a size check on every node's value and a CPU-time budget per evaluation."""

    def __init__(self, names: Mapping[str, Any], budget_s: float = CPU_BUDGET_S):
        super().__init__(operators=_OPERATORS, functions=_FUNCTIONS_FOR_EVAL, names=dict(names))
        self._deadline = time.thread_time() + budget_s

    def _eval(self, node: ast.AST) -> Any:
        if time.thread_time() > self._deadline:
            raise EvaluationLimit("expression took too long")
        return _bounded(super()._eval(node))


def evaluate(expression: CompiledExpression, values: Mapping[str, Any]) -> float | None:
    """The expression's value clamped to 0-100, or None (N/A) if it cannot be computed for this customer."""
    names: dict[str, Any] = {}
    for name in expression.names:
        value = values.get(name)
        if value is None:
            return None  # a missing input makes the dimension N/A
        if isinstance(value, float) and not math.isfinite(value):
            return None
        names[name] = value
    try:
        result = BoundedEval(names).eval(expression.source, previously_parsed=expression.tree)
    except Exception:  # any failure of one customer's formula is N/A, never a crash
        return None
    if isinstance(result, bool):
        result = float(result)
    if not isinstance(result, int | float):
        return None
    try:
        number = float(result)
    except OverflowError:
        return None
    if not math.isfinite(number):
        return None
    return min(100.0, max(0.0, number))
