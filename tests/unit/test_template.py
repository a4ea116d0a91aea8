"""template.yaml is deployable and says what the system relies on: linted by cfn-lint and the SAM
CLI, queues that cannot lose or double-process work, a table shaped as storage/ expects, and
handlers that exist."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.template import ROOT, TEMPLATE_PATH, load_template, resources_of_type

TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
QUEUES = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
GLOBAL_FUNCTION = TEMPLATE.get("Globals", {}).get("Function", {})
DEFAULT_SQS_RETENTION = 345_600  # 4 days, SQS's default MessageRetentionPeriod
MIN_MAX_RECEIVE_COUNT = 5


def function_timeout(function_id: str) -> int:
    props = FUNCTIONS[function_id]["Properties"]
    return int(props.get("Timeout", GLOBAL_FUNCTION.get("Timeout", 3)))


def getatt_target(value: Any) -> str | None:
    """`!GetAtt X.Arn` → "X"."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def queue_consumers() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Queue logical id → [(function id, SQS event properties)] for every SQS event source."""
    consumers: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for function_id, function in FUNCTIONS.items():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] == "SQS":
                queue = getatt_target(event["Properties"]["Queue"])
                assert queue is not None, f"{function_id}: SQS event Queue must be !GetAtt <Queue>.Arn"
                consumers.setdefault(queue, []).append((function_id, event["Properties"]))
    return consumers


def dead_letter_queues() -> set[str]:
    targets = {
        getatt_target((q["Properties"].get("RedrivePolicy") or {}).get("deadLetterTargetArn")) for q in QUEUES.values()
    }
    return {t for t in targets if t}


# ------------------------------------------------------------------------------------- linters
def test_cfn_lint_reports_no_errors_or_warnings():
    matches = lint_file(TEMPLATE_PATH, config=ManualArgs(regions=["us-east-1"]))
    problems = [m for m in matches if m.rule.id[0] in "EW"]
    assert not problems, "\n".join(str(m) for m in problems)


def sam_cli() -> str:
    sam = os.environ.get("KEEPWELL_SAM")
    if not sam:
        if os.environ.get("CI"):
            pytest.fail("KEEPWELL_SAM is not set under CI: `make test` sets it to .venv-sam/bin/sam")
        pytest.skip("KEEPWELL_SAM is not set (the SAM CLI's path; `make test` sets it)")
    if not Path(sam).exists():
        pytest.fail(f"KEEPWELL_SAM points at {sam}, which does not exist")
    return sam


def sam_env() -> dict[str, str]:
    # No telemetry or update checks: offline, quiet and the same on every machine.
    return {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "SAM_CLI_DISABLE_UPDATE_CHECK": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def test_sam_validate_lint_accepts_the_template():
    result = subprocess.run(
        [sam_cli(), "validate", "--lint", "--template", str(TEMPLATE_PATH), "--region", "us-east-1"],
        cwd=ROOT,
        env=sam_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


# ------------------------------------------------------------------------------------- queues
def test_every_work_queue_has_a_consumer_and_every_consumer_reads_a_declared_queue():
    consumers = queue_consumers()
    work_queues = set(QUEUES) - dead_letter_queues()
    assert set(consumers) <= set(QUEUES), f"SQS events read undeclared queues: {set(consumers) - set(QUEUES)}"
    assert work_queues == set(consumers), f"queues nobody consumes: {work_queues - set(consumers)}"


@pytest.mark.parametrize("queue_id", sorted(queue_consumers()))
def test_consumed_queue_redrives_to_a_dead_letter_queue_after_at_least_five_receives(queue_id):
    props = QUEUES[queue_id]["Properties"]
    redrive = props.get("RedrivePolicy")
    assert redrive, f"{queue_id} has no RedrivePolicy: a poison message would be retried forever"
    dlq = getatt_target(redrive.get("deadLetterTargetArn"))
    assert dlq in QUEUES, f"{queue_id} redrives to {dlq!r}, which is not an SQS queue of the template"
    assert dlq != queue_id
    assert int(redrive["maxReceiveCount"]) >= MIN_MAX_RECEIVE_COUNT
    # A DLQ that forgets messages sooner than the source queue would lose exactly the failures.
    dlq_retention = int(QUEUES[dlq]["Properties"].get("MessageRetentionPeriod", DEFAULT_SQS_RETENTION))
    assert dlq_retention >= int(props.get("MessageRetentionPeriod", DEFAULT_SQS_RETENTION))


@pytest.mark.parametrize("queue_id", sorted(queue_consumers()))
def test_queue_visibility_timeout_is_at_least_six_times_its_consumers_timeout(queue_id):
    visibility = int(QUEUES[queue_id]["Properties"].get("VisibilityTimeout", 30))
    for function_id, _ in queue_consumers()[queue_id]:
        needed = 6 * function_timeout(function_id)
        assert visibility >= needed, (
            f"{queue_id} VisibilityTimeout {visibility}s < 6 x {function_id} Timeout "
            f"({function_timeout(function_id)}s): messages would be redelivered while still being processed"
        )


@pytest.mark.parametrize("queue_id", sorted(queue_consumers()))
def test_queue_consumers_report_partial_batch_failures(queue_id):
    # Without ReportBatchItemFailures Lambda ignores `batchItemFailures` and retries or drops whole batches.
    for function_id, event in queue_consumers()[queue_id]:
        assert "ReportBatchItemFailures" in (event.get("FunctionResponseTypes") or []), function_id
        # SQS allows batches over 10 only with a batching window (up to 10,000 messages).
        limit = 10_000 if int(event.get("MaximumBatchingWindowInSeconds", 0)) >= 1 else 10
        assert 1 <= int(event.get("BatchSize", 10)) <= limit, function_id


# ------------------------------------------------------------------------------------- table
def test_the_single_table_has_the_keys_billing_ttl_and_backups_storage_relies_on():
    tables = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")
    assert list(tables) == ["KeepwellTable"]
    props = tables["KeepwellTable"]["Properties"]
    attributes = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert attributes["pk"] == "S" and attributes["sk"] == "S"
    assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    indexes = {
        index["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]}
        for index in props.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        "gsi1": {"gsi1pk": "HASH", "gsi1sk": "RANGE"},
        "gsi2": {"gsi2pk": "HASH", "gsi2sk": "RANGE"},
        # the customer list's other orders (health score, ARR, renewal date) on its partition
        "gsi3": {"gsi1pk": "HASH", "gsi3sk": "RANGE"},
        "gsi4": {"gsi1pk": "HASH", "gsi4sk": "RANGE"},
        "gsi5": {"gsi1pk": "HASH", "gsi5sk": "RANGE"},
    }
    assert all(attributes[name] == "S" for name in ("gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"))
    assert all(attributes[name] == "S" for name in ("gsi3sk", "gsi4sk", "gsi5sk"))
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert tables["KeepwellTable"].get("DeletionPolicy") == "Retain"


# ------------------------------------------------------------------------------------- functions
@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_code_lives_under_functions_and_its_handler_module_exists(function_id):
    props = FUNCTIONS[function_id]["Properties"]
    code_dir = (ROOT / props["CodeUri"]).resolve()
    assert code_dir.parent == (ROOT / "functions").resolve(), f"{function_id}: CodeUri {props['CodeUri']}"
    module, _, attribute = props["Handler"].rpartition(".")
    assert module and attribute, f"{function_id}: Handler must be module.attribute"
    module_file = code_dir / f"{module.replace('.', '/')}.py"
    assert module_file.is_file(), f"{function_id}: {props['Handler']} missing"


def test_every_function_gets_the_shared_layer_from_globals_and_none_overrides_it():
    assert {"Ref": "SharedLayer"} in GLOBAL_FUNCTION.get("Layers", [])
    layer = TEMPLATE["Resources"]["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"].rstrip("/") == "shared"
    assert GLOBAL_FUNCTION.get("Runtime") in layer["Properties"]["CompatibleRuntimes"]
    for function_id, function in FUNCTIONS.items():
        # A function-level Layers list is appended to Globals; it must not bring a second copy of keepwell.
        assert {"Ref": "SharedLayer"} not in (function["Properties"].get("Layers") or []), function_id
        runtime = function["Properties"].get("Runtime", GLOBAL_FUNCTION.get("Runtime"))
        assert runtime == "python3.11", function_id
        # shared/Makefile installs the layer's packages as x86_64 wheels (cryptography, pydantic-core, ...):
        # an arm64 function would load none of their compiled parts.
        architectures = function["Properties"].get("Architectures", GLOBAL_FUNCTION.get("Architectures"))
        assert architectures in (None, ["x86_64"]), function_id


# The web console's function serves files from its own package: it touches no AWS resource at all.
NO_AWS_ACCESS = {"WebFunction"}
DATA_FUNCTIONS = sorted(set(FUNCTIONS) - NO_AWS_ACCESS)


@pytest.mark.parametrize("function_id", DATA_FUNCTIONS)
def test_every_function_declares_its_policies(function_id):
    policies = FUNCTIONS[function_id]["Properties"].get("Policies")
    assert isinstance(policies, list) and policies, f"{function_id} has no Policies"
    assert "AdministratorAccess" not in str(policies)


@pytest.mark.parametrize("function_id", sorted(NO_AWS_ACCESS))
def test_the_console_function_is_granted_no_aws_access(function_id):
    assert FUNCTIONS[function_id]["Properties"].get("Policies") == [], f"{function_id} must declare Policies: []"


@pytest.mark.parametrize("function_id", DATA_FUNCTIONS)
def test_every_function_can_reach_the_table(function_id):
    policies = FUNCTIONS[function_id]["Properties"]["Policies"]
    table_policies = [
        p for p in policies if isinstance(p, dict) and set(p) & {"DynamoDBCrudPolicy", "DynamoDBReadPolicy"}
    ]
    assert table_policies, f"{function_id} has no DynamoDB policy on KeepwellTable"
    for policy in table_policies:
        (spec,) = policy.values()
        assert spec == {"TableName": {"Ref": "KeepwellTable"}}, function_id
