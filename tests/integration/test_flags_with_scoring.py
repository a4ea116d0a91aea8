"""Red and green flags computed with each score: a `health.scored` event (the shape the scorer publishes)
handled by the real playbooks handler on moto stores the customer's flags on its profile; GET
/v1/customers/{id} and the owner's GET /v1/my-day show them with their evidence. Redelivery changes
nothing and an event of an older day never replaces a newer day's flags."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from keepwell.domain.signal_log import SignalLog
from tests.conftest import ApiClient
from tests.integration.test_churn_api import at, customer, put_signals, put_usage
from tests.integration.test_playbooks_runs import playbooks_handler, scored

TODAY = date(2026, 11, 20)  # the frozen clock
STALE_TICKET = {"text": "critical ticket open for 8 days (since 2026-11-12)", "ref": "tl_ticket1", "at": "2026-11-12"}


@pytest.fixture
def sinking(admin_api: ApiClient, workspace: str) -> str:
    """Usage down 35 % in 30 days and a critical ticket open for 8 days (the issue's acceptance case)."""
    cid = customer(admin_api, "Initech")  # owned by csm-1
    put_usage(workspace, cid, previous_per_day=100, recent_per_day=65)
    put_signals(
        workspace,
        cid,
        SignalLog(
            tickets={"ZD-1": {"at": at(8), "st": "open", "pr": "critical", "id": "tl_ticket1"}},
            meetings={"tl_meet": {"at": at(2), "min": 30.0}},
        ),
    )
    return cid


def profile(api: ApiClient, customer_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/customers/{customer_id}")
    assert response.status == 200, response.body
    return dict(response.body)


def codes(flags: list[dict[str, Any]]) -> list[str]:
    return [f["code"] for f in flags]


def test_a_customer_has_no_flags_before_its_first_score(admin_api: ApiClient, sinking: str) -> None:
    body = profile(admin_api, sinking)

    assert (body["red_flags"], body["green_flags"], body["flags_scored_on"]) == ([], [], None)


def test_after_a_score_the_customer_and_its_owners_my_day_list_both_red_flags_with_evidence(
    admin_api: ApiClient, csm1: ApiClient, workspace: str, sinking: str
) -> None:
    playbooks_handler(scored(workspace, sinking))

    body = profile(admin_api, sinking)
    red = {f["code"]: f for f in body["red_flags"]}
    assert set(red) == {"usage_drop", "stale_severe_tickets"}
    assert red["usage_drop"]["title"] == "Usage down 35% in 30 days"
    assert red["usage_drop"]["evidence"][0]["text"].startswith("1950 events from 2026-10-21 to 2026-11-19")
    assert red["stale_severe_tickets"]["title"] == "1 high-priority ticket open more than 7 days"
    assert red["stale_severe_tickets"]["evidence"] == [STALE_TICKET]
    assert body["flags_scored_on"] == TODAY.isoformat()
    # the same rules as the on-demand flags API
    assert codes(admin_api.get(f"/v1/customers/{sinking}/flags").body["red"]) == codes(body["red_flags"])

    (attention,) = [c for c in csm1.get("/v1/my-day").body["customers"] if c["customer_id"] == sinking]
    assert "Usage down 35% in 30 days" in attention["red_flags"]
    assert "1 high-priority ticket open more than 7 days" in attention["red_flags"]
    assert attention["flags"] == body["red_flags"]


def test_a_redelivered_event_changes_nothing(admin_api: ApiClient, workspace: str, sinking: str) -> None:
    event = scored(workspace, sinking)
    playbooks_handler(event)
    first = profile(admin_api, sinking)

    playbooks_handler(event)  # EventBridge delivers at least once

    assert profile(admin_api, sinking) == first
    assert first["version"] == 1  # derived data: the profile's version (PATCH concurrency) is left alone


def test_an_event_of_an_older_day_does_not_replace_a_newer_days_flags(
    admin_api: ApiClient, workspace: str, sinking: str
) -> None:
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    # Yesterday the ticket had been open 7 days, not more: only the usage drop is a red flag.
    playbooks_handler(scored(workspace, sinking, scored_day=yesterday))
    assert codes(profile(admin_api, sinking)["red_flags"]) == ["usage_drop"]

    playbooks_handler(scored(workspace, sinking))  # today's score replaces yesterday's flags
    today = profile(admin_api, sinking)
    assert codes(today["red_flags"]) == ["usage_drop", "stale_severe_tickets"]

    playbooks_handler(scored(workspace, sinking, scored_day=yesterday))  # late: must not win

    assert profile(admin_api, sinking) == today
    assert today["flags_scored_on"] == TODAY.isoformat()


def test_a_patch_keeps_the_stored_flags_and_shows_them(admin_api: ApiClient, workspace: str, sinking: str) -> None:
    playbooks_handler(scored(workspace, sinking))

    response = admin_api.patch(f"/v1/customers/{sinking}", {"tier": "gold"})

    assert response.status == 200, response.body
    assert codes(response.body["red_flags"]) == ["usage_drop", "stale_severe_tickets"]
    assert codes(profile(admin_api, sinking)["red_flags"]) == ["usage_drop", "stale_severe_tickets"]


def test_my_day_shows_a_customers_green_flags_with_their_evidence(
    admin_api: ApiClient, csm1: ApiClient, workspace: str
) -> None:
    growing = customer(admin_api, "Globex")  # owned by csm-1
    put_usage(workspace, growing, previous_per_day=100, recent_per_day=130)
    put_signals(
        workspace,
        growing,
        SignalLog(meetings={"tl_m1": {"at": at(3), "min": 30.0}, "tl_m2": {"at": at(10), "min": 45.0}}),
    )
    playbooks_handler(scored(workspace, growing))
    green = profile(admin_api, growing)["green_flags"]
    assert {"growing_usage", "high_engagement"} <= set(codes(green))

    (attention,) = [c for c in csm1.get("/v1/my-day").body["customers"] if c["customer_id"] == growing]

    assert attention["green_flags"] == [f["title"] for f in green]
    assert attention["green_flag_details"] == green
    assert all(f["evidence"] for f in attention["green_flag_details"])


def test_my_day_lists_customers_most_urgent_first(
    admin_api: ApiClient, csm1: ApiClient, workspace: str, sinking: str
) -> None:
    """A CSM triages from the top: the customer with more red flags first, whatever the book's order; one
    with green flags and fewer red ones after them."""
    growing = customer(admin_api, "Aardvark")  # first by name and created first: book order alone puts it first
    put_usage(workspace, growing, previous_per_day=100, recent_per_day=130)
    put_signals(workspace, growing, SignalLog(meetings={"tl_m1": {"at": at(3), "min": 30.0}}))
    slipping = customer(admin_api, "Bluebird")
    put_usage(workspace, slipping, previous_per_day=100, recent_per_day=60)
    for cid in (growing, slipping, sinking):
        playbooks_handler(scored(workspace, cid))

    listed = {c["customer_id"]: c for c in csm1.get("/v1/my-day").body["customers"]}
    order = [cid for cid in listed if cid in (growing, slipping, sinking)]

    assert len(listed[sinking]["red_flags"]) > len(listed[slipping]["red_flags"]) >= 1
    assert len(listed[growing]["red_flags"]) < len(listed[slipping]["red_flags"]) and listed[growing]["green_flags"]
    assert order == [sinking, slipping, growing]
