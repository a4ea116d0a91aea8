"""The compact usage history: set (not added) days, exact unions over windows, the kept span, the size
budget, and the sharp-drop rule."""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell.domain.health.dimensions import PreparedModel
from keepwell.domain.health.model import HealthModel
from keepwell.domain.health.signals import CustomerSignals, UsageDay, UsageSignals
from keepwell.domain.health.snapshot import compute_history
from keepwell.domain.ingestion import DayActivity
from keepwell.domain.usage_history import (
    KEPT_DAYS,
    MAX_DOCUMENT_BYTES,
    DayFigures,
    UsageHistory,
    sharp_usage_drop,
)

END = date(2026, 11, 20)


def activity(
    users: set[str], features: frozenset[str] | set[str] = frozenset(), logins: int | None = None
) -> DayActivity:
    logins = len(users) if logins is None else logins
    return DayActivity(
        events=logins + len(features),
        logins=logins,
        event_counts={"login": logins},
        users=frozenset(users),
        features=frozenset(features),
    )


def random_days(seed: int, days: int = 120) -> list[UsageDay]:
    rng = random.Random(seed)
    out = []
    for offset in range(days - 1, -1, -1):
        users = frozenset(f"user-{n}" for n in range(40) if rng.random() < 0.3)
        features = frozenset(f"feature-{n}" for n in range(25) if rng.random() < 0.2)
        out.append(UsageDay(day=END - timedelta(days=offset), logins=len(users) * 2, users=users, features=features))
    return out


def as_history(days: list[UsageDay]) -> UsageHistory:
    return UsageHistory().with_days((d.day, activity(set(d.users), set(d.features), logins=d.logins)) for d in days)


def test_setting_the_same_day_twice_changes_nothing_and_a_replaced_day_loses_its_old_members():
    once = UsageHistory().with_days([(END, activity({"a", "b"}, {"export"}))])
    twice = once.with_days([(END, activity({"a", "b"}, {"export"}))])
    assert twice.to_document() == once.to_document()

    replaced = twice.with_days([(END, activity({"c"}))])
    [day] = replaced.usage_days(END, END)
    assert day.users == {"c"} and day.features == frozenset() and day.active == 1
    assert replaced.users == {"c": 1}


def test_usage_days_rebuild_exactly_the_days_sets_and_counts_that_were_set():
    days = random_days(7)
    history = UsageHistory.decode(as_history(days).encode())
    rebuilt = history.usage_days(END - timedelta(days=89), END)
    expected = [d for d in days if d.day >= END - timedelta(days=89)]
    assert [(d.day, d.logins, d.users, d.features) for d in rebuilt] == [
        (d.day, d.logins, d.users, d.features) for d in expected
    ]
    assert all(d.active == len(d.users) and d.feature_count == len(d.features) for d in rebuilt)


def test_the_usage_dimension_scores_the_same_from_the_history_as_from_the_day_items():
    prepared = PreparedModel.of(HealthModel.from_preset("balanced"))
    days = random_days(11)
    rebuilt = UsageHistory.decode(as_history(days).encode()).usage_days(days[0].day, END)

    def usage_values(usage_days: list[UsageDay]) -> list[float | None]:
        signals = CustomerSignals(customer_id="c1", usage=UsageSignals(days=tuple(usage_days), seats=20))
        history = compute_history(prepared, signals, END, days=90, prior=[])
        return [usage.value if (usage := s.dimension("usage")) else None for s in history]

    values = usage_values(days)
    assert any(v is not None for v in values)
    assert usage_values(rebuilt) == values


def test_days_older_than_the_kept_span_fall_out_when_newer_days_arrive():
    old = END - timedelta(days=KEPT_DAYS + 10)
    history = UsageHistory().with_days([(old, activity({"gone"})), (END - timedelta(days=1), activity({"a"}))])
    assert history.figures(old) is None and "gone" not in (history.users or {})
    later = history.with_days([(END, activity({"a"}))])
    assert later.users == {"a": 0b11} and later.newest == END
    assert [d.day for d in later.usage_days(END - timedelta(days=400), END)] == [END - timedelta(days=1), END]


def test_an_oversized_history_keeps_its_counts_and_drops_the_member_masks_features_first():
    many = {f"a-rather-long-user-identifier-{n:06d}@example.com" for n in range(6000)}
    history = UsageHistory().with_days([(END, activity(many, {"export"}))])
    text = history.encode()
    assert len(text.encode()) <= MAX_DOCUMENT_BYTES
    decoded = UsageHistory.decode(text)
    assert decoded.features is None and decoded.users is None  # 6,000 long ids outgrow the item
    [day] = decoded.usage_days(END, END)
    assert day.active == 6000 and day.feature_count == 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.frozensets(st.sampled_from("abcdefgh"), max_size=5)),
        min_size=1,
        max_size=30,
    )
)
def test_any_order_of_day_changes_ends_with_the_last_value_set_for_each_kept_day(changes):
    history = UsageHistory()
    latest: dict[date, frozenset[str]] = {}
    for offset, users in changes:
        day = END - timedelta(days=offset)
        history = history.with_days([(day, activity(set(users)))])
        latest[day] = users
    newest = max(latest)
    kept = {d: u for d, u in latest.items() if (newest - d).days < KEPT_DAYS}
    rebuilt = UsageHistory.decode(history.encode()).usage_days(date.min, date.max)
    assert {d.day: d.users for d in rebuilt} == kept


def steady(days: int = 14, active: int = 10) -> UsageHistory:
    return UsageHistory().with_days(
        (END - timedelta(days=n), activity({f"u{k}" for k in range(active)})) for n in range(2, days + 2)
    )


def test_a_day_below_half_the_trailing_14_day_average_is_a_sharp_drop():
    yesterday = END - timedelta(days=1)
    assert sharp_usage_drop(steady().with_days([(yesterday, activity({"u1", "u2", "u3", "u4"}))]), yesterday)
    assert sharp_usage_drop(steady(), yesterday)  # nobody came at all
    assert not sharp_usage_drop(steady().with_days([(yesterday, activity({f"u{k}" for k in range(6)}))]), yesterday)


def test_no_sharp_drop_without_a_baseline_or_for_a_tiny_account():
    yesterday = END - timedelta(days=1)
    assert not sharp_usage_drop(steady(days=5), yesterday)  # fewer than 7 days of usage to compare with
    assert not sharp_usage_drop(steady(active=1), yesterday)  # one user a day: too small to call a drop
    assert steady().figures(END - timedelta(days=2)) == DayFigures(10, 10, 0, 10)


def test_rescoring_claims_queue_one_at_once_one_trailing_then_nothing_until_the_window_ends():
    history = UsageHistory()
    start = 1_795_000_000.0
    assert history.claim_rescoring(start) == ("now", 0)
    assert history.claim_rescoring(start + 5) == ("trailing", 26)  # delayed to the window's end
    assert history.claim_rescoring(start + 10) is None  # covered by the trailing one
    kept = UsageHistory.decode(history.encode())  # the claim travels with the stored history
    assert kept.claim_rescoring(start + 20) is None
    assert kept.claim_rescoring(start + 31) == ("now", 0)  # a new window
