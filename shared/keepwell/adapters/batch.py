"""An SQS batch processor whose records of different groups run concurrently.

Powertools' `BatchProcessor` calls the record handler for one record after another, so one slow record
(a webhook receiver that hangs until the 15 s timeout) delays every other record of the batch. This
subclass keeps Powertools' partial-failure reporting but hands each group of records (e.g. one
webhook destination) to a thread of a bounded pool: groups run side by side, records of one group in
batch order. The pool lives as long as the container, so its threads keep their clients (pynamodb keeps
a botocore session per thread) from one invocation to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

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
