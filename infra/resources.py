"""Create the template's stateful resources (table, queues, bus, buckets) on an AWS endpoint (moto).

Tests call this inside `moto.mock_aws`; the local stack calls it against moto's server. Either
way the resources come from template.yaml, so tests, local runs and deploys cannot disagree.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from infra.template import (
    Resolver,
    evaluate_conditions,
    load_template,
    parameter_defaults,
    resource_enabled,
    resources_of_type,
)

STACK_NAME = "keepwell-local"


def _queue_order(queues: dict[str, dict[str, Any]]) -> list[str]:
    """Dead-letter queues first: a queue's redrive policy names its DLQ's ARN."""

    def depends_on(props: dict[str, Any]) -> str | None:
        target = (props.get("RedrivePolicy") or {}).get("deadLetterTargetArn")
        return target["Fn::GetAtt"][0] if isinstance(target, dict) else None

    return sorted(queues, key=lambda lid: depends_on(queues[lid]["Properties"]) is not None)


def create_stack_resources(
    session: boto3.Session | None = None,
    parameters: dict[str, str] | None = None,
    stack_name: str = STACK_NAME,
) -> Resolver:
    """Create every table, queue and bus of template.yaml; return a resolver of their physical ids."""
    template = load_template()
    session = session or boto3.Session()
    params = parameter_defaults(template) | {"Stage": "local"} | (parameters or {})
    region = session.region_name or "us-east-1"
    resolver = Resolver(parameters=params, physical={}, region=region, stack_name=stack_name)
    resolver.conditions = evaluate_conditions(template, resolver)

    dynamodb = session.client("dynamodb")
    for logical_id, table in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        name = f"{stack_name}-{logical_id}"
        create: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            create["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb.create_table(**create)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        arn = f"arn:aws:dynamodb:{region}:{resolver.account_id}:table/{name}"
        resolver.physical[logical_id] = {"Ref": name, "Arn": arn}

    sqs = session.client("sqs")
    queues = resources_of_type(template, "AWS::SQS::Queue")
    for logical_id in _queue_order(queues):
        props = queues[logical_id]["Properties"]
        name = f"{stack_name}-{logical_id}"
        attributes: dict[Any, str] = {}
        for attribute in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if attribute in props:
                attributes[attribute] = str(props[attribute])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(resolver.resolve(props["RedrivePolicy"]))
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{region}:{resolver.account_id}:{name}"
        resolver.physical[logical_id] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    events = session.client("events")
    for logical_id, bus in resources_of_type(template, "AWS::Events::EventBus").items():
        name = resolver.resolve(bus["Properties"]["Name"])
        arn = events.create_event_bus(Name=name)["EventBusArn"]
        resolver.physical[logical_id] = {"Ref": name, "Arn": arn, "Name": name}

    _create_buckets(session, template, resolver, stack_name)
    _create_user_pools(session, template, resolver)

    for logical_id in resources_of_type(template, "AWS::Serverless::LayerVersion"):
        resolver.physical[logical_id] = {"Ref": f"arn:aws:lambda:{region}:{resolver.account_id}:layer:{logical_id}:1"}
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        arn = f"arn:aws:lambda:{region}:{resolver.account_id}:function:{stack_name}-{logical_id}"
        resolver.physical[logical_id] = {"Ref": f"{stack_name}-{logical_id}", "Arn": arn}
    for logical_id in resources_of_type(template, "AWS::Serverless::Api"):
        resolver.physical[logical_id] = {"Ref": "local"}
    return resolver


def planned_settings(region: str = "us-east-1", stack_name: str = STACK_NAME) -> dict[str, str]:
    """The variables the template gives every function (Globals), named as `create_stack_resources`
    names the resources on moto: for scripts and tests that import keepwell (whose settings are
    required, keepwell/settings.py) before the stack exists. The stack's own environment replaces them."""
    template = load_template()
    resolver = Resolver(
        parameters=parameter_defaults(template) | {"Stage": "local"}, physical={}, region=region, stack_name=stack_name
    )
    for logical_id in resources_of_type(template, "AWS::DynamoDB::Table"):
        resolver.physical[logical_id] = {"Ref": f"{stack_name}-{logical_id}"}
    for logical_id in resources_of_type(template, "AWS::SQS::Queue"):
        url = f"https://sqs.{region}.amazonaws.com/{resolver.account_id}/{stack_name}-{logical_id}"
        resolver.physical[logical_id] = {"Ref": url}
    for logical_id, bus in resources_of_type(template, "AWS::Events::EventBus").items():
        resolver.physical[logical_id] = {"Ref": resolver.resolve(bus["Properties"]["Name"])}
    # The pool and its client get their ids from Cognito when created: name placeholders until then.
    for logical_id in resources_of_type(template, "AWS::Cognito::UserPool"):
        resolver.physical[logical_id] = {"Ref": f"{region}_planned{logical_id}"}
    for logical_id in resources_of_type(template, "AWS::Cognito::UserPoolClient"):
        resolver.physical[logical_id] = {"Ref": f"planned-{logical_id}".lower()}
    if template.get("Conditions"):
        resolver.conditions = evaluate_conditions(template, resolver)
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {name: str(resolver.resolve(value)) for name, value in variables.items() if not name.startswith("POWER")}


def _create_buckets(session: boto3.Session, template: dict[str, Any], resolver: Resolver, stack_name: str) -> None:
    """Each bucket with the template's encryption, public access block, lifecycle rules and CORS (bucket
    names are lower case; CloudFormation would generate one from the stack and logical id the same way)."""
    s3 = session.client("s3")
    for logical_id, bucket in resources_of_type(template, "AWS::S3::Bucket").items():
        props = bucket.get("Properties") or {}
        name = f"{stack_name}-{logical_id}".lower()
        s3.create_bucket(Bucket=name)
        if "BucketEncryption" in props:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [  # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSide…
                        {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                        for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "LifecycleConfiguration" in props:
            rules: Any = [
                {
                    "ID": rule["Id"],
                    "Status": rule["Status"],
                    "Filter": {"Prefix": rule.get("Prefix", "")},
                    "Expiration": {"Days": rule["ExpirationInDays"]},
                    **(
                        {"AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"]}
                        if "AbortIncompleteMultipartUpload" in rule
                        else {}
                    ),
                }
                for rule in props["LifecycleConfiguration"]["Rules"]
            ]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        resolver.physical[logical_id] = {
            "Ref": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
        }
    apply_bucket_cors(session, template, resolver)


def apply_bucket_cors(session: boto3.Session, template: dict[str, Any], resolver: Resolver) -> None:
    """Each bucket's CORS rules as the template gives them for the resolver's parameters (the import
    bucket's allowed origin is ConsoleUrl's: the local stack applies them again once its port is known)."""
    s3 = session.client("s3")
    for logical_id, bucket in resources_of_type(template, "AWS::S3::Bucket").items():
        props = bucket.get("Properties") or {}
        if "CorsConfiguration" not in props:
            continue
        cors: Any = [
            {("MaxAgeSeconds" if key == "MaxAge" else key): value for key, value in resolver.resolve(rule).items()}
            for rule in props["CorsConfiguration"]["CorsRules"]
        ]
        s3.put_bucket_cors(Bucket=resolver.physical[logical_id]["Ref"], CORSConfiguration={"CORSRules": cors})


def _create_user_pools(session: boto3.Session, template: dict[str, Any], resolver: Resolver) -> None:
    """The template's Cognito user pools and app clients, with the template's own properties (the
    CloudFormation names are the API's, but for the pool's name). The hosted-UI domain has no local use."""
    cognito = session.client("cognito-idp")
    for logical_id, pool in resources_of_type(template, "AWS::Cognito::UserPool").items():
        if not resource_enabled(pool, resolver.conditions):
            continue
        props = resolver.resolve(pool["Properties"])
        props["PoolName"] = props.pop("UserPoolName")
        created = cognito.create_user_pool(**props)["UserPool"]
        resolver.physical[logical_id] = {
            "Ref": created["Id"],
            "Arn": created["Arn"],
            "ProviderName": f"cognito-idp.{resolver.region}.amazonaws.com/{created['Id']}",
        }
    for logical_id, client in resources_of_type(template, "AWS::Cognito::UserPoolClient").items():
        if not resource_enabled(client, resolver.conditions):
            continue
        props = {k: v for k, v in resolver.resolve(client["Properties"]).items() if v is not None}
        created = cognito.create_user_pool_client(**props)["UserPoolClient"]
        resolver.physical[logical_id] = {"Ref": created["ClientId"]}
    # Nothing to create for the hosted-UI domain, but the web function's environment names it (the deployed
    # sign-in URLs); its Ref is the domain prefix, as CloudFormation's is.
    for logical_id, domain in resources_of_type(template, "AWS::Cognito::UserPoolDomain").items():
        if resource_enabled(domain, resolver.conditions):
            resolver.physical[logical_id] = {"Ref": str(resolver.resolve(domain["Properties"]["Domain"]))}
