"""Invoke template functions in-process, one at a time, as Lambda would (handler + context).

Handlers share module-level state (Chalice's `current_request`, the powertools logger, cached
settings and clients), so the gateway and every poller go through one lock: locally a function
runs one invocation at a time, which is also what makes the shared state safe.

Every invocation runs on the invoker's one long-lived thread, as a warm Lambda container runs each of
its invocations in the same thread: what a handler keeps per thread (its botocore session and DynamoDB
client, `keepwell/aws_session.py`) is built once, not again for each request the gateway's
thread-per-connection server or a poller hands over. An invocation made by a handler (the local bus
delivering to a target) runs in that thread at once.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from infra.functions import FakeLambdaContext, Handler, handler_spec, load_handler
from infra.template import load_template

log = logging.getLogger("infra.local")


class HandlerUnavailable(RuntimeError):
    """The template names a handler whose module does not exist (yet) or does not import."""


class Invoker:
    def __init__(self, stack_name: str = "keepwell-local") -> None:
        self.stack_name = stack_name
        self.lock = threading.RLock()
        self.invocations: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._handlers: dict[str, Handler] = {}
        self._container: ThreadPoolExecutor | None = None
        self._container_thread: threading.Thread | None = None

    def handler(self, function_id: str) -> Handler:
        cached = self._handlers.get(function_id)
        if cached is not None:
            return cached
        with self.lock:
            try:
                loaded = load_handler(function_id)
            except (ImportError, AttributeError) as error:
                code_dir, spec = handler_spec(function_id)
                raise HandlerUnavailable(f"{function_id}: cannot load {spec} from {code_dir}: {error}") from error
            self._handlers[function_id] = loaded
            return loaded

    @contextmanager
    def override(self, function_id: str, handler: Handler) -> Iterator[None]:
        """Run `handler` in place of the template's for a while (tests, local experiments)."""
        with self.lock:
            previous = self._handlers.get(function_id)
            self._handlers[function_id] = handler
        try:
            yield
        finally:
            with self.lock:
                if previous is None:
                    self._handlers.pop(function_id, None)
                else:
                    self._handlers[function_id] = previous

    def available(self, function_id: str) -> bool:
        try:
            self.handler(function_id)
        except HandlerUnavailable:
            return False
        return True

    def context(self, function_id: str) -> FakeLambdaContext:
        props = load_template()["Resources"][function_id]["Properties"]
        globals_timeout = load_template().get("Globals", {}).get("Function", {}).get("Timeout", 3)
        timeout_s = int(props.get("Timeout", globals_timeout))
        return FakeLambdaContext(f"{self.stack_name}-{function_id}", timeout_ms=timeout_s * 1000)

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        """Run the function's handler on `event`; exceptions propagate as a failed invocation."""
        handler = self.handler(function_id)
        if threading.current_thread() is self._container_thread:
            return self._run(function_id, handler, event)
        context = contextvars.copy_context()  # what the caller set (a test's overrides) holds in there too
        return self._executor().submit(context.run, self._run, function_id, handler, event).result()

    def close(self) -> None:
        """Let the invocation thread end (the local stack's stop)."""
        with self.lock:
            container, self._container = self._container, None
        if container is not None:
            container.shutdown(wait=False)

    def _executor(self) -> ThreadPoolExecutor:
        with self.lock:
            if self._container is None:
                self._container = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="lambda", initializer=self._mark_container
                )
            return self._container

    def _mark_container(self) -> None:
        self._container_thread = threading.current_thread()

    def _run(self, function_id: str, handler: Handler, event: dict[str, Any]) -> Any:
        with self.lock:
            self.invocations[function_id] += 1
            try:
                return handler(event, self.context(function_id))
            except Exception:
                self.errors[function_id] += 1
                raise
