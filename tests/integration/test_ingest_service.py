"""The ingestion service on moto: what a batch tells the caller to rescore, concurrent writers,
crashes between writes, and large customer-days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from keepwell.domain.customers import Customer
from keepwell.services.event_ingestion import ingest_batch
from keepwell.storage import keys, metrics
from keepwell.storage import timeline as timeline_store
from tests.conftest import FROZEN_NOW

TODAY = FROZEN_NOW.date()


@pytest.fixture
def customers(workspace: str) -> list[str]:
    from keepwell.storage.customers import put_customers_batch

    made = [
        Customer(
            customer_id=f"cus_{n}",
            workspace_id=workspace,
            name=f"Customer {n}",
            external_id=f"crm-{n}",
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
        )
        for n in range(3)
    ]
    put_customers_batch(workspace, made)
    return [c.customer_id for c in made]


def event(n: int, customer: int = 0, days_ago: int = 0, **overrides: Any) -> dict[str, Any]:
    at = FROZEN_NOW - timedelta(days=days_ago, minutes=n)
    return {
        "event_id": f"e-{customer}-{days_ago}-{n}",
        "event": "user_logged_in" if n % 2 else "report_exported",
        "customer_external_id": f"crm-{customer}",
        "user_id": f"u{n % 3}",
        "timestamp": at.isoformat(),
    } | overrides


def product_entry(workspace: str, customer_id: str) -> list[Any]:
    page = timeline_store.list_timeline(workspace, customer_id, limit=50, cursor=None, kind="product_event")
    return page.items


def test_backfilled_days_ask_for_recomputation_from_the_earliest_and_every_changed_customer_is_listed(
    workspace: str, customers: list[str]
) -> None:
    outcome = ingest_batch(
        workspace,
        [event(1, customer=0), event(2, customer=0, days_ago=10), event(3, customer=0, days_ago=3), event(4, 1)],
    )

    assert outcome.answer.accepted == 4
    assert outcome.recompute_from == {"cus_0": TODAY - timedelta(days=10)}
    assert outcome.affected_customer_ids == ["cus_0", "cus_1"]
    again = ingest_batch(workspace, [event(1, customer=0), event(2, customer=0, days_ago=10)])
    assert (again.recompute_from, again.affected_customer_ids) == ({}, [])


def test_a_concurrent_writer_on_the_same_day_loses_nothing_and_the_timeline_shows_the_true_totals(
    workspace: str, customers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_batch(workspace, [event(n) for n in range(3)])
    real_read = metrics.read_for_ingestion

    def stale_first_read(workspace_id: str, wanted: Any, *, consistent: bool = False) -> Any:
        # The batch's first read misses the other writer's items (as a stale read or a race would).
        return ({}, {}) if not consistent else real_read(workspace_id, wanted, consistent=True)

    monkeypatch.setattr(metrics, "read_for_ingestion", stale_first_read)
    outcome = ingest_batch(workspace, [event(n) for n in range(2, 6)])

    assert (outcome.answer.accepted, outcome.answer.duplicates) == (3, 1)
    day = metrics.get_days(workspace, [("cus_0", TODAY)])[("cus_0", TODAY)]
    assert (day.events, day.version) == (6, 2)
    _, histories = real_read(workspace, [("cus_0", TODAY)])
    assert histories["cus_0"].figures(TODAY) == (3, 3, 1, 6)  # logins, users, features, events: counted once
    assert day.event_counts == {"report_exported": 3, "user_logged_in": 3}
    [entry] = product_entry(workspace, "cus_0")
    assert entry.attributes["events"] == 6
    assert entry.title == "6 product events: report_exported x3, user_logged_in x3"


def test_a_crash_before_a_day_is_counted_is_repaired_by_the_senders_retry_without_double_counting(
    workspace: str, customers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [event(n, customer=n % 2) for n in range(6)]
    real_commit = metrics.commit_customer_days
    calls: list[str] = []

    def crash_on_second_customer(*args: Any, **kwargs: Any) -> None:
        calls.append(args[1])
        if len(calls) == 2:
            raise RuntimeError("Lambda timed out")
        real_commit(*args, **kwargs)

    monkeypatch.setattr(metrics, "commit_customer_days", crash_on_second_customer)
    with pytest.raises(RuntimeError):
        ingest_batch(workspace, batch)
    monkeypatch.setattr(metrics, "commit_customer_days", real_commit)

    retried = ingest_batch(workspace, batch)

    assert (retried.answer.accepted, retried.answer.duplicates) == (3, 3)
    days = metrics.get_days(workspace, [("cus_0", TODAY), ("cus_1", TODAY)])
    assert {k[0]: v.events for k, v in days.items()} == {"cus_0": 3, "cus_1": 3}
    for customer_id in ("cus_0", "cus_1"):
        kept = metrics.list_raw_events(workspace, customer_id, TODAY, FROZEN_NOW)
        assert len(kept) == 3 and len({r["event_id"] for r in kept}) == 3
        [entry] = product_entry(workspace, customer_id)
        assert entry.attributes["events"] == 3
    _, histories = metrics.read_for_ingestion(workspace, [("cus_0", TODAY), ("cus_1", TODAY)])
    assert {c: h.figures(TODAY).events for c, h in histories.items()} == {"cus_0": 3, "cus_1": 3}  # type: ignore[union-attr]


def test_a_large_customer_day_is_kept_over_several_raw_items_and_read_back_whole(
    workspace: str, customers: list[str]
) -> None:
    padding = {"context": "y" * 3000}
    outcome = ingest_batch(workspace, [event(n, properties=padding) for n in range(250)])  # ~780 KB of raw JSON

    assert outcome.answer.accepted == 250
    kept = metrics.list_raw_events(workspace, "cus_0", TODAY, FROZEN_NOW)
    assert len(kept) == 250
    assert {r["properties"]["context"] for r in kept} == {"y" * 3000}
    prefix = keys.raw_events(workspace, "cus_0", TODAY, "")
    items = list(metrics.RawEventsItem.query(prefix.pk, metrics.RawEventsItem.sk.startswith(prefix.sk)))
    assert len(items) >= 3
    assert all(len(item.events_json) <= metrics.RAW_ITEM_MAX_BYTES for item in items)


def test_ingested_days_and_a_rebuild_from_the_day_items_give_the_same_usage_history(
    workspace: str, customers: list[str]
) -> None:
    ingest_batch(workspace, [event(n, days_ago=d) for n in range(6) for d in (0, 2, 40)])
    _, histories = metrics.read_for_ingestion(workspace, [("cus_0", TODAY)])
    ingested = histories["cus_0"]
    key = keys.usage_history(workspace, "cus_0")
    metrics.UsageHistoryItem(key.pk, key.sk).delete()  # as if the days predated usage histories

    assert metrics.rebuild_usage_histories(workspace, ["cus_0"], TODAY) == 3
    _, rebuilt = metrics.read_for_ingestion(workspace, [("cus_0", TODAY)])
    usage = {"newest", "days", "users", "features"}  # not the rescoring debounce the batch claimed
    assert {k: v for k, v in rebuilt["cus_0"].to_document().items() if k in usage} == {
        k: v for k, v in ingested.to_document().items() if k in usage
    }
    assert [d.day for d in ingested.usage_days(TODAY - timedelta(days=89), TODAY)] == [
        TODAY - timedelta(days=40),
        TODAY - timedelta(days=2),
        TODAY,
    ]


def test_a_history_scored_after_ingestion_shows_the_usage_the_day_items_hold(
    workspace: str, customers: list[str]
) -> None:
    from keepwell.domain import customer_scoring as scoring
    from keepwell.domain.health.signals import UsageDay
    from keepwell.domain.health.snapshot import compute_history
    from keepwell.schemas.messages import ScoringRequest
    from keepwell.services import scoring_jobs
    from keepwell.storage import health_snapshots
    from keepwell.storage.customers import get_customer

    def day_events(days_ago: int, users: int, tag: str) -> list[dict[str, Any]]:
        names = ("user_logged_in", "report_exported", "dashboard_viewed", f"feature_{days_ago % 4}")
        return [
            event(n, days_ago=days_ago, event_id=f"{tag}-{days_ago}-{n}", event=names[n % 4], user_id=f"u{n % users}")
            for n in range(users * 2)
        ]

    # 60 days of usage fading from 9 users to 2, sent in three batches, the oldest days last (a backfill).
    for span in (range(0, 20), range(20, 40), range(40, 60)):
        ingest_batch(workspace, [e for d in span for e in day_events(d, 2 + (60 - d) // 9, "b")])

    assert (
        scoring_jobs.score_customer(
            ScoringRequest(
                workspace_id=workspace, customer_id="cus_0", reason="manual", history=True, scoring_day=TODAY
            )
        )
        == "scored"
    )

    stored = health_snapshots.get_snapshots(workspace, "cus_0", TODAY - timedelta(days=89), TODAY)
    prepared, _ = scoring_jobs.current_model(workspace)
    day_items = metrics.get_days(workspace, [("cus_0", TODAY - timedelta(days=n)) for n in range(120)])
    from_day_items = sorted(
        (
            UsageDay(day=d, logins=m.logins, users=frozenset(m.active_users), features=frozenset(m.features))
            for (_, d), m in day_items.items()
        ),
        key=lambda u: u.day,
    )
    customer = get_customer(workspace, "cus_0")
    assert customer is not None
    signals = scoring.build_signals(customer, from_day_items, None, usage_connected=True)
    expected = compute_history(prepared, signals, TODAY, days=90)

    def usage(snapshots: list[Any]) -> list[tuple[Any, float | None]]:
        return [(s.date, d.value if (d := s.dimension("usage")) else None) for s in snapshots]

    assert [v for _, v in usage(stored) if v is not None], "usage was measured"
    assert usage(stored) == usage(expected)
