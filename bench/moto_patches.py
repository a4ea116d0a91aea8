"""What each moto patch (infra/moto_patches.py) saves: one small scenario per patch, timed on moto as
released (`stock_moto()`) and as patched, on fresh embedded AWS each time. Prints a table; the figures
belong here and in README's table, not in docstrings, where they go stale.

    .venv/bin/python -m bench.moto_patches            # every scenario (about a minute)
    .venv/bin/python -m bench.moto_patches --only queries deletes
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3
from moto import mock_aws

from infra import moto_patches

REGION = "us-east-1"
Scenario = Callable[[], tuple[Callable[[], Any], str]]  # set-up (untimed) -> (timed part, what it does)


def _table(ddb: Any, name: str = "t") -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "gs")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}],
            }
        ],
    )


def _fill(ddb: Any, count: int, attributes: int = 0, name: str = "t") -> None:
    extra = {f"a{i}": {"S": "x" * 20} for i in range(attributes)}
    for start in range(0, count, 25):
        rows = range(start, min(count, start + 25))
        ddb.batch_write_item(
            RequestItems={
                name: [
                    {
                        "PutRequest": {
                            "Item": {
                                "pk": {"S": f"p{i % 500}"},
                                "sk": {"S": f"s{i:06}"},
                                "g": {"S": f"G{i % 5}"},
                                "gs": {"S": f"{i:06}"},
                                **extra,
                            }
                        }
                    }
                    for i in rows
                ]
            }
        )


def transactions() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    _fill(ddb, 5000)

    def run() -> None:
        for n in range(20):
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "t", "Item": {"pk": {"S": "x"}, "sk": {"S": f"{n}-{k}"}}}} for k in range(2)
                ]
            )

    return run, "20 two-item TransactWriteItems, 5,000-item table"


def queries() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    _fill(ddb, 5000)

    def run() -> None:
        for n in range(20):
            ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": f"p{n}"}})
            ddb.query(
                TableName="t",
                IndexName="gsi1",
                Limit=20,
                KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "G1"}},
            )

    return run, "20 partition + 20 index Queries (20 a page), 5,000-item table"


def projections() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    _fill(ddb, 1, attributes=41)
    names = ", ".join(f"a{i}" for i in range(41))

    def run() -> None:
        for _ in range(200):
            ddb.get_item(TableName="t", Key={"pk": {"S": "p0"}, "sk": {"S": "s000000"}}, ProjectionExpression=names)

    return run, "200 GetItems projecting 41 attributes"


def items() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    return (lambda: _fill(ddb, 2000, attributes=30)), "2,000 items of 34 attributes by BatchWriteItem"


def attribute_values() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    _fill(ddb, 100, attributes=40)
    keys = [{"pk": {"S": f"p{i % 500}"}, "sk": {"S": f"s{i:06}"}} for i in range(100)]

    def run() -> None:
        for _ in range(10):
            ddb.batch_get_item(RequestItems={"t": {"Keys": keys}})

    return run, "10 BatchGetItems of 100 items of 44 attributes"


def conditions() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)

    def run() -> None:
        for i in range(2000):
            ddb.put_item(
                TableName="t",
                Item={"pk": {"S": f"c{i % 20}"}, "sk": {"S": f"s{i:04}"}, "v": {"N": str(i)}},
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": "pk"},
            )

    return run, "2,000 PutItems, each `attribute_not_exists(#k)`"


def _queue(messages: int) -> tuple[Any, str]:
    sqs = boto3.client("sqs", REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for start in range(0, messages, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        )
    return sqs, url


def receives() -> tuple[Callable[[], Any], str]:
    sqs, url = _queue(1000)

    def run() -> None:
        for _ in range(20):
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)

    return run, "20 ReceiveMessages of 10, 1,000 queued"


def deletes() -> tuple[Callable[[], Any], str]:
    sqs, url = _queue(3000)

    def run() -> None:
        for _ in range(20):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
            )

    return run, "20 receive + DeleteMessageBatch of 10, 3,000 queued"


def sends() -> tuple[Callable[[], Any], str]:
    sqs, url = _queue(2000)

    def run() -> None:
        for n in range(50):
            entries = [{"Id": str(i), "MessageBody": f"n{n}-{i}"} for i in range(10)]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)

    return run, "50 SendMessageBatches of 10, 2,000 queued"


def item_maps() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    nested = {
        "M": {f"k{i}": {"M": {"n": {"N": str(i)}, "tags": {"L": [{"S": "a"}, {"BOOL": True}]}}} for i in range(10)}
    }
    ddb.batch_write_item(
        RequestItems={
            "t": [
                {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"S": f"s{i:03}"}, "nested": nested}}}
                for i in range(25)
            ]
        }
    )
    keys = [{"pk": {"S": "p"}, "sk": {"S": f"s{i:03}"}} for i in range(25)]

    def run() -> None:
        for _ in range(20):
            ddb.batch_get_item(RequestItems={"t": {"Keys": keys}})

    return run, "20 BatchGetItems of 25 items holding a map of 10 maps with a list"


def update_expressions() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    names = {f"#a{k}": f"attr{k}" for k in range(30)}
    text = "SET " + ", ".join(f"#a{k} = :v{k}" for k in range(30))

    def run() -> None:
        for i in range(300):
            ddb.update_item(
                TableName="t",
                Key={"pk": {"S": f"u{i % 20}"}, "sk": {"S": "s"}},
                UpdateExpression=text,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":v{k}": {"N": str(i + k)} for k in range(30)},
            )

    return run, "300 UpdateItems of one 30-action SET text (the scorer's profile update has ~30)"


def index_cache() -> tuple[Callable[[], Any], str]:
    ddb = boto3.client("dynamodb", REGION)
    _table(ddb)
    _fill(ddb, 20000)

    def run() -> None:
        for n in range(20):
            ddb.query(
                TableName="t",
                IndexName="gsi1",
                Limit=50,
                KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": f"G{n % 2}"}},
            )

    return run, "20 index Queries (50 a page) of 2 partitions, no write between, 20,000-item table"


SCENARIOS: dict[str, Scenario] = {
    "transactions": transactions,
    "queries": queries,
    "projections": projections,
    "items": items,
    "attribute_values": attribute_values,
    "item_maps": item_maps,
    "index_cache": index_cache,
    "conditions": conditions,
    "update_expressions": update_expressions,
    "receives": receives,
    "deletes": deletes,
    "sends": sends,
}


def _timed(scenario: Scenario) -> tuple[float, str]:
    with mock_aws():
        run, what = scenario()
        started = time.perf_counter()
        run()
        return time.perf_counter() - started, what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run (default: all)")
    args = parser.parse_args()
    moto_patches.install_all()  # also the version guard
    print(f"moto {moto_patches.MOTO_VERSION}: each scenario on moto as released, then as patched")
    print(f"{'patch':<18} {'stock s':>8} {'patched s':>10} {'x':>6}  scenario")
    for name in args.only or list(SCENARIOS):
        with moto_patches.stock_moto():
            stock, what = _timed(SCENARIOS[name])
        patched, _ = _timed(SCENARIOS[name])
        print(f"{name:<18} {stock:>8.3f} {patched:>10.3f} {stock / patched:>6.1f}  {what}", flush=True)


if __name__ == "__main__":
    main()
