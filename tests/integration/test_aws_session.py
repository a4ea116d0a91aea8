"""A container builds one botocore session for all its AWS clients (keepwell/aws_session.py): pynamodb's
DynamoDB client and the boto3 clients of the queues and the bus. Each session built costs a cold start the
registration of ~130 handlers and the endpoint rules (docs/decisions/0027-cold-starts.md)."""

from __future__ import annotations

import os
from typing import Any

import botocore.session
import pytest

from infra.local import reset_aws_clients
from infra.template import Resolver
from keepwell.adapters import aws as aws_clients
from keepwell.storage import workspaces


def test_dynamodb_the_queues_and_the_bus_are_reached_through_one_session(
    aws: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_aws_clients()  # as a new container: no session, client or connection yet
    built: list[botocore.session.Session] = []
    build = botocore.session.Session.__init__

    def counting(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        build(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "__init__", counting)
    workspaces.create_workspace("ws_session", "Session Co")  # DynamoDB, through pynamodb
    aws_clients.client("sqs").get_queue_attributes(QueueUrl=os.environ["SCORING_QUEUE_URL"])
    aws_clients.client("events").list_event_buses()
    assert workspaces.get_workspace("ws_session") is not None
    assert len(built) == 1
