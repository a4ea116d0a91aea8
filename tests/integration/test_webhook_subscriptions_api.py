"""The /v1/webhooks admin API through the real API handler on moto: subscriptions, the SSRF guard at
creation, secrets shown only at creation and rotation, role and workspace checks, the delivery log."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain.webhooks import ssrf
from keepwell.services import webhook_subscriptions
from keepwell.settings import reset_settings
from tests.conftest import FROZEN_NOW, ApiClient

HOST = "hooks.customer.example"
URL = f"https://{HOST}/keepwell"
PUBLIC_IP = "93.184.215.14"
BAND_CHANGED = "customer.health.band_changed"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The SSRF guard's resolver answers from this table (host → addresses); public by default."""
    answers: dict[str, list[str]] = {HOST: [PUBLIC_IP]}
    monkeypatch.setattr(ssrf, "default_resolve", lambda host, port: answers[host])
    return answers


@pytest.fixture
def production_stage(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STAGE", "prod")
    reset_settings()
    yield
    reset_settings()


def create(api: ApiClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/webhooks", {"url": URL, "event_types": [BAND_CHANGED], **fields})
    assert response.status == 201, response.body
    return response.body


def secrets_manager() -> Any:
    return boto3.client("secretsmanager", region_name="us-east-1")


def stored_secrets(workspace_id: str, subscription_id: str) -> list[dict[str, Any]]:
    value = secrets_manager().get_secret_value(SecretId=f"keepwell/{workspace_id}/webhooks/{subscription_id}")
    secrets: list[dict[str, Any]] = json.loads(value["SecretString"])["secrets"]
    return secrets


def table_items() -> list[dict[str, Any]]:
    """Every item of the table (tests only: the code under test never scans)."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])
    return list(table.scan()["Items"])


# --- create, read, list ----------------------------------------------------------------------------
def test_creating_a_subscription_shows_its_whsec_secret_once(admin_api, dns):
    created = create(admin_api, description="CRM sync", event_types=["customer.health.alert", BAND_CHANGED])

    assert created["subscription_id"].startswith("whs_")
    assert created["url"] == URL and created["description"] == "CRM sync"
    assert created["event_types"] == ["customer.health.alert", BAND_CHANGED]  # sorted, as stored
    assert created["enabled"] is True and created["status"] == "active"
    assert created["created_by"] == "admin-1" and created["created_at"] == "2026-11-20T09:30:00.000Z"
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert stored_secrets("ws_acme", created["subscription_id"]) == [{"value": secret, "not_after": None}]

    fetched = admin_api.get(f"/v1/webhooks/{created['subscription_id']}")
    listed = admin_api.get("/v1/webhooks")
    assert fetched.status == 200 and listed.status == 200
    assert fetched.body == {k: v for k, v in created.items() if k != "secret"}
    assert listed.body == {"items": [fetched.body]}


def test_the_event_catalogue_is_listed_and_every_type_it_lists_can_be_subscribed(admin_api, dns):
    listed = admin_api.get("/v1/webhook-event-types")
    assert listed.status == 200
    names = [t["name"] for t in listed.body["items"]]
    assert "customer.health.band_changed" in names and "webhook.test" not in names  # the test event is not chosen
    assert all(t["description"] for t in listed.body["items"])
    assert sorted(create(admin_api, event_types=names)["event_types"]) == sorted(names)
    refused = admin_api.post("/v1/webhooks", {"url": URL, "event_types": ["customer.renamed"]})
    assert refused.status == 400 and "event_types" in json.dumps(refused.body)


def test_the_secret_is_never_returned_again_nor_stored_in_the_table(admin_api, dns):
    created = create(admin_api)
    sid = created["subscription_id"]
    answers = [
        admin_api.get("/v1/webhooks"),
        admin_api.get(f"/v1/webhooks/{sid}"),
        admin_api.patch(f"/v1/webhooks/{sid}", {"description": "renamed"}),
        admin_api.post(f"/v1/webhooks/{sid}/test"),
        admin_api.get(f"/v1/webhooks/{sid}/deliveries"),
    ]
    for answer in answers:
        assert answer.status < 300, answer.body
        assert "whsec_" not in json.dumps(answer.body) and "secret" not in json.dumps(answer.body).replace(
            "secret_rotated_at", ""
        )
    assert not [item for item in table_items() if "whsec_" in json.dumps(item, default=str)]


@pytest.mark.parametrize(
    ("event_types", "issue"),
    [
        (["customer.exploded"], "unknown event types"),
        ([], "at least 1"),
        (["webhook.test"], "unknown event types"),  # test events are sent on request, not subscribed to
    ],
)
def test_event_types_must_come_from_the_documented_list(admin_api, dns, event_types, issue):
    response = admin_api.post("/v1/webhooks", {"url": URL, "event_types": event_types})

    assert response.status == 400
    (detail,) = response.body["error"]["details"]
    assert detail["field"] == "event_types" and issue in detail["issue"]
    assert admin_api.get("/v1/webhooks").body["items"] == []


def test_unknown_fields_and_overlong_descriptions_are_rejected(admin_api, dns):
    assert admin_api.post("/v1/webhooks", {"url": URL, "event_types": [BAND_CHANGED], "secret": "x"}).status == 400
    long = {"url": URL, "event_types": [BAND_CHANGED], "description": "d" * 501}
    assert admin_api.post("/v1/webhooks", long).status == 400


def test_a_workspace_has_a_bounded_number_of_subscriptions(admin_api, dns, monkeypatch):
    monkeypatch.setattr(webhook_subscriptions, "MAX_SUBSCRIPTIONS_PER_WORKSPACE", 2)
    create(admin_api)
    create(admin_api)
    response = admin_api.post("/v1/webhooks", {"url": URL, "event_types": [BAND_CHANGED]})
    assert response.status == 409


# --- the SSRF guard at creation ----------------------------------------------------------------------
FORBIDDEN_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.0.10", "private"),
    ("fd00::1", "private"),
    ("169.254.169.254", "link_local"),
    ("fe80::1", "link_local"),
    ("100.64.0.1", "carrier_grade_nat"),
    ("0.0.0.0", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("::ffff:127.0.0.1", "loopback_embedded_in_ipv6"),
    ("::ffff:169.254.169.254", "link_local_embedded_in_ipv6"),
    ("::ffff:10.0.0.1", "private_embedded_in_ipv6"),
]


@pytest.mark.parametrize(("ip", "reason"), FORBIDDEN_ADDRESSES, ids=[ip for ip, _ in FORBIDDEN_ADDRESSES])
def test_a_url_resolving_to_a_forbidden_address_is_rejected_at_creation_and_nothing_is_saved(
    production_stage, admin_api, dns, ip, reason
):
    dns[HOST] = [ip]

    response = admin_api.post("/v1/webhooks", {"url": URL, "event_types": [BAND_CHANGED]})

    assert response.status == 400 and response.error_code == "validation_error"
    assert response.body["error"]["details"] == [{"field": "url", "issue": "blocked_address"}]
    assert f"({reason}:" in response.body["error"]["message"]
    assert admin_api.get("/v1/webhooks").body["items"] == []
    assert secrets_manager().list_secrets()["SecretList"] == []


@pytest.mark.parametrize(
    ("url", "issue"),
    [
        (f"http://{HOST}/keepwell", "scheme"),
        ("http://127.0.0.1:8080/hook", "scheme"),  # loopback over http only with the local dev flag
        ("ftp://hooks.customer.example/", "scheme"),
        (f"https://user:pass@{HOST}/", "userinfo"),
        ("https://hooks.customer.example@169.254.169.254/", "userinfo"),
        ("https://2130706433/", "numeric_host"),
        ("https://0x7f.1/", "numeric_host"),
        ("https://[fe80::1%25eth0]/", "ipv6_zone_id"),
        ("https://169.254.169.254/latest/meta-data/", "blocked_address"),
    ],
)
def test_unsafe_url_forms_are_rejected_at_creation(production_stage, admin_api, dns, url, issue):
    response = admin_api.post("/v1/webhooks", {"url": url, "event_types": [BAND_CHANGED]})

    assert response.status == 400
    assert response.body["error"]["details"] == [{"field": "url", "issue": issue}]


def test_the_local_dev_flag_allows_http_to_loopback(admin_api):
    created = create(admin_api, url="http://127.0.0.1:8089/hook")
    assert created["url"] == "http://127.0.0.1:8089/hook"


def test_changing_the_url_is_checked_again(production_stage, admin_api, dns):
    created = create(admin_api)
    dns["rebound.example"] = ["10.0.0.7"]

    response = admin_api.patch(f"/v1/webhooks/{created['subscription_id']}", {"url": "https://rebound.example/"})

    assert response.status == 400 and response.body["error"]["details"][0]["field"] == "url"
    assert admin_api.get(f"/v1/webhooks/{created['subscription_id']}").body["url"] == URL


# --- update, disable, delete -----------------------------------------------------------------------
def test_patch_changes_only_the_given_fields(admin_api, dns):
    created = create(admin_api, description="before")
    sid = created["subscription_id"]

    with clock.frozen(FROZEN_NOW + timedelta(minutes=5)):
        response = admin_api.patch(f"/v1/webhooks/{sid}", {"event_types": ["task.created", "customer.churned"]})

    assert response.status == 200
    assert response.body["event_types"] == ["customer.churned", "task.created"]
    assert response.body["description"] == "before" and response.body["url"] == URL
    assert response.body["updated_at"] == "2026-11-20T09:35:00.000Z"


@pytest.mark.parametrize("body", [{}, {"enabled": None}, {"url": None}, {"nope": 1}])
def test_an_empty_null_or_unknown_patch_is_rejected(admin_api, dns, body):
    created = create(admin_api)
    assert admin_api.patch(f"/v1/webhooks/{created['subscription_id']}", body).status == 400


def test_disabling_and_re_enabling_a_subscription(admin_api, dns):
    sid = create(admin_api)["subscription_id"]

    disabled = admin_api.patch(f"/v1/webhooks/{sid}", {"enabled": False})
    assert disabled.body["status"] == "disabled" and disabled.body["disabled_reason"] == "disabled_by_admin"
    refused = admin_api.post(f"/v1/webhooks/{sid}/test")
    assert refused.status == 409 and refused.error_code == "subscription_disabled"
    enabled = admin_api.patch(f"/v1/webhooks/{sid}", {"enabled": True})
    assert enabled.body["status"] == "active" and enabled.body["disabled_reason"] is None


def test_deleting_a_subscription_removes_it_and_schedules_its_secret_for_deletion(admin_api, dns):
    sid = create(admin_api)["subscription_id"]

    assert admin_api.delete(f"/v1/webhooks/{sid}").status == 204

    assert admin_api.get(f"/v1/webhooks/{sid}").status == 404
    assert admin_api.delete(f"/v1/webhooks/{sid}").status == 404
    described = secrets_manager().describe_secret(SecretId=f"keepwell/ws_acme/webhooks/{sid}")
    assert "DeletedDate" in described


# --- rotation ------------------------------------------------------------------------------------
def test_rotation_returns_a_new_secret_once_and_keeps_the_old_one_signing_for_24_hours(admin_api, dns):
    created = create(admin_api)
    sid = created["subscription_id"]

    rotated = admin_api.post(f"/v1/webhooks/{sid}/rotate-secret")

    assert rotated.status == 200
    assert rotated.body["subscription_id"] == sid
    assert rotated.body["previous_secret_expires_at"] == "2026-11-21T09:30:00.000Z"
    assert stored_secrets("ws_acme", sid) == [
        {"value": created["secret"], "not_after": "2026-11-21T09:30:00.000Z"},
        {"value": rotated.body["secret"], "not_after": None},
    ]
    assert "secret" not in admin_api.get(f"/v1/webhooks/{sid}").body


# --- roles and workspaces ------------------------------------------------------------------------
ROUTES = [
    ("GET", "/v1/webhooks"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{sid}"),
    ("PATCH", "/v1/webhooks/{sid}"),
    ("DELETE", "/v1/webhooks/{sid}"),
    ("POST", "/v1/webhooks/{sid}/rotate-secret"),
    ("POST", "/v1/webhooks/{sid}/test"),
    ("GET", "/v1/webhooks/{sid}/deliveries"),
    ("POST", "/v1/webhooks/{sid}/deliveries/{did}/redeliver"),
]


def _call(api: ApiClient, method: str, path: str) -> Any:
    body = {"url": URL, "event_types": [BAND_CHANGED]} if method == "POST" and path == "/v1/webhooks" else None
    if method == "PATCH":
        body = {"description": "x"}
    return api.request(method, path, body=body)


@pytest.mark.parametrize("role_user", [("director", "director-1"), ("csm", "csm-1"), ("viewer", "viewer-1")])
def test_only_admins_may_use_the_webhook_api(admin_api, workspace, dns, role_user):
    sid = create(admin_api)["subscription_id"]
    delivery_id = admin_api.post(f"/v1/webhooks/{sid}/test").body["delivery_id"]
    role, user_id = role_user
    api = ApiClient(Caller(workspace, user_id, role))

    for method, template in ROUTES:
        response = _call(api, method, template.format(sid=sid, did=delivery_id))
        assert (response.status, response.error_code) == (403, "forbidden"), (method, template)
    assert admin_api.get(f"/v1/webhooks/{sid}").body["description"] == ""


def test_another_workspaces_subscription_is_not_found(admin_api, other_admin_api, dns):
    sid = create(admin_api)["subscription_id"]
    delivery_id = admin_api.post(f"/v1/webhooks/{sid}/test").body["delivery_id"]

    for method, template in ROUTES:
        if "{sid}" not in template:
            continue
        response = _call(other_admin_api, method, template.format(sid=sid, did=delivery_id))
        assert response.status == 404, (method, template, response.body)
    assert other_admin_api.get("/v1/webhooks").body == {"items": []}
    assert admin_api.get(f"/v1/webhooks/{sid}").status == 200
    assert len(admin_api.get(f"/v1/webhooks/{sid}/deliveries").body["items"]) == 1


def test_malformed_ids_are_not_found(admin_api, dns):
    assert admin_api.get("/v1/webhooks/WEBHOOK%23x").status == 404
    sid = create(admin_api)["subscription_id"]
    assert admin_api.post(f"/v1/webhooks/{sid}/deliveries/a%23b/redeliver").status == 404


# --- the delivery log ------------------------------------------------------------------------------
def test_the_delivery_log_lists_newest_first_in_pages(admin_api, dns):
    sid = create(admin_api)["subscription_id"]
    queued = []
    for minutes in (0, 10, 20):
        with clock.frozen(FROZEN_NOW + timedelta(minutes=minutes)):
            queued.append(admin_api.post(f"/v1/webhooks/{sid}/test").body["delivery_id"])

    first = admin_api.get(f"/v1/webhooks/{sid}/deliveries", limit=2)
    assert [d["delivery_id"] for d in first.body["items"]] == [queued[2], queued[1]]
    assert first.body["items"][0]["status"] == "queued" and first.body["items"][0]["attempts"] == []
    second = admin_api.get(f"/v1/webhooks/{sid}/deliveries", limit=2, cursor=first.body["next_cursor"])
    assert [d["delivery_id"] for d in second.body["items"]] == [queued[0]]
    assert second.body["next_cursor"] is None


def test_a_cursor_of_another_subscription_is_refused(admin_api, dns):
    one = create(admin_api)["subscription_id"]
    two = create(admin_api)["subscription_id"]
    for _ in range(2):
        admin_api.post(f"/v1/webhooks/{one}/test")
    cursor = admin_api.get(f"/v1/webhooks/{one}/deliveries", limit=1).body["next_cursor"]

    response = admin_api.get(f"/v1/webhooks/{two}/deliveries", cursor=cursor)

    assert response.status == 400 and response.error_code == "invalid_cursor"


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"sort": "x"}])
def test_bad_delivery_log_queries_are_rejected(admin_api, dns, query):
    sid = create(admin_api)["subscription_id"]
    assert admin_api.get(f"/v1/webhooks/{sid}/deliveries", **query).status == 400
