"""Revenue metrics over a cohort of renewals: GRR, NRR, early-close %, expansion ratio. Pure.

The cohort of a period is every closed renewal (renewed or churned) whose renewal date falls in it,
and every renewal churned in it ahead of its date (a customer churned mid-term counts when it
churns). Open renewals of the period are reported beside the metrics (count and ARR) but not
counted: their outcome is not known yet. For each closed renewal:

    start       = current_arr (the ARR of the term being renewed)
    end         = closed_arr  (0 when churned)
    expansion   = max(end - start, 0)
    contraction = max(start - end, 0) when renewed (a downsell)
    churn       = start when churned

    GRR = (Σ start - Σ contraction - Σ churn) / Σ start        (never above 100 %)
    NRR = (Σ start + Σ expansion - Σ contraction - Σ churn) / Σ start = Σ end / Σ start
    early-close % = renewals renewed ≥ 15 days before their renewal date / renewals renewed
    expansion ratio = Σ expansion / Σ expansion_target_arr, over the renewals that had a target
                      (achieved against target; churned ones achieve 0)

Percentages are rounded to one decimal at the end; an empty denominator gives None, never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from keepwell.domain.renewals import EARLY_CLOSE_DAYS, Renewal, closed_early


@dataclass(frozen=True)
class RevenueMetrics:
    renewals_closed: int
    renewals_open: int
    open_arr: float
    starting_arr: float
    ending_arr: float
    expansion_arr: float
    contraction_arr: float
    churned_arr: float
    renewed: int
    churned: int
    closed_early: int
    expansion_target_arr: float
    expansion_achieved_arr: float
    grr_percent: float | None
    nrr_percent: float | None
    early_close_percent: float | None
    expansion_ratio_percent: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pct(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator * 100, 1) if denominator else None


# How far past a period's end a churned renewal's date may lie and still have it counted in the
# period of its churn (an annual term churned early): the revenue metrics read this much further.
EARLY_CHURN_LOOKAHEAD_DAYS = 366


def cohort_date(renewal: Renewal) -> date:
    """The day a renewal counts on: its renewal date, or the day it was churned when that came first
    (a customer churned mid-term is lost when it churns, not at the date its term would have ended)."""
    if renewal.status == "churned" and renewal.closed_on is not None:
        return min(renewal.renewal_date, renewal.closed_on)
    return renewal.renewal_date


def in_period(renewal: Renewal, start: date, end: date) -> bool:
    return start <= cohort_date(renewal) <= end


def compute(renewals: Iterable[Renewal], *, early_days: int = EARLY_CLOSE_DAYS) -> RevenueMetrics:
    """The metrics of one cohort (the caller has already picked the renewals of the period)."""
    starting = ending = expansion = contraction = churn = 0.0
    target = achieved = open_arr = 0.0
    closed = renewed = churned = early = still_open = 0
    for renewal in renewals:
        if renewal.is_open:
            still_open += 1
            open_arr += renewal.current_arr
            continue
        closed += 1
        start = renewal.current_arr
        end = 0.0 if renewal.status == "churned" else float(renewal.closed_arr or 0.0)
        starting += start
        ending += end
        up = max(end - start, 0.0)
        expansion += up
        if renewal.status == "churned":
            churned += 1
            churn += start
        else:
            renewed += 1
            contraction += max(start - end, 0.0)
            early += closed_early(renewal, early_days)
        if renewal.expansion_target_arr:
            target += renewal.expansion_target_arr
            achieved += up
    return RevenueMetrics(
        renewals_closed=closed,
        renewals_open=still_open,
        open_arr=round(open_arr, 2),
        starting_arr=round(starting, 2),
        ending_arr=round(ending, 2),
        expansion_arr=round(expansion, 2),
        contraction_arr=round(contraction, 2),
        churned_arr=round(churn, 2),
        renewed=renewed,
        churned=churned,
        closed_early=early,
        expansion_target_arr=round(target, 2),
        expansion_achieved_arr=round(achieved, 2),
        grr_percent=_pct(starting - contraction - churn, starting),
        nrr_percent=_pct(starting + expansion - contraction - churn, starting),
        early_close_percent=_pct(early, renewed),
        expansion_ratio_percent=_pct(achieved, target),
    )


def by_book(
    renewals: Iterable[Renewal], owner_of: Callable[[str], str | None]
) -> tuple[RevenueMetrics, dict[str | None, RevenueMetrics]]:
    """The workspace's metrics and one set per CSM book (the customer's owner; None: unowned)."""
    everything = list(renewals)
    books: dict[str | None, list[Renewal]] = {}
    for renewal in everything:
        books.setdefault(owner_of(renewal.customer_id), []).append(renewal)
    return compute(everything), {owner: compute(items) for owner, items in books.items()}
