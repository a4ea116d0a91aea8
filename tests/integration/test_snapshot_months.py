"""Snapshots stored per customer-month (decision 0026): histories written before the change (one item per
customer-day) read the same through the API, daily scoring continues them, and the migration folds them
into month items once."""

from __future__ import annotations

import os
import zlib
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from bench.recalc import count_aws_requests
from keepwell import clock
from keepwell.auth import Caller
from keepwell.storage import health_snapshots as snapshots
from keepwell.storage import keys, snapshot_dictionary
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import TODAY, add_customer, request, score, usage_days

ITEM_LIMIT = 400 * 1024


def table() -> Any:
    return boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])


def health_items(workspace: str, customer_id: str) -> list[dict[str, Any]]:
    partition = keys.customer_partition(workspace, customer_id)
    answer = table().query(KeyConditionExpression=Key("pk").eq(partition) & Key("sk").begins_with("HEALTH#"))
    return list(answer["Items"])


def store_as_before_0026(workspace: str, customer_id: str) -> int:
    """Rewrite a customer's month items as the per-day items the scorer wrote before decision 0026
    (same attributes, same JSON document), and delete the month items."""
    written = 0
    with table().batch_writer() as batch:
        for item in health_items(workspace, customer_id):
            month = snapshots.SnapshotMonth.decode(date(2000, 1, 1), int(item["version"]), bytes(item["days"]))
            for day, entry in month.days.items():
                snapshot = snapshots.HealthSnapshot.model_validate_json(entry.document)
                batch.put_item(
                    Item={
                        "pk": item["pk"],
                        "sk": f"HEALTH#{day}",
                        "entity": "health_snapshot",
                        "workspace_id": workspace,
                        "model_version": entry.model_version,
                        "inputs": entry.inputs,
                        "document": snapshot.model_dump_json(),
                    }
                )
                written += 1
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    return written


def answers(workspace: str, customer_id: str) -> dict[str, Any]:
    """What a director sees of a customer's health: current health, history, a dimension's series."""
    director = ApiClient(Caller(workspace, "director-1", "director"))
    found = {
        "health": director.get(f"/v1/customers/{customer_id}/health"),
        "history": director.get(f"/v1/customers/{customer_id}/health/history", days="90"),
        "usage": director.get(f"/v1/customers/{customer_id}/health/dimensions/usage", days="90"),
    }
    assert all(r.status == 200 for r in found.values()), {k: r.body for k, r in found.items()}
    return {name: response.body for name, response in found.items()}


@pytest.fixture
def recalculated(workspace: str) -> str:
    add_customer(workspace, "c1", usage=usage_days(days=120, quiet_from=20))
    assert score(request("c1", reason="manual", history=True, scoring_day=TODAY)) == {"batchItemFailures": []}
    return "c1"


def test_a_90_day_history_is_four_month_items_each_keeping_every_days_explanation(
    workspace: str, recalculated: str
) -> None:
    items = health_items(workspace, recalculated)
    assert [i["sk"] for i in items] == ["HEALTH#2026-08", "HEALTH#2026-09", "HEALTH#2026-10", "HEALTH#2026-11"]
    history = snapshots.get_snapshots(workspace, recalculated, TODAY - timedelta(days=89), TODAY)
    assert len(history) == 90 and all(s.explanation and s.dimensions for s in history)
    for item in items:
        stored = bytes(item["days"])
        assert len(stored) < ITEM_LIMIT // 10  # compressed: a full month of the demo is ~5 KB of ~62 KB of JSON
        assert len(snapshot_dictionary.decompress(stored)) > len(stored)
        assert stored[1] & snapshot_dictionary.FDICT  # compressed with the preset dictionary


def store_without_dictionary(workspace: str, customer_id: str) -> None:
    """Rewrite a customer's month items as they were stored before the preset dictionary."""
    for item in health_items(workspace, customer_id):
        text = snapshot_dictionary.decompress(bytes(item["days"]))
        table().put_item(Item={**item, "days": zlib.compress(text, snapshots.COMPRESSION_LEVEL)})


def test_month_items_stored_before_the_dictionary_read_the_same_and_scoring_continues_them(
    workspace: str, recalculated: str
) -> None:
    before = answers(workspace, recalculated)
    store_without_dictionary(workspace, recalculated)
    assert not any(bytes(i["days"])[1] & snapshot_dictionary.FDICT for i in health_items(workspace, recalculated))
    assert answers(workspace, recalculated) == before

    tomorrow = TODAY + timedelta(days=1)
    with clock.frozen(clock.now() + timedelta(days=1)):
        assert score(request(recalculated, scoring_day=tomorrow)) == {"batchItemFailures": []}
    history = snapshots.get_snapshots(workspace, recalculated, tomorrow - timedelta(days=89), tomorrow)
    assert [s.date for s in history] == [tomorrow - timedelta(days=89 - n) for n in range(90)]
    *older, november = health_items(workspace, recalculated)
    assert bytes(november["days"])[1] & snapshot_dictionary.FDICT  # rewritten by the scoring, with it
    assert not any(bytes(i["days"])[1] & snapshot_dictionary.FDICT for i in older)  # untouched, still read


def test_a_month_compressed_with_an_unknown_dictionary_is_refused_not_misread() -> None:
    compressor = zlib.compressobj(6, zdict=b"another dictionary")
    data = compressor.compress(b"2026-11-20\t0\tx\t{}") + compressor.flush()
    with pytest.raises(ValueError, match="unknown dictionary"):
        snapshots.SnapshotMonth.decode(TODAY, 1, data)


def test_the_dictionary_makes_early_month_items_smaller(workspace: str, recalculated: str) -> None:
    (november,) = [i for i in health_items(workspace, recalculated) if i["sk"] == "HEALTH#2026-11"]
    month = snapshots.SnapshotMonth.decode(date(2026, 11, 1), 1, bytes(november["days"]))
    first_days = snapshots.SnapshotMonth(date(2026, 11, 1), 0, dict(sorted(month.days.items())[:3]))
    text = "\n".join(f"{d}\t{e.model_version}\t{e.inputs}\t{e.document}" for d, e in sorted(first_days.days.items()))
    plain = zlib.compress(text.encode(), snapshots.COMPRESSION_LEVEL)
    assert len(first_days.encode()) < 0.8 * len(plain)


def test_a_history_stored_per_day_before_0026_reads_the_same_and_migrates_once(
    workspace: str, recalculated: str
) -> None:
    before = answers(workspace, recalculated)
    assert len(before["usage"]["series"]) == 90
    assert store_as_before_0026(workspace, recalculated) == 90
    assert all(len(i["sk"]) == len("HEALTH#2026-11-20") for i in health_items(workspace, recalculated))

    assert answers(workspace, recalculated) == before  # old-format items, read through the new code
    assert (
        snapshots.get_snapshot(workspace, recalculated, TODAY)
        == snapshots.get_snapshots(workspace, recalculated, TODAY, TODAY)[0]
    )
    assert set(snapshots.get_latest_snapshots(workspace, [recalculated])) == {recalculated}

    with count_aws_requests() as requests:
        assert snapshots.migrate_customer(workspace, recalculated) == 90
    # one Query, then one transaction per month (its month item and its day items)
    assert requests.operations("dynamodb") == {"Query": 1, "TransactWriteItems": 4}
    assert [len(i["sk"]) for i in health_items(workspace, recalculated)] == [len("HEALTH#2026-11")] * 4
    assert answers(workspace, recalculated) == before

    with count_aws_requests() as again:
        assert snapshots.migrate_customer(workspace, recalculated) == 0  # idempotent: nothing left to fold
    assert again.operations("dynamodb") == {"Query": 1}
    assert answers(workspace, recalculated) == before


def test_daily_scoring_of_a_customer_not_migrated_continues_its_history(workspace: str, recalculated: str) -> None:
    store_as_before_0026(workspace, recalculated)
    tomorrow = TODAY + timedelta(days=1)
    with clock.frozen(clock.now() + timedelta(days=1)), count_aws_requests() as requests:
        assert score(request(recalculated, scoring_day=tomorrow)) == {"batchItemFailures": []}
    assert requests.operations("dynamodb").get("TransactWriteItems") == 1
    history = snapshots.get_snapshots(workspace, recalculated, tomorrow - timedelta(days=89), tomorrow)
    assert [s.date for s in history] == [tomorrow - timedelta(days=89 - n) for n in range(90)]
    # The new day went to November's month item; the old days are still read from their day items,
    # and the migration keeps the month's days while folding the others in.
    assert snapshots.migrate_customer(workspace, recalculated) == 90
    assert snapshots.get_snapshots(workspace, recalculated, tomorrow - timedelta(days=89), tomorrow) == history


def test_a_month_item_day_wins_over_a_day_item_left_from_before(workspace: str, recalculated: str) -> None:
    month_day = snapshots.get_snapshot(workspace, recalculated, TODAY)
    assert month_day is not None
    stale = month_day.model_copy(update={"score": 1.0, "display_score": 1.0, "explanation": "stale"})
    key = keys.health_snapshot(workspace, recalculated, TODAY)
    table().put_item(
        Item={
            "pk": key.pk,
            "sk": key.sk,
            "entity": "health_snapshot",
            "workspace_id": workspace,
            "model_version": 1,
            "inputs": "old",
            "document": stale.model_dump_json(),
        }
    )
    assert snapshots.get_snapshot(workspace, recalculated, TODAY) == month_day
    assert snapshots.get_snapshots(workspace, recalculated, TODAY, TODAY) == [month_day]
    assert snapshots.get_latest_snapshots(workspace, [recalculated]) == {recalculated: month_day}
    assert snapshots.migrate_customer(workspace, recalculated) == 1
    assert snapshots.get_snapshot(workspace, recalculated, TODAY) == month_day


def test_the_migration_command_folds_every_customer_of_every_workspace(
    workspace: str, recalculated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.migrate_snapshots import main

    add_customer(workspace, "c2", usage=usage_days(days=120))
    assert score(request("c2", reason="manual", history=True, scoring_day=TODAY)) == {"batchItemFailures": []}
    before = {c: answers(workspace, c) for c in ("c1", "c2")}
    assert store_as_before_0026(workspace, "c1") == store_as_before_0026(workspace, "c2") == 90
    with count_aws_requests() as requests:
        assert main([]) == 0
    assert f"{workspace}: 2 customers, 180 day items folded" in capsys.readouterr().out
    assert "Scan" not in requests.operations("dynamodb")
    assert {c: answers(workspace, c) for c in ("c1", "c2")} == before
    assert main([]) == 0 and f"{workspace}: 2 customers, 0 day items folded" in capsys.readouterr().out
