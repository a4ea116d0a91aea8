"""Playbook routes through the real API handler on moto: the five defaults, CRUD and versions with
role checks, tenancy, the dry run (acts on nothing) and the Slack setting."""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from keepwell import clock
from keepwell.auth import Caller
from keepwell.storage import keys
from keepwell.storage.models import CustomerItem
from tests.conftest import ApiClient

TODAY = date(2026, 11, 20)
DEFAULT_IDS = [
    "pb_default_at_risk",
    "pb_default_expansion",
    "pb_default_onboarding",
    "pb_default_renewal",
    "pb_default_win_back",
]
CUSTOM = {
    "name": "Enterprise slump",
    "description": "Big accounts under 60",
    "trigger": {"type": "condition", "condition": 'health_score < 60 AND tier = "Enterprise"'},
    "conditions": {"field": "status", "op": "eq", "value": "active"},
    "actions": [
        {"type": "task", "title": "Review {customer.name}", "due_in_days": 3},
        {"type": "notify", "role": "director", "message": "{customer.name} is slumping"},
    ],
    "reenrollment": {"policy": "on_reentry", "cooldown_days": 30},
}


def as_role(workspace: str, user_id: str, role: str) -> ApiClient:
    return ApiClient(Caller(workspace, user_id, role))


def table_items() -> list[dict[str, Any]]:
    """Every item (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def create_customer(api: ApiClient, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": "Initech", "owner_id": "csm-1", **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def set_health(workspace: str, customer_id: str, score: float, band: str) -> None:
    key = keys.customer(workspace, customer_id)
    CustomerItem(key.pk, key.sk).update(
        actions=[CustomerItem.health_score.set(score), CustomerItem.health_band.set(band)]
    )


# --- the defaults -----------------------------------------------------------------------------------
def test_a_workspace_starts_with_the_five_default_playbooks_created_once(admin_api: ApiClient) -> None:
    first = admin_api.get("/v1/playbooks")
    second = admin_api.get("/v1/playbooks")

    assert first.status == 200
    assert sorted(p["playbook_id"] for p in first.body["items"]) == DEFAULT_IDS
    assert [p["name"] for p in first.body["items"]] == ["At-risk", "Expansion", "Onboarding", "Renewal", "Win-back"]
    assert second.body == first.body
    renewal = admin_api.get("/v1/playbooks/pb_default_renewal").body
    assert renewal["trigger_text"] == "60 days before renewal_date"
    assert renewal["conditions_text"] == 'status IN ("active", "paused")'
    # It first opens the renewal engagement (issue 21), then its four tasks.
    assert renewal["actions"][0] == {"type": "engagement", "phase": "renewal", "operation": "open"}
    assert [a["due_in_days"] for a in renewal["actions"] if a["type"] == "task"] == [0, 7, 14, 30]
    at_risk = admin_api.get("/v1/playbooks/pb_default_at_risk").body
    assert at_risk["trigger"]["condition"] == {"field": "health_band", "op": "eq", "value": "At risk"}
    assert at_risk["trigger_text"] == 'when health_band = "At risk" becomes true'
    assert at_risk["created_by"] == "keepwell" and at_risk["default_key"] == "at_risk" and at_risk["version"] == 1


def test_a_deleted_default_does_not_come_back(director: ApiClient) -> None:
    assert director.delete("/v1/playbooks/pb_default_win_back").status == 204
    ids = [p["playbook_id"] for p in director.get("/v1/playbooks").body["items"]]
    assert "pb_default_win_back" not in ids and len(ids) == 4
    assert director.get("/v1/playbooks/pb_default_win_back").status == 404


# --- CRUD, versions, roles ---------------------------------------------------------------------------
def test_a_director_creates_a_playbook_with_conditions_in_either_form(director: ApiClient) -> None:
    response = director.post("/v1/playbooks", CUSTOM)

    assert response.status == 201, response.body
    created = response.body
    assert created["playbook_id"].startswith("pb_") and created["version"] == 1
    assert created["trigger"]["condition"] == {
        "all": [
            {"field": "health_score", "op": "lt", "value": 60},
            {"field": "tier", "op": "eq", "value": "Enterprise"},
        ]
    }
    assert created["trigger_text"] == 'when health_score < 60 AND tier = "Enterprise" becomes true'
    assert created["conditions_text"] == 'status = "active"'
    assert created["created_by"] == "director-1"
    assert director.get(f"/v1/playbooks/{created['playbook_id']}").body == created


def test_every_change_is_a_new_version_and_old_versions_stay_readable(director: ApiClient) -> None:
    playbook_id = director.post("/v1/playbooks", CUSTOM).body["playbook_id"]

    renamed = director.patch(f"/v1/playbooks/{playbook_id}", {"name": "Enterprise dip", "version": 1})
    disabled = director.patch(f"/v1/playbooks/{playbook_id}", {"enabled": False})
    unchanged = director.patch(f"/v1/playbooks/{playbook_id}", {"enabled": False})
    stale = director.patch(f"/v1/playbooks/{playbook_id}", {"name": "x", "version": 1})
    versions = director.get(f"/v1/playbooks/{playbook_id}/versions")

    assert renamed.status == 200 and renamed.body["version"] == 2 and renamed.body["name"] == "Enterprise dip"
    assert disabled.body["version"] == 3 and disabled.body["enabled"] is False
    assert unchanged.body["version"] == 3
    assert stale.status == 409 and stale.error_code == "version_conflict"
    assert [(v["version"], v["name"], v["enabled"]) for v in versions.body["items"]] == [
        (1, "Enterprise slump", True),
        (2, "Enterprise dip", True),
        (3, "Enterprise dip", False),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trigger": {"type": "condition", "condition": 'contry = "BR"'}}, "trigger.condition"),
        ({"trigger": {"type": "condition", "condition": "arr > 'lots'"}}, "trigger.condition"),
        ({"conditions": "tier = "}, "conditions"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "slack", "text": "{customer.colour}"}]}, "actions"),
        ({"actions": [{"type": "task", "title": "x", "assignee": "somebody"}]}, "actions.0.task.assignee"),
        ({"trigger": {"type": "date_offset", "field": "custom.kickoff", "offset_days": -10}}, "trigger.field"),
        (
            {"actions": [{"type": "update_field", "field": "custom.stage", "operation": "set", "value": "x"}]},
            "actions.0.field",
        ),
        ({"colour": "red"}, "colour"),
        ({"actions": [{"type": "apply_blueprint", "blueprint": "Onboarding v2"}]}, "actions.0.blueprint"),
    ],
)
def test_invalid_playbooks_are_rejected_naming_the_field_and_nothing_saved(
    director: ApiClient, change: dict[str, Any], field: str
) -> None:
    before = len(director.get("/v1/playbooks").body["items"])
    response = director.post("/v1/playbooks", {**CUSTOM, **change})
    assert response.status == 400, response.body
    fields = [d["field"] for d in response.body["error"]["details"]]
    assert any(f == field or f.startswith(field) for f in fields), fields
    assert len(director.get("/v1/playbooks").body["items"]) == before


def test_an_apply_blueprint_step_names_a_blueprint_of_the_workspace_or_the_built_in_one(director: ApiClient) -> None:
    """Saved with an unknown name, every run of the step was skipped ('there is no blueprint'), silently."""

    def step(name: str) -> dict[str, Any]:
        return {**CUSTOM, "actions": [{"type": "apply_blueprint", "blueprint": name}]}

    refused = director.post("/v1/playbooks", step("Enterprise launch"))
    assert (refused.status, refused.body["error"]["details"]) == (
        400,
        [{"field": "actions.0.blueprint", "issue": "Enterprise launch is not a blueprint of this workspace"}],
    )
    assert director.post("/v1/playbooks", step("onboarding")).status == 201  # built in, copied on first use
    blueprint = director.post("/v1/blueprints", {"name": "Enterprise launch", "objectives": [{"title": "Live"}]})
    saved = director.post("/v1/playbooks", step("Enterprise launch"))
    assert saved.status == 201, saved.body
    # A blueprint deleted since does not stop the playbook's other edits.
    assert director.delete(f"/v1/blueprints/{blueprint.body['blueprint_id']}").status == 204
    assert director.patch(f"/v1/playbooks/{saved.body['playbook_id']}", {"name": "Renamed"}).status == 200


@pytest.mark.parametrize(("user_id", "role"), [("csm-1", "csm"), ("viewer-1", "viewer")])
def test_csms_and_viewers_read_playbooks_but_cannot_change_them(workspace: str, user_id: str, role: str) -> None:
    api = as_role(workspace, user_id, role)
    assert api.get("/v1/playbooks").status == 200
    assert api.get("/v1/playbooks/pb_default_at_risk").status == 200
    assert api.post("/v1/playbooks", CUSTOM).status == 403
    assert api.patch("/v1/playbooks/pb_default_at_risk", {"enabled": False}).error_code == "forbidden"
    assert api.delete("/v1/playbooks/pb_default_at_risk").status == 403
    assert api.get("/v1/playbooks/pb_default_at_risk").body["enabled"] is True


def test_admins_write_playbooks_too(admin_api: ApiClient) -> None:
    assert admin_api.patch("/v1/playbooks/pb_default_expansion", {"enabled": False}).body["enabled"] is False


def test_another_workspaces_playbook_is_not_found(director: ApiClient, other_admin_api: ApiClient) -> None:
    playbook_id = director.post("/v1/playbooks", CUSTOM).body["playbook_id"]
    assert other_admin_api.get(f"/v1/playbooks/{playbook_id}").status == 404
    assert other_admin_api.patch(f"/v1/playbooks/{playbook_id}", {"enabled": False}).status == 404
    assert other_admin_api.delete(f"/v1/playbooks/{playbook_id}").status == 404
    assert other_admin_api.post(f"/v1/playbooks/{playbook_id}/dry-run").status == 404
    assert other_admin_api.get(f"/v1/playbooks/{playbook_id}/runs").status == 404
    assert playbook_id not in [p["playbook_id"] for p in other_admin_api.get("/v1/playbooks").body["items"]]
    assert director.get(f"/v1/playbooks/{playbook_id}").body["enabled"] is True


# --- dry run --------------------------------------------------------------------------------------------
def test_dry_run_says_who_would_enter_and_what_would_happen_and_acts_on_nothing(
    admin_api: ApiClient, workspace: str
) -> None:
    renewing = create_customer(admin_api, name="Renewing", renewal_date=(TODAY + timedelta(days=60)).isoformat())
    at_risk = create_customer(admin_api, name="Sinking", owner_id="csm-2")
    create_customer(admin_api, name="Fine", renewal_date=(TODAY + timedelta(days=200)).isoformat())
    set_health(workspace, at_risk, 38.0, "At risk")
    admin_api.get("/v1/playbooks")  # the defaults exist before the snapshot
    before = table_items()
    queue = os.environ["PLAYBOOK_QUEUE_URL"]

    renewal = admin_api.post("/v1/playbooks/pb_default_renewal/dry-run")
    risk = admin_api.post("/v1/playbooks/pb_default_at_risk/dry-run", query={"limit": 10})

    assert renewal.status == 200, renewal.body
    assert renewal.body["evaluated"] == 3 and renewal.body["entering_count"] == 1
    (entry,) = renewal.body["entering"]
    assert entry["customer_id"] == renewing and entry["episode"] == "renewal_date-2027-01-19"
    assert entry["steps"][0]["action"] == "engagement"  # the renewal phase opens first (issue 21)
    assert [(s["due_date"], s["assignee"]) for s in entry["steps"][1:]] == [
        ("2026-11-20", "csm-1"),
        ("2026-11-27", "csm-1"),
        ("2026-12-04", "csm-1"),
        ("2026-12-20", "csm-1"),
    ]
    assert entry["steps"][1]["summary"] == "task 'Confirm the champion at Renewing' for csm-1, due 2026-11-20"
    assert renewal.body["not_entering"] == {"not_yet": 1, "no_date": 1}
    (sinking,) = risk.body["entering"]
    assert sinking["customer_id"] == at_risk and [s["action"] for s in sinking["steps"]] == ["task", "slack"]
    assert table_items() == before
    sqs = boto3.client("sqs", region_name="us-east-1")
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages") is None


def test_dry_run_of_an_event_playbook_explains_it_waits_for_the_event(admin_api: ApiClient) -> None:
    create_customer(admin_api)
    response = admin_api.post("/v1/playbooks/pb_default_onboarding/dry-run")
    assert response.body["entering"] == [] and response.body["not_entering"] == {"waits_for_event": 1}
    assert "cannot foresee" in response.body["note"]


def test_a_csm_dry_run_covers_only_their_portfolio(admin_api: ApiClient, workspace: str) -> None:
    mine = create_customer(admin_api, name="Mine", renewal_date=(TODAY + timedelta(days=60)).isoformat())
    create_customer(admin_api, name="Theirs", owner_id="csm-2", renewal_date=(TODAY + timedelta(days=60)).isoformat())
    response = as_role(workspace, "csm-1", "csm").post("/v1/playbooks/pb_default_renewal/dry-run")
    assert response.body["evaluated"] == 1 and [e["customer_id"] for e in response.body["entering"]] == [mine]


# --- Slack setting ---------------------------------------------------------------------------------------
def test_only_admins_set_the_slack_webhook_and_it_is_kept_as_a_secret(admin_api: ApiClient, workspace: str) -> None:
    url = "https://hooks.slack.com/services/T000/B000/abcdef"
    director = as_role(workspace, "director-1", "director")

    assert director.request("PUT", "/v1/settings/slack", body={"webhook_url": url}).status == 403
    assert admin_api.get("/v1/settings/slack").body == {
        "configured": False,
        "configured_by": None,
        "configured_at": None,
    }
    saved = admin_api.request("PUT", "/v1/settings/slack", body={"webhook_url": url})
    bad = admin_api.request("PUT", "/v1/settings/slack", body={"webhook_url": "https://evil.test/services/x"})

    assert saved.status == 200 and saved.body["configured"] is True
    assert bad.status == 400 and bad.body["error"]["details"][0]["field"] == "webhook_url"
    shown = admin_api.get("/v1/settings/slack").body
    assert shown == {"configured": True, "configured_by": "admin-1", "configured_at": clock.iso(clock.now())}
    assert url not in str(shown)
    secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=f"keepwell/{workspace}/slack/webhook-url"
    )
    assert secret["SecretString"] == url
    assert director.get("/v1/settings/slack").status == 403
