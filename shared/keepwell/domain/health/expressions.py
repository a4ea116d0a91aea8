"""Custom dimensions as spreadsheet-like expressions.

Example: `= CLAMP(0, 100, (monthly_savings_usd / mrr) * 10)`.

Validated once at save time with `ast` (a whitelist of node types, names and functions, plus size
limits) and evaluated with simpleeval, never `eval`. At evaluation any failure (division by zero, a
missing value, an oversized number) makes the dimension N/A for that customer rather than crashing."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simpleeval import DEFAULT_OPERATORS, InvalidExpression, SimpleEval

from keepwell.domain.health.names import METRIC_NAMES, STANDARD_DIMENSIONS
from keepwell.errors import InvalidInput

MAX_LENGTH = 500
MAX_NODES = 150
MAX_EXPONENT = 100
MAX_LITERAL = 1e15
MAX_MAGNITUDE = 1e100  # any intermediate beyond this is treated as a failed evaluation


def _clamp(low: Any, high: Any, value: Any) -> Any:
    return max(low, min(high, value))


def _round(value: Any, digits: Any = 0) -> Any:
    return round(value, int(digits))


def _power(base: Any, exponent: Any) -> Any:
    if abs(exponent) > MAX_EXPONENT or abs(base) > MAX_MAGNITUDE:
        raise OverflowError("power too large")
    return base**exponent


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "CLAMP": _clamp,
    "MIN": min,
    "MAX": max,
    "ABS": abs,
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

_OPERATORS = {
    op: fn
    for op, fn in DEFAULT_OPERATORS.items()
    if op
    in (
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Eq,
        ast.NotEq,
        ast.Gt,
        ast.Lt,
        ast.GtE,
        ast.LtE,
        ast.Not,
        ast.USub,
        ast.UAdd,
    )
}
_OPERATORS[ast.Pow] = _power

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


_FUNCTIONS_FOR_EVAL: dict[str, Callable[..., Any]] = dict(FUNCTIONS)


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
    evaluator = SimpleEval(operators=_OPERATORS, functions=_FUNCTIONS_FOR_EVAL, names=names)
    try:
        result = evaluator.eval(expression.source, previously_parsed=expression.tree)
    except (ArithmeticError, TypeError, ValueError, InvalidExpression, RecursionError):
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
