"""Repository checks the tests run: no DynamoDB Scan anywhere, and Chalice routes == template routes.

Both are plain functions over data so the tests can also feed them broken input and watch them fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.template import ROOT, ApiRoute

# Attribute calls that read a whole table or index: boto3 client/resource and pynamodb spellings.
SCAN_ATTRIBUTES = frozenset({"scan", "parallel_scan", "rate_limited_scan"})
# Operation names passed as strings (client._make_api_call("Scan", ...), paginators, IAM-ish lists).
SCAN_OPERATION_NAMES = frozenset({"Scan"})
# Calls whose string argument names a DynamoDB operation.
OPERATION_CALLS = frozenset({"get_paginator", "_make_api_call", "can_paginate"})
DEFAULT_SCAN_ROOTS = ("functions", "shared")


@dataclass(frozen=True)
class ScanFinding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


class _ScanVisitor(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[ScanFinding] = []

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if isinstance(func, ast.Attribute) and func.attr in SCAN_ATTRIBUTES:
            self._add(node, f"call to .{func.attr}()")
        elif name is not None and name in OPERATION_CALLS:
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and arg.value in SCAN_OPERATION_NAMES:
                    self._add(node, f"{name}({arg.value!r})")
        elif isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            # getattr(table, "scan") dodges the attribute check above.
            target = node.args[1]
            if isinstance(target, ast.Constant) and target.value in SCAN_ATTRIBUTES:
                self._add(node, f"getattr(..., {target.value!r})")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        # e.g. client.meta.events / botocore calls with operation_name="Scan"
        value = node.value
        if (
            isinstance(value, ast.Constant)
            and value.value in SCAN_OPERATION_NAMES
            and node.arg
            and ("operation" in node.arg.lower())
        ):
            self._add(node, f"{node.arg}={value.value!r}")
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        # {"Action": "dynamodb:Scan"} style or {"operation": "Scan"} payloads.
        for key, value in zip(node.keys, node.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and "operation" in key.value.lower()
                and isinstance(value, ast.Constant)
                and value.value in SCAN_OPERATION_NAMES
            ):
                self._add(node, f"{key.value!r}: {value.value!r}")
        self.generic_visit(node)

    def _add(self, node: ast.expr | ast.keyword, what: str) -> None:
        self.findings.append(ScanFinding(self.path, getattr(node, "lineno", 0), what))


def scan_calls_in_source(source: str, path: str = "<string>") -> list[ScanFinding]:
    """Every Scan use in one Python source text."""
    visitor = _ScanVisitor(path)
    visitor.visit(ast.parse(source, filename=path))
    return visitor.findings


def python_files(roots: Iterable[str | Path] = DEFAULT_SCAN_ROOTS, base: Path = ROOT) -> list[Path]:
    """The .py files under `roots` (relative to `base`), skipping build output and caches."""
    files = []
    for root in roots:
        for path in sorted((base / root).rglob("*.py")):
            if not any(
                part in {".aws-sam", "__pycache__", "build"} or part.endswith(".egg-info")
                for part in path.relative_to(base).parts
            ):
                files.append(path)
    return files


def scan_calls_in_tree(roots: Iterable[str | Path] = DEFAULT_SCAN_ROOTS, base: Path = ROOT) -> list[ScanFinding]:
    """Every Scan use in the .py files under `roots`."""
    findings: list[ScanFinding] = []
    for path in python_files(roots, base):
        source = path.read_text(encoding="utf-8")
        findings.extend(scan_calls_in_source(source, path.relative_to(base).as_posix()))
    return findings


# ------------------------------------------------------------------------------------- routes
Routes = dict[str, frozenset[str]]  # path → methods


@dataclass
class RouteDiff:
    only_in_app: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    only_in_template: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.only_in_app and not self.only_in_template

    def __str__(self) -> str:
        lines = [f"Chalice route missing from template.yaml: {m} {p}" for m, p in self.only_in_app]
        lines += [f"template.yaml route with no Chalice view: {m} {p}" for m, p in self.only_in_template]
        return "\n".join(lines) or "routes match"


def chalice_routes(app: Any) -> Routes:
    """`app.routes` (path → {method: RouteEntry}) as path → methods."""
    table: Mapping[str, Mapping[str, Any]] = app.routes
    # app.routes is a defaultdict: a request for an unknown path leaves an empty entry behind.
    return {path: frozenset(m.upper() for m in methods) for path, methods in table.items() if methods}


def template_routes(routes: Iterable[ApiRoute]) -> Routes:
    grouped: dict[str, set[str]] = {}
    for route in routes:
        grouped.setdefault(route.path, set()).add(route.method.upper())
    return {path: frozenset(methods) for path, methods in grouped.items()}


def _pairs(routes: Routes) -> set[tuple[str, str]]:
    return {(method, path) for path, methods in routes.items() for method in methods}


def compare_routes(app_routes: Routes, template: Routes) -> RouteDiff:
    """Exact comparison (path strings and methods) in both directions."""
    app_pairs, template_pairs = _pairs(app_routes), _pairs(template)
    return RouteDiff(
        only_in_app=sorted(app_pairs - template_pairs, key=lambda p: (p[1], p[0])),
        only_in_template=sorted(template_pairs - app_pairs, key=lambda p: (p[1], p[0])),
    )
