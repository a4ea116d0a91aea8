"""Requests and answers of the outbound webhook admin API (/v1/webhooks). Secrets appear only in the
answers to creation and rotation."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from keepwell.domain.webhooks.ssrf import MAX_URL_LENGTH
from keepwell.domain.webhooks.subscriptions import (
    EVENT_TYPES,
    MAX_DESCRIPTION,
    Attempt,
    Delivery,
    Subscription,
    normalise_event_types,
)

# An event type name ("health.band_changed", "*"); the list is checked against EVENT_TYPES.
EventTypeName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


def _event_types(value: list[str]) -> list[str]:
    return list(normalise_event_types(value))


class WebhookSubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[EventTypeName] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    enabled: bool = True

    @field_validator("event_types")
    @classmethod
    def _check_event_types(cls, value: list[str]) -> list[str]:
        return _event_types(value)


class WebhookSubscriptionPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[EventTypeName] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _check_event_types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _event_types(value)

    @model_validator(mode="after")
    def _something_to_change(self) -> WebhookSubscriptionPatchIn:
        if not self.model_fields_set:
            raise ValueError("give at least one of url, event_types, description, enabled")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class WebhookSubscriptionOut(BaseModel):
    subscription_id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    status: str  # active, failing, disabled
    disabled_reason: str | None
    failing_since: str | None
    failure_reason: str | None
    secret_rotated_at: str | None
    created_at: str
    created_by: str
    updated_at: str

    @classmethod
    def of(cls, subscription: Subscription) -> WebhookSubscriptionOut:
        return cls(**_subscription_fields(subscription))


def _subscription_fields(subscription: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": subscription.subscription_id,
        "url": subscription.url,
        "event_types": list(subscription.event_types),
        "description": subscription.description,
        "enabled": subscription.enabled,
        "status": subscription.status.value,
        "disabled_reason": subscription.disabled_reason,
        "failing_since": subscription.failing_since,
        "failure_reason": subscription.failure_reason,
        "secret_rotated_at": subscription.secret_rotated_at,
        "created_at": subscription.created_at,
        "created_by": subscription.created_by,
        "updated_at": subscription.updated_at,
    }


class WebhookSubscriptionCreatedOut(WebhookSubscriptionOut):
    """The answer to creation: the only time the signing secret is shown (besides a rotation)."""

    secret: str

    @classmethod
    def with_secret(cls, subscription: Subscription, secret: str) -> WebhookSubscriptionCreatedOut:
        return cls(**_subscription_fields(subscription), secret=secret)


class WebhookSubscriptionListOut(BaseModel):
    items: list[WebhookSubscriptionOut]


class WebhookSecretRotatedOut(BaseModel):
    subscription_id: str
    secret: str  # the new secret, shown this once
    previous_secret_expires_at: str | None  # until then deliveries carry both signatures


class WebhookAttemptOut(BaseModel):
    round: int
    attempt: int
    attempted_at: str
    outcome: str
    reason: str
    status_code: int | None
    latency_ms: int | None
    response_body: str | None
    manual: bool

    @classmethod
    def of(cls, attempt: Attempt) -> WebhookAttemptOut:
        return cls.model_validate(attempt, from_attributes=True)


class WebhookDeliveryOut(BaseModel):
    delivery_id: str  # the webhook-id header
    subscription_id: str
    event_type: str
    event_id: str
    occurred_at: str
    status: str
    next_attempt_at: str | None
    created_at: str
    updated_at: str
    attempts: list[WebhookAttemptOut]

    @classmethod
    def of(cls, delivery: Delivery) -> WebhookDeliveryOut:
        return cls(
            delivery_id=delivery.delivery_id,
            subscription_id=delivery.subscription_id,
            event_type=delivery.event_type,
            event_id=delivery.event_id,
            occurred_at=delivery.occurred_at,
            status=delivery.status.value,
            next_attempt_at=delivery.next_attempt_at,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
            attempts=[WebhookAttemptOut.of(a) for a in delivery.attempts],
        )


class WebhookDeliveryListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class WebhookDeliveryListOut(BaseModel):
    items: list[WebhookDeliveryOut]
    next_cursor: str | None


class WebhookDeliveryQueuedOut(BaseModel):
    """Answer to test and redeliver: the attempt runs on the delivery queue; its result is in the log."""

    delivery_id: str
    subscription_id: str
    event_type: str
    round: int
    status: str = "queued"


class WebhookEventTypeOut(BaseModel):
    name: str
    description: str


class WebhookEventTypeListOut(BaseModel):
    """The catalogue a subscription chooses its events from (`event_types`), as docs/webhooks.md lists it."""

    items: list[WebhookEventTypeOut]
