"""Playbook rules, pure: triggers and episodes, re-enrolment and cooldown, planning with due dates,
assignees, templates, Slack formatting and the five defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from keepwell.domain import conditions
from keepwell.domain import playbooks as rules
from keepwell.domain.playbooks import EnrolmentState, History, Occurrence, Playbook, PlaybookDefinition
from keepwell.domain.segments import segment_fields
from keepwell.errors import InvalidInput

FIELDS = dict(segment_fields({}, []))
TODAY = date(2026, 11, 20)


def playbook(data: dict[str, Any] | PlaybookDefinition) -> rules.CompiledPlaybook:
    definition = data if isinstance(data, PlaybookDefinition) else PlaybookDefinition.model_validate(data)
    stored = Playbook(
        playbook_id="pb_test",
        workspace_id="ws_acme",
        definition=definition,
        created_at="x",
        created_by="u",
        updated_at="x",
        updated_by="u",
    )
    return rules.compile_playbook(stored, lambda rule: conditions.compile_condition(rule, FIELDS))


def default(key: str) -> rules.CompiledPlaybook:
    return playbook(dict(rules.default_playbooks())[key])


def daily(day: date = TODAY, **detail: Any) -> Occurrence:
    return Occurrence("health.scored", day, detail)


def customer(**fields: Any) -> dict[str, Any]:
    return {"customer_id": "cus_1", "name": "Initech", "status": "active", "owner_id": "csm-1", **fields}


TASK = {"type": "task", "title": "Call {customer.name}"}


# --- condition triggers: once per episode -------------------------------------------------------
def test_entering_the_at_risk_band_enrols_once_and_the_next_day_still_at_risk_does_not():
    at_risk = default("at_risk")
    record = customer(health_band="At risk", health_score=42.0)

    first = rules.evaluate(at_risk, record, EnrolmentState(), daily())
    second = rules.evaluate(at_risk, record, first.state, daily(TODAY + timedelta(days=1)))

    assert first.enter and first.episode == "entered-2026-11-20" and first.start_on == TODAY
    assert 'health_band = "At risk"' in first.reason
    assert not second.enter and second.code == "in_episode"


def test_the_same_day_evaluated_twice_gives_the_same_episode_so_the_run_key_dedupes():
    at_risk = default("at_risk")
    record = customer(health_band="At risk")
    assert (
        rules.evaluate(at_risk, record, EnrolmentState(), daily()).episode
        == rules.evaluate(at_risk, record, EnrolmentState(), daily()).episode
    )


def test_leaving_and_entering_again_is_a_new_episode_after_the_cooldown():
    at_risk = default("at_risk")  # cooldown 14 days
    inside, outside = customer(health_band="At risk"), customer(health_band="Healthy")
    entered = rules.evaluate(at_risk, inside, EnrolmentState(), daily())
    left = rules.evaluate(at_risk, outside, entered.state, daily(TODAY + timedelta(days=3)))
    too_soon = rules.evaluate(at_risk, inside, left.state, daily(TODAY + timedelta(days=5)))
    left_again = rules.evaluate(at_risk, outside, too_soon.state, daily(TODAY + timedelta(days=6)))
    later = rules.evaluate(at_risk, inside, left_again.state, daily(TODAY + timedelta(days=20)))

    assert not left.enter and not left.state.active
    assert not too_soon.enter and too_soon.code == "cooldown" and too_soon.suppressed == "cooldown until 2026-12-04"
    assert too_soon.state.active  # held back, but inside: it must leave again before it can re-enter
    assert later.enter and later.episode == "entered-2026-12-10" and later.state.enrolments == 2


def test_reenrolment_never_enrols_a_customer_once_ever():
    once = playbook(
        {
            "name": "Once",
            "trigger": {"type": "condition", "condition": "health_score < 50"},
            "actions": [TASK],
            "reenrollment": {"policy": "never"},
        }
    )
    first = rules.evaluate(once, customer(health_score=40), EnrolmentState(), daily())
    out = rules.evaluate(once, customer(health_score=60), first.state, daily(TODAY + timedelta(days=1)))
    again = rules.evaluate(once, customer(health_score=40), out.state, daily(TODAY + timedelta(days=90)))
    assert first.enter and not again.enter and again.code == "reenrolment_off"


def test_conditions_narrow_a_condition_trigger():
    at_risk = default("at_risk")  # status != "churned"
    decision = rules.evaluate(at_risk, customer(health_band="At risk", status="churned"), EnrolmentState(), daily())
    assert not decision.enter and decision.code == "condition_false"


def test_a_customer_without_a_score_matches_no_health_condition():
    decision = rules.evaluate(default("at_risk"), customer(health_band=None), EnrolmentState(), daily())
    assert not decision.enter


# --- date offset: 60 days before renewal ------------------------------------------------------------
def test_renewal_sixty_days_away_enrols_once_per_renewal_date_opens_renewal_with_four_tasks_at_day_0_7_14_30():
    renewal = default("renewal")
    record = customer(renewal_date=TODAY + timedelta(days=60))

    decision = rules.evaluate(renewal, record, EnrolmentState(), daily())
    tomorrow = rules.evaluate(renewal, record, decision.state, daily(TODAY + timedelta(days=1)))
    steps = rules.plan_steps(renewal.definition, TODAY, TODAY)

    assert decision.enter and decision.episode == "renewal_date-2027-01-19"
    assert not tomorrow.enter and tomorrow.code == "in_episode"
    # The first step moves the customer into the renewal journey phase (issue 21), then the four tasks.
    assert [s.action for s in steps] == ["engagement"] + ["task"] * 4
    assert steps[0].params["phase"] == "renewal" and steps[0].params.get("operation", "open") == "open"
    tasks = [s for s in steps if s.action == "task"]
    assert [s.params["due_date"] for s in tasks] == ["2026-11-20", "2026-11-27", "2026-12-04", "2026-12-20"]
    assert all(s.not_before is None for s in steps)


def test_renewal_not_yet_due_late_within_the_window_or_past_it():
    renewal = default("renewal")  # -60 days, window 45
    state = EnrolmentState()
    assert rules.evaluate(renewal, customer(renewal_date=TODAY + timedelta(days=61)), state, daily()).code == "not_yet"
    assert rules.evaluate(renewal, customer(renewal_date=TODAY + timedelta(days=20)), state, daily()).enter
    closed = rules.evaluate(renewal, customer(renewal_date=TODAY + timedelta(days=10)), state, daily())
    assert closed.code == "window_closed"
    assert rules.evaluate(renewal, customer(renewal_date=None), state, daily()).code == "no_date"


def test_a_new_renewal_date_is_a_new_episode():
    renewal = default("renewal")
    first = rules.evaluate(renewal, customer(renewal_date=TODAY + timedelta(days=60)), EnrolmentState(), daily())
    next_year = TODAY + timedelta(days=365)
    again = rules.evaluate(
        renewal, customer(renewal_date=next_year + timedelta(days=60)), first.state, daily(next_year)
    )
    assert again.enter and again.episode != first.episode


def test_renewal_dates_given_as_text_work_too():
    decision = rules.evaluate(default("renewal"), customer(renewal_date="2027-01-19"), EnrolmentState(), daily())
    assert decision.enter


# --- sustained: health >= 80 for 30 days with growing usage ---------------------------------------
def healthy_history(days: int, score: float = 85.0) -> dict[date, dict[str, Any]]:
    return {TODAY - timedelta(days=n): {"health_score": score, "health_band": "Healthy"} for n in range(1, days + 1)}


def test_expansion_fires_after_30_days_at_80_or_more_with_growing_usage():
    expansion = default("expansion")
    record = customer(health_score=88.0)
    history = History(health=healthy_history(31), usage_recent=1200, usage_previous=900)

    decision = rules.evaluate(expansion, record, EnrolmentState(), daily(), history)

    assert decision.enter and decision.episode == "sustained-2026-11-20"
    assert "for 31 days" in decision.reason and "usage up 33%" in decision.reason


@pytest.mark.parametrize(
    ("history", "code"),
    [
        (History(health=healthy_history(20), usage_recent=1200, usage_previous=900), "not_yet"),
        (History(health=healthy_history(31), usage_recent=900, usage_previous=900), "usage_flat"),
        (History(health=healthy_history(31)), "no_usage"),
        (History(health={**healthy_history(40), TODAY - timedelta(days=10): {"health_score": 70.0}}), "not_yet"),
    ],
    ids=["too-short", "flat-usage", "no-usage-data", "broken-streak"],
)
def test_expansion_waits_for_the_whole_streak_and_for_growth(history, code):
    decision = rules.evaluate(default("expansion"), customer(health_score=88.0), EnrolmentState(), daily(), history)
    assert not decision.enter and decision.code == code


def test_without_snapshots_the_streak_is_counted_from_the_stored_state():
    expansion = default("expansion")
    state = EnrolmentState(since=TODAY - timedelta(days=30))
    history = History(health={}, usage_recent=10, usage_previous=5)
    assert rules.evaluate(expansion, customer(health_score=90.0), state, daily(), history).enter
    first_seen = rules.evaluate(expansion, customer(health_score=90.0), EnrolmentState(), daily(), history)
    assert not first_seen.enter and first_seen.state.since == TODAY


def test_a_missing_snapshot_day_does_not_break_a_streak():
    history = healthy_history(31)
    del history[TODAY - timedelta(days=15)]
    decision = rules.evaluate(
        default("expansion"),
        customer(health_score=90.0),
        EnrolmentState(),
        daily(),
        History(health=history, usage_recent=2, usage_previous=1),
    )
    assert decision.enter


# --- lifecycle and days after ----------------------------------------------------------------------
def changed(before: str | None, after: str, day: date = TODAY) -> Occurrence:
    change = "created" if before is None else "updated"
    return Occurrence("customer.changed", day, {"change": change, "before_status": before, "after_status": after})


def test_onboarding_starts_for_a_new_active_customer_and_a_converted_trial_but_only_once():
    onboarding = default("onboarding")
    new = rules.evaluate(onboarding, customer(), EnrolmentState(), changed(None, "active"))
    converted = rules.evaluate(onboarding, customer(), EnrolmentState(), changed("trial", "active"))
    again = rules.evaluate(onboarding, customer(), new.state, changed("trial", "active", TODAY + timedelta(days=9)))

    assert new.enter and new.episode == "lifecycle-new-active-2026-11-20"
    assert converted.enter
    assert not again.enter and again.code == "reenrolment_off"
    assert rules.evaluate(onboarding, customer(), EnrolmentState(), changed(None, "trial")).code == "no_match"
    assert rules.evaluate(onboarding, customer(), EnrolmentState(), daily()).code == "waits_for_event"


def test_win_back_enrols_at_churn_and_its_steps_wait_seven_days():
    win_back = default("win_back")
    decision = rules.evaluate(win_back, customer(status="churned"), EnrolmentState(), changed("active", "churned"))
    assert decision.enter and decision.start_on == date(2026, 11, 27) and decision.episode == "churned-2026-11-20"
    steps = rules.plan_steps(win_back.definition, decision.start_on, TODAY)
    assert [s.not_before for s in steps] == [date(2026, 11, 27)] * 2
    assert [s.params["due_date"] for s in steps] == ["2026-11-27", "2026-12-11"]
    assert all(s.params["not_before"] == "2026-11-27" for s in steps)


def test_a_waiting_win_back_acts_only_if_the_customer_is_still_churned():
    win_back = default("win_back")
    assert rules.still_applies(win_back, customer(status="churned"))
    assert not rules.still_applies(win_back, customer(status="active"))


def test_an_update_without_a_status_change_is_no_lifecycle_event():
    occurrence = Occurrence(
        "customer.changed", TODAY, {"change": "updated", "before_status": "active", "after_status": "active"}
    )
    assert rules.status_change(occurrence) is None


# --- domain events -----------------------------------------------------------------------------------
def test_band_changed_trigger_filters_on_the_band_entered_and_the_direction():
    band = playbook(
        {
            "name": "Down to red",
            "trigger": {"type": "event", "event": "health.band_changed", "bands": ["At risk"], "direction": "down"},
            "actions": [TASK],
        }
    )
    down = Occurrence(
        "health.band_changed", TODAY, {"band": "At risk", "previous_band": "Neutral", "score": 40, "previous_score": 55}
    )
    up = Occurrence(
        "health.band_changed", TODAY, {"band": "At risk", "previous_band": "x", "score": 45, "previous_score": 30}
    )
    other = Occurrence("health.band_changed", TODAY, {"band": "Neutral", "score": 55, "previous_score": 75})

    entered = rules.evaluate(band, customer(), EnrolmentState(), down)
    assert entered.enter and entered.episode == "health_band_changed-At_risk-2026-11-20"
    assert rules.evaluate(band, customer(), EnrolmentState(), up).code == "no_match"
    assert rules.evaluate(band, customer(), EnrolmentState(), other).code == "no_match"
    assert rules.evaluate(band, customer(), EnrolmentState(), daily()).code == "waits_for_event"


@pytest.mark.parametrize(
    "detail",
    [{"kind": "sharp_drop"}, {"alert_kind": "sharp_drop"}, {"alert": {"kind": "sharp_drop", "severity": "critical"}}],
)
def test_alert_trigger_reads_the_alert_kind_wherever_the_scorer_puts_it(detail):
    alert = playbook(
        {
            "name": "Sharp drop",
            "trigger": {"type": "event", "event": "health.alert", "alert_kinds": ["sharp_drop"]},
            "actions": [TASK],
        }
    )
    assert rules.evaluate(alert, customer(), EnrolmentState(), Occurrence("health.alert", TODAY, detail)).enter
    misaligned = Occurrence("health.alert", TODAY, {"kind": "misalignment"})
    assert not rules.evaluate(alert, customer(), EnrolmentState(), misaligned).enter


# --- planning, assignees, templates -----------------------------------------------------------------
USERS = [("admin-1", "admin"), ("csm-1", "csm"), ("csm-2", "csm"), ("director-1", "director")]


@pytest.mark.parametrize(
    ("assignee", "expected"),
    [
        ("owner", "csm-1"),
        ("co_owner", "csm-2"),
        ("role:director", "director-1"),
        ("user:admin-1", "admin-1"),
        ("user:ghost", "csm-1"),  # not a user: back to the owner
    ],
)
def test_task_assignee_is_the_owner_a_co_owner_a_role_or_a_user(assignee, expected):
    assert rules.resolve_assignee(assignee, "csm-1", ["csm-2"], USERS) == expected


def test_a_viewer_co_owner_or_named_viewer_is_passed_over_for_someone_who_can_work_the_task():
    users = [*USERS, ("viewer-1", "viewer")]
    assert rules.resolve_assignee("co_owner", "csm-1", ["viewer-1", "csm-2"], users) == "csm-2"
    assert rules.resolve_assignee("co_owner", "csm-1", ["viewer-1"], users) == "csm-1"
    assert rules.resolve_assignee("user:viewer-1", "csm-1", [], users) == "csm-1"  # became a viewer since


def test_a_role_nobody_has_falls_back_to_the_owner_and_no_owner_means_unassigned():
    assert rules.resolve_assignee("role:director", "csm-1", [], [("csm-1", "csm")]) == "csm-1"
    assert rules.resolve_assignee("owner", None, [], USERS) is None


def test_templates_fill_known_values_and_unknown_placeholders_are_refused_at_save():
    text = rules.render(
        "{customer.name} at {customer.health_score} ({customer.health_band})",
        {
            "customer.name": "Initech",
            "customer.health_score": 42.25,
            "customer.health_band": None,
        },
    )
    assert text == "Initech at 42.2 (—)"
    with pytest.raises(ValidationError, match=r"unknown placeholder \{customer\.colour\}"):
        PlaybookDefinition.model_validate(
            {
                "name": "x",
                "trigger": {"type": "condition", "condition": "arr > 1"},
                "actions": [{"type": "slack", "text": "{customer.colour}"}],
            }
        )


def test_slack_message_is_block_kit_with_values_escaped():
    text = rules.render("*{customer.name}* is at risk", {"customer.name": "A<B> & Co"}, escape=rules.slack_escape)
    message = rules.slack_message(
        text, customer_name="A<B> & Co", playbook_name="At-risk", reason="r", facts=["Owner x"]
    )
    assert text == "*A&lt;B&gt; &amp; Co* is at risk"
    assert message["text"].startswith("A<B> & Co:")
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "context", "context"]
    assert message["blocks"][1]["text"] == {"type": "mrkdwn", "text": text}


@pytest.mark.parametrize(
    ("url", "loopback", "ok"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", False, True),
        ("http://hooks.slack.com/services/T000/B000/XXXX", False, False),
        ("https://hooks.slack.com.evil.test/services/T/B/X", False, False),
        ("https://user:pw@hooks.slack.com/services/T/B/X", False, False),
        ("https://hooks.slack.com/api/chat", False, False),
        ("http://127.0.0.1:8123/slack", False, False),
        ("http://127.0.0.1:8123/slack", True, True),
    ],
)
def test_slack_webhook_url_must_be_slack_or_a_local_stand_in(url, loopback, ok):
    if ok:
        assert rules.check_slack_webhook_url(url, allow_loopback=loopback) == url
    else:
        with pytest.raises(InvalidInput) as error:
            rules.check_slack_webhook_url(url, allow_loopback=loopback)
        assert error.value.details[0]["field"] == "webhook_url"


def test_update_field_actions_take_tags_or_custom_fields():
    ok = rules.UpdateFieldAction(type="update_field", field="tags", operation="add", value="sales_handoff")
    assert ok.value == "sales_handoff"
    with pytest.raises(ValidationError):
        rules.UpdateFieldAction(type="update_field", field="tags", operation="set", value="x")
    with pytest.raises(ValidationError):
        rules.UpdateFieldAction(type="update_field", field="custom.stage", operation="add", value="x")
    with pytest.raises(ValidationError):
        rules.UpdateFieldAction(type="update_field", field="status", operation="set", value="churned")


# --- identities and defaults ------------------------------------------------------------------------
def test_run_and_task_ids_are_derived_so_retries_address_the_same_items():
    run = rules.run_id("ws_acme", "pb_1", "cus_1", "entered-2026-11-20")
    assert run == rules.run_id("ws_acme", "pb_1", "cus_1", "entered-2026-11-20")
    assert run != rules.run_id("ws_acme", "pb_1", "cus_1", "entered-2026-11-21")
    assert rules.step_task_id(run, 0) == rules.step_task_id(run, 0) != rules.step_task_id(run, 1)
    assert rules.episode_key("health.alert", "sharp drop#1", "2026-11-20") == "health_alert-sharp_drop_1-2026-11-20"


def test_the_five_default_playbooks_are_valid_and_named_as_the_product_says():
    defaults = rules.default_playbooks()
    assert [k for k, _ in defaults] == list(rules.DEFAULT_KEYS)
    assert [d.name for _, d in defaults] == ["At-risk", "Renewal", "Expansion", "Onboarding", "Win-back"]
    for _, definition in defaults:
        playbook(definition)  # every condition compiles against the standard fields
    at_risk = dict(defaults)["at_risk"]
    assert [a.type for a in at_risk.actions] == ["task", "slack"]
    assert rules.describe_trigger(dict(defaults)["renewal"]) == "60 days before renewal_date"
    assert rules.describe_trigger(dict(defaults)["win_back"]) == "7 days after the status becomes churned"


def test_a_state_round_trips_through_replace():
    state = EnrolmentState(active=True, since=TODAY, last_enrolled_on=TODAY, enrolments=1, last_episode="e")
    assert replace(state, active=False).since == TODAY
