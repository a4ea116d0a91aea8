"""Event-driven rescoring: a critical signal queues its customer's rescoring at once (debounced), through
the real ingest and integrations handlers; routine signals queue nothing (the daily scoring sees them)."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from keepwell.domain.customers import Customer
from keepwell.domain.ingestion import DayActivity
from keepwell.storage import metrics
from tests.conftest import FROZEN_NOW, ApiClient
from tests.integration.test_integrations_webhooks import (
    INTERCOM_SECRET,
    REQUESTER,
    ZENDESK_SECRET,
    configure,
    intercom_headers,
    zendesk_headers,
)
from tests.unit.test_integration_parsers import body, intercom_conversation, zendesk_ticket_event

TODAY = FROZEN_NOW.date()
YESTERDAY = TODAY - timedelta(days=1)


# --- the scoring queue ---------------------------------------------------------------------------------
def visible_requests() -> list[dict[str, Any]]:
    """Receive (and delete) the scoring messages visible now."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = os.environ["SCORING_QUEUE_URL"]
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def delayed_requests() -> int:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(
        QueueUrl=os.environ["SCORING_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"])


# --- ingestion -----------------------------------------------------------------------------------------
@pytest.fixture
def sender(workspace: str) -> ApiClient:
    from keepwell.services.api_keys import create_api_key
    from keepwell.storage.customers import put_customers_batch

    put_customers_batch(
        workspace,
        [
            Customer(
                customer_id=f"cus_{n}",
                workspace_id=workspace,
                name=f"Customer {n}",
                external_id=f"crm-{n}",
                seats=20,
                created_at="2026-01-01T00:00:00.000Z",
                updated_at="2026-01-01T00:00:00.000Z",
            )
            for n in range(3)
        ],
    )
    return ApiClient(None, headers={"X-Api-Key": create_api_key(workspace, "tests", "admin-1")[1]})


def logins(customer: int, day: date, users: int, tag: str = "e") -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{tag}-{customer}-{day.isoformat()}-{n}",
            "event": "user_logged_in",
            "customer_external_id": f"crm-{customer}",
            "user_id": f"user-{n}",
            "timestamp": f"{day.isoformat()}T08:{n % 60:02d}:00Z",
        }
        for n in range(users)
    ]


def send(sender: ApiClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = sender.post("/v1/events", {"events": events})
    assert response.status == 200, response.body
    return dict(response.body)


def usual_usage(workspace: str, customer_id: str, users: int = 10, days: range = range(2, 16)) -> None:
    """`users` active users a day on the days `days` ago (an import, as the demo seed writes history)."""
    metrics.put_imported_days(
        workspace,
        [
            (
                customer_id,
                TODAY - timedelta(days=n),
                DayActivity(
                    events=users,
                    logins=users,
                    event_counts={"user_logged_in": users},
                    users=frozenset(f"user-{k}" for k in range(users)),
                ),
            )
            for n in days
        ],
    )


def test_a_backfilled_batch_queues_one_history_rescoring_from_its_earliest_day_and_a_burst_one_more(
    sender: ApiClient,
):
    send(
        sender, logins(0, TODAY - timedelta(days=3), 4) + logins(0, TODAY - timedelta(days=5), 2) + logins(1, TODAY, 3)
    )

    [queued] = visible_requests()
    assert (queued["customer_id"], queued["reason"], queued["recompute_from"]) == (
        "cus_0",
        "ingest",
        (TODAY - timedelta(days=5)).isoformat(),
    )
    # Two more backfilled batches in the same 30 seconds: one trailing message, which rebuilds the history.
    send(sender, logins(0, TODAY - timedelta(days=7), 2, tag="later"))
    send(sender, logins(0, TODAY - timedelta(days=9), 2, tag="later"))
    assert visible_requests() == [] and delayed_requests() == 1


def test_todays_events_without_a_drop_queue_no_rescoring(workspace: str, sender: ApiClient):
    usual_usage(workspace, "cus_0")
    usual_usage(workspace, "cus_0", days=range(1, 2))  # yesterday as usual

    answer = send(sender, logins(0, TODAY, 3))  # a morning's first logins: a day in progress is no drop

    assert answer["accepted"] == 3
    assert visible_requests() == [] and delayed_requests() == 0


def test_the_first_events_after_a_day_of_sharply_lower_usage_queue_one_rescoring_of_that_customer(
    workspace: str, sender: ApiClient
):
    usual_usage(workspace, "cus_0")  # 10 users a day for two weeks, then 3 yesterday
    usual_usage(workspace, "cus_0", users=3, days=range(1, 2))
    usual_usage(workspace, "cus_1")  # 10 users a day, yesterday too
    usual_usage(workspace, "cus_1", days=range(1, 2))

    send(sender, logins(0, TODAY, 2) + logins(1, TODAY, 2))

    [queued] = visible_requests()
    assert (queued["customer_id"], queued["reason"], queued.get("recompute_from")) == ("cus_0", "ingest", None)
    send(sender, logins(0, TODAY, 5, tag="later"))  # later events of the same day: checked once a day
    assert visible_requests() == [] and delayed_requests() == 0


# --- integrations --------------------------------------------------------------------------------------
@pytest.fixture
def customer_id(admin_api: ApiClient) -> str:
    response = admin_api.post("/v1/customers", {"name": "Acme Corp", "domain": "acme.com", "external_id": "9001"})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


def post_zendesk(workspace: str, event: dict[str, Any]) -> None:
    raw = body(event)
    response = ApiClient(None).post(
        f"/v1/integrations/zendesk/{workspace}", raw=raw, headers=zendesk_headers(ZENDESK_SECRET, raw)
    )
    assert response.status == 200 and response.body["recorded"] == 1, response.body


def test_an_urgent_open_ticket_queues_one_rescoring_and_updates_within_the_window_one_more(
    admin_api: ApiClient, workspace: str, customer_id: str
):
    configure(admin_api, "zendesk")
    post_zendesk(
        workspace, zendesk_ticket_event(ticket_id="2001", status="OPEN", priority="URGENT", requester=REQUESTER)
    )

    [queued] = visible_requests()
    assert (queued["customer_id"], queued["reason"]) == (customer_id, "integration")
    for n, status in enumerate(("PENDING", "OPEN")):  # the same ticket updated twice within seconds
        post_zendesk(
            workspace,
            zendesk_ticket_event(
                ticket_id="2001",
                status=status,
                priority="URGENT",
                requester=REQUESTER,
                event_id=f"7c1e{n}f7c-1d2e-4f3a-9b8c-7d6e5f4a3b2c",
                updated_at=f"2026-11-20T09:29:5{8 + n}Z",
            ),
        )
    assert visible_requests() == [] and delayed_requests() == 1


@pytest.mark.parametrize(("status", "priority"), [("OPEN", "HIGH"), ("OPEN", "NORMAL"), ("SOLVED", "URGENT")])
def test_a_ticket_that_is_not_open_and_urgent_or_critical_queues_no_rescoring(
    admin_api: ApiClient, workspace: str, customer_id: str, status: str, priority: str
):
    configure(admin_api, "zendesk")
    post_zendesk(
        workspace, zendesk_ticket_event(ticket_id="2002", status=status, priority=priority, requester=REQUESTER)
    )
    assert visible_requests() == [] and delayed_requests() == 0


def post_intercom_email(workspace: str, text: str) -> None:
    source = dict(intercom_conversation()["data"]["item"]["source"], body=f"<p>{text}</p>")
    raw = body(intercom_conversation(source=source))
    response = ApiClient(None).post(
        f"/v1/integrations/intercom/{workspace}", raw=raw, headers=intercom_headers(INTERCOM_SECRET, raw)
    )
    assert response.status == 200 and response.body["recorded"] == 1, response.body


def test_an_inbound_email_naming_a_churn_keyword_queues_one_rescoring(
    admin_api: ApiClient, workspace: str, customer_id: str
):
    configure(admin_api, "intercom")
    post_intercom_email(workspace, "We have decided to cancel our subscription at the end of the term.")

    [queued] = visible_requests()
    assert (queued["customer_id"], queued["reason"]) == (customer_id, "integration")


def test_an_inbound_email_without_a_churn_keyword_queues_no_rescoring(
    admin_api: ApiClient, workspace: str, customer_id: str
):
    configure(admin_api, "intercom")
    post_intercom_email(workspace, "Our exports keep failing since Monday and we are stuck.")
    assert visible_requests() == [] and delayed_requests() == 0
