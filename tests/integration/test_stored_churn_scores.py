"""Churn risk and CLTV stored with each score (issue #8): a `health.scored` event handled by the real
playbooks handler on moto stores them on the profile next to the flags, in the same conditional write;
GET /v1/customers/{id} shows the risk score and level, and GET /v1/customers/{id}/scores answers the
stored day's values (`computed: with_score`) or computes them when none are stored (`on_request`).

Expected figures are worked out by hand from docs/renewals.md §7, not by calling the rules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bench.recalc import count_aws_requests
from keepwell.adapters import event_bus
from keepwell.domain.churn import risk_level
from keepwell.domain.signal_log import SignalLog
from keepwell.services.customer_flags import record_flags
from keepwell.storage import keys, stored_flags
from keepwell.storage.metrics import DailyMetricsItem
from keepwell.storage.models import CustomerItem
from tests.conftest import ApiClient
from tests.integration.test_churn_api import at, customer, put_signals, put_usage
from tests.integration.test_playbooks_runs import domain_event, playbooks_handler, scored
from tests.integration.test_scoring_pipeline import request, score

TODAY = date(2026, 11, 20)  # the frozen clock
YESTERDAY = TODAY - timedelta(days=1)


def set_health(workspace: str, customer_id: str, score: float) -> None:
    """The profile's latest health, as the scorer leaves it before it publishes health.scored."""
    key = keys.customer(workspace, customer_id)
    CustomerItem(key.pk, key.sk).update(actions=[CustomerItem.health_score.set(score)])


@pytest.fixture
def slipping(admin_api: ApiClient, workspace: str) -> str:
    """ARR 120 000; usage down 35 % in 30 days (one red flag); its renewal on 2026-12-10, 20 days
    after the frozen day; a meeting 2 days ago (no other flag, no green flag)."""
    cid = customer(admin_api, "Initech")
    admin_api.post(f"/v1/customers/{cid}/renewals", {"renewal_date": "2026-12-10"})
    put_usage(workspace, cid, previous_per_day=100, recent_per_day=65)
    put_signals(workspace, cid, SignalLog(meetings={"m1": {"at": at(2), "min": 30.0}}))
    return cid


def get(api: ApiClient, path: str, **query: Any) -> dict[str, Any]:
    response = api.get(path, **query)
    assert response.status == 200, response.body
    return dict(response.body)


def parts(risk: dict[str, Any]) -> dict[str, float]:
    return {p["factor"]: p["points"] for p in risk["parts"]}


def test_after_a_score_the_profile_carries_the_churn_risk_and_cltv_the_formulas_give(
    admin_api: ApiClient, workspace: str, slipping: str
) -> None:
    set_health(workspace, slipping, 70)

    playbooks_handler(scored(workspace, slipping))

    body = get(admin_api, f"/v1/customers/{slipping}")
    # health (100 - 70) x 0.5 = 15; one red flag: +10; renewal in 20 days (< 30): +10 -> 35, medium
    assert (body["churn_risk_score"], body["churn_risk_level"], body["flags_scored_on"]) == (
        35.0,
        "medium",
        "2026-11-20",
    )
    scores = get(admin_api, f"/v1/customers/{slipping}/scores")
    assert (scores["computed"], scores["scored_on"], scores["as_of"]) == ("with_score", "2026-11-20", "2026-11-20")
    assert parts(scores["churn_risk"]) == {"health": 15.0, "red_flags": 10.0, "renewal": 10.0}
    assert scores["churn_risk"]["level"] == "medium"
    # p = 0.35; lifetime 1 / 0.35 = 2.857 years; 120 000 x 0.8 / 0.35 = 274 285.71
    cltv = scores["cltv"]
    assert (cltv["value"], cltv["annual_churn_probability"], cltv["expected_lifetime_years"]) == (
        274_285.71,
        0.35,
        2.86,
    )
    assert cltv["explanation"].startswith("ARR 120,000.00 x gross margin 0.8 x expected lifetime 2.86 years")


def test_the_real_scorers_health_scored_event_stores_the_risk_of_the_health_it_scored(
    admin_api: ApiClient, workspace: str, slipping: str, published: list[event_bus.DomainEvent]
) -> None:
    assert score(request(slipping, scoring_day=TODAY)) == {"batchItemFailures": []}
    (event,) = [e for e in published if e.detail_type == "health.scored"]

    playbooks_handler(domain_event(event.detail_type, event.detail))

    body = get(admin_api, f"/v1/customers/{slipping}")
    health = body["health_score"]
    assert health is not None and body["flags_scored_on"] == "2026-11-20"
    # (100 - health) x 0.5, one red flag +10, renewal in 20 days +10 (no green flag in this fixture)
    expected = round(round((100 - health) * 0.5, 1) + 20, 1)
    stored = get(admin_api, f"/v1/customers/{slipping}/scores")
    assert (stored["computed"], stored["churn_risk"]["score"], body["churn_risk_score"]) == (
        "with_score",
        expected,
        expected,
    )
    assert stored["cltv"]["value"] == round(120_000 * 0.8 / max(expected / 100, 0.05), 2)


def test_scores_answer_the_stored_day_after_the_inputs_change_until_the_next_score(
    admin_api: ApiClient, workspace: str, slipping: str
) -> None:
    set_health(workspace, slipping, 70)
    playbooks_handler(scored(workspace, slipping))
    # Since the score: the health fell and a critical ticket has been open 8 days (a second red flag).
    set_health(workspace, slipping, 30)
    put_signals(
        workspace,
        slipping,
        SignalLog(
            tickets={"ZD-1": {"at": at(8), "st": "open", "pr": "critical", "id": "tl_ticket1"}},
            meetings={"m1": {"at": at(2), "min": 30.0}},
        ),
    )
    assert len(get(admin_api, f"/v1/customers/{slipping}/flags")["red"]) == 2  # the on-demand flags see it

    scores = get(admin_api, f"/v1/customers/{slipping}/scores")

    assert (scores["computed"], scores["scored_on"], scores["churn_risk"]["score"]) == (
        "with_score",
        "2026-11-20",
        35.0,
    )
    assert scores["health_score"] == 30  # the profile's health is today's; the stored risk is the score's
    assert scores["cltv"]["value"] == 274_285.71

    playbooks_handler(scored(workspace, slipping))  # the next score stores the new inputs
    # (100 - 30) x 0.5 = 35; two red flags: +20; renewal: +10 -> 65, high; 120 000 x 0.8 / 0.65
    rescored = get(admin_api, f"/v1/customers/{slipping}/scores")
    assert (rescored["churn_risk"]["score"], rescored["churn_risk"]["level"]) == (65.0, "high")
    assert rescored["cltv"]["value"] == 147_692.31
    assert get(admin_api, f"/v1/customers/{slipping}")["churn_risk_level"] == "high"


def test_an_older_days_score_does_not_replace_a_later_days_churn_risk(
    admin_api: ApiClient, workspace: str, slipping: str
) -> None:
    set_health(workspace, slipping, 70)
    playbooks_handler(scored(workspace, slipping, scored_day=YESTERDAY.isoformat()))
    assert get(admin_api, f"/v1/customers/{slipping}/scores")["scored_on"] == "2026-11-19"
    set_health(workspace, slipping, 90)
    playbooks_handler(scored(workspace, slipping))
    # health (100 - 90) x 0.5 = 5; red flag +10; renewal +10 -> 25, low; 120 000 x 0.8 / 0.25 = 384 000
    today = get(admin_api, f"/v1/customers/{slipping}/scores")
    assert (today["scored_on"], today["churn_risk"]["score"], today["cltv"]["value"]) == ("2026-11-20", 25.0, 384_000)

    set_health(workspace, slipping, 10)  # a late event of yesterday would give 65 if it were computed
    playbooks_handler(scored(workspace, slipping, scored_day=YESTERDAY.isoformat()))

    after = get(admin_api, f"/v1/customers/{slipping}/scores")
    assert (after["scored_on"], after["churn_risk"], after["cltv"]) == (
        "2026-11-20",
        today["churn_risk"],
        today["cltv"],
    )
    assert get(admin_api, f"/v1/customers/{slipping}")["churn_risk_level"] == "low"


def test_a_customer_never_scored_gets_its_scores_computed_on_request(admin_api: ApiClient, slipping: str) -> None:
    profile = get(admin_api, f"/v1/customers/{slipping}")
    assert (profile["churn_risk_score"], profile["churn_risk_level"]) == (None, None)

    scores = get(admin_api, f"/v1/customers/{slipping}/scores")

    assert (scores["computed"], scores["scored_on"], scores["as_of"]) == ("on_request", None, "2026-11-20")
    # no health score yet: 25; red flag +10; renewal +10 -> 45, medium; 120 000 x 0.8 / 0.45
    assert (scores["churn_risk"]["score"], scores["churn_risk"]["level"]) == (45.0, "medium")
    assert scores["cltv"]["value"] == 213_333.33


def test_flags_stored_before_churn_risk_was_kept_still_read_and_scores_are_computed_on_request(
    admin_api: ApiClient, workspace: str, slipping: str
) -> None:
    key = keys.customer(workspace, slipping)
    old = '{"scored_on":"2026-11-19","red":[{"code":"usage_drop","title":"Usage down","evidence":[]}],"green":[]}'
    CustomerItem(key.pk, key.sk).update(
        actions=[CustomerItem.flags_json.set(old), CustomerItem.flags_scored_on.set("2026-11-19")]
    )

    profile = get(admin_api, f"/v1/customers/{slipping}")
    scores = get(admin_api, f"/v1/customers/{slipping}/scores")

    assert [f["code"] for f in profile["red_flags"]] == ["usage_drop"]
    assert (profile["churn_risk_score"], profile["churn_risk_level"]) == (None, None)
    assert (scores["computed"], scores["churn_risk"]["score"]) == ("on_request", 45.0)


def test_flags_stored_as_text_before_they_were_compressed_answer_the_same_and_the_next_score_compresses_them(
    admin_api: ApiClient, workspace: str, slipping: str
) -> None:
    set_health(workspace, slipping, 70)
    playbooks_handler(scored(workspace, slipping))
    key = keys.customer(workspace, slipping)
    stored = CustomerItem.get(key.pk, key.sk)
    assert stored.flags_z is not None and stored.flags_json is None
    answers = [get(admin_api, f"/v1/customers/{slipping}"), get(admin_api, f"/v1/customers/{slipping}/scores")]
    listed = get(admin_api, "/v1/customers", sort="-health_score")["items"]
    # The profile as the flags were stored before (JSON text, storage/stored_flags.py), read by this code:
    text = stored_flags.decode(None, stored.flags_z).model_dump_json()  # type: ignore[union-attr]
    CustomerItem(key.pk, key.sk).update(actions=[CustomerItem.flags_json.set(text), CustomerItem.flags_z.remove()])

    assert [get(admin_api, f"/v1/customers/{slipping}"), get(admin_api, f"/v1/customers/{slipping}/scores")] == answers
    assert get(admin_api, "/v1/customers", sort="-health_score")["items"] == listed
    assert [f["code"] for f in answers[0]["red_flags"]] == ["usage_drop"]
    assert [[f["code"] for f in c["red_flags"]] for c in listed if c["customer_id"] == slipping] == [["usage_drop"]]

    playbooks_handler(scored(workspace, slipping))  # the next day's flags replace the text
    again = CustomerItem.get(key.pk, key.sk)
    assert again.flags_json is None and again.flags_z is not None
    assert len(again.flags_z) * 2 < len(text.encode())  # what the profile's writes are billed by
    assert get(admin_api, f"/v1/customers/{slipping}") == answers[0]


def test_a_customer_churned_after_its_score_answers_100_and_no_value_until_its_next_score(
    admin_api: ApiClient, workspace: str, slipping: str
) -> None:
    set_health(workspace, slipping, 70)
    playbooks_handler(scored(workspace, slipping))
    assert admin_api.post(f"/v1/customers/{slipping}/churn", {"churn_reason": "price"}).status == 200

    scores = get(admin_api, f"/v1/customers/{slipping}/scores")

    assert (scores["computed"], scores["churn_risk"]["score"], scores["cltv"]["value"]) == ("on_request", 100.0, 0.0)
    playbooks_handler(scored(workspace, slipping))
    stored = get(admin_api, f"/v1/customers/{slipping}/scores")
    assert (stored["computed"], stored["churn_risk"]["level"], stored["cltv"]["value"]) == ("with_score", "high", 0.0)


def test_storing_the_flags_with_churn_risk_costs_three_reads_and_one_write(workspace: str, slipping: str) -> None:
    record_flags(workspace, slipping, YESTERDAY)  # warms the per-container health model cache

    with count_aws_requests() as warm:
        assert record_flags(workspace, slipping, TODAY) is not None

    # One BatchGetItem (profile, signal log, forecast settings), one Query (the 60 metric days: billed by
    # their size, ~15 read units, where reading them by key cost one unit each), one Query (renewals and
    # the standing success-plan risk signals), one Query (contacts); one write. Before issue 23 the same
    # reads were 3 GetItem, 1 BatchGetItem and 3 Query.
    assert warm.operations("dynamodb") == {"BatchGetItem": 1, "Query": 3, "UpdateItem": 1}


def test_the_stored_flags_read_the_same_60_days_as_the_flags_api(
    admin_api: ApiClient, workspace: str, slipping: str
) -> None:
    # Days just outside the 60 (today, 61 days ago) beside them; a range a day short at either end would
    # change the drop (the stored flags read the days by range, the API by key).
    for day, events in ((TODAY, 10_000), (TODAY - timedelta(days=61), 1)):
        key = keys.daily_metrics(workspace, slipping, day)
        DailyMetricsItem(
            key.pk,
            key.sk,
            entity="daily_metrics",
            workspace_id=workspace,
            customer_id=slipping,
            day=day.isoformat(),
            events=events,
            logins=5,
            version=1,
        ).save()
    set_health(workspace, slipping, 70)

    playbooks_handler(scored(workspace, slipping))

    on_request = get(admin_api, f"/v1/customers/{slipping}/flags")["red"]
    stored = get(admin_api, f"/v1/customers/{slipping}")["red_flags"]
    assert [f["code"] for f in on_request] == [f["code"] for f in stored] == ["usage_drop"]
    assert stored[0]["title"] == on_request[0]["title"] == "Usage down 35% in 30 days"
    assert [e["text"] for e in stored[0]["evidence"]] == [e["text"] for e in on_request[0]["evidence"]]


@pytest.mark.parametrize(
    ("score", "level"), [(0, "low"), (29.9, "low"), (30, "medium"), (59.9, "medium"), (60, "high")]
)
def test_churn_risk_levels_start_at_30_for_medium_and_60_for_high(score: float, level: str) -> None:
    assert risk_level(score) == level
