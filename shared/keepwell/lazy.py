"""A package's names imported from their modules on first use (PEP 562's module `__getattr__`): a function
that needs one module of a package does not import the rest at start (cold starts, decision 0027).

    _MODULE_OF = {"HealthModel": "keepwell.domain.health.model", ...}
    __all__ = [...]  # the same names, listed for tools
    __getattr__ = names_from(__name__, _MODULE_OF)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def names_from(package: str, module_of: Mapping[str, str]) -> Callable[[str], Any]:
    """The package's `__getattr__`: imports a name's module when the name is first asked for, and keeps the
    name in the package so later lookups do not come here."""

    def module_getattr(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return module_getattr
