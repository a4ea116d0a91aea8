"""SQS: send work in batches of 10 (the SendMessageBatch limit), failing loudly on partial failure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from keepwell.adapters.aws import client

SQS_BATCH_LIMIT = 10
MAX_DELAY_SECONDS = 900


class QueueSendError(RuntimeError):
    pass


def _body(message: BaseModel | dict[str, Any]) -> str:
    if isinstance(message, BaseModel):
        return message.model_dump_json()
    return json.dumps(message, separators=(",", ":"), default=str)


def send_messages(queue_url: str, messages: Iterable[BaseModel | dict[str, Any]], delay_seconds: int = 0) -> int:
    """Send every message; returns how many were sent. Retries the entries SQS reports as failed once."""
    batch: list[dict[str, Any]] = []
    sent = 0
    for message in messages:
        batch.append(
            {
                "Id": str(len(batch)),
                "MessageBody": _body(message),
                "DelaySeconds": min(max(delay_seconds, 0), MAX_DELAY_SECONDS),
            }
        )
        if len(batch) == SQS_BATCH_LIMIT:
            sent += _send_batch(queue_url, batch)
            batch = []
    if batch:
        sent += _send_batch(queue_url, batch)
    return sent


def _send_batch(queue_url: str, entries: Sequence[dict[str, Any]]) -> int:
    response = client("sqs").send_message_batch(QueueUrl=queue_url, Entries=list(entries))
    failed = response.get("Failed") or []
    if failed:
        retry = [e for e in entries if e["Id"] in {f["Id"] for f in failed}]
        again = client("sqs").send_message_batch(QueueUrl=queue_url, Entries=retry)
        if again.get("Failed"):
            raise QueueSendError(f"{len(again['Failed'])} messages could not be queued: {again['Failed'][0]}")
    return len(entries)
