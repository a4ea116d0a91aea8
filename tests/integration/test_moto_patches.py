"""The embedded moto the tests, the local stack and the benchmarks run on (infra/moto_patches.py) answers
as plain moto does: the patches change what a request costs, never what it returns or rejects."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.template import Resolver

TABLE = "moto-patch-check"


@pytest.fixture
def dynamodb(aws: Resolver) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client


EVERY_TYPE: dict[str, Any] = {
    "pk": {"S": "p"},
    "sk": {"S": "s"},
    "text": {"S": "héllo"},
    "empty": {"S": ""},
    "number": {"N": "-12.5"},
    "binary": {"B": b"\x00\x01\xff"},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "binaries": {"BS": [b"x", b"y"]},
    "nothing": {"NULL": True},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nested": {
        "M": {
            "list": {"L": [{"S": "x"}, {"N": "3"}, {"M": {"deep": {"BOOL": False}}}, {"L": []}]},
            "empty_map": {"M": {}},
            "set": {"SS": ["only"]},
        }
    },
}


def _normalised(item: dict[str, Any]) -> dict[str, Any]:
    """Sets compare unordered; binaries as bytes whatever the client returned."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        ((kind, inner),) = value.items()
        if kind in ("SS", "NS"):
            out[name] = {kind: sorted(inner)}
        elif kind == "BS":
            out[name] = {kind: sorted(bytes(v) for v in inner)}
        elif kind == "B":
            out[name] = {kind: bytes(inner)}
        elif kind == "M":
            out[name] = {kind: _normalised(inner)}
        elif kind == "L":
            out[name] = {kind: [_normalised({"v": v})["v"] for v in inner]}
        else:
            out[name] = value
    return out


def test_every_attribute_type_comes_back_as_written_through_every_read(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=EVERY_TYPE)
    dynamodb.batch_write_item(
        RequestItems={TABLE: [{"PutRequest": {"Item": {**EVERY_TYPE, "sk": {"S": f"s{i}"}}}} for i in range(25)]}
    )

    got = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
    batch = dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": [{"pk": {"S": "p"}, "sk": {"S": "s7"}}]}})
    queried = dynamodb.query(
        TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}
    )["Items"]

    projected = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p AND sk = :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "s"}},
        ProjectionExpression="#t, #ns, #m, #b, #null, #no, #gone",
        ExpressionAttributeNames={
            "#t": "text",
            "#ns": "numbers",
            "#m": "nested",
            "#b": "binary",
            "#null": "nothing",
            "#no": "no",
            "#gone": "missing",
        },
    )["Items"]
    top_level = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
        ProjectionExpression="#bs, #y, #e, #n",
        ExpressionAttributeNames={"#bs": "binaries", "#y": "yes", "#e": "empty", "#n": "number"},
    )["Item"]

    assert _normalised(got) == _normalised(EVERY_TYPE)
    assert _normalised(batch["Responses"][TABLE][0]) == _normalised({**EVERY_TYPE, "sk": {"S": "s7"}})
    assert len(queried) == 26
    assert all(_normalised({**q, "sk": {"S": "s"}}) == _normalised(EVERY_TYPE) for q in queried)
    nested_path = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
        ProjectionExpression="#m.#l, #m.#s",
        ExpressionAttributeNames={"#m": "nested", "#l": "list", "#s": "set"},
    )["Item"]
    nested = EVERY_TYPE["nested"]["M"]
    assert _normalised(nested_path) == _normalised({"nested": {"M": {"list": nested["list"], "set": nested["set"]}}})
    wanted = ("text", "numbers", "nested", "binary", "nothing", "no")
    assert _normalised(projected[0]) == _normalised({k: EVERY_TYPE[k] for k in wanted})
    assert _normalised(top_level) == _normalised({k: EVERY_TYPE[k] for k in ("binaries", "yes", "empty", "number")})


def test_queries_return_their_partition_or_index_entries_in_key_order_page_by_page(aws: Resolver) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = aws.physical["KeepwellTable"]["Ref"]
    # Interleaved partitions; index entries with tied index sort keys and items missing from the index.
    items = [
        {
            "pk": {"S": f"P#{n % 3}"},
            "sk": {"S": f"S#{n:02}"},
            **({"gsi1pk": {"S": "L"}, "gsi1sk": {"S": f"k{n % 4}"}} if n % 5 else {}),
        }
        for n in range(20)
    ]
    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for i in items]})

    def pages(**query: Any) -> list[tuple[str, str]]:
        got: list[tuple[str, str]] = []
        start: dict[str, Any] | None = None
        while True:
            answer = client.query(TableName=table, Limit=2, **query, **({"ExclusiveStartKey": start} if start else {}))
            got += [(i["pk"]["S"], i["sk"]["S"]) for i in answer["Items"]]
            start = answer.get("LastEvaluatedKey")
            if not start:
                return got

    # By index sort key; moto breaks ties by the table's keys (DynamoDB leaves their order unspecified).
    indexed = sorted((i["gsi1sk"]["S"], i["pk"]["S"], i["sk"]["S"]) for i in items if "gsi1pk" in i)
    gsi_order = [(pk, sk) for _, pk, sk in indexed]
    index = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :l",
        "ExpressionAttributeValues": {":l": {"S": "L"}},
    }
    assert pages(**index) == gsi_order
    assert pages(**index, ScanIndexForward=False) == gsi_order[::-1]
    partition = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#1"}}}
    assert pages(**partition) == sorted((i["pk"]["S"], i["sk"]["S"]) for i in items if i["pk"]["S"] == "P#1")


def test_an_index_query_sees_every_kind_of_write_made_since_the_same_query(aws: Resolver) -> None:
    """The patched moto remembers an index partition between reads: each way of writing shows at once."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = aws.physical["KeepwellTable"]["Ref"]

    def entry(n: int, partition: str = "L") -> dict[str, Any]:
        return {"pk": {"S": f"P#{n}"}, "sk": {"S": "S"}, "gsi1pk": {"S": partition}, "gsi1sk": {"S": f"k{n:02}"}}

    def listed(partition: str = "L") -> list[str]:
        answer = client.query(
            TableName=table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :l",
            ExpressionAttributeValues={":l": {"S": partition}},
        )
        return [i["pk"]["S"] for i in answer["Items"]]

    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": entry(n)}} for n in range(3)]})
    assert listed() == ["P#0", "P#1", "P#2"]
    assert listed() == ["P#0", "P#1", "P#2"]  # read twice: the second from what the first found
    client.put_item(TableName=table, Item=entry(3))
    assert listed() == ["P#0", "P#1", "P#2", "P#3"]
    key = {"pk": {"S": "P#0"}, "sk": {"S": "S"}}
    client.update_item(
        TableName=table, Key=key, UpdateExpression="SET gsi1pk = :m", ExpressionAttributeValues={":m": {"S": "M"}}
    )
    assert (listed(), listed("M")) == (["P#1", "P#2", "P#3"], ["P#0"])
    client.delete_item(TableName=table, Key={"pk": {"S": "P#1"}, "sk": {"S": "S"}})
    assert listed() == ["P#2", "P#3"]
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": entry(4)}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "P#2"}, "sk": {"S": "S"}}}},
        ]
    )
    assert listed() == ["P#3", "P#4"]
    client.batch_write_item(
        RequestItems={
            table: [
                {"PutRequest": {"Item": entry(5)}},
                {"DeleteRequest": {"Key": {"pk": {"S": "P#3"}, "sk": {"S": "S"}}}},
            ]
        }
    )
    assert listed() == ["P#4", "P#5"]
    with pytest.raises(ClientError):  # a cancelled transaction changes nothing, and the cache still agrees
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": entry(6)}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "P#4"}, "sk": {"S": "S"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert listed() == ["P#4", "P#5"]


def test_an_update_sees_and_returns_typed_values(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=EVERY_TYPE)

    answer = dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
        UpdateExpression="SET #n = #n + :one, nested.#l[0] = :b REMOVE yes",
        ConditionExpression="#n = :before AND attribute_exists(#b)",
        ExpressionAttributeNames={"#n": "number", "#l": "list", "#b": "binary"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":before": {"N": "-12.5"}, ":b": {"B": b"\x02"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]

    assert answer["number"] == {"N": "-11.5"}
    assert bytes(answer["nested"]["M"]["list"]["L"][0]["B"]) == b"\x02"
    assert "yes" not in answer
    resource = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)
    assert resource.get_item(Key={"pk": "p", "sk": "s"})["Item"]["number"] == Decimal("-11.5")


def test_one_update_text_serves_every_item_and_value_and_a_repeated_clause_is_refused_as_moto_refuses_it(
    dynamodb: Any,
) -> None:
    """An update expression is parsed once per text: each write still applies its own values to its own
    item, and a text moto refuses (a clause twice, a syntax error) is refused with moto's own message."""
    from infra import moto_patches

    text = "SET #n = if_not_exists(#n, :zero) + :step, tags = :tags REMOVE gone ADD seen :one"
    for sk, step in (("a", "1"), ("b", "5"), ("a", "2")):
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "p"}, "sk": {"S": sk}},
            UpdateExpression=text,
            ExpressionAttributeNames={"#n": "count"},
            ExpressionAttributeValues={
                ":zero": {"N": "0"},
                ":step": {"N": step},
                ":tags": {"SS": [f"t{step}"]},
                ":one": {"N": "1"},
            },
        )
    items = {i["sk"]["S"]: i for i in dynamodb.scan(TableName=TABLE)["Items"]}
    assert (items["a"]["count"], items["a"]["tags"], items["a"]["seen"]) == ({"N": "3"}, {"SS": ["t2"]}, {"N": "2"})
    assert (items["b"]["count"], items["b"]["seen"]) == ({"N": "5"}, {"N": "1"})

    def refusal(expression: str) -> str:
        with pytest.raises(ClientError) as error:
            dynamodb.update_item(
                TableName=TABLE,
                Key={"pk": {"S": "p"}, "sk": {"S": "a"}},
                UpdateExpression=expression,
                ExpressionAttributeValues={":v": {"N": "1"}},
            )
        return str(error.value)

    refused = ["SET a = :v REMOVE b SET c = :v", "ADD a :v REMOVE b SET c = :v REMOVE d ADD e :v", "SET a = = :v"]
    patched = [refusal(text) for text in refused]
    with moto_patches.stock_moto():
        stock = [refusal(text) for text in refused]
    assert patched == stock
    assert 'The "SET" section can only be used once' in patched[0]
    assert dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "a"}})["Item"]["count"] == {"N": "3"}


def test_an_item_over_the_size_limit_is_still_rejected_and_one_under_it_kept(dynamodb: Any) -> None:
    half = "x" * 200_000
    with pytest.raises(ClientError) as error:
        dynamodb.put_item(
            TableName=TABLE,
            Item={"pk": {"S": "p"}, "sk": {"S": "big"}, "a": {"S": half}, "b": {"S": half + "y" * 6_000}},
        )
    assert "Item size has exceeded the maximum allowed size" in str(error.value)
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": "fits"}, "a": {"S": half}, "b": {"S": half}})

    kept = dynamodb.scan(TableName=TABLE)["Items"]
    assert [item["sk"]["S"] for item in kept] == ["fits"]


def test_a_message_is_received_within_its_queue_retention_and_not_past_it(aws: Resolver) -> None:
    from moto.sqs.models import sqs_backends

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="patch-check", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    queue = sqs_backends["123456789012"]["us-east-1"].queues["patch-check"]
    sqs.send_message(QueueUrl=url, MessageBody="fresh")
    fresh = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=fresh[0]["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="stale")
    stale_message: Any = queue._messages[0]
    stale_message.sent_timestamp -= 61_000  # sent 61 s ago, past the 60 s retention

    stale = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])

    assert [m["Body"] for m in fresh] == ["fresh"]
    assert stale == []


def test_a_deleted_message_is_gone_for_good_and_only_it(aws: Resolver) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="delete-check", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(5)])
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
    handles = [m["ReceiptHandle"] for m in first]

    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "a", "ReceiptHandle": handles[0]}, {"Id": "b", "ReceiptHandle": "not-a-receipt-handle"}],
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[0])  # twice is accepted, as moto does
    with pytest.raises(ClientError) as invalid:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt-handle")
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[1], VisibilityTimeout=0)
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    assert [s["Id"] for s in deleted["Successful"]] == ["a"]
    assert [f["Id"] for f in deleted["Failed"]] == ["b"]
    assert invalid.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    assert sorted(m["Body"] for m in left) == sorted({"m0", "m1", "m2", "m3", "m4"} - {first[0]["Body"]})


def test_content_based_deduplication_holds_on_fifo_queues_only_and_attributes_still_count(aws: Resolver) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    fifo = sqs.create_queue(
        QueueName="dedupe-check.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    standard = sqs.create_queue(QueueName="dedupe-check")["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        sqs.send_message_batch(QueueUrl=standard, Entries=[{"Id": "1", "MessageBody": "same"}])

    fifo_attributes = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
    standard_attributes = sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["All"])["Attributes"]

    assert fifo_attributes["ApproximateNumberOfMessages"] == "1"
    assert fifo_attributes["ContentBasedDeduplication"] == "true"
    assert standard_attributes["ApproximateNumberOfMessages"] == "2"
    assert "ContentBasedDeduplication" not in standard_attributes
