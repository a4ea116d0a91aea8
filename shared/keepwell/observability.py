"""Powertools logger, metrics and tracer: one instance of each per container, shared by all modules.

The tracer is built on first use: building it imports the X-Ray SDK and patches botocore (~200 ms of a
cold start), so only the functions whose handlers use it pay for it (decision 0027)."""

from __future__ import annotations

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


def get_tracer() -> Tracer:
    if not _tracer:
        from aws_lambda_powertools import Tracer

        _tracer.append(Tracer(patch_modules=TRACED_LIBRARIES))
    return _tracer[0]


def __getattr__(name: str) -> Any:
    # `from keepwell.observability import tracer` keeps working, building the tracer then.
    if name == "tracer":
        return get_tracer()
    raise AttributeError(name)
