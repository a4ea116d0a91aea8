"""The one freeze rule every timeline writer applies (domain/timeline.py)."""

from __future__ import annotations

import pytest

from keepwell.domain.timeline import KINDS, accepts_entry, timeline_frozen


@pytest.mark.parametrize("status", ["active", "trial", "paused", None])
def test_a_live_customers_timeline_takes_every_kind(status: str | None) -> None:
    assert not timeline_frozen(status)
    assert all(accepts_entry(kind, timeline_frozen(status)) for kind in KINDS)


def test_a_churned_customers_timeline_takes_only_keepwells_own_records() -> None:
    assert timeline_frozen("churned")
    taken = {kind for kind in KINDS if accepts_entry(kind, frozen=True)}
    assert taken == {"system", "playbook_run"}  # "Marked churned" and the win-back playbook's run
