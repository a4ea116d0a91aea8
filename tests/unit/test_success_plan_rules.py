"""Success plans' pure rules: applying a blueprint, capability usage, outcomes and milestones."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest
from pydantic import ValidationError

from keepwell.domain import capabilities as caps
from keepwell.domain import success_plans as plans
from keepwell.domain.health.signals import UsageDay

START = date(2026, 11, 1)


def id_maker():  # type: ignore[no-untyped-def]
    numbers = count(1)
    return lambda prefix: f"{prefix}_{next(numbers)}"


def onboarding() -> plans.BlueprintDefinition:
    return plans.BlueprintDefinition.model_validate(
        {
            "name": "Onboarding",
            "objectives": [
                {
                    "title": "Go live",
                    "metric": "capabilities_adopted",
                    "baseline": 0,
                    "target": 2,
                    "due_days": 60,
                    "shared": True,
                    "initiatives": [
                        {
                            "title": "Kick-off",
                            "due_days": 7,
                            "shared": True,
                            "tasks": [
                                {"title": "Send agenda", "due_days": 2},
                                {"title": "Run kick-off", "due_days": 7},
                            ],
                        },
                        {"title": "Internal risk review", "due_days": 30},
                    ],
                }
            ],
        }
    )


def test_an_applied_blueprint_dates_objectives_initiatives_and_tasks_from_the_start() -> None:
    plan, tasks = plans.apply_blueprint(
        onboarding(), customer_id="cus_1", start=START, owner_id="csm-1", new_id=id_maker(), blueprint_id="bpr_1"
    )

    (objective,) = plan.objectives
    assert objective.due_date == START + timedelta(days=60)
    assert [(i.title, i.due_date, i.owner_id) for i in objective.initiatives] == [
        ("Kick-off", date(2026, 11, 8), "csm-1"),
        ("Internal risk review", date(2026, 12, 1), "csm-1"),
    ]
    assert [(t.title, t.due_date) for t in tasks] == [
        ("Send agenda", date(2026, 11, 3)),
        ("Run kick-off", START + timedelta(days=7)),
    ]
    assert objective.initiatives[0].task_ids == [t.task_id for t in tasks]


def test_a_metric_without_a_target_is_rejected() -> None:
    with pytest.raises(ValidationError, match="metric and target go together"):
        plans.BlueprintObjective.model_validate({"title": "Vague", "metric": "arr"})


def usage(days_with_feature: list[int], today: date, feature: str = "report_exported") -> list[UsageDay]:
    return [UsageDay(day=today - timedelta(days=n), features=frozenset({feature})) for n in days_with_feature]


REPORTING = caps.Capability("cap_1", "reporting", "Automated reporting", "Analytics", ("report_exported",), 3, 30)


def test_usage_crossing_the_threshold_adopts_a_capability_and_falling_below_lapses_it_with_the_day() -> None:
    today = date(2026, 11, 20)
    first = caps.usage_of(REPORTING, usage([1, 5], today), today, None)
    assert (first.state, first.since, first.used_days) == ("not_yet", None, 2)

    adopted = caps.usage_of(REPORTING, usage([0, 1, 5], today), today, first)
    assert (adopted.state, adopted.since) == ("adopted", today)

    later = today + timedelta(days=20)
    still = caps.usage_of(REPORTING, usage([0, 1, 5], today), later, adopted)
    assert (still.state, still.since) == ("adopted", today)  # 3 uses still inside the 30 days

    gone = today + timedelta(days=28)
    lapsed = caps.usage_of(REPORTING, usage([0, 1, 5], today), gone, still)
    assert (lapsed.state, lapsed.since, lapsed.used_days) == ("lapsed", gone, 2)
    assert caps.newly_lapsed({"reporting": still}, {"reporting": lapsed}) == ["reporting"]
    assert caps.newly_lapsed({"reporting": lapsed}, {"reporting": lapsed}) == []


def test_other_features_do_not_count_towards_a_capability() -> None:
    today = date(2026, 11, 20)
    found = caps.usage_of(REPORTING, usage([0, 1, 2, 3], today, feature="dashboard_viewed"), today, None)
    assert found.state == "not_yet"


def test_capability_usage_reaches_the_condition_record() -> None:
    record = caps.condition_record(
        {"reporting": caps.CapabilityUsage("adopted", START), "sso": caps.CapabilityUsage("lapsed", START)}
    )
    assert record == {
        "capability.reporting": "adopted",
        "capability.sso": "lapsed",
        "capabilities_adopted": 1,
        "capabilities_lapsed": 1,
    }


def test_an_outcome_meeting_the_target_achieves_the_objective_and_one_below_does_not() -> None:
    plan, _ = plans.apply_blueprint(onboarding(), customer_id="c", start=START, owner_id=None, new_id=id_maker())
    objective = plan.objectives[0]
    below = plans.record_outcome(objective, plans.Outcome(outcome_id="o1", recorded_on=START, value=1))
    assert below.status == "open" and len(below.outcomes) == 1
    met = plans.record_outcome(below, plans.Outcome(outcome_id="o2", recorded_on=date(2026, 11, 9), value=2))
    assert (met.status, met.achieved_on) == ("achieved", date(2026, 11, 9))


def test_a_reduction_target_is_met_at_or_under_it() -> None:
    objective = plans.Objective(
        objective_id="o", title="Cut tickets", metric="custom.tickets", baseline=20, target=16, due_date=START
    )
    assert plans.meets_target(objective, 16) and plans.meets_target(objective, 3)
    assert not plans.meets_target(objective, 17)


def test_at_scoring_an_objective_whose_metric_meets_the_target_is_achieved_with_an_outcome() -> None:
    plan, _ = plans.apply_blueprint(onboarding(), customer_id="c", start=START, owner_id=None, new_id=id_maker())
    after, achieved = plans.achieve_from_record(plan, {"capabilities_adopted": 2}, date(2026, 11, 20), id_maker())
    assert [a.value for a in achieved] == [2.0]
    assert after.objectives[0].status == "achieved"
    assert after.objectives[0].outcomes[0].source == "scoring"
    again, none = plans.achieve_from_record(after, {"capabilities_adopted": 3}, date(2026, 11, 21), id_maker())
    assert none == [] and again == after


def test_overdue_milestones_are_objectives_and_initiatives_past_due_and_not_done() -> None:
    plan, _ = plans.apply_blueprint(onboarding(), customer_id="c", start=START, owner_id=None, new_id=id_maker())
    found = plans.overdue_milestones(plan, date(2026, 11, 10))
    assert [(m.kind, m.title, m.days_overdue) for m in found] == [("initiative", "Kick-off", 2)]
    done = plan.objectives[0].initiatives[0].model_copy(update={"status": "done"})
    objective = plan.objectives[0].model_copy(update={"initiatives": [done, *plan.objectives[0].initiatives[1:]]})
    assert plans.overdue_milestones(plans.replace_objective(plan, objective), date(2026, 11, 10)) == []


def test_the_shared_view_holds_only_what_is_marked_shared() -> None:
    plan, _ = plans.apply_blueprint(onboarding(), customer_id="c", start=START, owner_id="csm-1", new_id=id_maker())
    view = plans.shared_view(plan)
    assert view["objectives"] == [
        {
            "title": "Go live",
            "due_date": "2026-12-31",
            "status": "open",
            "initiatives": [{"title": "Kick-off", "due_date": "2026-11-08", "status": "not_started"}],
        }
    ]
    assert "csm-1" not in str(view) and "Internal risk review" not in str(view)
