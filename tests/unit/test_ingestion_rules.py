"""Per-event validation and exactly-once roll-ups of product events (pure, no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keepwell.domain.ingestion import roll_up_new_events, validate_events

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def event(**overrides):
    base = {
        "event": "report_exported",
        "customer_external_id": "acme-1",
        "user_id": "u1",
        "timestamp": "2026-11-20T09:00:00Z",
    }
    return base | overrides


def test_one_bad_event_is_rejected_by_index_and_the_rest_are_kept():
    raw = [event(), event(timestamp="yesterday"), event(user_id=""), event(event="user_logged_in")]
    valid, rejected = validate_events(raw, NOW)
    assert [v.index for v in valid] == [0, 3]
    assert [(r.index, r.code) for r in rejected] == [(1, "invalid_timestamp"), (2, "invalid_event")]
    assert "user_id" in rejected[1].message


def test_events_more_than_five_minutes_ahead_are_rejected_but_backfill_within_90_days_is_kept():
    ahead = (NOW + timedelta(minutes=6)).isoformat()
    slightly_ahead = (NOW + timedelta(minutes=4)).isoformat()
    old = (NOW - timedelta(days=89)).isoformat()
    too_old = (NOW - timedelta(days=91)).isoformat()
    valid, rejected = validate_events(
        [event(timestamp=ahead), event(timestamp=slightly_ahead), event(timestamp=old), event(timestamp=too_old)], NOW
    )
    assert [v.index for v in valid] == [1, 2]
    assert [(r.index, r.code) for r in rejected] == [(0, "invalid_timestamp"), (3, "too_old")]


def test_an_event_must_name_its_customer_and_carry_a_timezone():
    valid, rejected = validate_events(
        [{"event": "x", "user_id": "u", "timestamp": "2026-11-20T09:00:00Z"}, event(timestamp="2026-11-20T09:00:00")],
        NOW,
    )
    assert valid == []
    assert "customer" in rejected[0].message
    assert "timezone" in rejected[1].message


def test_same_event_id_counts_once_within_a_batch_and_against_earlier_batches():
    valid, _ = validate_events([event(event_id="e1"), event(event_id="e1"), event(event_id="e2")], NOW)
    rollup, fresh = roll_up_new_events(valid, already_counted=set())
    assert rollup.events == 2 and [e.index for e in fresh] == [0, 2]
    again, fresh_again = roll_up_new_events(valid, already_counted=rollup.digests)
    assert again.events == 0 and fresh_again == []


def test_events_without_ids_are_identified_by_content_so_a_retried_batch_counts_once():
    first, _ = validate_events([event(), event(user_id="u2")], NOW)
    retried, _ = validate_events([event(), event(user_id="u2")], NOW)
    rollup, _ = roll_up_new_events(first, set())
    assert rollup.events == 2
    assert roll_up_new_events(retried, rollup.digests)[0].events == 0


def test_rollup_counts_logins_users_and_features_but_logins_are_not_features():
    raw = [
        event(event="user_logged_in", user_id="a"),
        event(event="user_logged_in", user_id="b"),
        event(event="dashboard_viewed", user_id="a", properties={"feature": "dashboards"}),
        event(event="report_exported", user_id="a"),
    ]
    valid, _ = validate_events(raw, NOW)
    rollup, _ = roll_up_new_events(valid, set())
    assert rollup.logins == 2
    assert rollup.users == {"a", "b"}
    assert rollup.features == {"dashboards", "report_exported"}
    assert rollup.event_counts == {"user_logged_in": 2, "dashboard_viewed": 1, "report_exported": 1}
