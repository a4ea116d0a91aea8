"""A domain event: what the product announces on its bus (source `keepwell`) when something happened.
Built by the domain (e.g. a scoring's `health.band_changed`), published by `adapters.event_bus`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    detail_type: str  # e.g. health.scored, health.band_changed, health.alert
    detail: dict[str, Any]
