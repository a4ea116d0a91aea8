"""Operator commands, run with the deployer's AWS credentials against a deployed stack.

    python -m keepwell.admin create-workspace --stack keepwell --name "Contoso CS" --admin-email ops@contoso.com

The stack's outputs name its table and user pool (or pass `--table-name` / `--user-pool-id`). The
workspace and its first admin are created once: running the command again changes nothing. There is
no public sign-up route; this is how a deployment gets more workspaces.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import boto3

from keepwell.errors import KeepwellError


def stack_outputs(stack_name: str, region: str | None) -> dict[str, str]:
    answer = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)
    return {o["OutputKey"]: o["OutputValue"] for o in answer["Stacks"][0].get("Outputs", [])}


def create_workspace(args: argparse.Namespace) -> dict[str, Any]:
    table, pool = args.table_name, args.user_pool_id
    if args.stack:
        outputs = stack_outputs(args.stack, args.region)
        table = table or outputs.get("TableName", "")
        pool = pool if pool is not None else outputs.get("UserPoolId", "")
    if not table:
        raise SystemExit("name the stack (--stack) or its table (--table-name)")
    # The storage models read TABLE_NAME when first imported: set it before importing them.
    os.environ["TABLE_NAME"] = table
    if args.region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = args.region
    from keepwell.services.provisioning import provision_workspace

    done = provision_workspace(
        args.name,
        args.admin_email,
        workspace_id=args.workspace_id,
        admin_name=args.admin_name,
        timezone=args.timezone,
        user_pool_id=pool or "",
    )
    return {
        "workspace_id": done.workspace_id,
        "admin_user_id": done.admin_user_id,
        "workspace_created": done.workspace_created,
        "admin_created": done.admin_created,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keepwell.admin", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-workspace", help="create a workspace and its first admin (idempotent)")
    create.add_argument("--name", required=True, help="the workspace's name")
    create.add_argument("--admin-email", required=True, help="its first admin (invited by email)")
    create.add_argument("--admin-name", default=None)
    create.add_argument("--workspace-id", default=None, help="default: ws_<name as a slug>")
    create.add_argument("--timezone", default="UTC", help="IANA timezone (changeable later in the settings)")
    create.add_argument("--stack", default=None, help="the deployed stack's name (reads its outputs)")
    create.add_argument("--table-name", default=None)
    create.add_argument("--user-pool-id", default=None, help="empty with an external OIDC issuer")
    create.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    try:
        print(json.dumps(create_workspace(args), indent=2))
    except KeepwellError as error:
        print(f"{error.message}: {json.dumps(error.details)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
