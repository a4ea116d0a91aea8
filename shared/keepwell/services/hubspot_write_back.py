"""HubSpot's write-back after each score: `health.scored` on the bus puts the scored customer of a workspace
connected to HubSpot on the write-back queue (services/hubspot_sync writes the queue's batches back).

Its own module (cold starts, decision 0027): every score of every workspace sends the HubSpot function this
event, and queueing one message needs the connection's state only, not the sync's customers, renewals and
CRM client, which the scheduled runs and the queue's batches import.
"""

from __future__ import annotations

from keepwell.adapters import queues
from keepwell.schemas.messages import DomainEventIn, HubSpotWriteBack
from keepwell.settings import get_settings
from keepwell.storage import hubspot as store

SCORED_EVENT = "health.scored"
WRITE_BACK_DELAY_S = 30  # the playbooks function records churn risk on the same event, within seconds


def queue_write_back(event: DomainEventIn) -> bool:
    """`health.scored` on the bus: when the workspace is connected to HubSpot, the customer goes on the
    write-back queue, delayed so that the churn risk the playbooks function records for the same event
    is usually stored first. False when there is nothing to write back (one GetItem)."""
    detail = event.detail
    if event.detail_type != SCORED_EVENT or detail.customer_id is None:
        return False
    if not store.get_state(detail.workspace_id).connected:
        return False
    message = HubSpotWriteBack(workspace_id=detail.workspace_id, customer_id=detail.customer_id)
    queues.send_messages(get_settings().hubspot_writeback_queue_url, [message], delay_seconds=WRITE_BACK_DELAY_S)
    return True
