"""Console time-to-content: the portfolio and a Customer 360 of the full demo, in the browser.

    .venv/bin/python -m bench.console [--customers 320] [--runs 5] [--url http://127.0.0.1:3000]

Starts the local stack with the demo (320 customers by default; or measures a running `make run` with
`--url`), signs the demo admin in through the user pool in the distribution's Chromium (Playwright), then
for each run loads `/customers` and one customer's `/customers/{id}` afresh in that tab and prints, per
screen: the time to content (navigation start to the data on screen: the portfolio's first page of
rows; the 360's every section loaded), the API time (first `/v1/` request sent to last answer
received) and the render time after the API answered (content on screen minus last answer; goal ≤ 1 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def measure(page: Any, url: str, content: Callable[[Any], None]) -> dict[str, float]:
    """One page load: times in ms relative to the navigation start."""
    sent: list[float] = []
    answered: list[float] = []
    on_request = lambda request: sent.append(time.perf_counter()) if "/v1/" in request.url else None  # noqa: E731
    on_finished = lambda request: answered.append(time.perf_counter()) if "/v1/" in request.url else None  # noqa: E731
    page.on("request", on_request)
    page.on("requestfinished", on_finished)
    started = time.perf_counter()
    page.goto(url)
    content(page)
    shown = time.perf_counter()
    page.remove_listener("request", on_request)
    page.remove_listener("requestfinished", on_finished)
    last_answer = max(answered) if answered else started
    return {
        "content_ms": (shown - started) * 1000,
        "api_ms": (last_answer - min(sent)) * 1000 if sent else 0.0,
        "after_api_ms": max(0.0, shown - last_answer) * 1000,
        "requests": float(len(sent)),
    }


def portfolio_content(page: Any) -> None:
    page.get_by_role("table").get_by_role("row").nth(1).wait_for()


def customer_content(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("heading", level=1).wait_for()
    expect(page.locator("main .state:not(.empty)")).to_have_count(0, timeout=60_000)  # every loading state gone
    page.get_by_role("region", name="Timeline").get_by_role("listitem").first.wait_for()


def report(name: str, runs: list[dict[str, float]]) -> None:
    def line(key: str) -> str:
        values = [r[key] for r in runs]
        return f"median {statistics.median(values):7.0f}  max {max(values):7.0f}"

    print(f"{name}  ({len(runs)} loads, {runs[0]['requests']:.0f} API requests each)")
    print(f"  time to content        ms  {line('content_ms')}")
    print(f"  API (first → last)     ms  {line('api_ms')}")
    print(f"  render after the API   ms  {line('after_api_ms')}   goal ≤ 1000")


def run(base_url: str, admin: dict[str, str], customer_id: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (make test installs it: apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(base_url + "/signin")
        page.get_by_role("button", name=admin["label"]).click()
        page.wait_for_url(f"{base_url}/customers")
        portfolio_content(page)  # warm: the modules are cached from here on, as for a returning user
        results: dict[str, list[dict[str, float]]] = {"portfolio": [], "customer 360": []}
        # Full page loads in the same tab (the session lives in this tab's storage only).
        for _ in range(runs):
            results["portfolio"].append(measure(page, f"{base_url}/customers", portfolio_content))
            results["customer 360"].append(measure(page, f"{base_url}/customers/{customer_id}", customer_content))
        browser.close()
    print()
    for name, measured in results.items():
        report(name, measured)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=None, help="demo customers (default: the full demo)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", help="measure a running stack (make run) instead of starting one")
    args = parser.parse_args(argv)
    if args.url:
        import json
        import urllib.request

        config = json.loads(urllib.request.urlopen(f"{args.url}/console/config.json").read())
        admin = next(u for u in config["auth"]["demo_users"] if u["role"] == "admin")
        local = json.loads(Path(".keepwell/local.json").read_text())
        request = urllib.request.Request(
            f"{args.url}/v1/customers?limit=1", headers={"Authorization": f"Bearer {local['admin_token']}"}
        )
        customer_id = json.loads(urllib.request.urlopen(request).read())["items"][0]["customer_id"]
        run(args.url, admin, customer_id, args.runs)
        return 0

    from infra.identity import console_auth_config
    from infra.local import start_stack

    started = time.monotonic()
    stack = start_stack(port=0, moto_port=0, customers=args.customers, log_level="ERROR")
    try:
        stack.drain(timeout=900, interval=1.0)
        assert stack.seed is not None
        customers = len(stack.seed.data.demo.customers)
        print(f"local stack with {customers} customers ready in {time.monotonic() - started:.0f} s", flush=True)
        admin = next(u for u in console_auth_config(stack)["demo_users"] if u["role"] == "admin")
        # The largest account of the demo (a full 360: renewal, flags, a long timeline).
        customer = min(
            (c.customer for c in stack.seed.data.demo.customers if c.customer.status != "churned"),
            key=lambda c: -c.arr,
        )
        run(stack.api_url, admin, customer.customer_id, args.runs)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
