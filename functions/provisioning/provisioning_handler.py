"""CloudFormation custom resource: the deployment's first workspace and its admin (template FirstWorkspace).

Create provisions them (idempotently); Update changes nothing (the workspace is the team's from then
on: renamed in the console, not by a redeploy); Delete leaves every item in place (the table is
retained too). The answer goes to CloudFormation's pre-signed ResponseURL, as the protocol requires.
"""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

import json
import urllib.request
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from keepwell.observability import logger, tracer
from keepwell.services.provisioning import provision_workspace
from keepwell.settings import get_settings


def respond(event: dict[str, Any], status: str, physical_id: str, data: dict[str, Any], reason: str = "") -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or status,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    kind = event.get("RequestType")
    physical_id = str(event.get("PhysicalResourceId") or "")
    try:
        if kind == "Create":
            props = event["ResourceProperties"]
            done = provision_workspace(
                props["WorkspaceName"],
                props["AdminEmail"],
                workspace_id=props.get("WorkspaceId") or None,
                user_pool_id=get_settings().user_pool_id,
            )
            physical_id = done.workspace_id
            data = {"WorkspaceId": done.workspace_id, "AdminUserId": done.admin_user_id or ""}
        else:  # Update and Delete: the workspace and its data stay as the team left them
            data = {"WorkspaceId": physical_id}
        logger.info("custom resource answered", extra={"request_type": kind, "workspace_id": physical_id})
        respond(event, "SUCCESS", physical_id or "not-provisioned", data)
    except Exception as error:
        logger.exception("provisioning failed")
        respond(event, "FAILED", physical_id or "not-provisioned", {}, f"{type(error).__name__}: {error}")


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
