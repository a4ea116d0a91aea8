"""Event sources of template.yaml, run locally: SQS event source mappings and EventBridge rules.

* `Type: SQS` → a thread long-polls the queue, hands the function a real SQS batch event and
  deletes only what succeeded: with `ReportBatchItemFailures` the ids in `batchItemFailures` stay,
  a raised exception keeps the whole batch. Kept messages are made visible again at once (their
  template VisibilityTimeout is minutes long), so moto's redrive moves them to the DLQ after
  `maxReceiveCount` receives, as SQS does.
* `Type: EventBridgeRule` → a real rule with the template's pattern on the template's bus (moto
  matches it), targeting a local per-rule queue; its poller invokes the function with each
  delivered EventBridge event, one at a time (EventBridge invokes Lambda asynchronously). A failed
  event is retried `RetryPolicy.MaximumRetryAttempts` times (Lambda's default: 2), then parked in
  the rule's local DLQ.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from infra.invoker import HandlerUnavailable, Invoker
from infra.template import Resolver, resources_of_type

log = logging.getLogger("infra.local")

SQS_RECEIVE_LIMIT = 10
DEFAULT_ASYNC_RETRIES = 2  # Lambda's default for asynchronous (EventBridge) invocations
# A rule's events are received up to 10 at a time (each SQS call walks the whole queue in moto) but
# still invoked one event per invocation, as EventBridge invokes a Lambda target asynchronously.
EVENTBRIDGE_RECEIVE = 10


@dataclass(frozen=True)
class QueueEventSource:
    """A queue whose messages invoke a function: an SQS event source, or an EventBridge rule's target."""

    function_id: str
    event_name: str
    kind: Literal["sqs", "eventbridge"]
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    dlq_url: str | None = None

    @property
    def name(self) -> str:
        return f"{self.function_id}.{self.event_name}"


def _function_events(template: dict[str, Any], event_type: str) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for function_id, function in resources_of_type(template, "AWS::Serverless::Function").items():
        for event_name, event in (function["Properties"].get("Events") or {}).items():
            if event["Type"] == event_type:
                yield function_id, event_name, event.get("Properties") or {}


def _queue_by_arn(resolver: Resolver, arn: str) -> dict[str, str]:
    for physical in resolver.physical.values():
        if physical.get("Arn") == arn and "QueueUrl" in physical:
            return physical
    raise KeyError(f"no queue of the stack has ARN {arn}")


def sqs_event_sources(template: dict[str, Any], resolver: Resolver) -> list[QueueEventSource]:
    sources = []
    for function_id, event_name, props in _function_events(template, "SQS"):
        queue = _queue_by_arn(resolver, resolver.resolve(props["Queue"]))
        redrive = None
        for logical_id, resource in resources_of_type(template, "AWS::SQS::Queue").items():
            if resolver.physical[logical_id]["Arn"] == queue["Arn"]:
                redrive = (resource["Properties"].get("RedrivePolicy") or {}).get("deadLetterTargetArn")
        dlq_url = _queue_by_arn(resolver, resolver.resolve(redrive))["QueueUrl"] if redrive else None
        sources.append(
            QueueEventSource(
                function_id=function_id,
                event_name=event_name,
                kind="sqs",
                queue_url=queue["QueueUrl"],
                queue_arn=queue["Arn"],
                batch_size=int(props.get("BatchSize", 10)),
                batching_window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                dlq_url=dlq_url,
            )
        )
    return sources


def create_eventbridge_rules(
    template: dict[str, Any], resolver: Resolver, sqs: Any, events: Any
) -> list[QueueEventSource]:
    """Create each EventBridgeRule event's rule on its bus, targeting a new local queue."""
    sources = []
    for function_id, event_name, props in _function_events(template, "EventBridgeRule"):
        unsupported = {"Input", "InputPath", "InputTransformer", "Target", "DeadLetterConfig"} & set(props)
        if unsupported:
            raise NotImplementedError(f"{function_id}.{event_name}: local stack does not support {unsupported}")
        bus = resolver.resolve(props.get("EventBusName", "default"))
        base = f"{resolver.stack_name}-{function_id}-{event_name}"
        retries = int((props.get("RetryPolicy") or {}).get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        dlq_url = sqs.create_queue(QueueName=f"{base}-dlq")["QueueUrl"]
        dlq_arn = f"arn:aws:sqs:{resolver.region}:{resolver.account_id}:{base}-dlq"
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": retries + 1}
        # Held while a received group is invoked one event at a time (see EVENTBRIDGE_RECEIVE).
        attributes = {"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "900"}
        queue_url = sqs.create_queue(QueueName=base, Attributes=attributes)["QueueUrl"]
        queue_arn = f"arn:aws:sqs:{resolver.region}:{resolver.account_id}:{base}"
        events.put_rule(
            Name=base,
            EventBusName=bus,
            EventPattern=json.dumps(resolver.resolve(props["Pattern"])),
            State="ENABLED",
            Description=f"local: {function_id} {event_name}",
        )
        events.put_targets(Rule=base, EventBusName=bus, Targets=[{"Id": "local-queue", "Arn": queue_arn}])
        sources.append(
            QueueEventSource(
                function_id,
                event_name,
                "eventbridge",
                queue_url,
                queue_arn,
                batch_size=EVENTBRIDGE_RECEIVE,
                dlq_url=dlq_url,
            )
        )
    return sources


def lambda_sqs_record(message: dict[str, Any], source: QueueEventSource, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a ReceiveMessage message."""
    attributes = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
    message_attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        binary = value.get("BinaryValue")
        message_attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode("ascii") if isinstance(binary, bytes) else binary,
            "stringListValues": list(value.get("StringListValues") or []),
            "binaryListValues": [base64.b64encode(b).decode("ascii") for b in value.get("BinaryListValues") or []],
            "dataType": value.get("DataType", "String"),
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, batch_ids: list[str], report_batch_item_failures: bool) -> set[str]:
    """Which messages of a batch the function failed, read as Lambda reads the response."""
    if not report_batch_item_failures:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set()
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            # Lambda treats a malformed or unknown identifier as a failure of the whole batch.
            return set(batch_ids)
        failed.add(identifier)
    return failed


@dataclass
class PollerStats:
    batches: int = 0
    succeeded: int = 0
    failed: int = 0
    invocation_errors: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "invocation_errors": self.invocation_errors,
            "last_error": self.last_error,
        }


@dataclass
class QueuePoller:
    """Polls one event source's queue on a background thread and invokes its function."""

    source: QueueEventSource
    sqs: Any
    invoker: Invoker
    region: str = "us-east-1"
    wait_seconds: int = 1
    stats: PollerStats = field(default_factory=PollerStats)
    busy: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _warned_unavailable: bool = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.source.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.invoker.available(self.source.function_id):
                if not self._warned_unavailable:
                    log.warning("%s: handler not available yet; its queue is left alone", self.source.name)
                    self._warned_unavailable = True
                self._stop.wait(2.0)
                continue
            try:
                self.poll_once()
            except Exception as error:  # keep polling: a flaky call must not kill the event source
                if self._stop.is_set():
                    break
                self.stats.last_error = f"{type(error).__name__}: {error}"
                log.exception("%s: polling failed", self.source.name)
                self._stop.wait(1.0)

    def _receive(self, limit: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=max(1, min(limit, SQS_RECEIVE_LIMIT)),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages") or [])

    def poll_once(self, wait_seconds: int | None = None) -> int:
        """Receive one batch (up to BatchSize, within the batching window) and process it."""
        messages = self._receive(self.source.batch_size, self.wait_seconds if wait_seconds is None else wait_seconds)
        if not messages:
            return 0
        deadline = time.monotonic() + self.source.batching_window_s
        while len(messages) < self.source.batch_size and time.monotonic() < deadline and not self._stop.is_set():
            more = self._receive(self.source.batch_size - len(messages), 0)
            if more:
                messages.extend(more)
            else:
                time.sleep(0.1)
        self.busy = True
        try:
            if self.source.kind == "sqs":
                self._process_sqs_batch(messages)
            else:
                for message in messages:
                    self._process_eventbridge_event(message)
        finally:
            self.busy = False
        return len(messages)

    def _process_sqs_batch(self, messages: list[dict[str, Any]]) -> None:
        records = [lambda_sqs_record(m, self.source, self.region) for m in messages]
        batch_ids = [r["messageId"] for r in records]
        self.stats.batches += 1
        try:
            result = self.invoker.invoke(self.source.function_id, {"Records": records})
            failed = failed_message_ids(result, batch_ids, self.source.report_batch_item_failures)
        except HandlerUnavailable:
            raise
        except Exception as error:  # an invocation error fails the whole batch, as with Lambda
            self.stats.invocation_errors += 1
            self.stats.last_error = f"{type(error).__name__}: {error}"
            log.exception("%s: invocation failed; the whole batch will be retried", self.source.name)
            failed = set(batch_ids)
        self._settle(messages, failed)

    def _process_eventbridge_event(self, message: dict[str, Any]) -> None:
        self.stats.batches += 1
        event = json.loads(message["Body"])
        event.pop("ingestion-time", None)  # moto's bookkeeping; EventBridge does not deliver it
        failed: set[str] = set()
        try:
            self.invoker.invoke(self.source.function_id, event)
        except HandlerUnavailable:
            raise
        except Exception as error:
            self.stats.invocation_errors += 1
            self.stats.last_error = f"{type(error).__name__}: {error}"
            log.exception("%s: invocation failed; the event will be retried", self.source.name)
            failed = {message["MessageId"]}
        self._settle([message], failed)

    def _settle(self, messages: list[dict[str, Any]], failed: set[str]) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        kept = [m for m in messages if m["MessageId"] in failed]
        self.stats.succeeded += len(done)
        self.stats.failed += len(kept)
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if kept:
            # Visible again now rather than after the template's minutes-long timeout: redrive is quick.
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(kept)
                ],
            )


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages in the queue, visible or in flight or delayed."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())
