"""Success plans through the real API handler and the scorer on moto: capabilities and blueprints
(admins and directors), a customer's plan (its CSM), applying a blueprint, outcomes, and what scoring
does — capability adoption, objectives met, risk signals raised once."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from keepwell.adapters.event_bus import DomainEvent
from keepwell.auth import Caller
from keepwell.domain.health.signals import UsageDay
from keepwell.schemas.messages import ScoringRequest
from keepwell.services import scoring_jobs
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import add_customer

TODAY = date(2026, 11, 20)  # the frozen clock


BLUEPRINT = {
    "name": "Onboarding",
    "journey_phase": "onboarding",
    "objectives": [
        {
            "title": "Reporting live",
            "metric": "capabilities_adopted",
            "baseline": 0,
            "target": 1,
            "due_days": 45,
            "shared": True,
            "initiatives": [
                {
                    "title": "Kick-off",
                    "due_days": 7,
                    "shared": True,
                    "tasks": [
                        {"title": "Send the agenda", "due_days": 2},
                        {"title": "Hold the kick-off", "due_days": 7},
                    ],
                }
            ],
        }
    ],
}
REPORTING = {"key": "reporting", "name": "Automated reporting", "product": "Analytics", "features": ["report_exported"]}


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.body
    return dict(response.body)


def customer(api: ApiClient, name: str, owner: str = "csm-1") -> str:
    return str(ok(api.post("/v1/customers", {"name": name, "owner_id": owner}), 201)["customer_id"])


def score(workspace: str, customer_id: str, day: date = TODAY) -> None:
    request = ScoringRequest(workspace_id=workspace, customer_id=customer_id, reason="manual", scoring_day=day)
    assert scoring_jobs.score_customer(request) in ("scored", "unchanged")


def usage(days_ago: list[int], feature: str = "report_exported") -> list[UsageDay]:
    days = sorted(TODAY - timedelta(days=n) for n in range(40))
    used = {TODAY - timedelta(days=n) for n in days_ago}
    return [
        UsageDay(day=d, logins=2, users=frozenset({"u1"}), features=frozenset({feature} if d in used else {"login"}))
        for d in days
    ]


# --- capabilities ---------------------------------------------------------------------------------
def test_a_director_defines_a_capability_and_bad_input_names_its_field(director: ApiClient, csm1: ApiClient) -> None:
    created = ok(director.post("/v1/capabilities", REPORTING), 201)
    assert (created["threshold_days"], created["window_days"], created["version"]) == (3, 30, 1)

    bad = director.post("/v1/capabilities", {**REPORTING, "key": "Bad Key"})
    assert bad.status == 400 and bad.body["error"]["details"][0]["field"] == "key"
    too_many = director.post("/v1/capabilities", {**REPORTING, "key": "other", "threshold_days": 10, "window_days": 7})
    assert too_many.status == 400 and too_many.body["error"]["details"][0]["field"] == "threshold_days"
    assert director.post("/v1/capabilities", REPORTING).status == 409  # the key is taken
    assert csm1.post("/v1/capabilities", {**REPORTING, "key": "csm"}).status == 403

    path = f"/v1/capabilities/{created['capability_id']}"
    assert ok(director.patch(path, {"threshold_days": 5, "version": 1}))["version"] == 2
    stale = director.patch(path, {"threshold_days": 6, "version": 1})
    assert stale.status == 409 and stale.body["error"]["code"] == "version_conflict"
    assert [c["key"] for c in ok(csm1.get("/v1/capabilities"))["items"]] == ["reporting"]
    assert director.delete(path).status == 204
    assert director.get(path).status == 404


def test_usage_that_crosses_the_threshold_marks_the_capability_adopted_at_the_next_scoring(
    admin_api: ApiClient, csm1: ApiClient, workspace: str
) -> None:
    ok(admin_api.post("/v1/capabilities", REPORTING), 201)
    add_customer(workspace, "cus_rep", usage=usage([3, 9]))  # twice in 30 days: not yet
    score(workspace, "cus_rep", TODAY - timedelta(days=1))
    (before,) = ok(csm1.get("/v1/customers/cus_rep/capabilities"))["items"]
    assert (before["state"], before["used_days"]) == ("not_yet", 2)

    add_customer(workspace, "cus_rep", usage=usage([0, 3, 9]))  # a third day today
    score(workspace, "cus_rep")
    (after,) = ok(csm1.get("/v1/customers/cus_rep/capabilities"))["items"]
    assert (after["state"], after["since"], after["used_days"]) == ("adopted", TODAY.isoformat(), 3)

    # ...and segments (hence playbook conditions, the same record) can use it
    segment = ok(
        admin_api.post("/v1/segments", {"name": "Reporting users", "condition": 'capability.reporting = "adopted"'}),
        201,
    )
    members = ok(admin_api.get(f"/v1/segments/{segment['segment_id']}/members"))["items"]
    assert [m["customer_id"] for m in members] == ["cus_rep"]


def test_a_lapsed_capability_raises_a_red_flag_and_an_alert_once(
    admin_api: ApiClient, workspace: str, published: list[DomainEvent]
) -> None:
    ok(admin_api.post("/v1/capabilities", REPORTING), 201)
    add_customer(workspace, "cus_lap", usage=usage([30, 31, 32]))
    score(workspace, "cus_lap", TODAY - timedelta(days=5))  # 3 uses in the 30 days then: adopted
    score(workspace, "cus_lap", TODAY - timedelta(days=2))  # 32 days ago left the window: lapsed
    score(workspace, "cus_lap", TODAY)

    lapses = [e for e in published if e.detail_type == "health.alert" and e.detail["alert_kind"] == "capability_lapsed"]
    assert len(lapses) == 1
    assert lapses[0].detail["details"]["used_days"] == 2
    (flag,) = [f for f in ok(admin_api.get("/v1/customers/cus_lap/flags"))["red"] if f["code"] == "capability_lapsed"]
    assert flag["title"] == "Capability lapsed: Automated reporting"


# --- blueprints -------------------------------------------------------------------------------------
def test_blueprints_are_versioned_and_only_admins_and_directors_edit_them(
    director: ApiClient, csm1: ApiClient, viewer: ApiClient
) -> None:
    created = ok(director.post("/v1/blueprints", BLUEPRINT), 201)
    path = f"/v1/blueprints/{created['blueprint_id']}"
    changed = ok(director.patch(path, {"description": "The first 60 days", "version": 1}))
    assert changed["version"] == 2
    assert director.patch(path, {"description": "x", "version": 1}).status == 409
    assert [v["version"] for v in ok(viewer.get(path + "/versions"))["items"]] == [1, 2]
    assert csm1.patch(path, {"description": "mine"}).status == 403
    no_target = director.post("/v1/blueprints", {"name": "Vague", "objectives": [{"title": "Better", "metric": "arr"}]})
    assert no_target.status == 400 and "objectives" in no_target.body["error"]["details"][0]["field"]


# --- plans ------------------------------------------------------------------------------------------
def test_a_blueprint_applied_to_a_customer_creates_objectives_initiatives_and_tasks_due_from_the_start(
    admin_api: ApiClient, csm1: ApiClient
) -> None:
    blueprint_id = ok(admin_api.post("/v1/blueprints", BLUEPRINT), 201)["blueprint_id"]
    cid = customer(admin_api, "Globex")
    plan = ok(
        csm1.post(
            f"/v1/customers/{cid}/success-plan/apply", {"blueprint_id": blueprint_id, "start_date": "2026-11-02"}
        ),
        201,
    )

    (objective,) = plan["objectives"]
    assert (objective["title"], objective["due_date"], objective["target"]) == ("Reporting live", "2026-12-17", 1.0)
    (initiative,) = objective["initiatives"]
    assert (initiative["due_date"], initiative["owner_id"]) == ("2026-11-09", "csm-1")
    tasks = [ok(csm1.get(f"/v1/tasks/{t}")) for t in initiative["task_ids"]]
    assert [(t["title"], t["due_date"], t["customer_id"]) for t in tasks] == [
        ("Send the agenda", "2026-11-04", cid),
        ("Hold the kick-off", "2026-11-09", cid),
    ]
    assert plan["overdue"] == [initiative["initiative_id"]]  # due 2026-11-09, today is 2026-11-20
    audit = ok(admin_api.get("/v1/audit", target=f"success_plan:{cid}"))["items"]
    assert [a["action"] for a in audit] == ["success_plan.applied"]


def test_a_plan_is_the_portfolios_business_other_customers_read_as_not_found(
    admin_api: ApiClient, csm1: ApiClient, viewer: ApiClient, workspace: str
) -> None:
    theirs = customer(admin_api, "Theirs", owner="csm-2")
    body = {"name": "Plan", "start_date": "2026-11-01", "objectives": []}
    assert csm1.request("PUT", f"/v1/customers/{theirs}/success-plan", body=body).status == 404
    assert csm1.get(f"/v1/customers/{theirs}/success-plan").status == 404
    mine = customer(admin_api, "Mine")
    assert viewer.request("PUT", f"/v1/customers/{mine}/success-plan", body=body).status == 403
    created = ok(csm1.request("PUT", f"/v1/customers/{mine}/success-plan", body=body))
    assert created["version"] == 1
    again = csm1.request("PUT", f"/v1/customers/{mine}/success-plan", body=body)
    assert again.status == 400 and again.body["error"]["details"][0]["field"] == "version"
    assert csm1.request("PUT", f"/v1/customers/{mine}/success-plan", body={**body, "version": 7}).status == 409


def test_an_initiative_links_only_its_customers_tasks_any_other_id_reads_alike_and_nothing_is_saved(
    admin_api: ApiClient, csm1: ApiClient, other_admin_api: ApiClient
) -> None:
    mine, also_mine = customer(admin_api, "Mine"), customer(admin_api, "Also mine")
    theirs = customer(admin_api, "Theirs", owner="csm-2")
    ours = ok(csm1.post("/v1/tasks", {"title": "Kick-off call", "customer_id": mine}), 201)["task_id"]
    elsewhere = {
        "unknown": "tsk_0000000000000000",
        "another customer of the book": ok(csm1.post("/v1/tasks", {"title": "x", "customer_id": also_mine}), 201),
        "outside the book": ok(admin_api.post("/v1/tasks", {"title": "x", "customer_id": theirs}), 201),
        "of no customer": ok(csm1.post("/v1/tasks", {"title": "x"}), 201),
        "another workspace's": ok(other_admin_api.post("/v1/tasks", {"title": "x"}), 201),
    }
    path = f"/v1/customers/{mine}/success-plan"

    def plan(*task_ids: str) -> dict[str, Any]:
        initiative = {"title": "Kick-off", "due_date": "2027-01-01", "task_ids": list(task_ids)}
        return {"name": "Plan", "start_date": "2026-11-01", "objectives": [
            {"title": "Live", "due_date": "2027-01-01", "initiatives": [initiative]}]}  # fmt: skip

    for what, task in elsewhere.items():
        task_id = task if isinstance(task, str) else task["task_id"]
        refused = csm1.request("PUT", path, body=plan(ours, task_id))
        assert (refused.status, refused.body) == (400, {"error": {
            "code": "validation_error",
            "message": "Invalid body: check objectives.0.initiatives.0.task_ids.1",
            "details": [{"field": "objectives.0.initiatives.0.task_ids.1",
                         "issue": f"{task_id} is not a task of this customer"}],
        }}), what  # fmt: skip
    assert csm1.get(path).status == 404  # no plan was saved
    saved = ok(csm1.request("PUT", path, body=plan(ours)))
    assert saved["objectives"][0]["initiatives"][0]["task_ids"] == [ours]


def hand_plan(api: ApiClient, cid: str, **objective: Any) -> dict[str, Any]:
    body = {
        "name": "Value plan",
        "start_date": "2026-09-01",
        "objectives": [{"title": "Grow seats", "due_date": "2027-03-01", **objective}],
    }
    return ok(api.request("PUT", f"/v1/customers/{cid}/success-plan", body=body))


def test_an_outcome_meeting_the_target_achieves_the_objective_with_a_timeline_item(
    admin_api: ApiClient, csm1: ApiClient
) -> None:
    cid = customer(admin_api, "Initech")
    plan = hand_plan(csm1, cid, metric="custom.seats_used", baseline=10, target=20)
    objective_id = plan["objectives"][0]["objective_id"]
    path = f"/v1/customers/{cid}/success-plan/objectives/{objective_id}"

    below = ok(csm1.post(path + "/outcomes", {"value": 15, "note": "half way"}), 201)
    assert below["objectives"][0]["status"] == "open"
    met = ok(csm1.post(path + "/outcomes", {"value": 21, "version": below["version"]}), 201)
    assert (met["objectives"][0]["status"], met["objectives"][0]["achieved_on"]) == ("achieved", TODAY.isoformat())
    titles = [i["title"] for i in ok(csm1.get(f"/v1/customers/{cid}/timeline"))["items"]]
    assert "Objective achieved: Grow seats" in titles and "Outcome recorded: Grow seats" in titles
    empty = csm1.post(path + "/outcomes", {})
    assert empty.status == 400 and empty.body["error"]["details"][0]["field"] == "value"


def test_an_objective_is_achieved_by_hand_with_a_reason_that_is_audited(admin_api: ApiClient, csm1: ApiClient) -> None:
    cid = customer(admin_api, "Umbrella")
    objective_id = hand_plan(csm1, cid)["objectives"][0]["objective_id"]
    path = f"/v1/customers/{cid}/success-plan/objectives/{objective_id}/achieve"
    assert csm1.post(path, {}).body["error"]["details"][0]["field"] == "reason"
    done = ok(csm1.post(path, {"reason": "Signed off in the QBR"}))
    assert done["objectives"][0]["achieved_reason"] == "Signed off in the QBR"
    (entry,) = ok(admin_api.get("/v1/audit", target=f"success_plan:{cid}", action="success_plan.objective_achieved"))[
        "items"
    ]
    assert entry["reason"] == "Signed off in the QBR"


def test_scoring_achieves_an_objective_whose_metric_meets_the_target(admin_api: ApiClient, workspace: str) -> None:
    add_customer(workspace, "cus_seats")  # 10 seats
    body = {
        "name": "Value plan",
        "start_date": "2026-09-01",
        "objectives": [
            {"title": "Grow seats", "due_date": "2027-03-01", "metric": "seats", "baseline": 5, "target": 10},
            # the score computed by this very scoring counts (the profile had none before)
            {"title": "Healthy", "due_date": "2027-03-01", "metric": "health_score", "baseline": 0, "target": 1},
        ],
    }
    ok(admin_api.request("PUT", "/v1/customers/cus_seats/success-plan", body=body))
    score(workspace, "cus_seats")
    objective, healthy = ok(admin_api.get("/v1/customers/cus_seats/success-plan"))["objectives"]
    assert healthy["status"] == "achieved"
    assert (objective["status"], objective["outcomes"][0]["value"], objective["outcomes"][0]["source"]) == (
        "achieved",
        10.0,
        "scoring",
    )


def test_a_missed_milestone_raises_its_flag_once_not_every_day(
    admin_api: ApiClient, workspace: str, published: list[DomainEvent]
) -> None:
    add_customer(workspace, "cus_late")
    body = {
        "name": "Plan",
        "start_date": "2026-09-01",
        "objectives": [{"title": "Go live", "due_date": "2026-11-18"}],
    }
    ok(admin_api.request("PUT", "/v1/customers/cus_late/success-plan", body=body))
    for day in (TODAY - timedelta(days=1), TODAY, TODAY):
        score(workspace, "cus_late", day)

    missed = [e for e in published if e.detail_type == "health.alert" and e.detail["alert_kind"] == "milestone_overdue"]
    assert len(missed) == 1
    assert missed[0].detail["details"]["due_date"] == "2026-11-18"
    red = ok(admin_api.get("/v1/customers/cus_late/flags"))["red"]
    assert [f["title"] for f in red if f["code"] == "milestone_overdue"] == ["Milestone missed: Go live"]
    titles = [i["title"] for i in ok(admin_api.get("/v1/customers/cus_late/timeline"))["items"]]
    assert titles.count("Milestone missed: Go live") == 1
    # with the score, the flag reaches the profile and the owner's My day
    from tests.integration.test_playbooks_runs import playbooks_handler, scored

    playbooks_handler(scored(workspace, "cus_late"))
    profile = ok(admin_api.get("/v1/customers/cus_late"))
    assert "milestone_overdue" in [f["code"] for f in profile["red_flags"]]
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    (attention,) = [c for c in ok(csm.get("/v1/my-day"))["customers"] if c["customer_id"] == "cus_late"]
    assert "Milestone missed: Go live" in attention["red_flags"]

    # achieved by hand: the flag is gone
    objective_id = ok(admin_api.get("/v1/customers/cus_late/success-plan"))["objectives"][0]["objective_id"]
    ok(admin_api.post(f"/v1/customers/cus_late/success-plan/objectives/{objective_id}/achieve", {"reason": "Live"}))
    assert [
        f for f in ok(admin_api.get("/v1/customers/cus_late/flags"))["red"] if f["code"] == "milestone_overdue"
    ] == []


# --- share links ------------------------------------------------------------------------------------
def test_a_shared_link_shows_only_shared_milestones_without_a_login_and_dies_on_revoke(
    admin_api: ApiClient, csm1: ApiClient, frozen_clock: Any
) -> None:
    blueprint_id = ok(admin_api.post("/v1/blueprints", BLUEPRINT), 201)["blueprint_id"]
    cid = customer(admin_api, "Hooli")
    plan = ok(csm1.post(f"/v1/customers/{cid}/success-plan/apply", {"blueprint_id": blueprint_id}), 201)
    internal = {
        "title": "Internal: expansion angle",
        "due_date": "2027-01-10",
        "initiatives": [{"title": "Sound out the CFO", "due_date": "2026-12-01"}],
    }
    objectives = [
        {
            k: v
            for k, v in o.items()
            if k in ("objective_id", "title", "metric", "baseline", "target", "due_date", "shared")
        }
        | {"initiatives": o["initiatives"]}
        for o in plan["objectives"]
    ]
    body = {"name": plan["name"], "start_date": plan["start_date"], "objectives": [*objectives, internal], "version": 1}
    ok(csm1.request("PUT", f"/v1/customers/{cid}/success-plan", body=body))

    share = ok(csm1.post(f"/v1/customers/{cid}/success-plan/shares", {"expires_in_days": 14}), 201)
    assert cid not in share["path"] and "ws_acme" not in share["path"]  # the link carries no workspace data
    anonymous = ApiClient(None)
    seen = ok(anonymous.get(share["path"]))
    assert seen["customer_name"] == "Hooli"
    assert seen["objectives"] == [
        {
            "title": "Reporting live",
            "due_date": "2027-01-04",
            "status": "open",
            "initiatives": [{"title": "Kick-off", "due_date": "2026-11-27", "status": "not_started"}],
        }
    ]
    text = str(seen)
    assert "Internal" not in text and "Sound out" not in text and "csm-1" not in text

    assert [s["share_id"] for s in ok(csm1.get(f"/v1/customers/{cid}/success-plan/shares"))["items"]] == [
        share["share_id"]
    ]
    assert csm1.delete(f"/v1/customers/{cid}/success-plan/shares/{share['share_id']}").status == 204
    assert anonymous.get(share["path"]).status == 404
    assert anonymous.get("/v1/shared/plans/not-a-token").status == 404


def test_an_expired_share_link_answers_404(admin_api: ApiClient, csm1: ApiClient) -> None:
    from keepwell import clock

    cid = customer(admin_api, "Pied Piper")
    hand_plan(csm1, cid)
    share = ok(csm1.post(f"/v1/customers/{cid}/success-plan/shares", {"expires_in_days": 1}), 201)
    anonymous = ApiClient(None)
    assert anonymous.get(share["path"]).status == 200
    with clock.frozen(clock.now() + timedelta(days=1, seconds=1)):
        assert anonymous.get(share["path"]).status == 404
    theirs = customer(admin_api, "Theirs", owner="csm-2")
    hand_plan(admin_api, theirs)
    assert csm1.post(f"/v1/customers/{theirs}/success-plan/shares", {}).status == 404


# --- the onboarding playbook ----------------------------------------------------------------------
def test_the_default_onboarding_playbook_gives_a_new_customer_the_onboarding_plan_once(
    admin_api: ApiClient, csm1: ApiClient, workspace: str
) -> None:
    from tests.integration.test_playbooks_runs import create_customer, customer_events, deliver, drain

    inbox = customer_events()
    cid = create_customer(admin_api, name="Fresh Co")
    deliver(inbox)
    drain()

    plan = ok(csm1.get(f"/v1/customers/{cid}/success-plan"))
    assert (plan["name"], plan["start_date"], plan["blueprint_id"]) == (
        "Onboarding",
        TODAY.isoformat(),
        "bpr_default_onboarding",
    )
    assert [o["title"] for o in plan["objectives"]] == ["Live on the product", "First value proven"]
    kickoff = plan["objectives"][0]["initiatives"][0]
    assert [ok(csm1.get(f"/v1/tasks/{t}"))["title"] for t in kickoff["task_ids"]] == [
        "Send the kick-off agenda",
        "Hold the kick-off call",
    ]
    # the blueprint is now the workspace's own, listed and editable
    assert [b["name"] for b in ok(csm1.get("/v1/blueprints"))["items"]] == ["Onboarding"]


# --- the demo ------------------------------------------------------------------------------------------
def test_the_demo_workspace_has_capabilities_and_plans_in_various_states(aws: Any) -> None:
    from infra.seed import seed_demo
    from keepwell.storage import success_plans as plan_store

    seeded = seed_demo(TODAY, customers=12, other_customers=1)
    demo = ApiClient(Caller("ws_demo", "usr_admin", "admin"))
    assert len(ok(demo.get("/v1/capabilities"))["items"]) == 5
    assert [b["name"] for b in ok(demo.get("/v1/blueprints"))["items"]] == ["Onboarding"]
    plans = {
        c.customer.customer_id: plan_store.get_plan("ws_demo", c.customer.customer_id)
        for c in seeded.data.demo.customers
    }
    stored = [p for p in plans.values() if p is not None]
    assert len(stored) == 5
    statuses = sorted(o.status for p in stored for o in p.plan.objectives)
    assert statuses.count("achieved") == 2 and statuses.count("open") == 7
    assert any(o.outcomes for p in stored for o in p.plan.objectives)
    overdue = [
        cid
        for cid, p in plans.items()
        if p is not None and ok(demo.get(f"/v1/customers/{cid}/success-plan"))["overdue"]
    ]
    assert len(overdue) >= 2  # the 12-day-old kick-off and the older plans' missed milestones
    shared = [
        cid
        for cid in plans
        if plans[cid] is not None and ok(demo.get(f"/v1/customers/{cid}/success-plan/shares"))["items"]
    ]
    assert len(shared) == 1


# --- engagements ----------------------------------------------------------------------------------
def test_a_journey_phase_opened_by_hand_closes_the_current_one_and_is_audited(
    admin_api: ApiClient, csm1: ApiClient, viewer: ApiClient
) -> None:
    cid = customer(admin_api, "Soylent")
    path = f"/v1/customers/{cid}/engagement"
    assert ok(csm1.get(path)) == {"customer_id": cid, "current": None, "history": [], "version": 0}
    first = ok(csm1.post(path, {"phase": "adoption", "started_on": "2026-10-01", "products": ["Analytics"]}))
    assert first["current"]["phase"] == "adoption" and first["version"] == 1
    bad = csm1.post(path, {"phase": "Not A Phase"})
    assert bad.status == 400 and bad.body["error"]["details"][0]["field"] == "phase"
    assert csm1.post(path, {"phase": "expansion", "version": 7}).status == 409
    second = ok(csm1.post(path, {"phase": "expansion", "version": 1}))
    assert second["current"]["phase"] == "expansion"
    assert [(e["phase"], e["started_on"], e["ended_on"]) for e in second["history"]] == [
        ("adoption", "2026-10-01", TODAY.isoformat())
    ]
    assert viewer.post(path + "/close", {}).status == 403
    closed = ok(csm1.post(path + "/close", {}))
    assert closed["current"] is None and len(closed["history"]) == 2
    actions = [a["action"] for a in ok(admin_api.get("/v1/audit", target=f"engagement:{cid}"))["items"]]
    assert sorted(actions) == ["engagement.closed", "engagement.opened", "engagement.opened"]
    theirs = customer(admin_api, "Theirs", owner="csm-2")
    assert csm1.get(f"/v1/customers/{theirs}/engagement").status == 404


def test_the_onboarding_playbook_opens_the_onboarding_engagement_and_the_renewal_step_moves_it_to_renewal(
    admin_api: ApiClient, csm1: ApiClient, workspace: str
) -> None:
    from tests.integration.test_playbooks_runs import create_customer, customer_events, deliver, drain

    inbox = customer_events()
    cid = create_customer(admin_api, name="Journey Co")
    deliver(inbox)
    drain()
    engagement = ok(csm1.get(f"/v1/customers/{cid}/engagement"))
    assert (engagement["current"]["phase"], engagement["current"]["plan_name"]) == ("onboarding", None)
    assert engagement["current"]["opened_by"] == "playbook:pb_default_onboarding"

    from keepwell.services import success_plans
    from keepwell.storage.customers import get_customer

    found = get_customer(workspace, cid)
    assert found is not None
    # what a renewal playbook's {"type": "engagement", "phase": "renewal"} step does
    assert success_plans.engagement_for_playbook(workspace, found, "pb_default_renewal", "renewal", "open")
    assert not success_plans.engagement_for_playbook(workspace, found, "pb_default_renewal", "renewal", "open")
    moved = ok(csm1.get(f"/v1/customers/{cid}/engagement"))
    assert moved["current"]["phase"] == "renewal"
    assert [e["phase"] for e in moved["history"]] == ["onboarding"]
