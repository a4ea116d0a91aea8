"""The demo seed (`infra.seed`): deterministic, large enough, coherent per customer trajectory."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from statistics import mean

import pytest

from infra.seed import (
    DEMO_CUSTOMERS,
    HISTORY_DAYS,
    DemoCustomer,
    DemoData,
    generate_demo,
    seed_demo,
)
from keepwell import clock

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(TODAY)


def customers(demo: DemoData) -> list[DemoCustomer]:
    return demo.demo.customers


def active_users(customer: DemoCustomer, days: slice) -> float:
    return mean(day.active for day in customer.usage[days])


def test_same_day_and_seed_give_the_same_demo_ids_included():
    first, second = generate_demo(TODAY, customers=8, other_customers=1), generate_demo(TODAY, 8, 1)
    assert [c.customer.model_dump() for c in first.demo.customers] == [
        c.customer.model_dump() for c in second.demo.customers
    ]
    assert [e.model_dump() for c in first.demo.customers for e in c.timeline] == [
        e.model_dump() for c in second.demo.customers for e in c.timeline
    ]
    assert [c.usage for c in first.demo.customers] == [c.usage for c in second.demo.customers]


def test_the_viewer_co_owns_a_handful_of_live_customers_and_the_rest_of_the_demo_is_unchanged(demo, monkeypatch):
    """As the viewer, `make run` shows a portfolio and a My day (they were empty: Vic co-owned nothing)."""
    from infra import seed

    viewers = [c.customer for c in customers(demo) if "usr_viewer" in c.customer.co_owner_ids]
    assert len(viewers) == seed.VIEWER_CUSTOMERS
    assert all(c.owner_id and c.status in ("active", "trial") for c in viewers)

    monkeypatch.setattr(seed, "viewer_co_owns", lambda index: False)
    without = generate_demo(TODAY, customers=24)
    monkeypatch.undo()
    with_viewer = generate_demo(TODAY, customers=24)

    def rest(data: DemoData) -> list[dict[str, object]]:
        out = []
        for c in data.demo.customers:
            dumped = c.customer.model_dump()
            dumped["co_owner_ids"] = [u for u in dumped["co_owner_ids"] if u != "usr_viewer"]
            out.append(dumped)
        return out

    assert rest(with_viewer) == rest(without)
    assert [c.usage for c in with_viewer.demo.customers] == [c.usage for c in without.demo.customers]
    assert sum("usr_viewer" in c.customer.co_owner_ids for c in with_viewer.demo.customers) == 3


def test_another_seed_gives_another_demo():
    def names(seed: int) -> list[str]:
        return [c.customer.name for c in generate_demo(TODAY, 8, 1, seed=seed).demo.customers]

    assert names(7) != names(8)


def test_demo_has_300_plus_customers_in_every_tier_status_and_trajectory(demo):
    demo_customers = customers(demo)
    assert len(demo_customers) == DEMO_CUSTOMERS >= 300
    assert {c.customer.tier for c in demo_customers} == {"Enterprise", "Mid-Market", "SMB"}
    statuses = Counter(c.customer.status for c in demo_customers)
    assert set(statuses) == {"active", "trial", "churned", "paused"}
    assert statuses["active"] > len(demo_customers) / 2  # mostly active
    assert {c.trajectory for c in demo_customers} == {
        "healthy",
        "steady",
        "declining",
        "recovering",
        "at_risk",
    }
    assert len({c.customer.owner_id for c in demo_customers}) == 4  # the four CSMs
    assert len({c.customer.name for c in demo_customers}) == len(demo_customers)
    assert len({c.customer.domain for c in demo_customers}) == len(demo_customers)
    assert len({c.customer.region for c in demo_customers}) >= 3
    assert len({c.customer.industry for c in demo_customers}) >= 8


def test_arr_ranges_follow_the_tier(demo):
    paying = [c.customer for c in customers(demo) if c.customer.status != "trial"]
    smb_max = max(c.arr for c in paying if c.tier == "SMB")
    enterprise_min = min(c.arr for c in paying if c.tier == "Enterprise")
    assert smb_max < enterprise_min
    assert all(abs(c.arr / 12 - c.mrr) <= 0.01 for c in paying)


def test_renewals_spread_over_the_next_twelve_months_with_some_in_the_past(demo):
    renewals = [c.customer.renewal_date for c in customers(demo) if c.customer.status == "active"]
    assert all(r is not None for r in renewals)
    ahead = [(r - TODAY).days for r in renewals if r and r > TODAY]
    past = [r for r in renewals if r and r <= TODAY]
    assert past and len(past) < len(renewals) / 5
    assert max(ahead) > 300 and min(ahead) < 30
    assert len({d // 30 for d in ahead}) >= 12  # every month of the year has renewals


def test_every_customer_has_one_to_four_contacts_and_its_champion_among_them(demo):
    for customer in customers(demo):
        assert 1 <= len(customer.contacts) <= 4
        champions = [c for c in customer.contacts if c.is_champion]
        assert len(champions) == 1
        assert customer.customer.champion_contact_id == champions[0].contact_id
        assert all(c.email and c.email.endswith("@" + (customer.customer.domain or "")) for c in customer.contacts)


def test_history_covers_90_days_up_to_today_and_nothing_later(demo):
    first_day = TODAY - timedelta(days=HISTORY_DAYS - 1)
    end = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC)
    start = datetime.combine(first_day, datetime.min.time(), UTC)
    for customer in customers(demo):
        assert all(start <= e.occurred_at < end for e in customer.timeline)
        assert customer.usage[-1].day == TODAY
        if customer.customer.status != "trial":
            assert len(customer.usage) == HISTORY_DAYS and customer.usage[0].day == first_day
    kinds = Counter(e.kind for c in customers(demo) for e in c.timeline)
    assert {"email", "meeting", "ticket", "note", "nps"} <= set(kinds)


def test_history_has_every_kind_of_interaction(demo):
    entries = [e for c in customers(demo) for e in c.timeline]
    emails = [e for e in entries if e.kind == "email"]
    assert {e.attributes["direction"] for e in emails} == {"in", "out"}
    assert {e.attributes["tone"] for e in emails if e.attributes["direction"] == "in"} == {
        "positive",
        "neutral",
        "frustrated",
        "churn",
    }
    churn_mails = [e.body or "" for e in emails if e.attributes.get("tone") == "churn"]
    assert any("cancel" in body for body in churn_mails)
    meetings = [e.attributes for e in entries if e.kind == "meeting"]
    assert {m["meeting_type"] for m in meetings} == {"qbr", "check-in"}
    assert all(m["duration_minutes"] > 0 for m in meetings)
    tickets = [e.attributes for e in entries if e.kind == "ticket"]
    assert {t["priority"] for t in tickets} == {"low", "normal", "high", "urgent", "critical"}
    assert {t["status"] for t in tickets} == {"open", "pending", "closed"}
    assert all(("resolved_at" in t) == (t["status"] == "closed") for t in tickets)
    assert all(0 <= e.attributes["score"] <= 10 for e in entries if e.kind == "nps")


def test_declining_accounts_use_the_product_less_at_the_end_and_recovering_ones_more(demo):
    def trend(trajectory: str) -> float:
        subject = [c for c in customers(demo) if c.trajectory == trajectory and c.customer.status == "active"]
        return mean(active_users(c, slice(-14, None)) / max(active_users(c, slice(0, 14)), 0.1) for c in subject)

    assert trend("declining") < 0.6
    assert trend("recovering") > 1.5
    assert 0.8 < trend("steady") < 1.25


def test_at_risk_accounts_write_more_frustrated_emails_than_healthy_ones(demo):
    def frustrated_share(trajectory: str) -> float:
        inbound = [
            e.attributes["tone"]
            for c in customers(demo)
            if c.trajectory == trajectory
            for e in c.timeline
            if e.kind == "email" and e.attributes["direction"] == "in"
        ]
        return sum(t in ("frustrated", "churn") for t in inbound) / len(inbound)

    assert frustrated_share("at_risk") > 2 * frustrated_share("healthy")


def test_churned_and_paused_customers_have_no_activity_after_they_left(demo):
    for customer in customers(demo):
        if customer.customer.status == "churned":
            churned_on = customer.customer.renewal_date
            assert churned_on is not None and churned_on < TODAY
            assert all(day.logins == 0 for day in customer.usage if day.day > churned_on)
            assert all(e.occurred_at.date() <= churned_on for e in customer.timeline)
        if customer.customer.status == "paused":
            assert all(day.logins == 0 for day in customer.usage[-10:])


def test_daily_usage_never_exceeds_the_seats(demo):
    for customer in customers(demo):
        seats = customer.customer.seats or 0
        assert all(day.active <= seats and day.logins >= day.active for day in customer.usage)


def test_seed_writes_both_workspaces_through_the_storage_layer(aws):
    from keepwell.storage import contacts, timeline, workspaces
    from keepwell.storage import customers as customer_store

    seeded = seed_demo(TODAY, customers=12, other_customers=2)
    assert seeded.token_users == {
        "admin": "usr_admin",
        "director": "usr_director",
        "csm": "usr_csm_priya",
        "viewer": "usr_viewer",
    }
    workspace = workspaces.get_workspace("ws_demo")
    assert workspace is not None and workspace.name == "Northwind Customer Success"
    assert {u.role for u in workspaces.list_users("ws_demo")} == {"admin", "director", "csm", "viewer"}
    other_admin = workspaces.get_user("ws_other", seeded.other_admin_id)
    assert other_admin is not None and other_admin.role == "admin"
    sample = seeded.data.demo.customers[3]
    stored = customer_store.get_customer("ws_demo", sample.customer.customer_id)
    assert stored == sample.customer
    assert customer_store.find_customer_id("ws_demo", domain=sample.customer.domain) == sample.customer.customer_id
    assert customer_store.find_customer_id("ws_other", domain=sample.customer.domain) is None
    stored_contacts = contacts.list_contacts("ws_demo", stored.customer_id, stored.champion_contact_id)
    assert sorted(c.contact_id for c in stored_contacts) == sorted(c.contact_id for c in sample.contacts)
    assert [c.is_champion for c in stored_contacts].count(True) == 1
    page = timeline.list_timeline("ws_demo", stored.customer_id, limit=500, cursor=None)
    assert len(page.items) == len(sample.timeline)
    assert page.items[0].occurred_at == max(e.occurred_at for e in sample.timeline)
    assert (
        len(customer_store.customer_ids("ws_demo")) == 12 + 3
    )  # + the archived former customers (infra/demo_outcomes)
    assert len(customer_store.customer_ids("ws_other")) == 2


def test_the_demo_has_saved_segments_that_its_customers_fall_into(aws):
    from keepwell.domain.segments import HealthRow, is_member, segment_fields, stored_rule
    from keepwell.storage import segments

    seeded = seed_demo(TODAY, customers=40, other_customers=1)
    saved = {s.name: stored_rule(s.condition, segment_fields({})) for s in segments.list_segments("ws_demo")}
    assert set(saved) == {"Enterprise", "Mid-Market", "SMB", "EMEA"}
    assert segments.list_segments("ws_other") == []
    for demo_customer in seeded.data.demo.customers:
        customer = demo_customer.customer
        in_tier = is_member(saved[customer.tier or "SMB"], HealthRow(customer))
        assert in_tier == (customer.status in ("active", "paused"))
        assert is_member(saved["EMEA"], HealthRow(customer)) == (
            customer.region == "EMEA" and customer.status != "churned"
        )


# ---- product usage: live days as events, older days imported -----------------------------------
def test_a_days_events_roll_up_through_ingestion_to_exactly_its_usage(demo):
    from infra.seed import day_events, imported_activity
    from keepwell.domain.ingestion import DayActivity, roll_up_new_events, validate_events

    now = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC)
    checked = 0
    for customer in customers(demo)[:12]:
        for usage in customer.usage[-5:]:
            events = day_events(customer.customer.customer_id, customer.customer.external_id or "", usage)
            valid, rejected = validate_events(events, now)
            assert rejected == []
            rollup, fresh = roll_up_new_events(valid, set())
            assert len(fresh) == len(events)  # every event id distinct
            assert DayActivity().plus(rollup) == imported_activity(usage)
            assert (rollup.logins, rollup.users, rollup.features) == (usage.logins, usage.users, usage.features)
            checked += bool(events)
    assert checked > 20


def test_day_events_are_the_same_each_time_and_fall_in_business_hours(demo):
    from infra.seed import day_events

    customer = customers(demo)[0]
    usage = next(u for u in reversed(customer.usage) if u.users)
    first = day_events(customer.customer.customer_id, "crm-1", usage)
    assert first == day_events(customer.customer.customer_id, "crm-1", usage)
    assert {int(e["timestamp"][11:13]) for e in first} <= set(range(8, 18))


def test_live_days_are_the_last_two_up_to_now_within_the_backfill_window():
    from infra.seed import live_event_days

    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert live_event_days(TODAY, at) == [TODAY - timedelta(days=1), TODAY]
    assert live_event_days(TODAY + timedelta(days=1), at) == [TODAY]  # tomorrow has not happened
    assert live_event_days(TODAY, at + timedelta(days=200)) == []  # too old to send: all imported


def test_seed_imports_the_history_and_leaves_the_live_days_to_ingestion(aws):
    from keepwell.storage import metrics

    seeded = seed_demo(TODAY, customers=6, other_customers=1)
    live = seeded.live_days
    assert live == [TODAY - timedelta(days=1), TODAY]
    sample = next(c for c in seeded.data.demo.customers if c.customer.status == "active")
    customer_id = sample.customer.customer_id
    stored = metrics.get_days("ws_demo", [(customer_id, u.day) for u in sample.usage])
    active_days = {u.day: u for u in sample.usage if u.users}
    assert set(day for _, day in stored) == {d for d in active_days if d not in live}
    some_day = max(day for _, day in stored)
    kept = stored[(customer_id, some_day)]
    assert (kept.logins, kept.active_users, kept.features) == (
        active_days[some_day].logins,
        set(active_days[some_day].users),
        set(active_days[some_day].features),
    )
    # The import lands in the usage history scoring reads, day for day.
    _, histories = metrics.read_for_ingestion("ws_demo", [(customer_id, TODAY)])
    imported = {u.day: u for u in histories[customer_id].usage_days(TODAY - timedelta(days=179), TODAY)}
    assert set(imported) == {day for _, day in stored}
    assert (imported[some_day].logins, imported[some_day].users, imported[some_day].features) == (
        kept.logins,
        frozenset(kept.active_users),
        frozenset(kept.features),
    )
    other = seeded.data.other.customers[0]
    other_days = metrics.get_days("ws_other", [(other.customer.customer_id, u.day) for u in other.usage])
    assert len(other_days) == sum(1 for u in other.usage if u.users)  # ws_other: everything imported
    events = seeded.live_product_events(datetime.combine(TODAY, time(12, 0), UTC))
    assert events and all(e["timestamp"][:10] in {d.isoformat() for d in live} for e in events)
    assert max(e["timestamp"] for e in events) <= f"{TODAY.isoformat()}T12:00:00.000Z"


def test_the_demo_has_a_full_renewal_pipeline_and_revenue_cohort(aws):
    from keepwell.auth import Caller
    from keepwell.schemas.renewals import PipelineQuery, RevenueQuery
    from keepwell.services import renewals, revenue

    seed_demo(TODAY, customers=60, other_customers=2)
    with clock.frozen(datetime.combine(TODAY, time(9, 0), UTC)):
        admin = renewals.pipeline(Caller("ws_demo", "usr_admin", "admin"), PipelineQuery())
        csm = renewals.pipeline(Caller("ws_demo", "usr_csm_priya", "csm"), PipelineQuery())
        year = revenue.revenue_metrics(
            Caller("ws_demo", "usr_admin", "admin"),
            RevenueQuery.model_validate({"from": TODAY - timedelta(days=365), "to": TODAY}),
        )
    assert all(total.count > 0 for total in admin.totals.values()), admin.totals
    assert 0 < sum(t.count for t in csm.totals.values()) < sum(t.count for t in admin.totals.values())
    assert {r.owner_id for g in csm.groups.values() for r in g} == {"usr_csm_priya"}
    assert year.workspace is not None and year.workspace.churned > 0 and year.workspace.renewed > 0
    assert year.workspace.grr_percent is not None and 0 < year.workspace.grr_percent < 100
