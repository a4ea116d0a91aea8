"""EventBridge: publish domain events (source `keepwell`) in PutEvents batches of 10."""

from __future__ import annotations

import json
from collections.abc import Iterable

from keepwell.adapters.aws import client
from keepwell.domain.events import DomainEvent  # re-exported: what `publish` takes
from keepwell.settings import get_settings

SOURCE = "keepwell"
PUT_EVENTS_LIMIT = 10


class PublishError(RuntimeError):
    pass


def publish(events: Iterable[DomainEvent]) -> int:
    entries = [
        {
            "Source": SOURCE,
            "DetailType": e.detail_type,
            "Detail": json.dumps(e.detail, default=str),
            "EventBusName": get_settings().event_bus_name,
        }
        for e in events
    ]
    for start in range(0, len(entries), PUT_EVENTS_LIMIT):
        chunk = entries[start : start + PUT_EVENTS_LIMIT]
        response = client("events").put_events(Entries=chunk)
        if response.get("FailedEntryCount"):
            raise PublishError(f"{response['FailedEntryCount']} domain events were not accepted")
    return len(entries)
