"""Workspace settings through the real API handler on moto: admins change the name, timezone, scoring
hour, currency, fiscal year and competitor keywords; bad values are a 400 naming the field with nothing
written; every change is audited; and the hourly schedule scores at the new local hour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra.functions import FakeLambdaContext, load_handler
from keepwell import clock
from keepwell.auth import Caller
from keepwell.services import schedule_runs
from keepwell.storage import audit, workspaces
from tests.conftest import ApiClient

PATH = "/v1/settings/workspace"


def test_defaults_are_shown_to_admins(admin_api: ApiClient, workspace: str) -> None:
    answer = admin_api.get(PATH)
    assert answer.status == 200
    assert answer.body == {
        "workspace_id": workspace,
        "name": "Acme CS",
        "timezone": "UTC",
        "scoring_hour": 5,
        "currency": "USD",
        "fiscal_year_start_month": 1,
        "competitor_keywords": [],
    }


def test_an_admin_changes_every_setting_and_it_is_audited(admin_api: ApiClient, workspace: str) -> None:
    change = {
        "name": "Acme Customer Success",
        "timezone": "Europe/Madrid",
        "scoring_hour": 7,
        "currency": "EUR",
        "fiscal_year_start_month": 4,
        "competitor_keywords": ["RivalCo", "Churnly"],
    }
    answer = admin_api.patch(PATH, change)
    assert answer.status == 200, answer.body
    assert answer.body == {"workspace_id": workspace, **change}
    assert admin_api.get(PATH).body == answer.body
    assert admin_api.get("/v1/me").body["workspace_name"] == "Acme Customer Success"
    # Competitors are the health model's (one list for scoring and the competitor flag).
    assert admin_api.get("/v1/health/model").body["sentiment"]["competitors"] == ["RivalCo", "Churnly"]
    (entry,) = audit.list_by_target(workspace, "workspace:settings")
    assert (entry.action, entry.actor_id) == ("workspace.settings_changed", "admin-1")
    assert entry.before["timezone"] == "UTC" and entry.after["timezone"] == "Europe/Madrid"
    assert entry.before["scoring_hour"] == 5 and entry.after["scoring_hour"] == 7
    # The same values again change and record nothing.
    assert admin_api.patch(PATH, change).status == 200
    assert len(audit.list_by_target(workspace, "workspace:settings")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"scoring_hour": 24}, "scoring_hour"),
        ({"scoring_hour": -1}, "scoring_hour"),
        ({"scoring_hour": "7"}, "scoring_hour"),
        ({"currency": "euro"}, "currency"),
        ({"fiscal_year_start_month": 13}, "fiscal_year_start_month"),
        ({"name": ""}, "name"),
        ({"competitor_keywords": [""]}, "competitor_keywords.0"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field_and_nothing_changes(
    admin_api: ApiClient, workspace: str, body: dict, field: str
) -> None:
    before = admin_api.get(PATH).body
    answer = admin_api.patch(PATH, {"scoring_hour": 9, **body} if field != "scoring_hour" else body)
    assert (answer.status, answer.error_code) == (400, "validation_error")
    assert field in [d["field"] for d in answer.body["error"]["details"]]
    assert field in answer.body["error"]["message"]
    assert admin_api.get(PATH).body == before
    assert audit.list_by_target(workspace, "workspace:settings") == []


@pytest.mark.parametrize(("user_id", "role"), [("director-1", "director"), ("csm-1", "csm"), ("viewer-1", "viewer")])
def test_only_admins_read_or_change_settings(workspace: str, user_id: str, role: str) -> None:
    api = ApiClient(Caller(workspace, user_id, role))
    assert api.get(PATH).status == 403
    assert api.patch(PATH, {"scoring_hour": 9}).status == 403
    item = workspaces.get_workspace(workspace)
    assert item is not None and int(item.scoring_hour) == 5


def test_another_workspaces_admin_changes_only_their_own(
    admin_api: ApiClient, other_admin_api: ApiClient, workspace: str, other_workspace: str
) -> None:
    assert other_admin_api.patch(PATH, {"scoring_hour": 11}).status == 200
    assert admin_api.get(PATH).body["scoring_hour"] == 5
    assert other_admin_api.get(PATH).body["workspace_id"] == other_workspace


def test_scoring_hour_7_in_madrid_scores_at_7_madrid_time_and_not_before(admin_api: ApiClient, workspace: str) -> None:
    assert admin_api.post("/v1/customers", {"name": "Northwind"}).status == 201
    assert admin_api.patch(PATH, {"timezone": "Europe/Madrid", "scoring_hour": 7}).status == 200

    def hourly_run(at: datetime) -> dict[str, int]:
        with clock.frozen(at):
            return schedule_runs.fan_out_due_workspaces(at)

    # 21 November, Madrid is UTC+1: the old hour (05:00 UTC) and 06:00 Madrid (05:00 UTC) are not it.
    assert workspace not in hourly_run(datetime(2026, 11, 21, 4, 0, tzinfo=UTC))
    assert workspace not in hourly_run(datetime(2026, 11, 21, 5, 0, tzinfo=UTC))
    # 07:00 Madrid = 06:00 UTC: the real schedule handler, for its event's time, queues the customer.
    with clock.frozen(datetime(2026, 11, 21, 6, 0, 3, tzinfo=UTC)):
        load_handler("ScheduleFunction")({"scheduled_time": "2026-11-21T06:00:00Z"}, FakeLambdaContext("schedule"))
    assert hourly_run(datetime(2026, 11, 21, 6, 0, tzinfo=UTC)) == {workspace: 0}  # that local day is queued
    assert workspace not in hourly_run(datetime(2026, 11, 21, 7, 0, tzinfo=UTC))
    # In summer (UTC+2), 07:00 Madrid is 05:00 UTC.
    assert workspace not in hourly_run(datetime(2027, 6, 1, 4, 0, tzinfo=UTC))
    assert hourly_run(datetime(2027, 6, 1, 5, 0, tzinfo=UTC)) == {workspace: 1}
