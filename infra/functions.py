"""Load a function's handler the way Lambda does: CodeUri on the path, then `module.attribute`."""

from __future__ import annotations

import functools
import importlib
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from infra.template import ROOT, load_template, resources_of_type

Handler = Callable[[dict[str, Any], Any], Any]


def function_ids() -> list[str]:
    return list(resources_of_type(load_template(), "AWS::Serverless::Function"))


def handler_spec(function_id: str) -> tuple[str, str]:
    props = load_template()["Resources"][function_id]["Properties"]
    return str(ROOT / props["CodeUri"]), props["Handler"]


def chalice_app(function_id: str) -> Any:
    """The Chalice app of an HTTP function with every route registered: the api registers a route group on
    the first request to one of its paths (`register_all_route_groups` registers them all)."""
    code_dir, handler = handler_spec(function_id)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module = importlib.import_module(handler.rsplit(".", 1)[0])
    register_all = getattr(module, "register_all_route_groups", None)
    if register_all is not None:
        register_all()
    return module.app


def load_handler(function_id: str) -> Handler:
    code_dir, handler = handler_spec(function_id)
    module_name, attribute = handler.rsplit(".", 1)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module = importlib.import_module(module_name)
    return _dropping_disabled_metrics(getattr(module, attribute))


def _dropping_disabled_metrics(handler: Handler) -> Handler:
    """Locally, quiet runs disable metrics; powertools then neither prints nor clears them at the end of
    an invocation, so they pile up and print as EMF lines whenever a metric reaches 100 values."""
    from keepwell.observability import metrics

    # Cleared, a handler that records no metric makes powertools warn that it has none to publish.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
                metrics.clear_metrics()

    return invoke


class FakeLambdaContext:
    """The attributes powertools and Chalice read from a Lambda context."""

    def __init__(self, function_name: str = "keepwell-local", timeout_ms: int = 30_000):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms
