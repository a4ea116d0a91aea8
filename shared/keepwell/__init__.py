"""Keepwell's common package: schemas, domain, storage and adapters shared by every Lambda."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

# Cold starts (decision 0027): each pydantic model of the package builds its validator and serializer
# when first used rather than when its module is imported. A function imports up to ~200 models and a
# request uses a handful; validation and serialisation are unchanged. It must be set before any model of
# the package is defined (a model inherits BaseModel's configuration when its class is created), and is set
# without importing pydantic here: the authorizer defines no model, and importing pydantic was ~45 ms of
# CPU of its start. So `pydantic.main` (which defines BaseModel) is configured as it is first imported,
# by whichever module imports it; or now, if it already was.


def _defer_model_builds(main: ModuleType) -> None:
    main.BaseModel.model_config["defer_build"] = True


class _ConfigureOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: asks the other finders for `pydantic.main` and configures it once executed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "pydantic.main":
            return None
        sys.meta_path.remove(self)  # once: the finders below find the module itself
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _defer_model_builds(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this spec's own loader
        return spec


if "pydantic.main" in sys.modules:
    _defer_model_builds(sys.modules["pydantic.main"])
else:
    sys.meta_path.insert(0, _ConfigureOnImport())
