"""The scoring state on the profile is stored compressed (storage/scoring_state.py, docs/cost.md):
a profile costs fewer write units on every daily scoring, and a profile scored before, holding the
state as JSON text, reads the same everywhere and is compressed by its next scoring."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import boto3

from bench.recalc import item_size
from keepwell import clock
from keepwell.auth import Caller
from keepwell.storage import keys, scoring_state
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import TODAY, add_customer, request, score, usage_days

STATE_DAYS = 31
WRITE_UNIT = 1024


def profile(workspace: str, customer_id: str) -> dict[str, Any]:
    table = boto3.client("dynamodb", region_name="us-east-1")
    key = keys.customer(workspace, customer_id)
    item: dict[str, Any] = table.get_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": key.pk}, "sk": {"S": key.sk}}, ConsistentRead=True
    )["Item"]
    return item


def store_as_text(workspace: str, customer_id: str) -> dict[str, Any]:
    """Rewrite the profile's state as profiles scored before the compressed form held it."""
    state = scoring_state.decode(None, profile(workspace, customer_id)["health_state_z"]["B"])
    key = keys.customer(workspace, customer_id)
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": key.pk}, "sk": {"S": key.sk}},
        UpdateExpression="SET health_state = :s REMOVE health_state_z",
        ExpressionAttributeValues={":s": {"S": json.dumps(state)}},
    )
    return state


def seen(workspace: str, customer_id: str) -> dict[str, Any]:
    """What users see that comes from the state: the list's 7-day change, the CSM's My day alerts."""
    director = ApiClient(Caller(workspace, "director-1", "director"))
    csm = ApiClient(Caller(workspace, "csm-1", "csm"))
    rows = {c["customer_id"]: c for c in director.get("/v1/customers", limit=50).body["items"]}
    my_day = {c["customer_id"]: c for c in csm.get("/v1/my-day").body["customers"]}
    return {"change_7d": rows[customer_id]["health_change_7d"], "my_day": my_day.get(customer_id)}


def test_a_scored_profile_keeps_its_state_compressed_and_small(workspace: str) -> None:
    add_customer(workspace, "c1", usage=usage_days(days=120, quiet_from=20))
    assert score(request("c1", reason="manual", history=True, scoring_day=TODAY)) == {"batchItemFailures": []}

    item = profile(workspace, "c1")
    assert "health_state" not in item
    packed = item["health_state_z"]["B"]
    state = scoring_state.decode(None, packed)
    assert len(state["days"]) == STATE_DAYS and max(state["days"]) == TODAY.isoformat()
    text = json.dumps(state, separators=(",", ":"))
    assert len(packed) * 3 < len(text)  # ~0.5 KB instead of ~1.9 KB
    assert item_size(item) <= 2 * WRITE_UNIT  # 2 write units per profile write (3 with the text)


def test_a_profile_scored_before_reads_the_same_and_its_next_scoring_compresses_it(workspace: str) -> None:
    add_customer(workspace, "c1", usage=usage_days(days=120, quiet_from=20))
    assert score(request("c1", reason="manual", history=True, scoring_day=TODAY)) == {"batchItemFailures": []}
    before = seen(workspace, "c1")
    assert before["change_7d"] is not None and before["change_7d"] < 0
    assert before["my_day"] is not None  # sliding: in the CSM's attention list

    old = store_as_text(workspace, "c1")
    assert "health_state_z" not in profile(workspace, "c1")
    assert seen(workspace, "c1") == before  # read through the new code

    tomorrow = TODAY + timedelta(days=1)
    with clock.frozen(clock.now() + timedelta(days=1)):
        assert score(request("c1", scoring_day=tomorrow)) == {"batchItemFailures": []}
    item = profile(workspace, "c1")
    assert "health_state" not in item
    state = scoring_state.decode(None, item["health_state_z"]["B"])
    # The next day continued from the old state (its days kept, the oldest one dropped), not afresh.
    assert sorted(state["days"]) == [*sorted(old["days"])[1:], tomorrow.isoformat()]
    assert {d: state["days"][d] for d in sorted(old["days"])[1:]} == {
        d: old["days"][d] for d in sorted(old["days"])[1:]
    }


def test_an_unreadable_state_reads_as_none_instead_of_failing_the_screen() -> None:
    assert scoring_state.decode("{not json", None) == {}
    assert scoring_state.decode(None, b"not zlib") == {}
    assert scoring_state.decode("[1, 2]", None) == {}
    state = {"v": 1, "days": {"2026-11-20": [50.0, "Neutral", None, 0, 0, 0, []]}}
    assert scoring_state.decode(None, scoring_state.encode(state)) == state
    assert scoring_state.decode(json.dumps({"v": 0}), scoring_state.encode(state)) == state  # the compressed wins
