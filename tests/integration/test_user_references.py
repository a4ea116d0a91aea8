"""A user named in a body — an owner, co-owner, assignee or account executive, at any depth of the body —
is checked the same way on every route: someone who is not an active user of this workspace (unknown,
deactivated, or another workspace's) is a 400 naming the field, worded alike everywhere and the same for
all three; someone given work (a task, an initiative, a playbook task step, a customer to own) cannot be
a viewer, who changes nothing. A refused request writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from keepwell import api_contract
from keepwell.auth import Caller
from keepwell.storage import workspaces
from tests.conftest import ApiClient
from tests.rbac_routes import table_items

UNKNOWN = "usr_nobody"
BAD_USERS = {"unknown": UNKNOWN, "deactivated": "gone-1", "another workspace's": "admin-9"}


@dataclass(frozen=True)
class UserField:
    route: str
    field: str  # as the 400 names it
    works: bool  # the user is given work: a viewer is refused too
    send: Callable[[dict[str, ApiClient], dict[str, str], str], Any]


def _plan(owner_id: str) -> dict[str, Any]:
    initiative = {"title": "Kick-off", "due_date": "2027-01-01", "owner_id": owner_id}
    objective = {"title": "Live", "due_date": "2027-01-01", "initiatives": [initiative]}
    return {"name": "Plan", "start_date": "2026-11-01", "objectives": [objective]}


def _task_step(user_id: str) -> list[dict[str, Any]]:
    return [{"type": "task", "title": "Call", "assignee": f"user:{user_id}"}]


PLAYBOOK = {"name": "Refs", "trigger": {"type": "condition", "condition": "health_score < 50"}}

FIELDS = (
    UserField("POST /v1/tasks", "owner_id", True,
              lambda a, s, u: a["csm"].post("/v1/tasks", {"title": "Call", "customer_id": s["customer"],
                                                          "owner_id": u})),
    UserField("PATCH /v1/tasks/{task_id}", "owner_id", True,
              lambda a, s, u: a["admin"].patch(f"/v1/tasks/{s['task']}", {"owner_id": u})),
    UserField("POST /v1/customers/{customer_id}/recommendations/{rule_id}/opportunity", "owner_id", True,
              lambda a, s, u: a["csm"].post(f"/v1/customers/{s['customer']}/recommendations/{s['rule']}/opportunity",
                                            {"owner_id": u})),
    UserField("PUT /v1/customers/{customer_id}/success-plan", "objectives.0.initiatives.0.owner_id", True,
              lambda a, s, u: a["csm"].request("PUT", f"/v1/customers/{s['customer']}/success-plan", body=_plan(u))),
    UserField("POST /v1/playbooks", "actions.0.assignee", True,
              lambda a, s, u: a["admin"].post("/v1/playbooks", {**PLAYBOOK, "actions": _task_step(u)})),
    UserField("PATCH /v1/playbooks/{playbook_id}", "actions.0.assignee", True,
              lambda a, s, u: a["admin"].patch(f"/v1/playbooks/{s['playbook']}", {"actions": _task_step(u)})),
    UserField("POST /v1/customers", "owner_id", True,
              lambda a, s, u: a["admin"].post("/v1/customers", {"name": "Refs", "owner_id": u})),
    UserField("POST /v1/customers", "co_owner_ids.0", False,
              lambda a, s, u: a["admin"].post("/v1/customers", {"name": "Refs", "co_owner_ids": [u]})),
    UserField("PATCH /v1/customers/{customer_id}", "owner_id", True,
              lambda a, s, u: a["admin"].patch(f"/v1/customers/{s['customer']}", {"owner_id": u})),
    UserField("PATCH /v1/customers/{customer_id}", "co_owner_ids.0", False,
              lambda a, s, u: a["admin"].patch(f"/v1/customers/{s['customer']}", {"co_owner_ids": [u]})),
    UserField("POST /v1/customers/{customer_id}/renewals", "account_executive_id", False,
              lambda a, s, u: a["admin"].post(f"/v1/customers/{s['customer']}/renewals",
                                              {"renewal_date": "2027-03-01", "account_executive_id": u})),
    UserField("PUT /v1/users/{user_id}/role", "transfer_to", True,
              lambda a, s, u: a["admin"].request("PUT", "/v1/users/director-1/role",
                                                 body={"role": "csm", "transfer_to": u})),
    UserField("POST /v1/users/{user_id}/hand-over", "transfer_to", True,
              lambda a, s, u: a["admin"].post("/v1/users/csm-2/hand-over", {"transfer_to": u})),
    UserField("POST /v1/users/{user_id}/deactivate", "transfer_to", True,
              lambda a, s, u: a["admin"].post("/v1/users/csm-2/deactivate", {"transfer_to": u})),
    UserField("PATCH /v1/customers/{customer_id}/renewals/{renewal_id}", "account_executive_id", False,
              lambda a, s, u: a["admin"].patch(f"/v1/customers/{s['customer']}/renewals/{s['renewal']}",
                                               {"account_executive_id": u})),
)  # fmt: skip


@pytest.fixture
def apis(workspace: str, other_workspace: str) -> dict[str, ApiClient]:
    return {
        "admin": ApiClient(Caller(workspace, "admin-1", "admin")),
        "csm": ApiClient(Caller(workspace, "csm-1", "csm")),
    }


@pytest.fixture
def seeded(workspace: str, apis: dict[str, ApiClient]) -> dict[str, str]:
    admin = apis["admin"]
    workspaces.put_user(workspace, "gone-1", "gone@acme.test", "Gone", "csm")
    assert admin.post("/v1/users/gone-1/deactivate").status == 200
    customer = admin.post("/v1/customers", {"name": "Initech", "owner_id": "csm-1"}).body["customer_id"]
    rule = admin.post("/v1/upsell/rules", {"name": "Pro", "product": "Pro", "base_score": 40, "triggers": []})
    renewal = admin.post(f"/v1/customers/{customer}/renewals", {"renewal_date": "2027-01-10"})
    playbook = admin.post("/v1/playbooks", {**PLAYBOOK, "actions": _task_step("csm-1")})
    return {
        "customer": customer,
        "task": admin.post("/v1/tasks", {"title": "Call", "customer_id": customer}).body["task_id"],
        "rule": rule.body["rule_id"],
        "renewal": renewal.body["renewal_id"],
        "playbook": playbook.body["playbook_id"],
    }


def _refusal(field: str, issue: str) -> dict[str, Any]:
    return {
        "error": {"code": "validation_error", "message": f"Invalid body: check {field}", "details": [
            {"field": field, "issue": issue}
        ]}
    }  # fmt: skip


def test_a_user_who_is_not_an_active_member_or_a_viewer_given_work_is_refused_alike_everywhere(
    apis: dict[str, ApiClient], seeded: dict[str, str]
) -> None:
    wrong: list[str] = []
    before = table_items()
    for case in FIELDS:
        refused = dict(BAD_USERS, **({"viewer": "viewer-1"} if case.works else {}))
        for who, user_id in refused.items():
            response = case.send(apis, seeded, user_id)
            issue = (
                f"{user_id} is a viewer, who cannot be given work"
                if who == "viewer"
                else (f"{user_id} is not an active user of this workspace")
            )
            if (response.status, response.body) != (400, _refusal(case.field, issue)):
                wrong.append(f"{case.route} {case.field} = {who} user: {response.status} {json.dumps(response.body)}")
    assert not wrong, "\n".join(wrong)
    assert table_items() == before, "a refused user reference changed the table"


def test_the_same_requests_naming_an_active_user_who_may_hold_the_field_go_through(
    apis: dict[str, ApiClient], seeded: dict[str, str]
) -> None:
    for case in FIELDS:
        response = case.send(apis, seeded, "csm-1")
        assert response.status in (200, 201), (case.route, case.field, response.body)
        if not case.works:  # a viewer may co-own customers (that is how they see them), not own them
            response = case.send(apis, seeded, "viewer-1")
            assert response.status in (200, 201), (case.route, case.field, response.body)


USER_FIELD_NAMES = {"owner_id", "co_owner_ids", "account_executive_id", "assignee", "transfer_to"}


def _user_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every user field of a body model, nested models included (list indexes as 0)."""
    found: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if name in USER_FIELD_NAMES:
            found.add(path + (".0" if name.endswith("_ids") else ""))
        for inner in _models_in(info.annotation):
            found |= _user_fields(inner, f"{path}.0." if "list" in str(info.annotation) else f"{path}.")
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def test_every_user_field_of_every_body_is_checked_here() -> None:
    """A new body field naming a user, however deep, must join FIELDS (or this list)."""
    declared = {
        (f"{op.method} {op.path}", field)
        for op in api_contract.OPERATIONS
        if op.body is not None
        for field in _user_fields(op.body)
    }
    not_bodies_of_a_user = {
        ("PUT /v1/hubspot/connection", "mapping.0.owner"),  # who owns a synced property: hubspot or keepwell
    }
    assert declared - not_bodies_of_a_user == {(c.route, c.field) for c in FIELDS}


def test_a_plan_keeps_an_initiative_owner_it_already_had_but_is_not_given_a_new_one_who_cannot_work_it(
    apis: dict[str, ApiClient], seeded: dict[str, str]
) -> None:
    path = f"/v1/customers/{seeded['customer']}/success-plan"
    plan = apis["csm"].request("PUT", path, body=_plan("csm-2")).body
    assert apis["admin"].post("/v1/users/csm-2/deactivate").status == 200
    objective = {k: plan["objectives"][0][k] for k in ("objective_id", "title", "due_date")}
    kept = {k: plan["objectives"][0]["initiatives"][0][k] for k in ("initiative_id", "title", "due_date", "owner_id")}
    body = {"name": "Renamed", "start_date": "2026-11-01", "version": 1, "objectives": [{**objective}]}
    body["objectives"][0]["initiatives"] = [kept, {"title": "New", "due_date": "2027-01-01", "owner_id": "csm-2"}]
    refused = apis["csm"].request("PUT", path, body=body)
    assert (refused.status, refused.body["error"]["details"]) == (
        400,
        [{"field": "objectives.0.initiatives.1.owner_id", "issue": "csm-2 is not an active user of this workspace"}],
    )
    body["objectives"][0]["initiatives"] = [kept]
    saved = apis["csm"].request("PUT", path, body=body)
    assert saved.status == 200 and saved.body["objectives"][0]["initiatives"][0]["owner_id"] == "csm-2"


def test_a_playbook_keeps_a_step_assignee_it_already_named_after_they_are_deactivated(
    apis: dict[str, ApiClient], seeded: dict[str, str]
) -> None:
    path = f"/v1/playbooks/{seeded['playbook']}"
    assert apis["admin"].patch(path, {"actions": _task_step("csm-2")}).status == 200
    assert apis["admin"].post("/v1/users/csm-2/deactivate").status == 200
    renamed = apis["admin"].patch(path, {"name": "Renamed"})
    assert renamed.status == 200 and renamed.body["actions"][0]["assignee"] == "user:csm-2"
