"""Revenue metrics for a period: GRR, NRR, early-close %, expansion ratio, for the workspace and per
CSM book (the customer's owner). Formulas: domain/revenue_metrics.py and docs/renewals.md.

A CSM reads their own book only (the workspace figure is left out for them); directors and admins read
the workspace and every book, or one book with `owner`.
"""

from __future__ import annotations

from datetime import timedelta

from keepwell import permissions
from keepwell.auth import Caller
from keepwell.domain import revenue_metrics as rules
from keepwell.errors import InvalidInput
from keepwell.schemas.renewals import BookMetricsOut, RevenueOut, RevenueQuery
from keepwell.storage import renewals as store

MAX_PERIOD_DAYS = 3 * 366


def revenue_metrics(caller: Caller, query: RevenueQuery) -> RevenueOut:
    start, end = query.from_, query.to
    if end < start:
        raise InvalidInput("`to` is before `from`", [{"field": "to", "issue": "before from"}])
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"A period is at most {MAX_PERIOD_DAYS} days", [{"field": "to", "issue": "period too long"}])
    lookahead = end + timedelta(days=rules.EARLY_CHURN_LOOKAHEAD_DAYS)
    renewals = [r for r in store.list_by_date(caller.workspace_id, start, lookahead) if rules.in_period(r, start, end)]
    profiles = store.get_profiles(caller.workspace_id, {r.customer_id for r in renewals})

    def owner_of(customer_id: str) -> str | None:
        customer = profiles.get(customer_id)
        return customer.owner_id if customer is not None else None

    workspace, books = rules.by_book(renewals, owner_of)
    portfolio = permissions.sees_portfolio_only(caller)
    wanted = caller.user_id if portfolio else query.owner
    if wanted is not None:
        books = {wanted: books.get(wanted, rules.compute([]))}
    return RevenueOut(
        period={"from": start, "to": end},
        owner=wanted,
        workspace=None if portfolio else workspace,
        books=[
            BookMetricsOut(**metrics.as_dict(), owner_id=owner)
            for owner, metrics in sorted(books.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ],
    )
