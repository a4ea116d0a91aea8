"""Resolve many customer references (id, external id, domain) at once, by key, in BatchGetItem pages."""

from __future__ import annotations

from collections.abc import Iterable

from keepwell.domain.ingestion import CustomerRef
from keepwell.storage import keys
from keepwell.storage.models import CustomerAliasItem, CustomerItem


def resolve_customer_refs(workspace_id: str, refs: Iterable[CustomerRef]) -> dict[CustomerRef, str]:
    """Map each reference to a customer id of this workspace; unknown references are left out."""
    refs = set(refs)
    alias_keys: dict[tuple[str, str], CustomerRef] = {}
    for ref in refs:
        if ref.kind == "domain":
            key = keys.customer_by_domain(workspace_id, ref.value)
        elif ref.kind == "external_id":
            key = keys.customer_by_external_id(workspace_id, ref.value)
        else:
            continue
        alias_keys[(key.pk, key.sk)] = ref
    resolved: dict[CustomerRef, str] = {}
    if alias_keys:
        for alias in CustomerAliasItem.batch_get(list(alias_keys)):
            resolved[alias_keys[(alias.pk, alias.sk)]] = alias.customer_id
    by_id = {ref for ref in refs if ref.kind == "id"}
    if by_id:
        profile_keys = {(k.pk, k.sk): ref for ref in by_id for k in [keys.customer(workspace_id, ref.value)]}
        for profile in CustomerItem.batch_get(list(profile_keys), attributes_to_get=["pk", "sk", "customer_id"]):
            resolved[profile_keys[(profile.pk, profile.sk)]] = profile.customer_id
    return resolved
