"""bench/billing.py prices docs/cost.md's writes and reads: DynamoDB's published rules, checked on items
shaped like the customer profile (in gsi1..gsi5, every attribute projected) and a snapshot month (in
no index)."""

from __future__ import annotations

from typing import Any

from bench.billing import item_size, read_units, write_units


def profile(score: str, padding: int, **extra: Any) -> dict[str, Any]:
    raw = {
        "pk": {"S": "WS#w#CUST#c"},
        "sk": {"S": "PROFILE"},
        "gsi1pk": {"S": "WS#w#CUSTOMERS"},
        "gsi1sk": {"S": "acme#c"},
        "gsi2pk": {"S": "WS#w#OWNER#u#CUSTOMERS"},
        "gsi2sk": {"S": "acme#c"},
        "gsi3sk": {"S": f"{score}#c"},
        "gsi4sk": {"S": "0000120000#c"},
        "gsi5sk": {"S": "2027-01-01#c"},
        "health_score": {"N": score},
        "padding": {"S": "x" * padding},
    }
    return {**raw, **extra}


def test_a_scored_profile_is_billed_twice_in_the_transaction_and_once_per_index_entry_its_moved_score_twice() -> None:
    before, after = profile("61.5", 1500), profile("63.0", 1500)
    assert 1024 < item_size(after) <= 2048

    units = write_units(before, after, transaction=True)

    # 2 KB twice in the table; gsi1, gsi2, gsi4, gsi5 rewrite their entry (2 KB each), gsi3's key moved:
    # a delete and a put of 2 KB
    assert (units.table, units.index_writes, units.indexes) == (4, 6, 12)


def test_an_unchanged_score_rewrites_each_entry_once_and_a_lighter_profile_costs_less() -> None:
    before = profile("61.5", 1500, flags={"S": "old"})
    after = profile("61.5", 1500, flags={"S": "new"})
    light = write_units(
        profile("61.5", 500, flags={"S": "old"}), profile("61.5", 500, flags={"S": "new"}), transaction=False
    )

    assert write_units(before, after, transaction=False) == type(light)(2, 10, 5)
    assert (light.table, light.indexes) == (1, 5)


def test_an_item_in_no_index_costs_its_table_write_alone_and_a_new_item_its_new_size() -> None:
    month = {"pk": {"S": "WS#w#CUST#c"}, "sk": {"S": "HEALTH#2026-11"}, "days": {"B": b"z" * 2500}}

    assert write_units(None, month, transaction=True).total == 6
    assert write_units(month, month, transaction=False).indexes == 0


def test_reads_cost_half_a_unit_per_started_4_kb_eventually_consistent_and_a_missing_key_the_minimum() -> None:
    big = {"pk": {"S": "a"}, "sk": {"S": "b"}, "log": {"S": "x" * 5000}}
    small = {"pk": {"S": "a"}, "sk": {"S": "c"}}
    params = {"RequestItems": {"t": {"Keys": [{}, {}, {}]}}}

    assert read_units("BatchGetItem", params, {"Responses": {"t": [big, small]}}) == 0.5 * (2 + 1 + 1)
    consistent = {"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": True}}}
    assert read_units("BatchGetItem", consistent, {"Responses": {"t": [big, small]}}) == 4
    assert read_units("Query", {}, {"Items": [big, small]}) == 1.0
