"""Fold health snapshots stored one item per customer-day (before decision 0026) into month items.

    TABLE_NAME=<the stack's table> python -m infra.migrate_snapshots [--workspace ID ...]

Run once after deploying the month items, with the deploying credentials (or against the local stack
with AWS_ENDPOINT_URL set). Until then the API and the scorer read both formats, so it can run at any
time, while scoring runs. No Scan: the workspaces come from their scheduler listing (a Query of gsi1),
each workspace's customers from theirs, and each customer's health items from one Query of its
partition; each month with day items is one TransactWriteItems (the month item, conditioned on its
version, and the deletion of its day items). Idempotent: run it again and it finds nothing to fold.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.migrate_snapshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", action="append", help="only this workspace (repeatable); default: all")
    args = parser.parse_args(argv)

    from keepwell.storage import health_snapshots, workspaces

    ids = args.workspace or [w.workspace_id for w in workspaces.list_workspaces_for_scheduler()]
    for workspace_id in ids:
        customers, folded = health_snapshots.migrate_workspace(workspace_id)
        print(f"{workspace_id}: {customers} customers, {folded} day items folded into their months", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
