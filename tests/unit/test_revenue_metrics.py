"""GRR, NRR, early-close % and expansion ratio on a book computed by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

from keepwell.domain import revenue_metrics as metrics
from keepwell.domain.renewals import Renewal

PERIOD = (date(2026, 1, 1), date(2026, 6, 30))
OWNERS = {"cus_a": "csm-1", "cus_b": "csm-1", "cus_c": "csm-1", "cus_d": "csm-2", "cus_e": "csm-2", "cus_f": "csm-2"}


def renewal(customer: str, renewal_date: date, arr: float, **fields: Any) -> Renewal:
    return Renewal.model_validate(
        {
            "renewal_id": f"ren_{customer}_{renewal_date.isoformat()}",
            "workspace_id": "ws",
            "customer_id": customer,
            "renewal_date": renewal_date,
            "current_arr": arr,
            "mrr": arr / 12,
            "forecast_category": "commit",
            "created_by": "csm-1",
            "created_at": "2025-12-01T00:00:00.000Z",
            "updated_at": "2025-12-01T00:00:00.000Z",
            **fields,
        }
    )


def renewed(customer: str, renewal_date: date, arr: float, closed_arr: float, closed_on: date, **f: Any) -> Renewal:
    return renewal(customer, renewal_date, arr, status="renewed", closed_arr=closed_arr, closed_on=closed_on, **f)


BOOK = [
    # csm-1: flat (closed 27 days early), expansion (11 days early, target 4000), downsell (20 days early)
    renewed("cus_a", date(2026, 2, 28), 10_000, 10_000, date(2026, 2, 1)),
    renewed("cus_b", date(2026, 3, 31), 20_000, 25_000, date(2026, 3, 20), expansion_target_arr=4_000),
    renewed("cus_c", date(2026, 4, 30), 15_000, 12_000, date(2026, 4, 10)),
    # csm-2: churn, expansion closed exactly 15 days early (target 6000), one still open
    renewal("cus_d", date(2026, 5, 15), 5_000, status="churned", closed_arr=0.0, closed_on=date(2026, 5, 15)),
    renewed("cus_e", date(2026, 6, 30), 30_000, 33_000, date(2026, 6, 15), expansion_target_arr=6_000),
    renewal("cus_f", date(2026, 6, 20), 8_000),
    # outside the period
    renewed("cus_a", date(2026, 7, 15), 10_000, 50_000, date(2026, 6, 1)),
]


def cohort() -> list[Renewal]:
    return [r for r in BOOK if metrics.in_period(r, *PERIOD)]


def test_workspace_metrics_match_the_hand_computation() -> None:
    found = metrics.compute(cohort())
    # start 80 000; end 80 000; expansion 5 000 + 3 000; contraction 3 000; churn 5 000
    assert (found.starting_arr, found.ending_arr) == (80_000, 80_000)
    assert (found.expansion_arr, found.contraction_arr, found.churned_arr) == (8_000, 3_000, 5_000)
    assert found.grr_percent == 90.0  # (80 000 - 3 000 - 5 000) / 80 000
    assert found.nrr_percent == 100.0  # (80 000 + 8 000 - 3 000 - 5 000) / 80 000
    assert found.early_close_percent == 75.0  # a, c, e of the 4 renewed
    assert found.expansion_ratio_percent == 80.0  # (5 000 + 3 000) / (4 000 + 6 000)
    assert (found.renewals_closed, found.renewed, found.churned, found.closed_early) == (5, 4, 1, 3)
    assert (found.renewals_open, found.open_arr) == (1, 8_000)


def test_book_metrics_match_the_hand_computation() -> None:
    _, books = metrics.by_book(cohort(), OWNERS.get)
    one, two = books["csm-1"], books["csm-2"]
    # csm-1: start 45 000, end 47 000, contraction 3 000
    assert (one.grr_percent, one.nrr_percent, one.early_close_percent, one.expansion_ratio_percent) == (
        93.3,  # 42 000 / 45 000
        104.4,  # 47 000 / 45 000
        66.7,  # 2 of 3
        125.0,  # 5 000 / 4 000
    )
    # csm-2: start 35 000, end 33 000, churn 5 000
    assert (two.grr_percent, two.nrr_percent, two.early_close_percent, two.expansion_ratio_percent) == (
        85.7,  # 30 000 / 35 000
        94.3,  # 33 000 / 35 000
        100.0,  # e closed exactly 15 days early
        50.0,  # 3 000 / 6 000
    )


def test_grr_never_exceeds_100_while_nrr_does_with_expansion() -> None:
    found = metrics.compute([renewed("cus_x", date(2026, 3, 1), 100, 150, date(2026, 3, 1))])
    assert (found.grr_percent, found.nrr_percent) == (100.0, 150.0)


def test_an_empty_cohort_has_no_rates_rather_than_zero() -> None:
    found = metrics.compute([renewal("cus_f", date(2026, 6, 20), 8_000)])
    assert found.grr_percent is None and found.nrr_percent is None
    assert found.early_close_percent is None and found.expansion_ratio_percent is None


def test_a_renewal_churned_ahead_of_its_date_counts_in_the_period_it_churned() -> None:
    # Churned on 2026-03-10 (the churn route closes the open renewal that day); its term ran to 2026-09-30.
    early = renewal("cus_g", date(2026, 9, 30), 12_000, status="churned", closed_arr=0.0, closed_on=date(2026, 3, 10))
    assert metrics.in_period(early, *PERIOD)
    assert not metrics.in_period(early, date(2026, 7, 1), date(2026, 12, 31))  # counted once, not twice
    found = metrics.compute([*cohort(), early])
    assert (found.churned, found.churned_arr, found.starting_arr) == (2, 17_000, 92_000)
    assert found.grr_percent == 78.3  # (92 000 - 3 000 - 17 000) / 92 000
    # A renewed renewal still counts at its renewal date, however early it closed.
    assert not metrics.in_period(BOOK[-1], *PERIOD)
