"""The version of each inbound integration secret, so every container knows when its cached copy is stale.

| item | pk | sk |
| --- | --- | --- |
| secret state | `WS#w` | `INTSECRET#<provider>` |

The secret itself lives in Secrets Manager (`keys.integration_secret_name`); this item holds only a
version token, new on every set, and `configured=False` once the secret is deleted. A webhook reads it
(one strongly consistent GetItem) before verifying, so a rotation or deletion made by the API function
takes effect at once in every warm integrations container (decision 0015).
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError

from keepwell import clock, ids
from keepwell.storage import keys
from keepwell.storage.models import TableItem

PREFIX = "INTSECRET#"


class IntegrationSecretItem(TableItem):
    provider = UnicodeAttribute()
    version = UnicodeAttribute()
    configured = BooleanAttribute()
    changed_at = UnicodeAttribute()


@dataclass(frozen=True)
class SecretState:
    configured: bool
    version: str


def _key(workspace_id: str, provider: str) -> keys.Key:
    return keys.Key(keys.workspace_partition(workspace_id), f"{PREFIX}{provider}")


def _item(workspace_id: str, provider: str, configured: bool) -> IntegrationSecretItem:
    key = _key(workspace_id, provider)
    return IntegrationSecretItem(
        key.pk,
        key.sk,
        entity="integration_secret_state",
        workspace_id=workspace_id,
        provider=provider,
        version=ids.new_id("sv"),
        configured=configured,
        changed_at=clock.iso(clock.now()),
    )


def get_state(workspace_id: str, provider: str) -> SecretState | None:
    """The current state (strongly consistent), or None when no state was ever written (a secret set
    before versions existed, or never set)."""
    key = _key(workspace_id, provider)
    try:
        item = IntegrationSecretItem.get(key.pk, key.sk, consistent_read=True)
    except DoesNotExist:
        return None
    return SecretState(configured=bool(item.configured), version=item.version)


def record_set(workspace_id: str, provider: str) -> SecretState:
    """A new secret value was stored: a new version every cached copy elsewhere is compared against."""
    item = _item(workspace_id, provider, configured=True)
    item.save()
    return SecretState(True, item.version)


def record_deleted(workspace_id: str, provider: str) -> None:
    """The secret is (about to be) deleted: from now on every verification rejects, cache or not."""
    _item(workspace_id, provider, configured=False).save()


def adopt(workspace_id: str, provider: str, configured: bool) -> SecretState | None:
    """First sight of a provider without a state item: write what Secrets Manager says, unless an admin's
    set or delete wrote a state meanwhile (then that one stands and None is returned)."""
    item = _item(workspace_id, provider, configured=configured)
    try:
        item.save(condition=IntegrationSecretItem.pk.does_not_exist())
    except PutError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            return None
        raise
    return SecretState(configured, item.version)
