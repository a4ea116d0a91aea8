"""Resolve many customer references (id, external id, domain) at once, by key, in BatchGetItem pages."""

from __future__ import annotations

from collections.abc import Iterable

from keepwell.domain.ingestion import CustomerRef
from keepwell.storage import keys
from keepwell.storage.metrics import batch_get_raw

_CUSTOMER_ID = ["pk", "sk", "customer_id"]  # all a lookup needs of an alias or a profile


def resolve_customer_refs(workspace_id: str, refs: Iterable[CustomerRef]) -> dict[CustomerRef, str]:
    """Map each reference to a customer id of this workspace; unknown references are left out.

    Aliases (domain, external id) and profiles (customer id) are read in the same BatchGetItem."""
    by_key: dict[tuple[str, str], CustomerRef] = {}
    for ref in set(refs):
        if ref.kind == "domain":
            key = keys.customer_by_domain(workspace_id, ref.value)
        elif ref.kind == "external_id":
            key = keys.customer_by_external_id(workspace_id, ref.value)
        else:
            key = keys.customer(workspace_id, ref.value)
        by_key[(key.pk, key.sk)] = ref
    wanted = [keys.Key(pk, sk) for pk, sk in by_key]
    return {
        by_key[(raw["pk"]["S"], raw["sk"]["S"])]: raw["customer_id"]["S"]
        for raw in batch_get_raw(wanted, attributes=_CUSTOMER_ID)
        if "customer_id" in raw
    }


def customer_statuses(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, str]:
    """customer id -> status, for profiles of this workspace."""
    return _profile_strings(workspace_id, customer_ids, "status")


def customer_names(workspace_id: str, customer_ids: Iterable[str]) -> dict[str, str]:
    """customer id -> current name, for profiles of this workspace (archived ones too; deleted ones are
    left out). Lists of tasks name their customers with it (docs/playbooks.md "Tasks and My day")."""
    return _profile_strings(workspace_id, customer_ids, "name")


def _profile_strings(workspace_id: str, customer_ids: Iterable[str], attribute: str) -> dict[str, str]:
    """customer id -> one string attribute of its profile: BatchGetItem pages of 100 keys, reading only
    the keys, the id and that attribute; profiles without it are left out."""
    wanted = [keys.customer(workspace_id, c) for c in sorted(set(customer_ids))]
    if not wanted:
        return {}
    return {
        raw["customer_id"]["S"]: raw[attribute]["S"]
        for raw in batch_get_raw(wanted, attributes=["pk", "sk", "customer_id", attribute])
        if "customer_id" in raw and attribute in raw
    }
