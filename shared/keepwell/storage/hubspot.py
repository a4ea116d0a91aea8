"""HubSpot sync state (`WS#w / HUBSPOT#SYNC`: mapping, cursors; the token is in Secrets Manager) and the
values last written back to each linked company (`WS#w#CUST#c / HUBSPOT`)."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from keepwell.domain.integrations.hubspot_sync import SyncState, WrittenBack
from keepwell.storage import keys
from keepwell.storage.models import TableItem

BATCH_GET_LIMIT = 100


class HubSpotStateItem(TableItem):
    body_json = UnicodeAttribute()


class WrittenBackItem(TableItem):
    customer_id = UnicodeAttribute()
    company_id = UnicodeAttribute()
    body_json = UnicodeAttribute()


def _state_key(workspace_id: str) -> keys.Key:
    return keys.Key(keys.workspace_partition(workspace_id), "HUBSPOT#SYNC")


def _written_key(workspace_id: str, customer_id: str) -> keys.Key:
    return keys.Key(keys.customer_partition(workspace_id, customer_id), "HUBSPOT")


def get_state(workspace_id: str) -> SyncState:
    key = _state_key(workspace_id)
    try:
        return SyncState.model_validate_json(HubSpotStateItem.get(key.pk, key.sk, consistent_read=True).body_json)
    except DoesNotExist:
        return SyncState()


def save_state(workspace_id: str, state: SyncState) -> None:
    key = _state_key(workspace_id)
    HubSpotStateItem(
        key.pk, key.sk, entity="hubspot_sync", workspace_id=workspace_id, body_json=state.model_dump_json()
    ).save()


def written_back(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, WrittenBack]:
    wanted = [_written_key(workspace_id, c) for c in sorted(set(customer_ids))]
    found: dict[str, WrittenBack] = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        chunk = [(k.pk, k.sk) for k in wanted[start : start + BATCH_GET_LIMIT]]
        for item in WrittenBackItem.batch_get(chunk):
            found[item.customer_id] = WrittenBack.model_validate_json(item.body_json)
    return found


def save_written_back(workspace_id: str, values: dict[str, tuple[str, WrittenBack]]) -> None:
    """customer id -> (company id, the values HubSpot now holds)."""
    with WrittenBackItem.batch_write() as batch:
        for customer_id, (company_id, written) in values.items():
            key = _written_key(workspace_id, customer_id)
            batch.save(
                WrittenBackItem(
                    key.pk,
                    key.sk,
                    entity="hubspot_written_back",
                    workspace_id=workspace_id,
                    customer_id=customer_id,
                    company_id=company_id,
                    body_json=written.model_dump_json(),
                )
            )
