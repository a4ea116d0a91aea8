"""The people a domain event names are told, exactly once: an at-risk renewal's directors and a sales
hand-off's account executive (in app and Slack), a failing webhook subscription's admins (in app). The
events are the ones the API published (captured on their way to the bus), handed to the playbooks
handler as EventBridge delivers them, twice; `renewal.sales_handoff` is in the outbound catalogue."""

from __future__ import annotations

from typing import Any

from keepwell.adapters import event_bus
from keepwell.auth import Caller
from keepwell.domain.webhooks.subscriptions import EVENT_TYPES, normalise_event_types, webhook_event_type
from tests.conftest import ApiClient
from tests.integration import test_playbooks_runs as playbook_harness
from tests.integration.test_playbooks_runs import SlackStandIn, deliver_slack, domain_event, playbooks_handler

slack = playbook_harness.slack  # the Slack stand-in on loopback, connected through PUT /v1/settings/slack


def notifications(workspace: str, user_id: str, role: str) -> list[dict[str, Any]]:
    response = ApiClient(Caller(workspace, user_id, role)).get("/v1/notifications")
    assert response.status == 200, response.body
    return list(response.body["items"])


def bus_event(published: list[event_bus.DomainEvent], detail_type: str) -> dict[str, Any]:
    [event] = [e for e in published if e.detail_type == detail_type]
    return domain_event(detail_type, event.detail, event_id=f"evt-{detail_type}")


def renewal_of(admin_api: ApiClient, **customer: Any) -> tuple[str, str]:
    created = admin_api.post("/v1/customers", {"name": "Initech", "owner_id": "csm-1", "arr": 12_000, **customer})
    assert created.status == 201, created.body
    cid = created.body["customer_id"]
    renewal = admin_api.post(
        f"/v1/customers/{cid}/renewals", {"renewal_date": "2027-01-10", "account_executive_id": "csm-2"}
    )
    assert renewal.status == 201, renewal.body
    return cid, renewal.body["renewal_id"]


def test_an_at_risk_renewal_reaches_the_directors_in_app_and_slack_once(
    admin_api: ApiClient, workspace: str, published: list[event_bus.DomainEvent], slack: SlackStandIn
) -> None:
    cid, rid = renewal_of(admin_api)
    moved = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast", {"forecast_category": "at_risk", "reason": "Champion left"}
    )
    assert moved.status == 200, moved.body
    event = bus_event(published, "renewal.forecast_changed")
    assert event["detail"]["notify_user_ids"] == ["director-1"]

    playbooks_handler(event)
    playbooks_handler(event)  # EventBridge delivers at least once
    deliver_slack()

    [note] = notifications(workspace, "director-1", "director")
    assert (note["title"], note["kind"], note["customer_id"]) == (
        "Initech: renewal marked at risk",
        "renewal_at_risk",
        cid,
    )
    assert "Champion left" in note["body"]
    assert notifications(workspace, "admin-1", "admin") == []  # only the people it names
    assert [r["body"]["text"] for r in slack.requests] == ["Initech: renewal marked at risk"]
    assert (
        "Initech"
        in ApiClient(Caller(workspace, "director-1", "director")).get("/v1/my-day").body["notifications"][0]["title"]
    )


def test_moving_a_renewal_elsewhere_tells_nobody(
    admin_api: ApiClient, workspace: str, published: list[event_bus.DomainEvent]
) -> None:
    cid, rid = renewal_of(admin_api)
    admin_api.patch(f"/v1/customers/{cid}/renewals/{rid}/forecast", {"forecast_category": "commit", "reason": "ok"})

    playbooks_handler(bus_event(published, "renewal.forecast_changed"))

    assert notifications(workspace, "director-1", "director") == []


def test_a_sales_handoff_reaches_its_account_executive_once_and_is_a_webhook_event(
    admin_api: ApiClient, workspace: str, published: list[event_bus.DomainEvent]
) -> None:
    cid, rid = renewal_of(admin_api, tags=["sales_handoff"])
    moved = admin_api.patch(
        f"/v1/customers/{cid}/renewals/{rid}/forecast", {"forecast_category": "best_case", "reason": "Upsell"}
    )
    assert moved.status == 200, moved.body
    event = bus_event(published, "renewal.sales_handoff")

    playbooks_handler(event)
    playbooks_handler(event)

    [note] = notifications(workspace, "csm-2", "csm")
    assert (note["kind"], note["customer_id"]) == ("sales_handoff", cid)
    assert "sales hand-off" in note["title"]
    assert webhook_event_type("renewal.sales_handoff") == "renewal.sales_handoff"
    assert "renewal.sales_handoff" in EVENT_TYPES
    assert normalise_event_types(["renewal.sales_handoff"]) == ("renewal.sales_handoff",)  # subscribable


def test_a_failing_subscription_reaches_the_admins_in_app_once(workspace: str) -> None:
    detail = {
        "workspace_id": workspace,
        "subscription_id": "whs_0123456789abcdef",
        "url": "https://hooks.example.com/keepwell",
        "delivery_id": "dlv_1",
        "event_type": "task.created",
        "reason": "http_503_server_error",
        "attempts": 10,
        "round": 0,
        "notify_user_ids": ["admin-1"],
    }
    event = domain_event("webhook.subscription_failing", detail, event_id="evt-failing")

    playbooks_handler(event)
    playbooks_handler(event)

    [note] = notifications(workspace, "admin-1", "admin")
    assert (note["title"], note["kind"]) == ("Webhook https://hooks.example.com/keepwell is failing", "webhook_failing")
    assert "10 times" in note["body"] and "http_503_server_error" in note["body"]
    # the next round of the same delivery failing again is a new notice
    playbooks_handler(domain_event("webhook.subscription_failing", {**detail, "round": 1}, event_id="evt-2"))
    assert len(notifications(workspace, "admin-1", "admin")) == 2
