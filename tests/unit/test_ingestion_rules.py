"""Per-event validation and exactly-once roll-ups of product events (pure, no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from keepwell.domain.ingestion import (
    RAW_FIELDS,
    DayActivity,
    activity_title,
    events_digest,
    product_activity_entry,
    raw_record,
    roll_up_new_events,
    validate_events,
)
from keepwell.schemas.events import MAX_PROPERTIES_BYTES

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
    assert [v.position for v in valid] == [0, 3]
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
    assert [v.position for v in valid] == [1, 2]
    assert [(r.index, r.code) for r in rejected] == [(0, "timestamp_in_future"), (3, "too_old")]


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
    assert rollup.events == 2 and [e.position for e in fresh] == [0, 2]
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


def test_an_instant_written_with_another_offset_is_the_same_event_on_the_same_utc_day():
    valid, _ = validate_events(
        [event(timestamp="2026-11-20T01:30:00+05:00"), event(timestamp="2026-11-19T20:30:00Z")], NOW
    )
    assert [v.day for v in valid] == [date(2026, 11, 19), date(2026, 11, 19)]
    assert valid[0].digest == valid[1].digest
    assert roll_up_new_events(valid, set())[0].events == 1


def test_properties_in_another_key_order_are_the_same_content():
    valid, _ = validate_events([event(properties={"a": 1, "b": [1, 2]}), event(properties={"b": [1, 2], "a": 1})], NOW)
    assert valid[0].digest == valid[1].digest


def test_an_event_id_makes_otherwise_identical_events_distinct():
    valid, _ = validate_events([event(event_id="e1"), event(event_id="e2"), event(), event()], NOW)
    assert len({v.digest for v in valid}) == 3


def test_customer_domains_are_normalised_like_customer_records():
    valid, rejected = validate_events(
        [
            event(customer_external_id=None, customer_domain="https://WWW.Acme.com/pricing"),
            event(customer_external_id=None, customer_domain="not a domain"),
        ],
        NOW,
    )
    assert [(v.customer.kind, v.customer.value) for v in valid] == [("domain", "acme.com")]
    assert [(r.index, r.code) for r in rejected] == [(1, "invalid_event")]
    assert rejected[0].message.startswith("customer_domain:")


def test_properties_larger_than_the_limit_reject_only_that_event():
    big = {"blob": "x" * MAX_PROPERTIES_BYTES}
    valid, rejected = validate_events([event(properties=big), event()], NOW)
    assert [v.position for v in valid] == [1]
    assert (rejected[0].index, rejected[0].code) == (0, "invalid_event")
    assert str(MAX_PROPERTIES_BYTES) in rejected[0].message


def test_an_event_that_is_not_an_object_or_has_unknown_fields_is_invalid():
    _, rejected = validate_events(["user_logged_in", event(colour="blue")], NOW)
    assert [(r.index, r.code) for r in rejected] == [(0, "invalid_event"), (1, "invalid_event")]
    assert "colour" in rejected[1].message


def test_day_activity_adds_a_rollup_to_what_the_day_already_had():
    before = DayActivity(events=3, logins=1, event_counts={"user_logged_in": 1, "x": 2}, users=frozenset({"a"}))
    valid, _ = validate_events([event(event="x", user_id="b"), event(event="user_logged_in", user_id="a")], NOW)
    after = before.plus(roll_up_new_events(valid, set())[0])
    assert (after.events, after.logins) == (5, 2)
    assert after.event_counts == {"user_logged_in": 2, "x": 3}
    assert after.users == {"a", "b"}
    assert after.features == {"x"}


def test_activity_title_names_the_busiest_events_first_and_counts_the_rest():
    counts = {"user_logged_in": 5, "report_exported": 3, "a": 1, "b": 1, "c": 1, "d": 1, "e": 1}
    activity = DayActivity(events=13, event_counts=counts)
    assert (
        activity_title(activity)
        == "13 product events: user_logged_in x5, report_exported x3, a x1, b x1, c x1, +2 more"
    )
    assert activity_title(DayActivity(events=1, event_counts={"x": 1})) == "1 product event: x x1"


def test_a_days_timeline_entry_is_fixed_at_the_start_of_the_day_with_its_totals_as_attributes():
    activity = DayActivity(
        events=4, logins=2, event_counts={"user_logged_in": 2, "x": 2}, users=frozenset("ab"), features=frozenset("x")
    )
    entry = product_activity_entry("cus_1", date(2026, 11, 19), activity, "pa-2026-11-19")
    assert entry.kind == "product_event"
    assert entry.occurred_at.isoformat() == "2026-11-19T00:00:00+00:00"
    assert entry.item_id == "pa-2026-11-19"
    assert entry.title == "4 product events: user_logged_in x2, x x2"
    assert entry.attributes == {
        "day": "2026-11-19",
        "events": 4,
        "logins": 2,
        "active_users": 2,
        "distinct_features": 1,
        "features": ["x"],
        "event_counts": {"user_logged_in": 2, "x": 2},
    }


def test_a_raw_record_keeps_what_explanations_cite_and_bounds_its_json_size():
    tricky = {"note": 'naïve ✓ "quoted"', "n": [1, 2.5, None, True]}
    valid, _ = validate_events([event(event_id="é" * 128, user_id="ü" * 128, properties=tricky)], NOW)
    row, size = raw_record(valid[0])
    assert dict(zip(RAW_FIELDS, row, strict=True)) == {
        "event_id": "é" * 128,
        "event": "report_exported",
        "user_id": "ü" * 128,
        "timestamp": "2026-11-20T09:00:00+00:00",
        "digest": valid[0].digest,
        "properties": tricky,
    }
    assert len(json.dumps(row, separators=(",", ":"))) <= size
    anonymous, _ = validate_events([event()], NOW)
    row, size = raw_record(anonymous[0])
    assert len(json.dumps(row, separators=(",", ":"))) <= size


def test_the_same_events_in_another_order_name_the_same_raw_item():
    valid, _ = validate_events([event(user_id="a"), event(user_id="b")], NOW)
    assert events_digest(valid) == events_digest(list(reversed(valid)))
    assert events_digest(valid[:1]) != events_digest(valid)
