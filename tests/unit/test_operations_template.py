"""What a deployer expects of operations, read from template.yaml: an alarm on every dead-letter queue's
depth and on every function's errors, telling one SNS topic (a parameter, or the stack's own); a log
group with retention for every function; X-Ray never recording handlers' responses (customer data);
and the identity settings a deployed stack cannot run without."""

from __future__ import annotations

from typing import Any

import pytest

from infra.template import Resolver, evaluate_conditions, load_template, parameter_defaults, resources_of_type

TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
LOG_GROUPS = resources_of_type(TEMPLATE, "AWS::Logs::LogGroup")
ALARM_TARGET = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def dead_letter_queues() -> set[str]:
    queues = resources_of_type(TEMPLATE, "AWS::SQS::Queue").values()
    return {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues
        if "RedrivePolicy" in q["Properties"]
    }


def alarms_on(namespace: str, metric: str, dimension_value: Any) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in ALARMS.values()
        if a["Properties"]["Namespace"] == namespace
        and a["Properties"]["MetricName"] == metric
        and any(d["Value"] == dimension_value for d in a["Properties"]["Dimensions"])
    ]


@pytest.mark.parametrize("queue_id", sorted(dead_letter_queues()))
def test_a_message_in_any_dead_letter_queue_raises_an_alarm(queue_id: str) -> None:
    (alarm,) = alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [queue_id, "QueueName"]})
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == [ALARM_TARGET]


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_every_function_alarms_on_errors_and_keeps_logs_for_a_set_time(function_id: str) -> None:
    (alarm,) = alarms_on("AWS/Lambda", "Errors", {"Ref": function_id})
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1) and alarm["AlarmActions"] == [ALARM_TARGET]
    group = FUNCTIONS[function_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert LOG_GROUPS[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_alarm_topic_is_the_parameter_or_the_stacks_own() -> None:
    assert TEMPLATE["Parameters"]["AlarmTopicArn"]["Default"] == ""
    topic = resources_of_type(TEMPLATE, "AWS::SNS::Topic")["AlarmTopic"]
    assert topic["Condition"] == "CreateAlarmTopic"


def test_xray_never_records_handler_responses() -> None:
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def conditions_for(**parameters: str) -> dict[str, bool]:
    resolver = Resolver(parameters=parameter_defaults(TEMPLATE) | parameters, physical={})
    return evaluate_conditions(TEMPLATE, resolver)


def test_by_default_the_stack_creates_its_user_pool_and_password_sign_in_is_only_local() -> None:
    assert conditions_for()["UseOwnUserPool"] and not conditions_for()["IsLocalStage"]
    assert not conditions_for(JwtIssuer="https://login.example.com/")["UseOwnUserPool"]
    client = resources_of_type(TEMPLATE, "AWS::Cognito::UserPoolClient")["ConsoleClient"]["Properties"]
    local, deployed = client["ExplicitAuthFlows"]["Fn::If"][1:]
    assert "ALLOW_USER_PASSWORD_AUTH" in local and "ALLOW_USER_PASSWORD_AUTH" not in deployed
    assert client["AllowedOAuthFlows"] == ["code"] and client["GenerateSecret"] is False  # PKCE, no secret


def test_an_external_issuer_needs_its_audience_and_keys_to_deploy() -> None:
    rule = TEMPLATE["Rules"]["ExternalIssuerIsFullyConfigured"]
    required = {a["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"] for a in rule["Assertions"]}
    assert required == {"JwtAudience", "JwksUrl"}


def test_deleting_the_stack_keeps_the_data_and_the_people() -> None:
    resources = TEMPLATE["Resources"]
    for logical_id in ("KeepwellTable", "UserPool", "FirstWorkspace"):
        assert resources[logical_id]["DeletionPolicy"] == "Retain", logical_id
