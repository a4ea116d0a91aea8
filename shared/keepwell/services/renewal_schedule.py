"""A customer's renewal date and its open renewal record, kept together.

The pipeline, the upcoming table, its CSV and the revenue metrics read renewal records only, so a
customer with a `renewal_date` must have its open account-level renewal on that date. Every writer
of a profile's renewal date calls `follow_renewal_date` after its write: the customers service (API
create and PATCH), and a bulk import or an integration that sets the date must call it too (it is
the one entry point; the one-off `backfill_renewal_records` calls it for every customer).
The rule itself is `domain/renewals.follow_profile_date` (docs/renewals.md §1).

Idempotent: the renewal it opens has an id derived from the customer and the date (a conditional
put, so two writers create it once), and a renewal already on the date means nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from keepwell import clock
from keepwell.domain import renewals as rules
from keepwell.domain.customers import Customer
from keepwell.domain.renewals import Renewal
from keepwell.errors import Conflict
from keepwell.observability import logger
from keepwell.storage import customers as customer_store
from keepwell.storage import renewals as store

ATTEMPTS = 3
SYSTEM_ACTOR = "system:renewal_date"


def follow_renewal_date(customer: Customer, actor_id: str | None = None) -> Renewal | None:
    """Open or move the customer's account-level renewal so it sits on the profile's renewal date.
    Returns the renewal created or moved, None when nothing had to change (no date, churned or
    archived customer, a renewal already on that date)."""
    for _attempt in range(ATTEMPTS):
        account = [
            r for r in store.list_customer_renewals(customer.workspace_id, customer.customer_id) if r.product is None
        ]
        follow_up = rules.follow_profile_date(
            customer.renewal_date,
            tracked=customer.status != "churned" and not customer.archived,
            account_renewals=account,
        )
        if not follow_up.needed or customer.renewal_date is None:
            return None
        now = clock.iso(clock.now())
        try:
            if follow_up.move is not None:
                moved = follow_up.move.model_copy(update={"renewal_date": customer.renewal_date, "updated_at": now})
                return store.update_renewal(follow_up.move, moved)
            return store.create_renewal(_opened(customer, actor_id, now), customer)
        except Conflict:
            continue  # another writer got there first: read again (the next pass usually finds it done)
    logger.warning("renewal record not aligned with the profile", extra={"customer_id": customer.customer_id})
    return None


def open_first_renewals(customers: Sequence[Customer], actor_id: str) -> int:
    """Open the renewal of customers just created with a renewal date (a bulk import): they have no
    renewal yet, so each gets the one `follow_renewal_date` would open, written in batches."""
    tracked = [c for c in customers if c.renewal_date and c.status != "churned" and not c.archived]
    if not tracked:
        return 0
    now, category = clock.iso(clock.now()), store.get_forecast_settings(tracked[0].workspace_id).default_category
    return store.put_first_renewals(
        [_opened(c, actor_id, now, category) for c in tracked], {c.customer_id: c for c in tracked}
    )


def _opened(customer: Customer, actor_id: str | None, now: str, category: str | None = None) -> Renewal:
    assert customer.renewal_date is not None
    if category is None:
        category = store.get_forecast_settings(customer.workspace_id).default_category
    return Renewal(
        renewal_id=rules.profile_renewal_id(customer.customer_id, customer.renewal_date),
        workspace_id=customer.workspace_id,
        customer_id=customer.customer_id,
        product=None,
        renewal_date=customer.renewal_date,
        current_arr=customer.arr,
        mrr=customer.mrr,
        forecast_category=category,
        created_by=actor_id or SYSTEM_ACTOR,
        created_at=now,
        updated_at=now,
    )


def backfill_renewal_records(workspace_id: str) -> int:
    """One-off, idempotent: open the renewal of every customer of a workspace whose renewal date has
    none (customers stored before renewal dates opened records). Returns how many were created or
    moved; a second run returns 0. A Query of the workspace's customers, then per customer one Query
    of its renewals (and one write where one is missing); no Scan. docs/operations.md says how to run it."""
    return sum(
        follow_renewal_date(customer) is not None
        for customer in customer_store.iter_customers(workspace_id)
        if customer.renewal_date is not None
    )
