from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from keepwell.domain.health.dimensions import PreparedModel, dimension_values
from keepwell.domain.health.model import DimensionConfig, HealthModel
from keepwell.domain.health.signals import (
    ContractSignals,
    CustomerSignals,
    Email,
    Meeting,
    NpsResponse,
    PaymentSignals,
    RelationshipSignals,
    Ticket,
    UsageDay,
    UsageSignals,
)

TODAY = date(2026, 11, 20)
MODEL = HealthModel.from_preset("balanced")


def at(days_ago: float, hour: int = 12) -> datetime:
    midnight = datetime.combine(TODAY, datetime.min.time(), UTC)
    return midnight + timedelta(hours=hour) - timedelta(days=days_ago)


def usage(logins_per_day: int, seats: int = 10, days: int = 30, features=("a", "b"), users=("u1", "u2")):
    return UsageSignals(
        days=tuple(
            UsageDay(
                day=TODAY - timedelta(days=i),
                logins=logins_per_day,
                users=frozenset(users),
                features=frozenset(features),
            )
            for i in range(days)
        ),
        seats=seats,
    )


def measure(model=MODEL, **sources):
    return dimension_values(model, CustomerSignals(customer_id="c1", **sources), TODAY)


def texts(measurement, dimension=None):
    return [e.text for e in measurement.evidence if dimension is None or e.dimension == dimension]


def test_no_connected_source_leaves_every_dimension_na_not_zero():
    values = measure().values
    assert values == {
        "usage": None,
        "engagement": None,
        "support": None,
        "sentiment": None,
        "payment": None,
        "relationship": None,
        "contract": None,
    }


def test_connected_but_empty_sources_are_real_low_or_clean_signals():
    values = measure(usage=UsageSignals(seats=10), emails=(), meetings=(), tickets=()).values
    assert values["usage"] == 0  # nobody logged in
    assert values["engagement"] == 0  # nobody wrote or met
    assert values["support"] == 100  # no tickets, no escalations
    assert values["sentiment"] is None  # no customer email to read a tone from, no NPS


def test_logins_per_seat_are_normalised_against_the_target():
    # 10 logins a day for 10 seats = 7 per seat per week; target good 5 -> 100.
    busy = measure(usage=usage(10))
    assert busy.metrics["logins_per_seat_week"] == pytest.approx(7.0)
    # 1 login a day for 10 seats = 0.7 per seat per week -> 14 on that metric, negative evidence.
    quiet = measure(usage=usage(1))
    assert quiet.metrics["logins_per_seat_week"] == pytest.approx(0.7)
    assert "logins per seat down to 0.7/week" in texts(quiet, "usage")
    assert quiet.values["usage"] < busy.values["usage"]


def test_usage_counts_distinct_features_dau_mau_and_new_feature_adoption():
    signals = UsageSignals(
        days=tuple(
            UsageDay(
                day=TODAY - timedelta(days=i),
                logins=5,
                users=frozenset({f"u{i % 4}"}),
                features=frozenset({f"f{i % 6}"}),
            )
            for i in range(30)
        ),
        seats=4,
        recent_features=frozenset({"f1", "f2", "new-x", "new-y"}),
    )
    result = measure(usage=signals)
    assert result.metrics["distinct_features"] == 6
    assert result.metrics["dau_mau"] == pytest.approx(1 / 4)  # one active user a day out of 4 monthly
    assert result.metrics["new_feature_adoption_pct"] == 50
    assert result.values["usage"] is not None


def test_usage_outside_the_window_does_not_count():
    old = UsageSignals(days=(UsageDay(day=TODAY - timedelta(days=45), logins=500),), seats=1)
    assert measure(usage=old).metrics["logins_per_seat_week"] == 0


def test_engagement_from_emails_meetings_reply_rate_and_champion_response():
    emails = (
        Email("out", at(3), "Checking in", id="e1", proactive=True),
        Email("out", at(10), "Quarterly ideas", id="e2", proactive=True),
        Email("in", at(2), "Thanks, all good", id="e3", reply_to_proactive=True, champion_response_hours=12),
    )
    meetings = (Meeting(at(5), 60), Meeting(at(40), 60))
    result = measure(emails=emails, meetings=meetings)
    assert result.metrics["proactive_reply_rate_pct"] == 50
    assert result.metrics["champion_response_hours"] == 12
    assert result.metrics["meetings"] == 1  # the one 40 days ago is outside the 30-day window
    assert result.metrics["meeting_minutes"] == 60
    assert 0 < result.values["engagement"] < 100


def test_support_counts_open_tickets_resolution_time_severity_and_escalations():
    tickets = (
        Ticket(at(2), "open", "critical", id="t1"),
        Ticket(at(3), "pending", "urgent", id="t2"),
        Ticket(at(4), "open", "critical", escalated=True, id="t3"),
        Ticket(at(20), "closed", "low", resolved_at=at(18), id="t4"),
    )
    result = measure(tickets=tickets)
    assert result.metrics["open_tickets"] == 3
    assert result.metrics["resolution_hours"] == pytest.approx(48)
    assert result.metrics["critical_high_pct"] == 75
    assert result.metrics["escalations"] == 1
    assert "3 critical tickets open" in texts(result, "support")
    evidence = next(e for e in result.evidence if e.text == "3 critical tickets open")
    assert evidence.ref in {"t1", "t2", "t3"} and evidence.strength < 0


def test_a_ticket_resolved_yesterday_is_no_longer_open_today():
    tickets = (Ticket(at(5), "closed", "critical", resolved_at=at(1), id="t1"),)
    result = measure(tickets=tickets)
    assert result.metrics["open_tickets"] == 0
    assert not [t for t in texts(result) if "critical ticket" in t]
    three_days_ago = dimension_values(MODEL, CustomerSignals(tickets=tickets), TODAY - timedelta(days=3))
    assert three_days_ago.metrics["open_tickets"] == 1
    assert "1 critical ticket open" in texts(three_days_ago, "support")


def test_sentiment_reads_customer_email_tone_with_vader():
    happy = measure(emails=(Email("in", at(1), "We love the product, fantastic support, thank you!"),))
    angry = measure(emails=(Email("in", at(1), "This is awful. Terrible, broken and frustrating."),))
    assert happy.metrics["email_tone"] > 0.5
    assert angry.metrics["email_tone"] < -0.5
    assert happy.values["sentiment"] > 80 > 20 > angry.values["sentiment"]


def test_critical_keywords_pull_sentiment_down_and_are_cited_with_the_email():
    neutral_text = "Please send the invoice for October."
    base = measure(emails=(Email("in", at(18), neutral_text, id="tl_1"),))
    warned = measure(
        emails=(
            Email("in", at(18), neutral_text, id="tl_1"),
            Email("in", at(18), "We might cancel at the end of the term.", id="tl_2"),
        )
    )
    assert warned.values["sentiment"] < base.values["sentiment"] - 10
    hit = next(e for e in warned.evidence if "mentions" in e.text)
    assert hit.text == "email on 2026-11-02 mentions 'cancel'"
    assert hit.ref == "tl_2"


def test_workspace_competitors_and_extra_keywords_count_as_critical():
    model = HealthModel.from_preset()
    model.sentiment.competitors.append("Gainsight")
    model.sentiment.extra_keywords.append("budget freeze")
    text = "Budget  freeze here; we are also trialling gainsight."
    result = measure(model, emails=(Email("in", at(1), text),))
    assert {e.text.split("mentions ")[1] for e in result.evidence if "mentions" in e.text} == {
        "'budget freeze'",
        "'gainsight'",
    }
    assert result.metrics["keyword_hits"] == 2


def test_outbound_email_tone_and_keywords_are_not_the_customers_sentiment():
    result = measure(emails=(Email("out", at(1), "Sorry to hear you may cancel, that is terrible"),))
    assert result.values["sentiment"] is None


def test_latest_nps_answer_as_of_the_day_counts():
    answers = (NpsResponse(9, at(100)), NpsResponse(3, at(10)))
    assert measure(nps=answers).metrics["nps"] == 3
    earlier = dimension_values(MODEL, CustomerSignals(nps=answers), TODAY - timedelta(days=20))
    assert earlier.metrics["nps"] == 9


def test_optional_dimensions_payment_relationship_contract():
    result = measure(
        payment=PaymentSignals(avg_days_to_pay=15, overdue_invoices=0),
        relationship=RelationshipSignals(contacts=5, champion_identified=True, last_qbr=TODAY - timedelta(days=30)),
        contract=ContractSignals(renewal_date=TODAY + timedelta(days=20), auto_renew=False, expansions=2),
    )
    assert result.values["payment"] == 100
    assert result.values["relationship"] == 100
    assert result.metrics["days_to_renewal"] == 20
    assert result.values["contract"] < 100
    assert "contract does not auto-renew" in texts(result, "contract")
    late = measure(payment=PaymentSignals(avg_days_to_pay=75, overdue_invoices=4))
    assert late.values["payment"] == 0
    assert "4 overdue invoices" in texts(late, "payment")


def test_custom_dimension_is_computed_from_fields_and_na_when_it_cannot_be():
    model = HealthModel(
        variables=["monthly_savings_usd", "mrr"],
        dimensions=[
            DimensionConfig(key="usage", weight=50),
            DimensionConfig(
                key="roi", weight=50, label="ROI", expression="= CLAMP(0, 100, (monthly_savings_usd / mrr) * 10)"
            ),
        ],
    )
    saving = CustomerSignals(fields={"mrr": 1000}, custom={"monthly_savings_usd": 10000})
    good = dimension_values(model, saving, TODAY)
    assert good.values["roi"] == 100
    assert "ROI at 100" in texts(good, "roi")
    no_mrr = CustomerSignals(fields={"mrr": 0}, custom={"monthly_savings_usd": 5})
    broken = dimension_values(model, no_mrr, TODAY)
    assert broken.values["roi"] is None


def test_custom_dimension_can_use_standard_metrics():
    model = HealthModel(
        dimensions=[
            DimensionConfig(key="adoption", weight=100, expression="CLAMP(0, 100, logins_per_seat_week * 10)"),
        ]
    )
    result = dimension_values(model, CustomerSignals(usage=usage(1)), TODAY)
    assert result.values["adoption"] == pytest.approx(7.0)


def test_a_custom_dimension_formatting_a_hostile_text_field_is_na_and_the_customer_still_scores():
    """Issue #16: a saved expression fed a customer's text field must not fail scoring (no DLQ)."""
    model = HealthModel(
        variables=["plan_code"],
        dimensions=[
            DimensionConfig(key="usage", weight=50),
            DimensionConfig(key="trap", weight=50, expression='= IF((plan_code % 1) == "", 1, 50)'),
        ],
    )
    hostile = CustomerSignals(custom={"plan_code": "%99999999999d"}, usage=usage(3))
    measured = dimension_values(model, hostile, TODAY)
    assert measured.values["trap"] is None
    assert measured.values["usage"] is not None


def _sparse_signals() -> CustomerSignals:
    """Few signals, each entering (and some leaving) the windows on a known day of a 90-day history: a
    dimension stays the same for days, then changes on the day one arrives or expires."""
    return CustomerSignals(
        customer_id="c1",
        emails=(
            Email("in", at(60), "We will cancel unless this is fixed", id="e1"),
            Email("in", at(20), "Thanks, great work", id="e2", champion_response_hours=5),
            Email("out", at(19), "Checking in", proactive=True),
        ),
        meetings=(Meeting(at(45), 60, id="m1"),),
        tickets=(
            Ticket(at(70), "closed", "urgent", resolved_at=at(50), id="t1"),
            Ticket(at(12), "open", "critical", id="t2"),
            Ticket(at(30), "pending", "high", escalated=True, id="t3"),
        ),
        nps=(NpsResponse(3, at(80)), NpsResponse(9, at(25))),
        relationship=RelationshipSignals(contacts=2, champion_identified=True, qbr_days=(TODAY - timedelta(days=150),)),
        contract=ContractSignals(renewal_date=TODAY + timedelta(days=10), auto_renew=False),
        payment=PaymentSignals(avg_days_to_pay=40, overdue_invoices=1),
    )


def test_a_history_measures_every_day_as_that_day_alone_would():
    """The index reuses a dimension's outcome while its inputs stay the same; each day of a history must
    still equal the day measured by a fresh index, whatever entered or left a window the day before."""
    signals = _sparse_signals()
    prepared = PreparedModel.of(MODEL)
    index = prepared.index(signals)
    for back in range(89, -1, -1):
        day = TODAY - timedelta(days=back)
        history_day = index.measure(day)
        alone = prepared.index(signals).measure(day)
        assert history_day.values == alone.values, day
        assert list(history_day.metrics.items()) == list(alone.metrics.items()), day
        assert history_day.evidence == alone.evidence, day


def test_a_ticket_or_email_arriving_mid_history_changes_the_day_it_arrives_not_the_day_before():
    index = PreparedModel.of(MODEL).index(_sparse_signals())
    days = {back: index.measure(TODAY - timedelta(days=back)) for back in (22, 21, 20, 13, 12, 11)}
    assert days[22].values["engagement"] == days[21].values["engagement"]
    assert days[20].values["engagement"] != days[21].values["engagement"]  # e2 arrives
    assert days[20].metrics["emails_in_per_week"] > days[21].metrics["emails_in_per_week"]
    assert "1 critical ticket open" not in texts(days[13], "support")
    assert "1 critical ticket open" in texts(days[12], "support")  # t2 opens
    assert days[12].values["support"] < days[13].values["support"]
    assert texts(days[11], "support") == texts(days[12], "support")
    assert days[22].values["sentiment"] == days[21].values["sentiment"]
    assert days[20].values["sentiment"] != days[21].values["sentiment"]  # e2's tone
