"""The audit log through the real API handler on moto: each configuration change or sensitive action made
over HTTP is found by `GET /v1/audit` by target, by actor and by time window, with before and after;
rejected requests record nothing; only directors and admins read it; workspaces never mix; no entry
holds a secret."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain import api_keys as key_rules
from keepwell.domain.webhooks import ssrf
from tests.conftest import FROZEN_NOW, ApiClient
from tests.integration.test_integrations_webhooks import ZENDESK_SECRET

HOOK_HOST = "hooks.customer.example"
HOOK_URL = f"https://{HOOK_HOST}/keepwell"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/slack-url-is-a-credential"
PLAYBOOK = {
    "name": "Enterprise slump",
    "trigger": {"type": "condition", "condition": 'health_score < 60 AND tier = "Enterprise"'},
    "actions": [{"type": "task", "title": "Review {customer.name}", "due_in_days": 3}],
    "reenrollment": {"policy": "on_reentry", "cooldown_days": 30},
}


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def director_api(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "director-1", "director"))


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SSRF guard's resolver: the receiver's host is public."""
    monkeypatch.setattr(ssrf, "default_resolve", lambda host, port: ["93.184.215.14"])


@pytest.fixture
def customer_id(admin_api: ApiClient) -> str:
    response = admin_api.post("/v1/customers", {"name": "Initech", "domain": "initech.test", "owner_id": "csm-1"})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def audit(api: ApiClient, **query: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/audit", **query)
    assert response.status == 200, response.body
    return list(response.body["items"])


def every_entry(api: ApiClient) -> list[dict[str, Any]]:
    """All of the caller's workspace's entries, following the cursors."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        response = api.get("/v1/audit", limit=200, **({"cursor": cursor} if cursor else {}))
        assert response.status == 200, response.body
        entries += response.body["items"]
        cursor = response.body["next_cursor"]
        if not cursor:
            return entries


def recorded(api: ApiClient, action: str, target: str, actor: str, at: datetime = FROZEN_NOW) -> dict[str, Any]:
    """The one entry of `action` on `target`, checked to be found the three ways a reader looks."""
    by_target = [e for e in audit(api, target=target) if e["action"] == action]
    assert len(by_target) == 1, by_target
    entry = by_target[0]
    assert (entry["actor_id"], entry["target"], entry["occurred_at"]) == (actor, target, z(at))
    by_actor = audit(api, actor=actor, action=action, limit=200)
    assert entry["entry_id"] in {e["entry_id"] for e in by_actor}
    window = audit(api, since=z(at - timedelta(seconds=1)), until=z(at + timedelta(seconds=1)), limit=200)
    assert entry["entry_id"] in {e["entry_id"] for e in window}
    before_window = audit(api, until=z(at), limit=200)
    assert entry["entry_id"] not in {e["entry_id"] for e in before_window}
    return entry


def actions_of(api: ApiClient) -> list[str]:
    return sorted(e["action"] for e in every_entry(api))


def stored_audit_text() -> str:
    """Every stored audit item as text (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    items = [i for i in table.scan()["Items"] if i.get("entity") == "audit_entry"]
    return json.dumps(items, default=str)


# --- who may read, and whose entries ------------------------------------------------------------------
@pytest.mark.parametrize("role", ["csm", "viewer"])
def test_csms_and_viewers_may_not_read_the_audit_log(workspace: str, admin_api: ApiClient, role: str) -> None:
    admin_api.post("/v1/custom-fields", {"key": "sla_hours", "label": "SLA (hours)", "type": "number"})
    response = ApiClient(Caller(workspace, f"{role}-1", role)).get("/v1/audit")

    assert (response.status, response.error_code) == (403, "forbidden")


def test_directors_and_admins_read_the_same_log(admin_api: ApiClient, director_api: ApiClient) -> None:
    admin_api.post("/v1/custom-fields", {"key": "sla_hours", "label": "SLA (hours)", "type": "number"})

    assert [e["action"] for e in audit(director_api)] == ["custom_field.created"]
    assert audit(director_api) == audit(admin_api)


def test_another_workspace_never_sees_the_entries(
    admin_api: ApiClient, other_admin_api: ApiClient, workspace: str
) -> None:
    admin_api.post("/v1/custom-fields", {"key": "sla_hours", "label": "SLA (hours)", "type": "number"})
    other_admin_api.post("/v1/custom-fields", {"key": "region_code", "label": "Region", "type": "text"})

    assert [e["target"] for e in audit(admin_api)] == ["custom_field:sla_hours"]
    assert [e["target"] for e in audit(other_admin_api)] == ["custom_field:region_code"]
    # naming the other workspace's target or actor finds nothing either
    assert audit(other_admin_api, target="custom_field:sla_hours") == []
    assert audit(other_admin_api, actor="admin-1") == []
    # and a cursor from one workspace does not open the other's
    admin_api.post("/v1/custom-fields", {"key": "plan_type", "label": "Plan", "type": "text"})
    cursor = admin_api.get("/v1/audit", limit=1).body["next_cursor"]
    assert cursor
    forged = other_admin_api.get("/v1/audit", limit=1, cursor=cursor)
    assert (forged.status, forged.error_code) == (400, "invalid_cursor")


# --- rejected requests record nothing -----------------------------------------------------------------
def test_rejected_health_model_segment_playbook_and_webhook_changes_record_nothing(
    admin_api: ApiClient, director_api: ApiClient, workspace: str, dns: None
) -> None:
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    bad_weights = [{"key": "usage", "weight": 50}, {"key": "engagement", "weight": 20}]
    attempts = [
        director_api.request("PUT", "/v1/health/model", body={"dimensions": bad_weights}),  # weights sum to 70
        csm.request("PUT", "/v1/health/model", body={"preset": "usage_heavy"}),  # a csm may not configure
        csm.post("/v1/segments", {"name": "Mine", "condition": "arr > 1"}),
        director_api.post("/v1/segments", {"name": "Typo", "condition": 'contry = "BR"'}),  # unknown field
        director_api.post("/v1/playbooks", {**PLAYBOOK, "actions": []}),
        admin_api.post("/v1/webhooks", {"url": f"http://{HOOK_HOST}/x", "event_types": ["customer.health.alert"]}),
        admin_api.request("PUT", "/v1/integrations/zendesk/secret", body={"secret": "short"}),
        admin_api.delete("/v1/integrations/zendesk/secret"),  # nothing to disconnect: 404
        admin_api.delete("/v1/api-keys/key_missing"),
        ApiClient(Caller(workspace, "viewer-1", "viewer")).post("/v1/health/recalculate"),
    ]

    assert [r.status for r in attempts] == [400, 403, 403, 400, 400, 400, 400, 404, 404, 403], [
        r.body for r in attempts
    ]
    assert every_entry(admin_api) == []


def test_a_stale_playbook_edit_records_nothing(director_api: ApiClient) -> None:
    playbook_id = director_api.post("/v1/playbooks", PLAYBOOK).body["playbook_id"]

    stale = director_api.patch(f"/v1/playbooks/{playbook_id}", {"name": "Renamed", "version": 7})

    assert stale.status == 409
    assert actions_of(director_api) == ["playbook.created"]


# --- per feature: recorded, with before and after ----------------------------------------------------
def test_health_model_changes_record_the_changed_fields_and_versions(director_api: ApiClient) -> None:
    weights = [{"key": "usage", "weight": 50}, {"key": "engagement", "weight": 30}, {"key": "support", "weight": 20}]
    assert director_api.request("PUT", "/v1/health/model", body={"dimensions": weights}).status == 200
    later = FROZEN_NOW + timedelta(minutes=5)
    with clock.frozen(later):
        assert director_api.request("PUT", "/v1/health/model", body={"preset": "usage_heavy"}).status == 200

    edited = recorded(director_api, "health_model.updated", "workspace:health_model", "director-1")
    assert edited["before"]["version"] == 0 and edited["after"]["version"] == 1
    assert [(d["key"], d["weight"]) for d in edited["after"]["dimensions"]] == [
        ("usage", 50),
        ("engagement", 30),
        ("support", 20),
    ]
    assert edited["before"]["preset"] == "balanced" and edited["after"]["preset"] is None
    assert "bands" not in edited["after"]  # only what changed, not the whole model
    preset = recorded(director_api, "health_model.preset_applied", "workspace:health_model", "director-1", later)
    assert (preset["before"]["version"], preset["after"]["version"]) == (1, 2)
    assert (preset["before"]["preset"], preset["after"]["preset"]) == (None, "usage_heavy")
    # newest first, and the window picks out one change
    assert [e["action"] for e in audit(director_api, target="workspace:health_model")] == [
        "health_model.preset_applied",
        "health_model.updated",
    ]
    assert [e["action"] for e in audit(director_api, since=z(later))] == ["health_model.preset_applied"]


def test_band_changes_are_recorded_with_the_old_and_new_bands(director_api: ApiClient) -> None:
    bands = [
        {"label": "Healthy", "color": "green", "min": 75, "max": 100},
        {"label": "Neutral", "color": "yellow", "min": 50, "max": 74},
        {"label": "At risk", "color": "red", "min": 0, "max": 49},
    ]
    assert director_api.request("PUT", "/v1/health/model", body={"bands": bands}).status == 200

    entry = recorded(director_api, "health_model.updated", "workspace:health_model", "director-1")
    assert entry["before"]["bands"][0]["min"] == 70 and entry["after"]["bands"][0]["min"] == 75
    assert set(entry["after"]) == {"version", "bands"}


def test_segment_create_update_delete_are_recorded(director_api: ApiClient) -> None:
    created = director_api.post("/v1/segments", {"name": "Enterprise", "condition": 'tier = "Enterprise"'}).body
    segment_id = created["segment_id"]
    target = f"segment:{segment_id}"
    with clock.frozen(FROZEN_NOW + timedelta(minutes=1)):
        assert director_api.patch(f"/v1/segments/{segment_id}", {"name": "Big accounts"}).status == 200
    with clock.frozen(FROZEN_NOW + timedelta(minutes=2)):
        assert director_api.delete(f"/v1/segments/{segment_id}").status == 204

    made = recorded(director_api, "segment.created", target, "director-1")
    assert made["before"] is None and made["after"]["name"] == "Enterprise"
    renamed = recorded(director_api, "segment.updated", target, "director-1", FROZEN_NOW + timedelta(minutes=1))
    assert (renamed["before"]["name"], renamed["after"]["name"]) == ("Enterprise", "Big accounts")
    gone = recorded(director_api, "segment.deleted", target, "director-1", FROZEN_NOW + timedelta(minutes=2))
    assert gone["before"]["name"] == "Big accounts" and gone["after"] is None


def test_playbook_create_disable_enable_edit_delete_are_recorded(director_api: ApiClient) -> None:
    playbook_id = director_api.post("/v1/playbooks", PLAYBOOK).body["playbook_id"]
    target = f"playbook:{playbook_id}"
    steps = [{"enabled": False}, {"enabled": True}, {"name": "Enterprise dip"}]
    for minute, change in enumerate(steps, start=1):
        with clock.frozen(FROZEN_NOW + timedelta(minutes=minute)):
            assert director_api.patch(f"/v1/playbooks/{playbook_id}", change).status == 200
    with clock.frozen(FROZEN_NOW + timedelta(minutes=4)):
        assert director_api.delete(f"/v1/playbooks/{playbook_id}").status == 204

    assert [e["action"] for e in audit(director_api, target=target)] == [
        "playbook.deleted",
        "playbook.updated",
        "playbook.enabled",
        "playbook.disabled",
        "playbook.created",
    ]
    created = recorded(director_api, "playbook.created", target, "director-1")
    assert created["after"]["name"] == "Enterprise slump" and created["after"]["version"] == 1
    disabled = recorded(director_api, "playbook.disabled", target, "director-1", FROZEN_NOW + timedelta(minutes=1))
    assert disabled["before"] == {"version": 1, "enabled": True}
    assert disabled["after"] == {"version": 2, "enabled": False}
    renamed = recorded(director_api, "playbook.updated", target, "director-1", FROZEN_NOW + timedelta(minutes=3))
    assert (renamed["before"]["name"], renamed["after"]["name"]) == ("Enterprise slump", "Enterprise dip")
    deleted = recorded(director_api, "playbook.deleted", target, "director-1", FROZEN_NOW + timedelta(minutes=4))
    assert deleted["before"] == {"version": 4, "name": "Enterprise dip"} and deleted["after"] is None


def test_slack_settings_are_recorded_without_the_url(admin_api: ApiClient) -> None:
    assert admin_api.request("PUT", "/v1/settings/slack", body={"webhook_url": SLACK_URL}).status == 200

    entry = recorded(admin_api, "slack.configured", "workspace:slack", "admin-1")
    assert entry["before"] == {"configured": False}
    assert entry["after"] == {"configured": True, "secret_state": "set"}
    assert "hooks.slack.com" not in json.dumps(every_entry(admin_api)) + stored_audit_text()


def test_api_key_create_rotate_revoke_are_recorded_by_prefix_only(admin_api: ApiClient) -> None:
    created = admin_api.post("/v1/api-keys", {"name": "Segment"}).body
    key_id, first_key = created["key_id"], created["api_key"]
    with clock.frozen(FROZEN_NOW + timedelta(minutes=1)):
        rotated = admin_api.post(f"/v1/api-keys/{key_id}/rotate").body
    with clock.frozen(FROZEN_NOW + timedelta(minutes=2)):
        assert admin_api.delete(f"/v1/api-keys/{rotated['key_id']}").status == 200

    made = recorded(admin_api, "api_key.created", f"api_key:{key_id}", "admin-1")
    assert made["after"]["prefix"] == created["prefix"] and made["after"]["name"] == "Segment"
    rotation = recorded(admin_api, "api_key.rotated", f"api_key:{key_id}", "admin-1", FROZEN_NOW + timedelta(minutes=1))
    assert rotation["after"]["replaced_by"] == rotated["key_id"]
    assert rotation["after"]["replacement_prefix"] == rotated["prefix"]
    assert rotation["after"]["revoked_at"] == z(FROZEN_NOW + timedelta(minutes=1, hours=24))
    revoked = recorded(
        admin_api, "api_key.revoked", f"api_key:{rotated['key_id']}", "admin-1", FROZEN_NOW + timedelta(minutes=2)
    )
    assert (revoked["before"]["active"], revoked["after"]["active"]) == (True, False)
    text = json.dumps(every_entry(admin_api)) + stored_audit_text()
    for plaintext in (first_key, rotated["api_key"]):
        assert plaintext not in text
        assert plaintext.rsplit(".", 1)[-1] not in text
        assert key_rules.hash_key(plaintext) not in text


def test_integration_connect_rotate_disconnect_are_recorded_without_the_secret(admin_api: ApiClient) -> None:
    second_secret = ZENDESK_SECRET[::-1]
    put = "/v1/integrations/zendesk/secret"
    assert admin_api.request("PUT", put, body={"secret": ZENDESK_SECRET}).status == 200
    with clock.frozen(FROZEN_NOW + timedelta(minutes=1)):
        assert admin_api.request("PUT", put, body={"secret": second_secret}).status == 200
    with clock.frozen(FROZEN_NOW + timedelta(minutes=2)):
        assert admin_api.delete(put).status == 204

    target = "integration:zendesk"
    connected = recorded(admin_api, "integration.connected", target, "admin-1")
    assert connected["after"] == {"configured": True, "secret_state": "set"}
    rotated = recorded(admin_api, "integration.secret_rotated", target, "admin-1", FROZEN_NOW + timedelta(minutes=1))
    assert rotated["after"]["secret_state"] == "rotated"
    gone = recorded(admin_api, "integration.disconnected", target, "admin-1", FROZEN_NOW + timedelta(minutes=2))
    assert gone["after"]["configured"] is False
    text = json.dumps(every_entry(admin_api)) + stored_audit_text()
    assert ZENDESK_SECRET not in text and second_secret not in text


def test_webhook_subscription_changes_are_recorded_without_any_secret(admin_api: ApiClient, dns: None) -> None:
    created = admin_api.post("/v1/webhooks", {"url": HOOK_URL, "event_types": ["customer.health.alert"]}).body
    subscription_id, first_secret = created["subscription_id"], created["secret"]
    target = f"webhook:{subscription_id}"
    with clock.frozen(FROZEN_NOW + timedelta(minutes=1)):
        assert admin_api.patch(f"/v1/webhooks/{subscription_id}", {"enabled": False}).status == 200
    with clock.frozen(FROZEN_NOW + timedelta(minutes=2)):
        rotation = admin_api.post(f"/v1/webhooks/{subscription_id}/rotate-secret")
        assert rotation.status in (200, 201), rotation.body
    with clock.frozen(FROZEN_NOW + timedelta(minutes=3)):
        assert admin_api.delete(f"/v1/webhooks/{subscription_id}").status == 204

    made = recorded(admin_api, "webhook.created", target, "admin-1")
    assert made["after"]["url"] == HOOK_URL and made["after"]["secret_state"] == "set"
    disabled = recorded(admin_api, "webhook.updated", target, "admin-1", FROZEN_NOW + timedelta(minutes=1))
    assert (disabled["before"], disabled["after"]) == ({"enabled": True}, {"enabled": False})
    rotated = recorded(admin_api, "webhook.secret_rotated", target, "admin-1", FROZEN_NOW + timedelta(minutes=2))
    assert rotated["after"]["secret_state"] == "rotated"
    assert rotated["after"]["previous_secret_valid_until"] == z(FROZEN_NOW + timedelta(minutes=2, hours=24))
    deleted = recorded(admin_api, "webhook.deleted", target, "admin-1", FROZEN_NOW + timedelta(minutes=3))
    assert deleted["before"]["url"] == HOOK_URL and deleted["after"] is None
    text = json.dumps(every_entry(admin_api)) + stored_audit_text()
    for secret in (first_secret, rotation.body["secret"]):
        assert secret.startswith("whsec_") and secret not in text
        assert secret.removeprefix("whsec_") not in text


def test_archiving_and_owner_changes_are_recorded_and_other_edits_are_not(
    admin_api: ApiClient, customer_id: str
) -> None:
    target = f"customer:{customer_id}"
    with clock.frozen(FROZEN_NOW + timedelta(minutes=1)):
        assert admin_api.patch(f"/v1/customers/{customer_id}", {"owner_id": "csm-2"}).status == 200
    with clock.frozen(FROZEN_NOW + timedelta(minutes=2)):
        assert admin_api.patch(f"/v1/customers/{customer_id}", {"industry": "Software"}).status == 200
    with clock.frozen(FROZEN_NOW + timedelta(minutes=3)):
        assert admin_api.post(f"/v1/customers/{customer_id}/archive").status == 200

    assert [e["action"] for e in audit(admin_api, target=target)] == ["customer.archived", "customer.owner_changed"]
    moved = recorded(admin_api, "customer.owner_changed", target, "admin-1", FROZEN_NOW + timedelta(minutes=1))
    assert (moved["before"]["owner_id"], moved["after"]["owner_id"]) == ("csm-1", "csm-2")
    archived = recorded(admin_api, "customer.archived", target, "admin-1", FROZEN_NOW + timedelta(minutes=3))
    assert (archived["before"], archived["after"]) == ({"archived": False}, {"archived": True})


def test_an_owner_change_to_an_unknown_user_records_nothing(admin_api: ApiClient, customer_id: str) -> None:
    response = admin_api.patch(f"/v1/customers/{customer_id}", {"owner_id": "nobody"})

    assert response.status == 400
    assert audit(admin_api, target=f"customer:{customer_id}") == []


def test_custom_field_definitions_are_recorded(admin_api: ApiClient) -> None:
    field = {"key": "contract_type", "label": "Contract type", "type": "select", "options": ["annual", "monthly"]}
    assert admin_api.post("/v1/custom-fields", field).status == 201
    with clock.frozen(FROZEN_NOW + timedelta(minutes=1)):
        assert admin_api.delete("/v1/custom-fields/contract_type").status == 204

    made = recorded(admin_api, "custom_field.created", "custom_field:contract_type", "admin-1")
    assert made["after"] == {
        "key": "contract_type",
        "label": "Contract type",
        "type": "select",
        "options": field["options"],
    }
    gone = recorded(
        admin_api, "custom_field.deleted", "custom_field:contract_type", "admin-1", FROZEN_NOW + timedelta(minutes=1)
    )
    assert gone["before"]["label"] == "Contract type" and gone["after"] is None


def test_a_requested_recalculation_is_recorded(director_api: ApiClient, customer_id: str) -> None:
    response = director_api.post("/v1/health/recalculate")
    assert response.status == 202, response.body
    job_id = response.body["job_id"]

    entry = recorded(director_api, "recalculation.requested", f"recalculation:{job_id}", "director-1")
    assert entry["after"] == {"job_id": job_id, "model_version": 0}  # how many: listed after the answer


# --- the query itself ---------------------------------------------------------------------------------
@pytest.fixture
def five_changes(admin_api: ApiClient, director_api: ApiClient) -> Iterator[list[str]]:
    """Five changes a minute apart: custom fields by the admin (minutes 0, 2, 4), segments by the
    director (minutes 1, 3). Their targets, oldest first."""
    keys = []
    for minute in range(5):
        with clock.frozen(FROZEN_NOW + timedelta(minutes=minute)):
            if minute % 2 == 0:
                key = f"field_{minute}"
                assert admin_api.post("/v1/custom-fields", {"key": key, "label": key, "type": "text"}).status == 201
                keys.append(f"custom_field:{key}")
            else:
                created = director_api.post("/v1/segments", {"name": f"S{minute}", "condition": "arr > 1"})
                assert created.status == 201
                keys.append(f"segment:{created.body['segment_id']}")
    yield keys


def test_pages_follow_the_cursor_newest_first_without_gaps(admin_api: ApiClient, five_changes: list[str]) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        response = admin_api.get("/v1/audit", limit=2, **({"cursor": cursor} if cursor else {}))
        assert response.status == 200 and len(response.body["items"]) <= 2
        seen += [e["target"] for e in response.body["items"]]
        cursor = response.body["next_cursor"]
        if not cursor:
            break

    assert seen == list(reversed(five_changes))


def test_filters_by_actor_action_and_window_combine(admin_api: ApiClient, five_changes: list[str]) -> None:
    by_director = audit(admin_api, actor="director-1")
    assert [e["target"] for e in by_director] == [five_changes[3], five_changes[1]]
    window = audit(admin_api, since=z(FROZEN_NOW + timedelta(minutes=1)), until=z(FROZEN_NOW + timedelta(minutes=3)))
    assert [e["target"] for e in window] == [five_changes[2], five_changes[1]]
    fields = audit(admin_api, action="custom_field.created", since=z(FROZEN_NOW + timedelta(minutes=1)))
    assert [e["target"] for e in fields] == [five_changes[4], five_changes[2]]
    one_target_by_other_actor = audit(admin_api, target=five_changes[0], actor="director-1")
    assert one_target_by_other_actor == []
    # a filtered page still pages: 3 admin entries, 2 a page
    first = admin_api.get("/v1/audit", actor="admin-1", limit=2).body
    second = admin_api.get("/v1/audit", actor="admin-1", limit=2, cursor=first["next_cursor"]).body
    assert [e["target"] for e in first["items"] + second["items"]] == [
        five_changes[4],
        five_changes[2],
        five_changes[0],
    ]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "201"},
        {"limit": "0"},
        {"since": "2026-11-20T10:00:00Z", "until": "2026-11-20T09:00:00Z"},
        {"since": "2026-11-20T10:00:00"},  # no time zone
        {"target": "no-kind"},
        {"action": "Created"},
        {"cursor": "not-a-cursor"},
        {"who": "admin-1"},
    ],
)
def test_a_malformed_query_is_a_400(admin_api: ApiClient, query: dict[str, str]) -> None:
    response = admin_api.get("/v1/audit", **query)

    assert response.status == 400, response.body


# --- same transaction: no change without its entry, no entry without its change ----------------------
def test_a_health_model_save_that_loses_a_race_writes_neither_the_version_nor_the_entry(
    director_api: ApiClient, workspace: str
) -> None:
    from keepwell.errors import Conflict
    from keepwell.storage import audit as audit_store
    from keepwell.storage import health_models

    assert director_api.request("PUT", "/v1/health/model", body={"preset": "usage_heavy"}).status == 200
    current = health_models.get_current(workspace, fresh=True)
    entry = audit_store.audit_item(workspace, "director-1", "health_model.updated", "workspace:health_model", 1, 2)

    with pytest.raises(Conflict):
        health_models.save_version(
            workspace,
            current.model,
            previous_version=0,  # someone else already saved version 1
            created_at=z(FROZEN_NOW),
            created_by="director-1",
            reason="edited",
            audit=entry,
        )

    assert [e["action"] for e in audit(director_api)] == ["health_model.preset_applied"]
    assert health_models.get_current(workspace, fresh=True).version == 1
