"""Health model configuration routes through the real API handler on moto: versions, presets, role
checks, validation (nothing saved on a rejected change) and the dry run."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from keepwell.auth import Caller
from keepwell.storage import health_models as model_store
from keepwell.storage import keys
from keepwell.storage.segments import CustomerHealthItem
from tests.conftest import ApiClient

BALANCED = {"usage": 40.0, "engagement": 30.0, "support": 20.0, "sentiment": 10.0}


def put_model(api: ApiClient, body: Any) -> Any:
    return api.request("PUT", "/v1/health/model", body=body)


def weights(model: dict[str, Any]) -> dict[str, float]:
    return {d["key"]: d["weight"] for d in model["dimensions"] if d["enabled"]}


def saved_versions(api: ApiClient) -> list[int]:
    response = api.get("/v1/health/model/versions")
    assert response.status == 200, response.body
    return [v["version"] for v in response.body["items"]]


def dims(**values: float) -> list[dict[str, Any]]:
    return [{"key": k, "weight": w} for k, w in values.items()]


@pytest.fixture
def director_api(workspace: str) -> ApiClient:
    return ApiClient(Caller(workspace, "director-1", "director"))


@pytest.fixture
def recalculations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Stands in for the pipeline's keepwell.services.recalculation and records the calls."""
    calls: list[tuple[Any, ...]] = []
    fake = types.ModuleType("keepwell.services.recalculation")

    def start_recalculation(workspace_id: str, requested_by: str, reason: str) -> str:
        calls.append((workspace_id, requested_by, reason))
        return f"rcl_{len(calls)}"

    fake.start_recalculation = start_recalculation  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keepwell.services.recalculation", fake)
    return calls


# --- reading -----------------------------------------------------------------------------------
def test_a_workspace_that_never_saved_a_model_reads_balanced_at_version_0(admin_api: ApiClient) -> None:
    response = admin_api.get("/v1/health/model")

    assert response.status == 200
    assert response.body["version"] == 0
    assert response.body["preset"] == "balanced"
    assert weights(response.body) == BALANCED
    assert response.body["smoothing_window"] == 7
    assert [b["label"] for b in response.body["bands"]] == ["Healthy", "Neutral", "At risk"]
    assert saved_versions(admin_api) == []


def test_presets_are_listed_with_their_weights_and_balanced_is_the_default(admin_api: ApiClient) -> None:
    items = admin_api.get("/v1/health/presets").body["items"]

    by_name = {p["name"]: p for p in items}
    assert list(by_name) == ["balanced", "usage_heavy", "engagement_first", "support_critical", "six_factor"]
    assert [p["name"] for p in items if p["default"]] == ["balanced"]
    assert {d["key"]: d["weight"] for d in by_name["usage_heavy"]["dimensions"]} == {
        "usage": 60,
        "engagement": 20,
        "support": 15,
        "sentiment": 5,
    }
    assert {d["key"]: d["weight"] for d in by_name["six_factor"]["dimensions"]} == {
        "payment": 25,
        "engagement": 20,
        "usage": 20,
        "support": 15,
        "relationship": 10,
        "contract": 10,
    }
    assert by_name["support_critical"]["label"] == "Support Critical"


# --- validation: a rejected change saves nothing --------------------------------------------------
def test_weights_not_summing_to_100_are_rejected_naming_the_sum_and_nothing_saved(admin_api: ApiClient) -> None:
    response = put_model(admin_api, {"dimensions": dims(usage=40, engagement=30, support=20, sentiment=9)})

    assert response.status == 400
    assert response.error_code == "validation_error"
    assert "weights sum to 99" in response.body["error"]["message"]
    assert response.body["error"]["details"][0]["field"] == "dimensions"
    assert saved_versions(admin_api) == []
    assert admin_api.get("/v1/health/model").body["version"] == 0


def test_disabled_dimensions_do_not_count_toward_the_100(admin_api: ApiClient) -> None:
    body = {"dimensions": [*dims(usage=50, engagement=50), {"key": "support", "weight": 30, "enabled": False}]}
    response = put_model(admin_api, body)

    assert response.status == 200, response.body
    assert weights(response.body) == {"usage": 50, "engagement": 50}


@pytest.mark.parametrize("window", [5, 0, 60])
def test_a_smoothing_window_other_than_3_7_14_30_is_rejected_and_nothing_saved(
    admin_api: ApiClient, window: int
) -> None:
    response = put_model(admin_api, {"smoothing_window": window})

    assert response.status == 400
    assert "smoothing_window" in {d["field"] for d in response.body["error"]["details"]}
    assert "3, 7, 14, 30" in response.body["error"]["message"]
    assert saved_versions(admin_api) == []


def test_bands_with_a_gap_are_rejected_naming_the_uncovered_scores(admin_api: ApiClient) -> None:
    bands = [
        {"label": "Healthy", "color": "green", "min": 70, "max": 100},
        {"label": "At risk", "color": "red", "min": 0, "max": 59},
    ]
    response = put_model(admin_api, {"bands": bands})

    assert response.status == 400
    assert "scores 60-69 have no band" in response.body["error"]["message"]
    assert saved_versions(admin_api) == []


def test_a_custom_expression_error_names_the_dimension_and_position(admin_api: ApiClient) -> None:
    body = {
        "dimensions": [
            {"key": "usage", "weight": 50},
            {"key": "roi", "weight": 50, "expression": "= CLAMP(0, 100, mrr.__class__)"},
        ],
        "variables": ["mrr"],
    }
    response = put_model(admin_api, body)

    assert response.status == 400
    error = response.body["error"]
    assert "dimension 'roi'" in error["message"] and "not allowed" in error["message"]
    detail = error["details"][0]
    assert detail["field"] == "dimensions.1.expression"
    assert (detail["line"], detail["col"]) == (1, 17)  # where `mrr.__class__` starts
    assert saved_versions(admin_api) == []


def test_an_unknown_field_in_an_expression_is_rejected(admin_api: ApiClient) -> None:
    body = {"dimensions": [{"key": "usage", "weight": 50}, {"key": "roi", "weight": 50, "expression": "savings * 2"}]}
    response = put_model(admin_api, body)

    assert response.status == 400
    assert "unknown field 'savings'" in response.body["error"]["message"]


def test_a_preset_and_dimensions_together_are_rejected(admin_api: ApiClient) -> None:
    response = put_model(admin_api, {"preset": "usage_heavy", "dimensions": dims(usage=100)})

    assert response.status == 400
    assert saved_versions(admin_api) == []


# --- roles and workspaces --------------------------------------------------------------------------
@pytest.mark.parametrize(("user_id", "role"), [("csm-1", "csm"), ("viewer-1", "viewer")])
def test_csm_and_viewer_may_read_but_not_change_the_model(workspace: str, user_id: str, role: str) -> None:
    api = ApiClient(Caller(workspace, user_id, role))

    assert put_model(api, {"preset": "usage_heavy"}).status == 403
    assert api.post("/v1/health/model/dry-run", {"preset": "usage_heavy"}).status == 403
    assert api.get("/v1/health/model").status == 200
    assert saved_versions(api) == []


def test_a_director_saves_a_new_version_and_the_history_recalculation_starts(
    director_api: ApiClient, workspace: str, recalculations: list[tuple[Any, ...]]
) -> None:
    response = put_model(director_api, {"dimensions": dims(usage=50, engagement=30, support=20)})

    assert response.status == 200, response.body
    assert response.body["version"] == 1
    assert response.body["preset"] is None
    assert response.body["updated_by"] == "director-1"
    assert response.body["updated_at"] == "2026-11-20T09:30:00.000Z"
    assert response.body["recalculation_job_id"] == "rcl_1"
    assert recalculations == [(workspace, "director-1", "model_changed")]
    assert director_api.get("/v1/health/model").body["version"] == 1


def test_without_the_recalculation_service_the_save_still_succeeds(
    admin_api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keepwell.services.recalculation", None)  # import fails

    response = put_model(admin_api, {"preset": "support_critical"})

    assert response.status == 200
    assert response.body["recalculation_job_id"] is None


def test_another_workspace_sees_only_its_own_model(
    admin_api: ApiClient, other_admin_api: ApiClient, recalculations: list[tuple[Any, ...]]
) -> None:
    assert put_model(admin_api, {"preset": "usage_heavy"}).status == 200

    theirs = other_admin_api.get("/v1/health/model").body
    assert (theirs["version"], theirs["preset"]) == (0, "balanced")
    assert saved_versions(other_admin_api) == []
    assert other_admin_api.get("/v1/health/model/versions/1").status == 404


# --- versions and presets --------------------------------------------------------------------------
def test_applying_a_preset_saves_it_and_old_versions_stay_readable(
    admin_api: ApiClient, recalculations: list[tuple[Any, ...]]
) -> None:
    first = put_model(admin_api, {"preset": "usage_heavy"})
    second = put_model(admin_api, {"smoothing_window": 14, "hysteresis": {"enabled": True, "margin_points": 5}})
    third = put_model(admin_api, {"preset": "six_factor"})

    assert [r.status for r in (first, second, third)] == [200, 200, 200]
    assert weights(first.body) == {"usage": 60, "engagement": 20, "support": 15, "sentiment": 5}
    # fields left out keep their value: the preset survives a window change, the window a preset change
    assert (second.body["preset"], second.body["smoothing_window"]) == ("usage_heavy", 14)
    assert second.body["hysteresis"]["enabled"] is True
    assert (third.body["preset"], third.body["smoothing_window"]) == ("six_factor", 14)
    assert weights(third.body)["payment"] == 25

    listed = admin_api.get("/v1/health/model/versions").body["items"]
    assert [(v["version"], v["preset"]) for v in listed] == [(3, "six_factor"), (2, "usage_heavy"), (1, "usage_heavy")]
    assert listed[2]["weights"] == {"usage": 60, "engagement": 20, "support": 15, "sentiment": 5}
    old = admin_api.get("/v1/health/model/versions/1").body
    assert (old["version"], old["smoothing_window"], weights(old)["usage"]) == (1, 7, 60)
    assert admin_api.get("/v1/health/model").body["version"] == 3
    assert len(recalculations) == 3


def test_versions_are_paged_newest_first(admin_api: ApiClient, recalculations: list[tuple[Any, ...]]) -> None:
    for preset in ("usage_heavy", "balanced", "engagement_first"):
        put_model(admin_api, {"preset": preset})

    first = admin_api.get("/v1/health/model/versions", limit=2).body
    second = admin_api.get("/v1/health/model/versions", limit=2, cursor=first["next_cursor"]).body

    assert [v["version"] for v in first["items"]] == [3, 2]
    assert [v["version"] for v in second["items"]] == [1]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("version", ["7", "abc"])
def test_an_unknown_or_malformed_version_is_404_or_400(admin_api: ApiClient, version: str) -> None:
    response = admin_api.get(f"/v1/health/model/versions/{version}")
    assert response.status == (404 if version.isdigit() else 400)


def test_a_stale_expected_version_is_409_and_nothing_saved(
    admin_api: ApiClient, recalculations: list[tuple[Any, ...]]
) -> None:
    put_model(admin_api, {"preset": "usage_heavy"})

    response = put_model(admin_api, {"preset": "balanced", "expected_version": 0})

    assert response.status == 409
    assert response.error_code == "version_conflict"
    assert saved_versions(admin_api) == [1]


def test_the_current_model_is_one_read_for_the_scorer_and_follows_a_save(
    admin_api: ApiClient, workspace: str, recalculations: list[tuple[Any, ...]]
) -> None:
    model, version = model_store.get_current_model(workspace)
    assert (version, model.preset) == (0, "balanced")

    put_model(admin_api, {"preset": "engagement_first"})

    model, version = model_store.get_current_model(workspace)
    assert (version, model.version, model.preset) == (1, 1, "engagement_first")
    model_store.reset_cache()
    fresh, fresh_version = model_store.get_current_model(workspace, fresh=True)
    assert (fresh_version, fresh.preset) == (1, "engagement_first")


# --- dry run ---------------------------------------------------------------------------------------
def set_latest_health(workspace_id: str, customer_id: str, score: float, band: str, values: dict[str, Any]) -> None:
    """What the scorer denormalises onto the profile."""
    key = keys.customer(workspace_id, customer_id)
    CustomerHealthItem(key.pk, key.sk).update(
        actions=[
            CustomerHealthItem.health_score.set(score),
            CustomerHealthItem.health_band.set(band),
            CustomerHealthItem.health_dimensions.set(values),
        ]
    )


def create_customer(api: ApiClient, name: str, **fields: Any) -> str:
    response = api.post("/v1/customers", {"name": name, **fields})
    assert response.status == 201, response.body
    return str(response.body["customer_id"])


@pytest.fixture
def scored_portfolio(admin_api: ApiClient, workspace: str) -> dict[str, str]:
    """Four customers: three scored under Balanced, one never scored."""
    people = {
        "Acme": ({"usage": 90, "engagement": 40, "support": 50, "sentiment": 50}, 63.0, "Neutral"),
        "Birch": ({"usage": 30, "engagement": 80, "support": 80, "sentiment": 80}, 60.0, "Neutral"),
        "Cobalt": ({"usage": 20, "engagement": 40, "support": 60, "sentiment": 40}, 36.0, "At risk"),
    }
    ids: dict[str, str] = {}
    for name, (values, score, band) in people.items():
        ids[name] = create_customer(admin_api, name, mrr=1000)
        set_latest_health(workspace, ids[name], score, band, values)
    ids["Dune"] = create_customer(admin_api, "Dune")
    return ids


def test_dry_run_returns_the_band_distribution_and_who_would_change_band_and_saves_nothing(
    admin_api: ApiClient, scored_portfolio: dict[str, str], recalculations: list[tuple[Any, ...]]
) -> None:
    response = admin_api.post("/v1/health/model/dry-run", {"preset": "usage_heavy"})

    assert response.status == 200, response.body
    body = response.body
    assert (body["customers"], body["unscored"], body["current_version"]) == (4, 1, 0)
    assert body["distribution_before"] == {"Healthy": 0, "Neutral": 2, "At risk": 1}
    assert body["distribution_after"] == {"Healthy": 1, "Neutral": 1, "At risk": 1}
    assert body["changed_count"] == 1
    assert body["changed"] == [
        {
            "customer_id": scored_portfolio["Acme"],
            "name": "Acme",
            "score_before": 63.0,
            "score_after": 72.0,
            "band_before": "Neutral",
            "band_after": "Healthy",
        }
    ]
    assert body["approximations"] == []
    assert saved_versions(admin_api) == []
    assert admin_api.get("/v1/health/model").body["version"] == 0
    assert recalculations == []


def test_dry_run_with_the_current_model_changes_nobody(admin_api: ApiClient, scored_portfolio: dict[str, str]) -> None:
    body = admin_api.post("/v1/health/model/dry-run", {"preset": "balanced"}).body

    assert body["changed"] == [] and body["distribution_before"] == body["distribution_after"]


def test_dry_run_evaluates_custom_dimensions_from_fields_and_marks_raw_signal_ones_na(
    admin_api: ApiClient, scored_portfolio: dict[str, str]
) -> None:
    admin_api.post("/v1/custom-fields", {"key": "monthly_savings_usd", "label": "Savings", "type": "number"})
    acme, cobalt = scored_portfolio["Acme"], scored_portfolio["Cobalt"]
    assert admin_api.patch(f"/v1/customers/{cobalt}", {"custom_fields": {"monthly_savings_usd": 10000}}).status == 200
    proposal = {
        "dimensions": [
            {"key": "usage", "weight": 50},
            {"key": "roi", "weight": 30, "expression": "= CLAMP(0, 100, (monthly_savings_usd / mrr) * 10)"},
            {"key": "adoption", "weight": 20, "expression": "logins_per_seat_week * 20"},
        ],
        "variables": ["monthly_savings_usd", "mrr"],
    }

    body = admin_api.post("/v1/health/model/dry-run", proposal).body

    assert [a["dimension"] for a in body["approximations"]] == ["adoption"]
    assert "logins_per_seat_week" in body["approximations"][0]["reason"]
    changed = {c["customer_id"]: c for c in body["changed"]}
    # Cobalt: usage 20 (weight 50) and ROI 100 (weight 30), adoption N/A -> (1000 + 3000) / 80 = 50
    assert changed[cobalt]["score_after"] == 50.0 and changed[cobalt]["band_after"] == "Neutral"
    # Acme has no savings: ROI and adoption N/A, usage alone -> 90
    assert changed[acme]["score_after"] == 90.0 and changed[acme]["band_after"] == "Healthy"


def test_an_invalid_proposal_is_a_400_for_the_dry_run_too(admin_api: ApiClient) -> None:
    response = admin_api.post("/v1/health/model/dry-run", {"dimensions": dims(usage=60, engagement=60)})

    assert response.status == 400
    assert "weights sum to 120" in response.body["error"]["message"]


def test_a_competitor_name_over_100_characters_is_rejected_naming_the_list_and_nothing_saved(
    admin_api: ApiClient,
) -> None:
    body = {
        "dimensions": dims(usage=40, engagement=30, support=20, sentiment=10),
        "sentiment": {"competitors": ["Acme", "x" * 101]},
    }

    response = put_model(admin_api, body)

    assert (response.status, response.error_code) == (400, "validation_error")
    assert any("competitors" in d["field"] for d in response.body["error"]["details"]), response.body
    assert saved_versions(admin_api) == []


# --- hostile expressions (issue #16) -------------------------------------------------------------------
ATTACK = '= IF(("%99999999999d" % 1) == "", 1, 50)'  # the exact expression


def attack_model(expression: str) -> dict[str, Any]:
    return {
        "dimensions": [{"key": "usage", "weight": 50}, {"key": "trap", "weight": 50, "expression": expression}],
        "variables": ["plan_code"],
    }


@pytest.mark.parametrize("route", ["PUT /v1/health/model", "POST /v1/health/model/dry-run"])
def test_string_formatting_in_an_expression_is_a_400_naming_the_field_and_position_and_nothing_saved(
    admin_api: ApiClient, scored_portfolio: dict[str, str], recalculations: list[tuple[Any, ...]], route: str
) -> None:
    method, path = route.split(" ")
    response = admin_api.request(method, path, body=attack_model(ATTACK))

    assert response.status == 400, response.body
    error = response.body["error"]
    assert "dimension 'trap'" in error["message"] and "text" in error["message"]
    detail = error["details"][0]
    assert detail["field"] == "dimensions.1.expression"
    assert (detail["line"], detail["col"]) == (1, 7)  # where `"%99999999999d" % 1` starts
    assert saved_versions(admin_api) == [] and recalculations == []


def test_string_formatting_through_a_text_field_makes_the_dimension_na_not_a_500(
    admin_api: ApiClient, scored_portfolio: dict[str, str]
) -> None:
    """What cannot be rejected at save time (the text comes from a customer's field) is bounded when
    evaluated: that customer's dimension is N/A and the dry run answers as usual."""
    admin_api.post("/v1/custom-fields", {"key": "plan_code", "label": "Plan code", "type": "text"})
    acme = scored_portfolio["Acme"]
    assert admin_api.patch(f"/v1/customers/{acme}", {"custom_fields": {"plan_code": "%99999999999d"}}).status == 200
    model = attack_model('= IF((plan_code % 1) == "", 1, 50)')

    response = admin_api.post("/v1/health/model/dry-run", model)

    assert response.status == 200, response.body
    changed = {c["customer_id"]: c for c in response.body["changed"]}
    # Acme: the trap is N/A, so usage alone (90) scores it; before, Balanced gave 63.
    assert acme in changed, response.body
    assert changed[acme]["score_after"] == 90.0 and changed[acme]["band_after"] == "Healthy"
    assert put_model(admin_api, model).status == 200  # nothing static to reject: the text is data
