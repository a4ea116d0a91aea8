"""Powertools logger, metrics and tracer: one instance of each per container, shared by all modules.

The tracer is built on first use: building it imports the X-Ray SDK and patches botocore (~200 ms of a
cold start), so only the functions whose handlers use it pay for it (decision 0027)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()
_tracer: list[Tracer] = []
# What X-Ray's patch_all (powertools' default) patches of what the layer holds, less the two our code never
# calls (requests, which vaderSentiment brings, and sqlite3): the same subsegments without importing them,
# ~30 ms of CPU of each traced function's cold start (decision 0027). httplib is not patched, as before.
TRACED_LIBRARIES = ("botocore", "pynamodb", "httpx")
# Patched when the tracer is built: every traced function's first request calls AWS through them.
PATCHED_AT_START = ("botocore", "pynamodb")
# Patched when first imported (a webhook delivery, a HubSpot call; both import httpx on first use), before
# any of its clients exists, so its calls get the same subsegments; patching it at start imported it (and
# click, which its command line needs) into every traced worker: ~25 ms of CPU (decision 0027, third pass).
PATCHED_ON_IMPORT = tuple(name for name in TRACED_LIBRARIES if name not in PATCHED_AT_START)


def get_tracer() -> Tracer:
    if not _tracer:
        from aws_lambda_powertools import Tracer

        tracer = Tracer(patch_modules=PATCHED_AT_START)
        _tracer.append(tracer)
        if not tracer.disabled:  # powertools patches nothing when tracing is off (tests, `make run`)
            import wrapt  # the X-Ray SDK's own dependency, imported by it already

            for name in PATCHED_ON_IMPORT:
                wrapt.register_post_import_hook(_patcher(tracer, name), name)
    return _tracer[0]


def _patcher(tracer: Tracer, name: str) -> Callable[[ModuleType], None]:
    def patch(_module: ModuleType) -> None:
        tracer.patch(modules=(name,))

    return patch


def __getattr__(name: str) -> Any:
    # `from keepwell.observability import tracer` keeps working, building the tracer then.
    if name == "tracer":
        return get_tracer()
    raise AttributeError(name)
