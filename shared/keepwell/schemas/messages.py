"""Bodies of the messages on the work queues and of the domain events on the bus.

Consumers validate every record with these models; a record that does not validate fails on its
own (partial batch response) and, after the queue's maxReceiveCount, lands in the queue's DLQ.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from keepwell.ids import ENTITY_ID  # re-exported: messages name entities by these ids

# Every key starts with WS#<workspace_id>, and `#` would break that prefix (storage/keys.py).
WORKSPACE_ID = r"^[A-Za-z0-9_\-]{1,64}$"


class _Message(BaseModel):
    # Unknown fields are ignored: a newer producer may still be draining into an older consumer.
    model_config = ConfigDict(extra="ignore", frozen=True)

    workspace_id: str = Field(pattern=WORKSPACE_ID)


class ScoringRequest(_Message):
    """ScoringQueue: (re)score one customer, or every customer of the workspace when customer_id is None."""

    customer_id: str | None = Field(default=None, pattern=ENTITY_ID)
    reason: Literal["schedule", "ingest", "integration", "manual", "model_changed"]
    scoring_day: date | None = None  # the workspace-local day to score; None → today in its timezone
    recompute_from: date | None = None  # late events: rebuild snapshots from this day on
    # Recalculation jobs (services/recalculation.py): `history` recomputes the last 90 days with the
    # current model; with no customer_id, `page` names the job's page of customers to fan out, or,
    # with `listing`, the first page of the next customers to list (the job item holds where from).
    job_id: str | None = Field(default=None, pattern=ENTITY_ID)
    history: bool = False
    page: int | None = Field(default=None, ge=0, le=1_000_000)
    model_version: int | None = Field(default=None, ge=0)  # score with at least this model version
    listing: bool = False
    # The daily fan-out of a large workspace, page by page (services/scoring_queue.enqueue_workspace):
    # with no customer_id and no job_id, `page` ≥ 1 continues the walk after `cursor`, carrying the
    # segment tally of the pages before (domain/segment_baselines.RunningTally).
    cursor: str | None = Field(default=None, max_length=4096)
    tally: dict[str, list[JsonValue]] | None = None


class PlaybookActionMessage(_Message):
    """PlaybookActionsQueue: execute one step of one playbook run, exactly once (keyed by run + step)."""

    playbook_id: str = Field(pattern=ENTITY_ID)
    run_id: str = Field(pattern=ENTITY_ID)
    customer_id: str = Field(pattern=ENTITY_ID)
    step_index: int = Field(ge=0, le=100)
    action: Literal[
        "email", "task", "webhook", "slack", "update_field", "notify", "wait", "apply_blueprint", "engagement"
    ]
    params: dict[str, JsonValue] = Field(default_factory=dict)
    # The run's episode: with playbook and customer it addresses the run item (storage/playbooks.py).
    episode: str | None = Field(default=None, pattern=ENTITY_ID)


class WebhookDeliveryMessage(_Message):
    """WebhookDeliveryQueue: send one signed delivery of one event to one subscription."""

    subscription_id: str = Field(pattern=ENTITY_ID)
    delivery_id: str = Field(pattern=ENTITY_ID)  # also the `webhook-id` header: receivers dedupe on it
    event_type: str = Field(min_length=1, max_length=128)
    attempt: int = Field(default=1, ge=1, le=50)
    payload: dict[str, JsonValue]
    # Outbound webhooks (services/webhook_deliveries.py, docs/webhooks.md):
    occurred_at: datetime | None = None  # the event's time: the envelope `timestamp`, the same on every attempt
    not_before: datetime | None = None  # a retry waiting longer than SQS's 900 s delay is re-enqueued in hops
    round: int = Field(default=0, ge=0, le=1000)  # 0: the automatic schedule; n: n-th redelivery or DLQ redrive
    manual: bool = False  # a test event or manual redelivery: one attempt, no automatic retries


DomainEventType = Literal["health.scored", "health.band_changed", "health.alert", "customer.changed"]


class DomainEventDetail(BaseModel):
    """`detail` of a keepwell domain event on the bus; each type adds its own fields."""

    model_config = ConfigDict(extra="allow", frozen=True)

    workspace_id: str = Field(pattern=WORKSPACE_ID)
    customer_id: str | None = Field(default=None, pattern=ENTITY_ID)


DOMAIN_EVENT_SOURCE = "keepwell"  # the source of every event on the domain bus (adapters/event_bus.py)


class DomainEventIn(BaseModel):
    """A domain event as EventBridge delivers it to a rule target."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    detail_type: str
    source: Literal["keepwell"]
    time: datetime
    detail: DomainEventDetail


class ImportJob(_Message):
    """ImportQueue: run (or resume) an import's dry run or its commit (services/imports.py)."""

    import_id: str = Field(pattern=ENTITY_ID)
    phase: Literal["dry_run", "commit"]


class HubSpotWriteBack(_Message):
    """HubSpotWriteBackQueue: write one scored customer's health score, band and churn risk to its linked
    HubSpot company when they changed (services/hubspot_sync.write_back); many go in one batch update."""

    customer_id: str = Field(pattern=ENTITY_ID)


class BacktestRequest(_Message):
    """ScoringQueue: run one page of a model backtest (services/backtest_runs.py); told apart from a
    ScoringRequest by `backtest_id`. Pages run one after another; the last one writes the result."""

    backtest_id: str = Field(pattern=ENTITY_ID)
    page: int = Field(ge=0, le=1_000_000)


def is_backtest_message(body: str) -> bool:
    """Whether a scoring queue message is a BacktestRequest (only it carries `backtest_id`), told apart
    without parsing it: the scorer imports the backtest's code only for such a message."""
    return '"backtest_id"' in body
