"""The admin side of integrations through the real API handler on moto: signing secrets (admins only,
stored in Secrets Manager, never returned or logged) and unmatched events (parked, listed, mapped)."""

from __future__ import annotations

import boto3
import pytest

from keepwell.auth import Caller
from keepwell.storage import signal_logs
from tests.conftest import ApiClient, ApiResponse
from tests.integration.test_integrations_webhooks import (
    SLACK_SECRET,
    ZENDESK_SECRET,
    post,
    slack_headers,
    timeline,
    zendesk_headers,
)
from tests.unit.test_integration_parsers import body, slack_message, zendesk_ticket_event

ORG = "360017123456"


@pytest.fixture
def customer_id(admin_api: ApiClient) -> str:
    response = admin_api.post("/v1/customers", {"name": "Initech", "domain": "initech.test"})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def put_secret(api: ApiClient, provider: str, secret: str) -> ApiResponse:
    return api.request("PUT", f"/v1/integrations/{provider}/secret", body={"secret": secret})


def zendesk_ticket(workspace: str, ticket_id: str, event_id: str) -> dict[str, object]:
    raw = body(zendesk_ticket_event(ticket_id=ticket_id, event_id=event_id, organization_id=ORG))
    response = post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw))
    assert response.status == 200, response.body
    return dict(response.body)


# --- secrets -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["director", "csm", "viewer"])
def test_only_admins_may_see_set_or_delete_secrets_or_map_events(workspace, role):
    api = ApiClient(Caller(workspace, f"{role}-1", role))
    attempts = [
        api.get("/v1/integrations"),
        put_secret(api, "zendesk", ZENDESK_SECRET),
        api.delete("/v1/integrations/zendesk/secret"),
        api.get("/v1/integrations/unmatched"),
        api.post("/v1/integrations/unmatched/um_x/map", {"customer_id": "cus_x"}),
    ]
    assert [(r.status, r.error_code) for r in attempts] == [(403, "forbidden")] * 5
    assert boto3.client("secretsmanager", region_name="us-east-1").list_secrets()["SecretList"] == []


def test_a_secret_is_stored_in_secrets_manager_and_never_returned_or_logged(admin_api, workspace, capsys, caplog):
    response = put_secret(admin_api, "zendesk", ZENDESK_SECRET)
    listing = admin_api.get("/v1/integrations")

    assert response.status == 200
    assert response.body == {
        "provider": "zendesk",
        "configured": True,
        "webhook_url": f"http://localhost/v1/integrations/zendesk/{workspace}",
        "signature_headers": ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"],
        "updated_at": response.body["updated_at"],
    }
    stored = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=f"keepwell/{workspace}/integrations/zendesk"
    )
    assert stored["SecretString"] == ZENDESK_SECRET
    assert [(i["provider"], i["configured"]) for i in listing.body["items"]] == [
        ("zendesk", True),
        ("intercom", False),
        ("hubspot", False),
        ("slack", False),
        ("jira", False),
        ("generic", False),
    ]
    seen = str(response.body) + str(listing.body) + capsys.readouterr().out + caplog.text
    assert ZENDESK_SECRET not in seen


def test_the_webhook_url_is_the_public_address_the_api_was_called_on(admin_api, workspace):
    listing = admin_api.request(
        "GET", "/v1/integrations", headers={"Host": "api.keepwell.example", "X-Forwarded-Proto": "https"}
    )
    urls = {i["provider"]: i["webhook_url"] for i in listing.body["items"]}
    assert urls["jira"] == f"https://api.keepwell.example/v1/integrations/jira/{workspace}"


def test_a_rotated_secret_takes_effect_at_once_and_a_deleted_one_rejects_webhooks(admin_api, workspace):
    raw = body(zendesk_ticket_event(organization_id=ORG))
    put_secret(admin_api, "zendesk", "first-zendesk-secret")
    assert post("zendesk", workspace, raw, zendesk_headers("first-zendesk-secret", raw)).status == 200
    put_secret(admin_api, "zendesk", ZENDESK_SECRET)
    assert post("zendesk", workspace, raw, zendesk_headers("first-zendesk-secret", raw)).status == 401

    deleted = admin_api.delete("/v1/integrations/zendesk/secret")
    again = admin_api.delete("/v1/integrations/zendesk/secret")

    assert (deleted.status, again.status) == (204, 404)
    assert post("zendesk", workspace, raw, zendesk_headers(ZENDESK_SECRET, raw)).status == 401
    assert admin_api.get("/v1/integrations").body["items"][0]["configured"] is False


def test_invalid_secrets_and_unknown_providers_are_rejected_and_nothing_stored(admin_api):
    cases = [
        (put_secret(admin_api, "generic", "not-a-standard-webhooks-secret"), 400, "validation_error"),
        (put_secret(admin_api, "zendesk", "short"), 400, "validation_error"),
        (
            admin_api.request("PUT", "/v1/integrations/zendesk/secret", body={"value": "x" * 20}),
            400,
            "validation_error",
        ),
        (put_secret(admin_api, "salesforce", ZENDESK_SECRET), 404, "unknown_provider"),
    ]
    for response, status, code in cases:
        assert (response.status, response.error_code) == (status, code), response.body
        assert "not-a-standard-webhooks-secret" not in str(response.body)
    assert boto3.client("secretsmanager", region_name="us-east-1").list_secrets()["SecretList"] == []


# --- unmatched events ----------------------------------------------------------------------------------
def test_an_unmatched_ticket_is_parked_then_mapped_with_its_org_and_later_tickets_follow(
    admin_api, workspace, customer_id
):
    put_secret(admin_api, "zendesk", ZENDESK_SECRET)
    first = zendesk_ticket(workspace, "501", "e-501")
    second = zendesk_ticket(workspace, "502", "e-502")
    parked = admin_api.get("/v1/integrations/unmatched").body["items"]

    assert (first["parked"], second["parked"]) == (1, 1)
    assert sorted(p["title"].split()[0] for p in parked) == ["#501", "#502"]
    assert {p["link_key"] for p in parked} == {f"org:{ORG}"}
    assert parked[0]["link_label"] == f"Zendesk organization {ORG}, requester 1502716443121"
    assert timeline(admin_api, customer_id) == []

    target = next(p for p in parked if p["title"].startswith("#501"))
    mapped = admin_api.post(f"/v1/integrations/unmatched/{target['unmatched_id']}/map", {"customer_id": customer_id})

    assert mapped.status == 200, mapped.body
    assert mapped.body == {
        "unmatched_id": target["unmatched_id"],
        "customer_id": customer_id,
        "provider": "zendesk",
        "mapping_key": f"org:{ORG}",
        "recorded": 2,
    }
    assert admin_api.get("/v1/integrations/unmatched").body["items"] == []
    assert sorted(i["title"].split()[0] for i in timeline(admin_api, customer_id)) == ["#501", "#502"]
    log, _ = signal_logs.get_signal_log(workspace, customer_id)
    assert sorted(log.tickets) == ["ZD-501", "ZD-502"]

    third = zendesk_ticket(workspace, "503", "e-503")
    assert (third["recorded"], third["parked"]) == (1, 0)
    assert len(timeline(admin_api, customer_id)) == 3


def test_a_slack_channel_is_mapped_once_and_its_next_messages_reach_the_customer(admin_api, workspace, customer_id):
    put_secret(admin_api, "slack", SLACK_SECRET)
    raw = body(slack_message())
    parked = post("slack", workspace, raw, slack_headers(SLACK_SECRET, raw))
    (item,) = admin_api.get("/v1/integrations/unmatched").body["items"]

    mapped = admin_api.post(f"/v1/integrations/unmatched/{item['unmatched_id']}/map", {"customer_id": customer_id})
    later = body(slack_message("Thanks, the fix works", ts=f"{1795167000 - 5}.000100", event_ts="x"))
    later = later.replace(b'"Ev123ABC456"', b'"Ev123ABC457"')
    followed = post("slack", workspace, later, slack_headers(SLACK_SECRET, later))

    assert parked.body["parked"] == 1 and item["link_key"] == "channel:C123ABC456"
    assert mapped.body["mapping_key"] == "channel:C123ABC456"
    assert followed.body["recorded"] == 1
    assert [i["title"] for i in timeline(admin_api, customer_id, kind="note")] == [
        "Thanks, the fix works",
        "Heads up: we are evaluating other vendors at renewal",
    ]


def test_mapping_to_an_unknown_customer_or_an_unknown_event_is_404_and_the_event_stays(admin_api, workspace):
    put_secret(admin_api, "zendesk", ZENDESK_SECRET)
    zendesk_ticket(workspace, "601", "e-601")
    (item,) = admin_api.get("/v1/integrations/unmatched").body["items"]

    unknown_customer = admin_api.post(
        f"/v1/integrations/unmatched/{item['unmatched_id']}/map", {"customer_id": "cus_nope"}
    )
    unknown_event = admin_api.post("/v1/integrations/unmatched/um_nope/map", {"customer_id": "cus_nope"})
    bad_body = admin_api.post(f"/v1/integrations/unmatched/{item['unmatched_id']}/map", {"customer": "x"})

    assert (unknown_customer.status, unknown_event.status, bad_body.status) == (404, 404, 400)
    assert [i["unmatched_id"] for i in admin_api.get("/v1/integrations/unmatched").body["items"]] == [
        item["unmatched_id"]
    ]


def test_unmatched_events_of_one_workspace_are_invisible_to_another(admin_api, other_admin_api, workspace):
    put_secret(admin_api, "zendesk", ZENDESK_SECRET)
    zendesk_ticket(workspace, "701", "e-701")
    (item,) = admin_api.get("/v1/integrations/unmatched").body["items"]

    assert other_admin_api.get("/v1/integrations/unmatched").body["items"] == []
    stolen = other_admin_api.post(f"/v1/integrations/unmatched/{item['unmatched_id']}/map", {"customer_id": "cus_x"})
    assert stolen.status == 404


def test_the_unmatched_list_pages_newest_first(admin_api, workspace):
    put_secret(admin_api, "zendesk", ZENDESK_SECRET)
    for n in range(3):
        zendesk_ticket(workspace, f"80{n}", f"e-80{n}")
    first = admin_api.get("/v1/integrations/unmatched", limit=2)
    rest = admin_api.get("/v1/integrations/unmatched", limit=2, cursor=first.body["next_cursor"])

    assert len(first.body["items"]) == 2 and first.body["next_cursor"]
    assert len(rest.body["items"]) == 1 and rest.body["next_cursor"] is None
    seen = {i["unmatched_id"] for i in first.body["items"] + rest.body["items"]}
    assert len(seen) == 3
