"""The condition language shared by segments and playbook triggers.

One rule tree (JSON) with a text form that parses into it:

    {"all": [{"field": "status", "op": "eq", "value": "active"},
             {"field": "country", "op": "in", "value": ["BR", "MX"]},
             {"field": "arr", "op": "gt", "value": 50000}]}
    status = "active" AND country IN ("BR", "MX") AND arr > 50000

Rules are validated against the caller's field set (name -> type) so mistakes are caught when a segment
or playbook is saved, and evaluated over a flat record (customer fields, `custom.<key>`, `health_score`,
`health_band`, `dimension.<name>`). Grammar and semantics: docs/health-model.md."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from keepwell.errors import InvalidInput

FieldType = Literal["string", "number", "boolean", "date", "list", "any"]
FIELD_TYPES: tuple[str, ...] = ("string", "number", "boolean", "date", "list", "any")
OPS: tuple[str, ...] = (
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "not_in",
    "contains",
    "exists",
    "between",
)
ORDERED_OPS = frozenset({"lt", "lte", "gt", "gte", "between"})
MAX_DEPTH = 10
MAX_RULES = 100
MAX_TEXT = 2000

# ---------------------------------------------------------------------------------------------------
# The tree


@dataclass(frozen=True, slots=True)
class Comparison:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class AllOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    rule: Rule


Rule = Comparison | AllOf | AnyOf | Not


def to_dict(rule: Rule) -> dict[str, Any]:
    """The JSON form (what is stored)."""
    if isinstance(rule, AllOf):
        return {"all": [to_dict(r) for r in rule.rules]}
    if isinstance(rule, AnyOf):
        return {"any": [to_dict(r) for r in rule.rules]}
    if isinstance(rule, Not):
        return {"not": to_dict(rule.rule)}
    out: dict[str, Any] = {"field": rule.field, "op": rule.op}
    if rule.op != "exists" or rule.value is not True:
        out["value"] = list(rule.value) if isinstance(rule.value, tuple) else rule.value
    return out


_TEXT_OPS = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def to_text(rule: Rule) -> str:
    """The text form; parses back to the same tree."""
    if isinstance(rule, AllOf | AnyOf):
        joiner = " AND " if isinstance(rule, AllOf) else " OR "
        return "(" + joiner.join(to_text(r) for r in rule.rules) + ")"
    if isinstance(rule, Not):
        return (
            "NOT " + to_text(rule.rule)
            if isinstance(rule.rule, AllOf | AnyOf | Not)
            else "NOT (" + to_text(rule.rule) + ")"
        )
    op, value = rule.op, rule.value
    if op in _TEXT_OPS:
        return f"{rule.field} {_TEXT_OPS[op]} {_literal(value)}"
    if op in ("in", "not_in"):
        items = ", ".join(_literal(v) for v in value)
        return f"{rule.field} {'IN' if op == 'in' else 'NOT IN'} ({items})"
    if op == "contains":
        return f"{rule.field} CONTAINS {_literal(value)}"
    if op == "between":
        return f"{rule.field} BETWEEN {_literal(value[0])} AND {_literal(value[1])}"
    return f"{rule.field} {'EXISTS' if value else 'NOT EXISTS'}"


# ---------------------------------------------------------------------------------------------------
# Fields


def health_fields(dimensions: Iterable[str] = ()) -> dict[str, FieldType]:
    """The health part of a field set: the score, its band, and each dimension's value."""
    fields: dict[str, FieldType] = {"health_score": "number", "health_band": "string"}
    fields.update({f"dimension.{name}": "number" for name in dimensions})
    return fields


def field_type(name: str, fields: Mapping[str, str]) -> str | None:
    """A name's type; a `prefix.*` entry admits any `prefix.<key>` (e.g. `custom.*`)."""
    if name in fields:
        return fields[name]
    head, dot, _ = name.rpartition(".")
    while dot:
        wildcard = fields.get(head + ".*")
        if wildcard is not None:
            return wildcard
        head, dot, _ = head.rpartition(".")
    return None


# ---------------------------------------------------------------------------------------------------
# Validation (shared by the JSON and the text forms)


class _Fail(Exception):
    def __init__(self, message: str, where: str):
        super().__init__(message)
        self.message = message
        self.where = where


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parse_date(value: Any) -> date | datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        return None


def _check_scalar(kind: str, value: Any, name: str, where: str) -> None:
    ok = {
        "string": lambda v: isinstance(v, str),
        "number": _is_number,
        "boolean": lambda v: isinstance(v, bool),
        "date": lambda v: _parse_date(v) is not None,
        "list": lambda v: isinstance(v, str | int | float | bool),
        "any": lambda v: isinstance(v, str | int | float | bool),
    }[kind]
    if not ok(value):
        expected = {"date": "an ISO date (YYYY-MM-DD)", "list": "a value to look for"}.get(kind, f"a {kind}")
        raise _Fail(f"type mismatch: '{name}' is a {kind} field, so the value must be {expected}, got {value!r}", where)


def _check_comparison(name: str, op: str, value: Any, fields: Mapping[str, str], where: str) -> Comparison:
    kind = field_type(name, fields)
    if kind is None:
        allowed = ", ".join(sorted(fields))
        raise _Fail(f"unknown field '{name}'; allowed fields: {allowed}", where)
    if op not in OPS:
        raise _Fail(f"unknown operator '{op}'; use one of {', '.join(OPS)}", where)
    if op == "exists":
        if value is None:
            value = True
        if not isinstance(value, bool):
            raise _Fail("exists takes true or false", where)
        return Comparison(name, op, value)
    if op in ORDERED_OPS and kind not in ("number", "date", "any"):
        raise _Fail(f"type mismatch: '{op}' needs a number or date field, '{name}' is a {kind} field", where)
    if op == "contains" and kind not in ("string", "list", "any"):
        raise _Fail(f"type mismatch: 'contains' needs a text or list field, '{name}' is a {kind} field", where)
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            raise _Fail(f"'{op}' takes a non-empty list of values", where)
        if len(value) > 500:
            raise _Fail(f"'{op}' takes at most 500 values", where)
        for item in value:
            _check_scalar(kind, item, name, where)
        return Comparison(name, op, tuple(value))
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _Fail("'between' takes two values [low, high]", where)
        low, high = value
        _check_scalar(kind if kind != "any" else "number", low, name, where)
        _check_scalar(kind if kind != "any" else "number", high, name, where)
        if _order_key(high) < _order_key(low):
            raise _Fail(f"'between' needs low <= high, got {low!r} > {high!r}", where)
        return Comparison(name, op, (low, high))
    if kind == "list" and op != "contains":
        raise _Fail(f"type mismatch: '{name}' is a list field; use contains or exists", where)
    if kind == "boolean" and op not in ("eq", "ne"):
        raise _Fail(f"type mismatch: '{name}' is a boolean field; use = or !=", where)
    _check_scalar(kind, value, name, where)
    return Comparison(name, op, value)


def _order_key(value: Any) -> Any:
    parsed = _parse_date(value) if isinstance(value, str) else None
    if isinstance(parsed, datetime):
        return parsed
    if isinstance(parsed, date):
        return datetime.combine(parsed, datetime.min.time(), UTC)
    return value


def _from_json(data: Any, fields: Mapping[str, str], where: str, depth: int, budget: list[int]) -> Rule:
    budget[0] += 1
    if budget[0] > MAX_RULES:
        raise _Fail(f"a condition has at most {MAX_RULES} rules", where)
    if depth > MAX_DEPTH:
        raise _Fail(f"conditions nest at most {MAX_DEPTH} levels deep", where)
    if not isinstance(data, Mapping):
        raise _Fail("each rule is an object with all/any/not or field/op/value", where)
    group_keys = [k for k in ("all", "any", "not") if k in data]
    if group_keys:
        if len(data) != 1:
            raise _Fail(f"a '{group_keys[0]}' rule has no other keys", where)
        key = group_keys[0]
        if key == "not":
            return Not(_from_json(data["not"], fields, f"{where}.not", depth + 1, budget))
        items = data[key]
        if not isinstance(items, list) or not items:
            raise _Fail(f"'{key}' takes a non-empty list of rules", f"{where}.{key}")
        rules = tuple(
            _from_json(item, fields, f"{where}.{key}[{i}]", depth + 1, budget) for i, item in enumerate(items)
        )
        return AllOf(rules) if key == "all" else AnyOf(rules)
    extra = set(data) - {"field", "op", "value"}
    if extra:
        raise _Fail(f"unexpected keys {', '.join(sorted(extra))}", where)
    name, op = data.get("field"), data.get("op")
    if not isinstance(name, str) or not name:
        raise _Fail("'field' is required", f"{where}.field")
    if not isinstance(op, str):
        raise _Fail("'op' is required", f"{where}.op")
    if op != "exists" and "value" not in data:
        raise _Fail("'value' is required", f"{where}.value")
    place = f"{where}.value" if op in OPS else f"{where}.op"
    return _check_comparison(name, op, data.get("value"), fields, place)


def parse_rule(data: Any, fields: Mapping[str, str], field: str = "condition") -> Rule:
    """Validate a JSON rule tree; raise InvalidInput naming the place (e.g. `condition.all[2].value`)."""
    try:
        return _from_json(data, fields, field, 0, [0])
    except _Fail as fail:
        raise InvalidInput(
            f"Invalid {field}: {fail.message} (at {fail.where})", details=[{"field": fail.where, "issue": fail.message}]
        ) from None


# ---------------------------------------------------------------------------------------------------
# Text form: a small recursive-descent parser
#
#   expr       := and_expr ("OR" and_expr)*
#   and_expr   := unary ("AND" unary)*
#   unary      := "NOT" unary | "(" expr ")" | comparison
#   comparison := FIELD cmp value | FIELD ["NOT"] "IN" "(" value ("," value)* ")"
#               | FIELD "CONTAINS" value | FIELD ["NOT"] "EXISTS" | FIELD "BETWEEN" value "AND" value
#   cmp        := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
#   value      := STRING | NUMBER | TRUE | FALSE

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<cmp><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "CONTAINS", "EXISTS", "BETWEEN", "TRUE", "FALSE"}
_CMP = {"=": "eq", "==": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # string number cmp punct word keyword end
    text: str
    value: Any
    pos: int  # 1-based column


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise _Fail(f"unexpected character {text[at]!r}", f"position {at + 1}")
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "string":
            value: Any = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "number":
            number = float(raw)
            value = int(number) if number.is_integer() and not re.search(r"[.eE]", raw) else number
        elif kind == "word" and raw.upper() in _KEYWORDS:
            kind, value = "keyword", raw.upper()
        else:
            value = raw
        if kind != "ws":
            tokens.append(_Token(kind, raw, value, at + 1))
        at = match.end()
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, str]):
        self.tokens = _tokenize(text)
        self.at = 0
        self.fields = fields
        self.count = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def fail(self, message: str, token: _Token | None = None) -> _Fail:
        token = token or self.token
        return _Fail(message, f"position {token.pos}")

    def keyword(self, *words: str) -> bool:
        if self.token.kind == "keyword" and self.token.value in words:
            self.at += 1
            return True
        return False

    def punct(self, char: str) -> None:
        if self.token.kind != "punct" or self.token.text != char:
            found = self.token.text or "end of text"
            raise self.fail(f"expected '{char}' but found '{found}'")
        self.at += 1

    def parse(self) -> Rule:
        if self.token.kind == "end":
            raise self.fail("the condition is empty")
        rule = self.expr(0)
        if self.token.kind != "end":
            raise self.fail(f"unexpected '{self.token.text}'; expected AND, OR or the end")
        return rule

    def expr(self, depth: int) -> Rule:
        rules = [self.and_expr(depth)]
        while self.keyword("OR"):
            rules.append(self.and_expr(depth))
        return rules[0] if len(rules) == 1 else AnyOf(_flatten(rules, AnyOf))

    def and_expr(self, depth: int) -> Rule:
        rules = [self.unary(depth)]
        while self.keyword("AND"):
            rules.append(self.unary(depth))
        return rules[0] if len(rules) == 1 else AllOf(_flatten(rules, AllOf))

    def unary(self, depth: int) -> Rule:
        if depth > MAX_DEPTH:
            raise self.fail(f"conditions nest at most {MAX_DEPTH} levels deep")
        if self.keyword("NOT"):
            return Not(self.unary(depth + 1))
        if self.token.kind == "punct" and self.token.text == "(":
            self.at += 1
            rule = self.expr(depth + 1)
            self.punct(")")
            return rule
        return self.comparison()

    def value(self) -> Any:
        token = self.token
        if token.kind in ("string", "number"):
            self.at += 1
            return token.value
        if token.kind == "keyword" and token.value in ("TRUE", "FALSE"):
            self.at += 1
            return token.value == "TRUE"
        found = token.text or "end of text"
        raise self.fail(f"expected a value (\"text\", number, true or false) but found '{found}'")

    def comparison(self) -> Rule:
        start = self.token
        if start.kind != "word":
            found = start.text or "end of text"
            raise self.fail(f"expected a field name but found '{found}'")
        self.count += 1
        if self.count > MAX_RULES:
            raise self.fail(f"a condition has at most {MAX_RULES} rules")
        self.at += 1
        name = start.value
        op_token = self.token
        if op_token.kind == "cmp":
            self.at += 1
            op, value = _CMP[op_token.text], self.value()
        elif self.keyword("CONTAINS"):
            op, value = "contains", self.value()
        elif self.keyword("EXISTS"):
            op, value = "exists", True
        elif self.keyword("BETWEEN"):
            low = self.value()
            if not self.keyword("AND"):
                raise self.fail("expected AND in 'BETWEEN low AND high'")
            op, value = "between", [low, self.value()]
        elif self.keyword("IN"):
            op, value = "in", self.value_list()
        elif self.keyword("NOT"):
            if self.keyword("IN"):
                op, value = "not_in", self.value_list()
            elif self.keyword("EXISTS"):
                op, value = "exists", False
            else:
                raise self.fail("expected IN or EXISTS after NOT")
        else:
            found = op_token.text or "end of text"
            raise self.fail(
                f"expected an operator after '{name}' (=, !=, <, <=, >, >=, IN, NOT IN, "
                f"CONTAINS, EXISTS, BETWEEN) but found '{found}'",
                op_token,
            )
        try:
            return _check_comparison(name, op, value, self.fields, f"position {start.pos}")
        except _Fail as fail:
            raise _Fail(fail.message, f"position {start.pos}") from None

    def value_list(self) -> list[Any]:
        self.punct("(")
        values = [self.value()]
        while self.token.kind == "punct" and self.token.text == ",":
            self.at += 1
            values.append(self.value())
        self.punct(")")
        return values


def _flatten(rules: Sequence[Rule], kind: type[AllOf] | type[AnyOf]) -> tuple[Rule, ...]:
    """`a AND (b AND c)` is one `all` of three: the same tree however it was bracketed."""
    out: list[Rule] = []
    for rule in rules:
        out.extend(rule.rules if isinstance(rule, kind) else (rule,))
    return tuple(out)


def parse_text(text: str, fields: Mapping[str, str], field: str = "condition") -> Rule:
    """Parse the text form; errors name the 1-based position of the offending token."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"Invalid {field}: longer than {MAX_TEXT} characters", details=[{"field": field, "issue": "too long"}]
        )
    try:
        return _Parser(text, fields).parse()
    except _Fail as fail:
        position = int(fail.where.split()[-1])
        raise InvalidInput(
            f"Invalid {field}: {fail.message} at {fail.where}",
            details=[{"field": field, "issue": fail.message, "position": position}],
        ) from None


# ---------------------------------------------------------------------------------------------------
# Evaluation


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if isinstance(expected, str) and not isinstance(actual, str):
        left, right = _order_key(_as_date_like(actual)), _order_key(expected)
    elif isinstance(expected, str) and isinstance(actual, str) and op in ORDERED_OPS:
        left, right = _order_key(actual), _order_key(expected)
    else:
        left, right = actual, expected
    if isinstance(left, datetime) and isinstance(right, datetime) and len(str(expected)) == 10:
        left = datetime.combine(left.date(), datetime.min.time(), UTC)  # a date compares by day
    try:
        if op == "eq":
            return bool(left == right)
        if op == "ne":
            return bool(left != right)
        if op == "lt":
            return bool(left < right)
        if op == "lte":
            return bool(left <= right)
        if op == "gt":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False  # e.g. a text value where a number was expected: not a match


def _as_date_like(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def evaluate(rule: Rule, record: Mapping[str, Any]) -> bool:
    """Does the record match? A missing (or null) field matches nothing but `exists false`, like SQL NULL;
    `NOT` inverts the whole result."""
    if isinstance(rule, AllOf):
        return all(evaluate(r, record) for r in rule.rules)
    if isinstance(rule, AnyOf):
        return any(evaluate(r, record) for r in rule.rules)
    if isinstance(rule, Not):
        return not evaluate(rule.rule, record)
    actual = record.get(rule.field)
    if rule.op == "exists":
        present = actual is not None and actual != "" and actual != [] and actual != ()
        return present is bool(rule.value)
    if actual is None:
        return False
    if rule.op in ("eq", "ne") and isinstance(actual, bool) != isinstance(rule.value, bool):
        return False  # true is not 1 here: a type mismatch matches nothing
    if rule.op == "in":
        return any(_compare("eq", actual, v) for v in rule.value)
    if rule.op == "not_in":
        return not any(_compare("eq", actual, v) for v in rule.value)
    if rule.op == "contains":
        if isinstance(actual, str):
            return str(rule.value).lower() in actual.lower()
        if isinstance(actual, list | tuple | set | frozenset):
            return any(_compare("eq", item, rule.value) for item in actual)
        return False
    if rule.op == "between":
        low, high = rule.value
        return _compare("gte", actual, low) and _compare("lte", actual, high)
    return _compare(rule.op, actual, rule.value)


def compile_condition(condition: Any, fields: Mapping[str, str], field: str = "condition") -> Rule:
    """Accept either form: a JSON tree (dict) or the text form (str)."""
    if isinstance(condition, str):
        return parse_text(condition, fields, field)
    return parse_rule(condition, fields, field)
