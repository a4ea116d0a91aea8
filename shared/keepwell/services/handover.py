"""A person's book handed over to a colleague, when they are deactivated or become a viewer.

The customers they own (and, when they leave, those they co-own) and their open tasks go to one active
CSM, director or admin, as an admin of Gainsight or Vitally transfers a departing CSM's book before
removing them. Each customer is its own conditional update, audited as an owner change; a repeated
request finds only what is left, so a request cut short is finished by sending it again
(docs/api.md, `POST /v1/users/{user_id}/deactivate`).
"""

from __future__ import annotations

from keepwell.domain.integrations.hubspot_sync import hubspot_owned
from keepwell.errors import Conflict, InvalidInput
from keepwell.schemas.users import HandoverOut
from keepwell.services import customers, tasks, user_references
from keepwell.storage import customers as customer_store
from keepwell.storage import hubspot as hubspot_store


def check_receiver(workspace_id: str, from_id: str, to_id: str) -> None:
    """400 naming `transfer_to` unless it is an active member who may be given work, and someone else."""
    user_references.check(workspace_id, [("transfer_to", to_id)], works=True)
    if to_id == from_id:
        raise InvalidInput(
            "transfer_to names the person whose book is handed over: choose someone else",
            [{"field": "transfer_to", "issue": "is the person themselves"}],
        )


def refuse_viewer_owner(workspace_id: str, user_id: str) -> None:
    """409 when a user who owns customers would become a viewer without naming who takes them over."""
    owned = sum(1 for _, relation in customer_store.portfolio_relations(workspace_id, user_id) if relation == "owner")
    if owned:
        raise Conflict(
            f"{user_id} owns {owned} customer{'' if owned == 1 else 's'} and a viewer owns none: name transfer_to, "
            "who takes them over",
            [{"field": "transfer_to", "issue": "required to make a viewer of a customer owner"}],
            code="owns_customers",
        )


def hand_over(workspace_id: str, from_id: str, to_id: str, actor_id: str, *, co_owned: bool) -> HandoverOut:
    """Move the book; `co_owned`: their co-ownerships too (someone leaving), not only what they own. The
    caller has checked `to_id` with `check_receiver` first (before any other refusal it may answer)."""
    state = hubspot_store.get_state(workspace_id)
    hubspot_owner = state.connected and "owner_id" in hubspot_owned(state.mapping)
    counts = {"owned": 0, "co_owned": 0}
    kept: list[str] = []
    for customer_id, _ in customer_store.portfolio_relations(workspace_id, from_id):
        outcome = customers.hand_over(
            workspace_id, customer_id, from_id, to_id, actor_id, co_owned=co_owned, hubspot_owner=hubspot_owner
        )
        if outcome == "hubspot":
            kept.append(customer_id)
        elif outcome in counts:
            counts[outcome] += 1
    moved = tasks.hand_over_open_tasks(workspace_id, from_id, to_id)
    return HandoverOut(to=to_id, owned=counts["owned"], co_owned=counts["co_owned"], tasks=moved, kept_by_hubspot=kept)
