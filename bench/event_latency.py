"""Event-to-score latency on the local stack: a critical signal in, the customer's new score out.

    .venv/bin/python -m bench.event_latency [--customers 30] [--tickets 3] [--moto-transactions]

Starts the local stack (moto server, every template resource, the gateway and the queue pollers, as
`make run` does) with a small demo, waits for the start-up scoring to settle, then for each of a few
demo customers: sets the workspace's Zendesk secret, sends one signed `ticket.created` webhook of an
urgent open ticket from one of the customer's people to `POST /v1/integrations/zendesk/{workspace}`,
and polls `GET /v1/customers/{id}/health` until its `scored_at` moves. Prints the seconds from
sending to the new score (goal: ≤ 60 s).

By default moto's TransactWriteItems is patched to back up only the items it touches
(infra/moto_patches.py); `--moto-transactions` keeps moto's own whole-table copy, to show its cost.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from typing import Any

GOAL_SECONDS = 60.0
POLL_SECONDS = 0.25


def _call(api_url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(api_url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def _send_ticket(api_url: str, workspace_id: str, secret: str, customer: dict[str, Any], number: int) -> None:
    """One signed Zendesk `ticket.created` event: urgent, open, from someone at the customer's domain."""
    from infra.demo_tickets import sign, zendesk_ticket_events
    from keepwell import clock
    from keepwell.domain.timeline import TimelineEntry

    now = clock.now()
    entry = TimelineEntry(
        customer_id=customer["customer_id"],
        kind="ticket",
        occurred_at=now - timedelta(seconds=5),
        title=f"#{number} Production is down: every export fails",
        item_id=f"latency-{number}",
        attributes={"status": "open", "priority": "urgent", "requester": f"ops@{customer['domain']}"},
    )
    [created] = zendesk_ticket_events(entry)[:1]
    body = json.dumps(created, separators=(",", ":")).encode()
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    request = urllib.request.Request(
        f"{api_url}/v1/integrations/zendesk/{workspace_id}",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature": sign(secret, body, timestamp),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if answer.get("recorded") != 1:
        raise RuntimeError(f"the ticket was not recorded on {customer['customer_id']}: {answer}")


def measure(customers: int, tickets: int, patch_transactions: bool) -> list[float]:
    from infra.demo_tickets import set_zendesk_secret
    from infra.local import start_stack

    if patch_transactions:
        from infra.moto_patches import install_fast_transactions

        install_fast_transactions()
    started = time.monotonic()
    stack = start_stack(port=0, moto_port=0, customers=customers, log_level="WARNING", say=lambda _: None)
    try:
        if not stack.drain(timeout=900):
            raise RuntimeError("the start-up scoring did not settle in 15 minutes")
        settled = time.monotonic() - started
        print(f"local stack up with {customers} demo customers, start-up scoring settled ({settled:.0f} s)")
        assert stack.admin_token is not None
        api, token = stack.api_url, stack.admin_token
        secret = secrets.token_urlsafe(32)
        set_zendesk_secret(api, token, secret)
        listed = _call(api, token, "GET", "/v1/customers?limit=50")["items"]
        targets = [c for c in listed if c.get("domain")][:tickets]
        latencies: list[float] = []
        for number, customer in enumerate(targets, start=90001):
            path = f"/v1/customers/{customer['customer_id']}/health"
            before = _call(api, token, "GET", path)
            sent = time.monotonic()
            _send_ticket(api, stack.workspace_id, secret, customer, number)
            while True:
                now = _call(api, token, "GET", path)
                if now.get("scored_at") != before.get("scored_at"):
                    break
                if time.monotonic() - sent > 300:
                    raise RuntimeError(f"{customer['customer_id']} was not rescored within 300 s")
                time.sleep(POLL_SECONDS)
            latency = time.monotonic() - sent
            latencies.append(latency)
            support = {d["key"]: d.get("value") for d in now.get("dimensions", [])}.get("support")
            print(
                f"  {customer['customer_id']}: rescored {latency:.1f} s after the ticket "
                f"(score {before.get('score')} -> {now.get('score')}, support {support})"
            )
        return latencies
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.event_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=30, help="demo customers to seed")
    parser.add_argument("--tickets", type=int, default=3, help="customers to send a critical ticket for, in turn")
    parser.add_argument(
        "--moto-transactions", action="store_true", help="keep moto's whole-table copy on every transaction"
    )
    args = parser.parse_args(argv)
    print(f"event-to-score latency, {datetime.now().isoformat(timespec='seconds')}")
    latencies = measure(args.customers, args.tickets, patch_transactions=not args.moto_transactions)
    worst = max(latencies)
    print(
        f"critical Zendesk ticket -> new score: median {statistics.median(latencies):.1f} s, worst {worst:.1f} s "
        f"over {len(latencies)} (goal <= {GOAL_SECONDS:.0f} s: {'met' if worst <= GOAL_SECONDS else 'NOT met'})"
    )
    return 0 if worst <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
