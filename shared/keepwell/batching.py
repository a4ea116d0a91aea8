"""Powertools' batch handling and event classes for the functions, and an SQS batch processor whose records
of different groups run concurrently.

The handlers import Powertools' batch utility (`process_partial_response`, `BatchProcessor`) and the event
classes they read (`SQSRecord`, `EventBridgeEvent`) from here: importing this module first lets Powertools'
`data_classes` package load the event classes it is asked for, not all ~40 of them (decision 0027, fourth
pass; see `_event_classes_on_demand`). They import it before pydantic: the batch utility imports its parser's
pydantic models of every event source (for type hints only) when pydantic is loaded already, ~50 ms of CPU.

Powertools' `BatchProcessor` calls the record handler for one record after another, so one slow record
(a webhook receiver that hangs until the 15 s timeout) delays every other record of the batch. This
subclass keeps Powertools' partial-failure reporting but hands each group of records (e.g. one
webhook destination) to a thread of a bounded pool: groups run side by side, records of one group in
batch order. The pool lives as long as the container, so its threads keep their clients (pynamodb keeps
a botocore session per thread) from one invocation to the next.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

EVENT_CLASSES = "aws_lambda_powertools.utilities.data_classes"
# The package's names that the batch utility's modules and our handlers ask it for, by the module defining
# each; any other name (or `import *`) runs the package's own __init__, which defines them all.
_DEFINED_IN = {
    "S3Event": "s3_event",  # sqs_event's import of it
    "SQSEvent": "sqs_event",
    "SQSRecord": "sqs_event",
    "EventBridgeEvent": "event_bridge_event",
}


def _event_classes_on_demand() -> None:
    """Cold start (decision 0027): Powertools' batch utility imports four modules of its `data_classes`
    package (SQS, Kinesis, DynamoDB streams, Kafka), and Python runs the package's __init__ first, which
    imports all ~40 of its event classes (~15 ms of CPU of each batch worker). The package is registered
    unexecuted (as the import system would create it, its submodules importable) with a module
    `__getattr__` (PEP 562) that gives the names above from their own modules and runs the real __init__
    on first need of any other name: what every import finds is unchanged, only when it is loaded."""
    if EVENT_CLASSES in sys.modules:  # already imported (tests, the local stack): nothing to save
        return
    spec = importlib.util.find_spec(EVENT_CLASSES)  # imports the parent packages
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    lock = threading.RLock()
    executed: list[bool] = []

    def __getattr__(name: str) -> Any:
        if name in _DEFINED_IN:
            return getattr(importlib.import_module(f"{EVENT_CLASSES}.{_DEFINED_IN[name]}"), name)
        with lock:  # another thread asking meanwhile waits for every name to be defined
            if not executed:
                executed.append(True)
                loader.exec_module(package)  # the package as Powertools wrote it, every name defined
                del package.__getattr__
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {EVENT_CLASSES!r} has no attribute {name!r}") from None

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[EVENT_CLASSES] = package
    parent, _, child = EVENT_CLASSES.rpartition(".")
    vars(sys.modules[parent])[child] = package  # as the import system binds a submodule on its parent


_event_classes_on_demand()

from aws_lambda_powertools.utilities.batch import (  # noqa: E402  (after the package is registered)
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.event_bridge_event import EventBridgeEvent  # noqa: E402
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent, SQSRecord  # noqa: E402

__all__ = [
    "BatchProcessor",
    "EventBridgeEvent",
    "EventType",
    "GroupedConcurrentBatchProcessor",
    "SQSEvent",
    "SQSRecord",
    "process_partial_response",
]

MAX_WORKERS = 10  # the event source mapping's batch size: every destination of a batch gets a thread


class GroupedConcurrentBatchProcessor(BatchProcessor):
    def __init__(self, group_of: Callable[[dict[str, Any]], str], max_workers: int = MAX_WORKERS, **kwargs: Any):
        super().__init__(event_type=EventType.SQS, **kwargs)
        self._group_of = group_of
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None

    def _run_group(self, records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [self._process_record(record) for record in records]

    def process(self) -> list[tuple[Any, ...]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for record in self.records:
            groups.setdefault(self._group_of(record), []).append(record)
        if len(groups) <= 1:
            return super().process()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="batch")
        results: dict[int, tuple[Any, ...]] = {}
        for records, outcomes in zip(groups.values(), self._pool.map(self._run_group, groups.values()), strict=True):
            for record, outcome in zip(records, outcomes, strict=True):
                results[id(record)] = outcome
        # Report in batch order, as the sequential processor does (threads finish in any order).
        position = {record.get("messageId"): index for index, record in enumerate(self.records)}
        self.fail_messages.sort(key=lambda message: position.get(_message_id(message), len(position)))
        self.success_messages.sort(key=lambda message: position.get(_message_id(message), len(position)))
        return [results[id(record)] for record in self.records]


def _message_id(message: Any) -> str | None:
    """Powertools keeps a record as the raw dict or as its data class, depending on the path it took."""
    if isinstance(message, dict):
        return message.get("messageId")
    return getattr(message, "message_id", None)
