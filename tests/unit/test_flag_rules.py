"""Pure flag rules: each red and green flag fires on its documented threshold, with its evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from keepwell.domain import flags as rules
from keepwell.domain.flags import ActivityDay, ContactFacts, FlagInputs, FlagSettings
from keepwell.domain.health.signals import Email, Meeting, Ticket

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def days_ago(n: int, hour: int = 10) -> datetime:
    return datetime.combine(TODAY - timedelta(days=n), datetime.min.time(), tzinfo=UTC).replace(hour=hour)


def usage(previous_per_day: int, recent_per_day: int, **extra: Any) -> tuple[ActivityDay, ...]:
    """60 complete days before TODAY: days 31-60 at one rate, days 1-30 at another."""
    return tuple(
        ActivityDay(day=TODAY - timedelta(days=n), events=previous_per_day if n > 30 else recent_per_day, **extra)
        for n in range(1, 61)
    )


def inputs(**fields: Any) -> FlagInputs:
    data: dict[str, Any] = {"today": TODAY, "customer_since": date(2025, 1, 1)}
    # Recent two-way activity by default, so only the flag under test fires.
    data["meetings"] = (Meeting(at=days_ago(3), id="tl_meet"),)
    data.update(fields)
    return FlagInputs(**data)


def codes(result: rules.FlagResult) -> tuple[list[str], list[str]]:
    return [f.code for f in result.red], [f.code for f in result.green]


def flag(result: rules.FlagResult, code: str) -> rules.Flag:
    return next(f for f in [*result.red, *result.green] if f.code == code)


def test_usage_down_35_percent_in_30_days_is_a_red_flag_with_both_windows_as_evidence() -> None:
    result = rules.compute_flags(inputs(usage=usage(100, 65)))

    drop = flag(result, "usage_drop")
    assert drop.colour == "red"
    assert drop.facts == {"measure": "events", "recent": 1950, "previous": 3000, "change_percent": -35.0}
    assert drop.title == "Usage down 35% in 30 days"
    assert drop.evidence[0].text == (
        "1950 events from 2026-10-21 to 2026-11-19 against 3000 from 2026-09-21 to 2026-10-20"
    )


@pytest.mark.parametrize(("recent", "fires"), [(71, False), (70, True)])
def test_usage_drop_fires_from_30_percent(recent: int, fires: bool) -> None:
    red, _ = codes(rules.compute_flags(inputs(usage=usage(100, recent))))
    assert ("usage_drop" in red) is fires


def test_usage_is_counted_in_logins_when_no_events_are_recorded() -> None:
    days = tuple(ActivityDay(day=TODAY - timedelta(days=n), logins=10 if n > 30 else 5) for n in range(1, 61))
    drop = flag(rules.compute_flags(inputs(usage=days)), "usage_drop")
    assert drop.facts["measure"] == "logins" and drop.facts["change_percent"] == -50.0


def test_too_little_earlier_usage_is_not_compared() -> None:
    days = (ActivityDay(day=TODAY - timedelta(days=40), events=5),)
    assert "usage_drop" not in codes(rules.compute_flags(inputs(usage=days)))[0]


def test_a_critical_ticket_open_8_days_is_a_red_flag_and_one_open_7_days_is_not() -> None:
    tickets = (
        Ticket(created_at=days_ago(8), status="open", priority="critical", id="tl_t8"),
        Ticket(created_at=days_ago(7), status="open", priority="urgent", id="tl_t7"),
        Ticket(created_at=days_ago(30), status="closed", priority="critical", id="tl_closed"),
        Ticket(created_at=days_ago(30), status="open", priority="normal", id="tl_normal"),
    )
    stale = flag(rules.compute_flags(inputs(tickets=tickets)), "stale_severe_tickets")
    assert [e.ref for e in stale.evidence] == ["tl_t8"]
    assert stale.evidence[0].text == "critical ticket open for 8 days (since 2026-11-12)"
    assert stale.facts == {"tickets": 1, "oldest_days": 8}


def test_pending_high_tickets_count_as_open() -> None:
    tickets = (Ticket(created_at=days_ago(10), status="pending", priority="high", id="tl_p"),)
    assert "stale_severe_tickets" in codes(rules.compute_flags(inputs(tickets=tickets)))[0]


def test_negative_tone_in_the_last_five_customer_emails_is_a_red_flag() -> None:
    emails = (
        *(Email(direction="in", sent_at=days_ago(n), text="x", tone=-0.6, id=f"tl_e{n}") for n in range(1, 6)),
        Email(direction="in", sent_at=days_ago(20), text="great", tone=0.9, id="tl_old"),  # 6th newest: ignored
        Email(direction="out", sent_at=days_ago(1), text="hi", id="tl_out"),  # ours: not the customer's tone
    )
    tone = flag(rules.compute_flags(inputs(emails=emails)), "negative_tone")
    assert tone.facts == {"mean_tone": -0.6, "emails": 5}
    assert [e.ref for e in tone.evidence] == ["tl_e1", "tl_e2", "tl_e3", "tl_e4", "tl_e5"]


def test_mostly_positive_recent_emails_are_not_a_tone_flag() -> None:
    emails = (
        Email(direction="in", sent_at=days_ago(1), tone=0.5, id="a"),
        Email(direction="in", sent_at=days_ago(2), tone=-0.2, id="b"),
    )
    assert "negative_tone" not in codes(rules.compute_flags(inputs(emails=emails)))[0]


def test_no_inbound_email_or_meeting_for_more_than_45_days_is_a_red_flag() -> None:
    emails = (
        Email(direction="in", sent_at=days_ago(46), tone=0.1, id="tl_last_in"),
        Email(direction="out", sent_at=days_ago(2), id="tl_out"),  # one-way: does not count
    )
    silent = flag(rules.compute_flags(inputs(emails=emails, meetings=())), "no_two_way_activity")
    assert silent.evidence[0].ref == "tl_last_in"
    assert silent.facts == {"last_activity": "2026-10-05", "days": 46}
    recent = (Email(direction="in", sent_at=days_ago(45), tone=0.1, id="x"),)
    assert "no_two_way_activity" not in codes(rules.compute_flags(inputs(emails=recent, meetings=())))[0]


def test_a_customer_younger_than_45_days_is_not_flagged_silent() -> None:
    result = rules.compute_flags(inputs(meetings=(), customer_since=TODAY - timedelta(days=10)))
    assert "no_two_way_activity" not in codes(result)[0]


def test_a_bounced_champion_email_or_a_recent_role_change_is_champion_changed() -> None:
    bounced = ContactFacts("con_1", "Dana", "dana@acme.com", is_champion=True, email_bounced=True)
    result = rules.compute_flags(inputs(contacts=(bounced,), champion_contact_id="con_1"))
    assert flag(result, "champion_changed").evidence[0].text == "champion Dana's email dana@acme.com bounced"
    assert not result.champion_aligned

    moved = ContactFacts("con_1", "Dana", is_champion=True, role_change_recorded_at=NOW - timedelta(days=10))
    assert flag(rules.compute_flags(inputs(contacts=(moved,), champion_contact_id="con_1")), "champion_changed")

    long_ago = ContactFacts("con_1", "Dana", is_champion=True, role_change_recorded_at=NOW - timedelta(days=200))
    result = rules.compute_flags(inputs(contacts=(long_ago,), champion_contact_id="con_1"))
    assert "champion_changed" not in codes(result)[0] and result.champion_aligned


def test_without_a_champion_there_is_no_aligned_champion_and_no_champion_flag() -> None:
    result = rules.compute_flags(inputs())
    assert not result.champion_aligned and "champion_changed" not in codes(result)[0]


def test_growing_usage_and_new_modules_are_a_green_flag() -> None:
    days = tuple(
        ActivityDay(
            day=TODAY - timedelta(days=n),
            events=100 if n > 30 else 130,
            features=frozenset({"reports"} if n > 30 else {"reports", "forecasting"}),
        )
        for n in range(1, 61)
    )
    growing = flag(rules.compute_flags(inputs(usage=days)), "growing_usage")
    assert growing.facts == {"change_percent": 30.0, "new_modules": ["forecasting"]}


def test_a_spike_in_configured_advanced_features_is_growing_usage() -> None:
    days = tuple(
        ActivityDay(day=TODAY - timedelta(days=n), events=50, event_counts={"api_call": 1 if n > 30 else 2})
        for n in range(1, 61)
    )
    settings = FlagSettings(advanced_features=frozenset({"api_call"}))
    growing = flag(rules.compute_flags(inputs(usage=days), settings), "growing_usage")
    assert growing.facts == {"advanced_uses": {"recent": 60, "previous": 30}}


def test_users_from_new_email_domains_are_a_green_flag_when_user_ids_are_emails() -> None:
    days = tuple(
        ActivityDay(
            day=TODAY - timedelta(days=n),
            events=10,
            users=frozenset({"a@acme.com"} if n > 30 else {"a@acme.com", "b@emea.acme.com", "c@emea.acme.com"}),
        )
        for n in range(1, 61)
    )
    found = flag(rules.compute_flags(inputs(usage=days)), "new_user_domains")
    assert found.facts == {"domains": ["emea.acme.com"]}
    assert found.evidence[0].text == "2 new users from emea.acme.com: b@emea.acme.com, c@emea.acme.com"
    opaque = tuple(
        ActivityDay(day=d.day, events=10, users=frozenset({"u1"} if i else {"u2"})) for i, d in enumerate(days)
    )
    assert "new_user_domains" not in codes(rules.compute_flags(inputs(usage=opaque)))[1]


def test_fast_champion_replies_or_frequent_meetings_are_high_engagement() -> None:
    meetings = (Meeting(at=days_ago(3), id="m1"), Meeting(at=days_ago(10), id="m2"))
    engaged = flag(rules.compute_flags(inputs(meetings=meetings)), "high_engagement")
    assert engaged.facts == {"meetings": 2} and engaged.evidence[0].ref == "m1"
    replies = tuple(
        Email(direction="in", sent_at=days_ago(n), tone=0.2, champion_response_hours=h, id=f"e{n}")
        for n, h in ((2, 4.0), (5, 20.0))
    )
    assert flag(rules.compute_flags(inputs(emails=replies)), "high_engagement").facts == {"mean_reply_hours": 12.0}


@pytest.mark.parametrize(
    ("text", "pattern", "need"),
    [
        ("Thanks! We also need SSO for the whole team.", "also_need", "SSO for the whole team"),
        ("we'd also want an audit log export; thanks", "also_need", "an audit log export"),
        ("We need more seats before January", "more_capacity", "more seats"),
        ("Do you also offer a Salesforce integration?", "do_you_offer", "a Salesforce integration"),
        ("We're interested in the forecasting module.", "looking_for", "the forecasting module"),
        ("We plan to roll it out to the finance team next quarter.", "expand_to", "the finance team next quarter"),
    ],
)
def test_additional_needs_patterns_extract_what_the_customer_asks_for(text: str, pattern: str, need: str) -> None:
    assert (pattern, need) in rules.find_needs(text)


def test_additional_needs_in_customer_emails_are_a_green_flag_citing_the_email() -> None:
    emails = (Email(direction="in", sent_at=days_ago(4), text="We also need SSO.", tone=0.3, id="tl_need"),)
    found = flag(rules.compute_flags(inputs(emails=emails)), "additional_needs")
    assert found.facts == {"needs": ["SSO"]}
    assert found.evidence[0].ref == "tl_need"
    assert found.evidence[0].text == 'email on 2026-11-16: "SSO" (also_need)'


def test_competitor_mentions_are_reported_with_their_emails() -> None:
    emails = (Email(direction="in", sent_at=days_ago(6), text="We are evaluating RivalCo.", tone=0.0, id="tl_c"),)
    result = rules.compute_flags(inputs(emails=emails), FlagSettings(competitors=("rivalco",)))
    assert result.competitor_mentions == ("rivalco",)
    assert result.competitor_evidence[0].ref == "tl_c"


def test_the_acceptance_customer_shows_both_red_flags() -> None:
    result = rules.compute_flags(
        inputs(
            usage=usage(100, 65),
            tickets=(Ticket(created_at=days_ago(8), status="open", priority="critical", id="tl_crit"),),
        )
    )
    assert codes(result)[0] == ["usage_drop", "stale_severe_tickets"]
