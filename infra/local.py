"""The local stack: the whole system on moto, driven by template.yaml.

    python -m infra.local run      # moto server, every template resource, demo data, API on :3000
    python -m infra.local recalc   # recalculate every customer (with a progress bar) on the running stack

`start_stack()` does the same programmatically (the integration tests use it on ephemeral ports).
Handlers run in this process, with the environment template.yaml gives them, against moto's
server through `AWS_ENDPOINT_URL`; the template's SQS and EventBridge event sources are pollers
(`infra.pollers`), its schedules are invoked on demand (`infra.schedules`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from infra.gateway import Gateway, envelope
from infra.identity import console_auth_config, pool_ids
from infra.invoker import Invoker
from infra.pollers import QueuePoller, create_eventbridge_rules, queue_depth, sqs_event_sources
from infra.resources import STACK_NAME, apply_bucket_cors, create_stack_resources
from infra.schedules import ScheduleSource, schedule_sources, scheduled_event
from infra.template import ROOT, Resolver, function_environment, load_template, resources_of_type

if TYPE_CHECKING:
    from infra.identity import DemoPerson
    from infra.seed import DemoSeed

log = logging.getLogger("infra.local")

CONFIG_PATH = ROOT / ".keepwell" / "local.json"
REGION = "us-east-1"
DEFAULT_PORT = 3000
DEFAULT_MOTO_PORT = 5000
CONTROL_HEADER = "X-Keepwell-Local-Token"
INGEST_BATCH = 1000  # events per POST /v1/events (the API's limit)
SCORER = "ScorerFunction"
TOKEN_REFRESH_SECONDS = 45 * 60  # .keepwell/local.json gets new ID tokens before the old ones expire (1 h)
# What the handlers see as AWS: moto's server, with credentials that only moto accepts.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def free_port(host: str, preferred: int, attempts: int = 20) -> int:
    """`preferred` or the next free port after it; 0 lets the OS choose."""
    if preferred == 0:
        return 0
    for port in range(preferred, preferred + attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {preferred}..{preferred + attempts - 1}")


def stack_environment(template: dict[str, Any], resolver: Resolver) -> dict[str, str]:
    """Every function's environment as the template declares it. The functions share one process,
    so the union is set once; two functions giving one variable different values would be a bug."""
    merged: dict[str, str] = {}
    for function_id in resources_of_type(template, "AWS::Serverless::Function"):
        for name, value in function_environment(template, function_id, resolver).items():
            if merged.get(name, value) != value:
                raise RuntimeError(f"{function_id} sets {name}={value!r}, another function {merged[name]!r}")
            merged[name] = value
    return merged


def reset_aws_clients() -> None:
    """Forget every cached client and settings object: the endpoint and environment changed."""
    from pynamodb.models import Model

    from keepwell.adapters.aws import reset_clients
    from keepwell.settings import reset_settings

    reset_settings()
    reset_clients()
    pending: list[type[Model]] = [Model]
    while pending:
        model = pending.pop()
        if "_connection" in vars(model):
            model._connection = None
        pending.extend(model.__subclasses__())


@dataclass
class LocalStack:
    api_url: str
    moto_endpoint: str
    resolver: Resolver
    invoker: Invoker
    gateway: Gateway
    control_token: str
    user_pool_id: str = ""
    console_client_id: str = ""
    demo_people: list[DemoPerson] = field(default_factory=list)  # signed in through the pool (infra.identity)
    pollers: list[QueuePoller] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)
    workspace_id: str = ""
    admin_token: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    other_workspace_id: str = ""
    other_workspace_token: str = ""
    ingest_api_key: str | None = None
    tokens_signed_in_at: str = ""
    product_events: dict[str, int] = field(default_factory=dict)  # the demo's POST /v1/events totals
    seed: DemoSeed | None = None  # the demo data when seeded (customers, in-memory usage, summary)
    _moto: Any = None
    _saved_environ: dict[str, str] = field(default_factory=dict)
    _stopped: bool = False

    # ---- what a developer needs -----------------------------------------------------------
    def local_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "api_url": self.api_url,
            "workspace_id": self.workspace_id,
            "admin_token": self.admin_token,
            "tokens": self.tokens,
            "other_workspace_id": self.other_workspace_id,
            "other_workspace_token": self.other_workspace_token,
            "moto_endpoint": self.moto_endpoint,
            "control_token": self.control_token,
            "user_pool_id": self.user_pool_id,
            "console_client_id": self.console_client_id,
            # ID tokens from the pool live an hour (as Cognito's); `make run` signs in again before that.
            "tokens_signed_in_at": self.tokens_signed_in_at,
        }
        if self.ingest_api_key is not None:
            config["ingest_api_key"] = self.ingest_api_key
        return config

    def sign_in_demo_people(self) -> None:
        """Sign every demo person in through the pool (USER_PASSWORD_AUTH on moto): fresh RS256 ID tokens
        for `.keepwell/local.json`, one per role of the demo workspace and one for the other workspace."""
        from infra.identity import sign_in
        from keepwell import clock

        cognito = boto3.client("cognito-idp", region_name=REGION)
        tokens: dict[str, str] = {}
        for person in self.demo_people:
            token = sign_in(cognito, self.console_client_id, person.username, person.password)
            if person.workspace_id == self.workspace_id:
                tokens.setdefault(person.role, token)
            else:
                self.other_workspace_token = token
        self.tokens = tokens
        self.admin_token = tokens.get("admin", "")
        self.tokens_signed_in_at = clock.iso(clock.now())

    def write_config(self, path: Path = CONFIG_PATH) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.local_config(), indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)  # tokens inside
        return path

    # ---- event sources -----------------------------------------------------------------------
    def sqs(self) -> Any:
        return boto3.client("sqs", region_name=REGION)

    def invoke_schedule(self, function_id: str, at: datetime | None = None) -> dict[str, Any]:
        """Invoke a scheduled function with the event its schedule would send."""
        from keepwell import clock

        source = next((s for s in self.schedules if s.function_id == function_id), None)
        if source is None:
            raise KeyError(function_id)
        event = scheduled_event(source, self.resolver, at or clock.now())
        outcome: dict[str, Any] = {"function_id": function_id, "event_name": source.event_name, "event": event}
        try:
            outcome["result"] = self.invoker.invoke(function_id, event)
            outcome["ok"] = True
        except Exception as error:
            log.exception("%s failed", function_id)
            outcome["ok"] = False
            outcome["error"] = f"{type(error).__name__}: {error}"
        return outcome

    def drain(self, timeout: float = 30.0, functions: Collection[str] | None = None, interval: float = 0.25) -> bool:
        """Wait until every polled queue (of `functions`, default all) is empty and no poller is busy
        (twice in a row). Each depth check walks the queue in moto: long waits use a longer `interval`."""
        sqs = self.sqs()
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            watched = [p for p in self.pollers if functions is None or p.source.function_id in functions]
            polled = [p for p in watched if self.invoker.available(p.source.function_id)]
            idle = all(not p.busy for p in polled) and all(queue_depth(sqs, p.source.queue_url) == 0 for p in polled)
            quiet = quiet + 1 if idle else 0
            if quiet >= 2:
                return True
            time.sleep(interval)
        return False

    def status(self) -> dict[str, Any]:
        sqs = self.sqs()
        return {
            "pollers": {
                p.source.name: {
                    "queue": p.source.queue_url,
                    "handler_available": self.invoker.available(p.source.function_id),
                    "depth": queue_depth(sqs, p.source.queue_url),
                    "dead_letters": queue_depth(sqs, p.source.dlq_url) if p.source.dlq_url else None,
                    **p.stats.as_dict(),
                }
                for p in self.pollers
            },
            "invocations": dict(self.invoker.invocations),
            "errors": dict(self.invoker.errors),
            "schedules": [f"{s.function_id}.{s.event_name}" for s in self.schedules],
        }

    def control(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any] | None:
        """The `/_local/` endpoints (local only, not in template.yaml)."""
        token = next((v for k, v in headers.items() if k.lower() == CONTROL_HEADER.lower()), "")
        if not secrets.compare_digest(token, self.control_token):
            return 401, envelope("unauthorized", f"{CONTROL_HEADER} is missing or wrong (see .keepwell/local.json)")
        if method == "GET" and path == "/_local/status":
            return 200, self.status()
        prefix = "/_local/schedule/"
        if method == "POST" and path.startswith(prefix):
            function_id = path.removeprefix(prefix)
            if function_id not in {s.function_id for s in self.schedules}:
                return 404, envelope(
                    "not_found",
                    f"{function_id} has no schedule in template.yaml",
                    [{"field": "function_id", "issue": "no Schedule/ScheduleV2 event"}],
                )
            try:
                options = json.loads(body or b"{}")
                at = datetime.fromisoformat(options["time"]) if options.get("time") else None
                wait = float(options.get("wait", 60))
            except (ValueError, TypeError, AttributeError) as error:
                return 400, envelope(
                    "validation_error",
                    f"Invalid body: {error}",
                    [{"field": "time", "issue": "ISO-8601 with a timezone"}],
                )
            if at is not None and at.tzinfo is None:
                return 400, envelope(
                    "validation_error", "time needs a timezone", [{"field": "time", "issue": "no timezone"}]
                )
            before = {p.source.name: p.stats.as_dict() for p in self.pollers}
            outcome = self.invoke_schedule(function_id, at)
            outcome["drained"] = self.drain(wait) if wait > 0 else None
            after = self.status()
            outcome["pollers"] = {
                name: {
                    k: after["pollers"][name][k] - before[name][k]
                    for k in ("batches", "succeeded", "failed", "invocation_errors")
                }
                | {"dead_letters": after["pollers"][name]["dead_letters"]}
                for name in before
            }
            return (200 if outcome["ok"] else 502), outcome
        return None

    # ---- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for poller in self.pollers:
            poller._stop.set()
        self.gateway.stop()
        for poller in self.pollers:
            poller.stop()
        self.invoker.close()
        if self._moto is not None:
            self._moto.stop()
            _reset_moto()
        os.environ.clear()
        os.environ.update(self._saved_environ)
        reset_aws_clients()


def _reset_moto() -> None:
    """Moto's backends are process-wide: drop this stack's state (tests start several stacks)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def start_stack(
    port: int = DEFAULT_PORT,
    moto_port: int = DEFAULT_MOTO_PORT,
    customers: int | None = None,
    today: date | None = None,
    seed: bool = True,
    run_schedules: bool = True,
    start_pollers: bool = True,
    host: str = "127.0.0.1",
    log_level: str = "INFO",
    say: Callable[[str], None] = lambda _: None,
) -> LocalStack:
    """Start moto, the template's resources, the gateway and the event sources; seed demo data.

    `port`/`moto_port` 0 choose free ports (tests). `customers` None seeds the full demo. `log_level` is
    the template's LogLevel parameter: the level of every function's structured logs.
    """
    from moto.server import ThreadedMotoServer

    from infra.moto_patches import install_all

    # moto copies the whole table per transaction and sorts it per Query otherwise (see the module).
    install_all()

    started = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    moto = ThreadedMotoServer(ip_address=host, port=free_port(host, moto_port), verbose=False)
    moto.start()
    _reset_moto()
    moto_host, bound_moto_port = moto.get_host_and_port()
    moto_endpoint = f"http://{moto_host}:{bound_moto_port}"
    saved = dict(os.environ)
    try:
        os.environ.update(
            FAKE_CREDENTIALS,
            AWS_ENDPOINT_URL=moto_endpoint,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            POWERTOOLS_TRACE_DISABLED="true",
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        template = load_template()
        resolver = create_stack_resources(
            boto3.Session(region_name=REGION),
            parameters={"Stage": "local", "LogLevel": log_level},
            stack_name=STACK_NAME,
        )
        os.environ.update(stack_environment(template, resolver), STAGE="local")
        # The template points JWKS_URL at Cognito's regional endpoint; moto serves the pool's keys itself.
        pool_id, console_client_id = pool_ids(resolver)
        os.environ["JWKS_URL"] = f"{moto_endpoint}/{pool_id}/.well-known/jwks.json"
        if log_level in ("WARNING", "ERROR"):
            # Metrics go out as EMF lines on stdout for CloudWatch; locally, and quiet, they only flood.
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        _check_table_name(os.environ["TABLE_NAME"])
        reset_aws_clients()
        say(f"moto server on {moto_endpoint}; template resources created ({time.monotonic() - started:.1f}s)")

        invoker = Invoker(STACK_NAME)
        sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
        sources = sqs_event_sources(template, resolver) + create_eventbridge_rules(template, resolver, sqs, events)
        gateway_port = free_port(host, port)
        if gateway_port != port:
            say(f"port {port} is busy; the API listens on {gateway_port} instead")
        gateway = Gateway(
            invoker, host=host, port=gateway_port, stage="local", region=REGION, account_id=resolver.account_id
        )
        # Invitation links (`console_link`) name the console this stack serves, whichever port it got
        # (the template's default ConsoleUrl is http://localhost:3000, dead beside --port or a busy 3000).
        os.environ["CONSOLE_URL"] = gateway.url
        # The import bucket lets the console's origin post files (template CORS from ConsoleUrl): this one.
        resolver.parameters["ConsoleUrl"] = gateway.url
        apply_bucket_cors(boto3.Session(region_name=REGION), template, resolver)
        reset_aws_clients()
        stack = LocalStack(
            api_url=gateway.url,
            moto_endpoint=moto_endpoint,
            resolver=resolver,
            invoker=invoker,
            gateway=gateway,
            control_token=secrets.token_urlsafe(24),
            user_pool_id=pool_id,
            console_client_id=console_client_id,
            schedules=schedule_sources(template),
            _moto=moto,
            _saved_environ=saved,
        )
        gateway.control = stack.control
        gateway.cognito_endpoint = moto_endpoint
        stack.pollers = [QueuePoller(source, sqs, invoker, region=REGION) for source in sources]
    except BaseException:
        moto.stop()
        _reset_moto()
        os.environ.clear()
        os.environ.update(saved)
        reset_aws_clients()
        raise
    try:
        if seed:
            _seed(stack, customers, today, say)
        stack.gateway.start()
        if seed:
            _send_product_events(stack, say)
            _send_support_tickets(stack, say)
        if start_pollers:
            for poller in stack.pollers:
                poller.start()
        if run_schedules:
            for schedule in stack.schedules:
                if stack.invoker.available(schedule.function_id):
                    outcome = stack.invoke_schedule(schedule.function_id)
                    say(
                        f"{schedule.function_id}.{schedule.event_name}: "
                        f"{'invoked' if outcome['ok'] else 'failed: ' + outcome['error']}"
                    )
                else:
                    say(f"{schedule.function_id}: handler not available yet; not invoked")
            if seed:
                _score_demo_today(stack, say)
    except BaseException:
        stack.stop()
        raise
    say(f"ready in {time.monotonic() - started:.1f}s")
    return stack


def _check_table_name(table_name: str) -> None:
    # The storage models read TABLE_NAME when first imported; if they already were, it must agree.
    models = sys.modules.get("keepwell.storage.models")
    if models is not None and models.TableItem.Meta.table_name != table_name:
        raise RuntimeError(
            f"keepwell.storage.models was imported with table "
            f"{models.TableItem.Meta.table_name!r}, the stack's is {table_name!r}"
        )


def _seed(stack: LocalStack, customers: int | None, today: date | None, say: Callable[[str], None]) -> None:
    from infra import seed as demo
    from keepwell import clock, ids
    from keepwell.services.api_keys import create_api_key

    started = time.monotonic()
    result = demo.seed_demo(
        today=today or clock.today(), customers=customers if customers is not None else demo.DEMO_CUSTOMERS
    )
    stack.seed = result
    ids.seed(None)  # the seed fixed the ids; from here on the running system draws its own
    say(f"seeded {result.summary_line()} ({time.monotonic() - started:.1f}s)")
    stack.workspace_id = result.workspace_id
    stack.other_workspace_id = result.other_workspace_id
    stack.demo_people = _enrol_demo_people(stack, result)
    stack.sign_in_demo_people()
    say(f"{len(stack.demo_people)} demo people signed in through the user pool {stack.user_pool_id} (RS256 ID tokens)")
    _, stack.ingest_api_key = create_api_key(result.workspace_id, "Local demo ingestion", result.admin_id)
    # The web console's sign-in (served by the web function as GET /console/config.json): the demo people
    # to pick from, signed in through the pool by the browser itself.
    os.environ["CONSOLE_AUTH_CONFIG"] = json.dumps(console_auth_config(stack))


def _enrol_demo_people(stack: LocalStack, result: DemoSeed) -> list[DemoPerson]:
    """Every seeded user gets an identity in the local pool (password infra.identity.DEMO_PASSWORD); the
    console offers one per role, a second CSM and the other workspace's admin."""
    from infra.identity import DEMO_PASSWORD, DemoPerson, enrol_user
    from keepwell.storage import workspaces

    cognito = boto3.client("cognito-idp", region_name=REGION)
    offered: dict[tuple[str, str], str] = {
        (result.workspace_id, user_id): role for role, user_id in result.token_users.items()
    }
    second_csm = next(
        (u for u, role, _ in result.data.demo.users if role == "csm" and u != result.token_users.get("csm")), None
    )
    if second_csm is not None:
        offered[(result.workspace_id, second_csm)] = "csm"
    offered[(result.other_workspace_id, result.other_admin_id)] = "admin"
    people: list[DemoPerson] = []
    for workspace in (result.data.demo, result.data.other):
        for user_id, role, name in workspace.users:
            subject = enrol_user(cognito, stack.user_pool_id, workspace.workspace_id, user_id)
            if (workspace.workspace_id, user_id) in offered:
                user = workspaces.get_user(workspace.workspace_id, user_id)
                assert user is not None
                label = f"{name} — {role} of {workspace.name}"
                people.append(
                    DemoPerson(user.email, DEMO_PASSWORD, role, label, workspace.workspace_id, user_id, subject)
                )
    return people


def _send_product_events(stack: LocalStack, say: Callable[[str], None]) -> None:
    """Send the demo's recent product usage (infra.seed: the live days) through POST /v1/events on the
    running gateway with the printed ingestion key, in batches of 1,000, as a customer's app would."""
    from keepwell import clock

    if stack.seed is None or stack.ingest_api_key is None:
        return
    started = time.monotonic()
    events = stack.seed.live_product_events(clock.now())
    totals = {"sent": len(events), "accepted": 0, "duplicates": 0, "rejected": 0}
    first_rejection: dict[str, Any] | None = None
    for start in range(0, len(events), INGEST_BATCH):
        request = urllib.request.Request(
            f"{stack.api_url}/v1/events",
            data=json.dumps({"events": events[start : start + INGEST_BATCH]}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "X-Api-Key": stack.ingest_api_key},
        )
        with urllib.request.urlopen(request, timeout=120) as response:  # an error status raises: the seed failed
            answer = json.loads(response.read())
        totals["accepted"] += answer["accepted"]
        totals["duplicates"] += answer["duplicates"]
        totals["rejected"] += len(answer["rejected"])
        first_rejection = first_rejection or next(iter(answer["rejected"]), None)
    stack.product_events = totals
    days = ", ".join(d.isoformat() for d in stack.seed.live_days) or "none"
    say(
        f"sent {totals['sent']} product events ({days}) through POST /v1/events: {totals['accepted']} accepted, "
        f"{totals['duplicates']} duplicates, {totals['rejected']} rejected ({time.monotonic() - started:.1f}s)"
    )
    if first_rejection is not None:
        say(f"first rejected event: {first_rejection}")


def _send_support_tickets(stack: LocalStack, say: Callable[[str], None]) -> None:
    """Send the demo's recent support tickets as Zendesk webhooks, signed with a workspace secret the
    admin sets through PUT /v1/integrations/zendesk/secret, as a real Zendesk connection would."""
    from infra.demo_tickets import send_demo_tickets, set_zendesk_secret

    if stack.seed is None or stack.admin_token is None:
        return
    started = time.monotonic()
    tickets = stack.seed.live_tickets()
    zendesk_secret = secrets.token_urlsafe(32)
    set_zendesk_secret(stack.api_url, stack.admin_token, zendesk_secret)
    delivered = send_demo_tickets(stack.api_url, stack.workspace_id, zendesk_secret, tickets)
    say(
        f"sent {len(tickets)} support tickets ({delivered} Zendesk webhooks, signed) through "
        f"POST /v1/integrations/zendesk/{stack.workspace_id} ({time.monotonic() - started:.1f}s)"
    )


def _score_demo_today(stack: LocalStack, say: Callable[[str], None]) -> None:
    """Score the demo's 90 days of history as an admin does after bringing a history in: a
    recalculation (`POST /v1/health/recalculate`'s service, as the demo admin) through the real
    fan-out, scoring queue and scorer, so every customer has its health trend, its 7-day change and
    today's score, whatever the hour now. The job shows in the console's Health settings."""
    from keepwell.services import recalculation

    if stack.seed is None:
        return
    job = recalculation.start_recalculation(stack.workspace_id, stack.seed.admin_id)
    say(
        f"recalculation {job['job_id']} queued: the 90 days of health of every customer, listed by the scorer "
        f"(what an admin runs after bringing a history in)"
    )


def portfolio_lines(stack: LocalStack, at_risk: int = 5) -> list[str]:
    """The demo portfolio as a CSM lead sees it after scoring: band distribution, the most at-risk
    customers with why, and the playbooks that fired with the tasks they created."""
    return [*_health_lines(stack.local_config(), at_risk), "", *_playbook_lines(stack)]


def _playbook_lines(stack: LocalStack) -> list[str]:
    from keepwell.services.playbooks import summary_lines

    lines = ["playbooks that fired (runs, then what their actions did)"]
    return lines + [f"  {line}" for line in summary_lines(stack.workspace_id)]


def _list_customers(config: dict[str, Any]) -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = "limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, page = _call_api(config, "GET", f"/v1/customers?{query}")
        if status != 200:
            raise RuntimeError(f"GET /v1/customers answered {status}: {page}")
        customers.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return customers


def _health_lines(config: dict[str, Any], at_risk: int = 5) -> list[str]:
    """Band distribution and the `at_risk` lowest scores with their top negative contributions, read
    through the API as the demo admin."""
    customers = _list_customers(config)
    bands: dict[str, int] = {}
    for customer in customers:
        label = customer.get("health_band") or "not scored"
        bands[label] = bands.get(label, 0) + 1
    lines = ["band distribution"]
    for label, count in sorted(bands.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {label:<12} {count:>5}  {'#' * round(40 * count / max(1, len(customers)))}")
    # Churned customers are already lost and paused ones use nothing by arrangement: "at risk" is about
    # the active and trial customers that can still be saved.
    scored = [c for c in customers if c.get("health_score") is not None and c.get("status") in ("active", "trial")]
    lines += ["", "most at risk (active and trial)"]
    for customer in sorted(scored, key=lambda c: c["health_score"])[:at_risk]:
        _, health = _call_api(config, "GET", f"/v1/customers/{customer['customer_id']}/health")
        reasons = [e["text"] for e in (health or {}).get("top_negative", [])][:3]
        lines.append(f"  {customer['health_score']:5.1f}  {customer['name']}")
        lines.append(f"         why: {'; '.join(reasons) or (health or {}).get('explanation', '')}")
    return lines


# ---- CLI ---------------------------------------------------------------------------------------
def _print_ready(stack: LocalStack, config_path: Path) -> None:
    print()
    print(f"  Console        {stack.api_url}/   (sign in as a demo user)")
    print(f"  API            {stack.api_url}")
    print(f"  workspace      {stack.workspace_id}")
    print(f"  admin token    {stack.admin_token}")
    if stack.ingest_api_key:
        print(f"  ingest API key {stack.ingest_api_key}")
    print(f"  moto endpoint  {stack.moto_endpoint}")
    print(f"  other workspace {stack.other_workspace_id} (token in {config_path.name})")
    print(f"  tokens per role and the rest: {config_path} (ID tokens from the local user pool, renewed hourly)")
    for person in stack.demo_people:
        print(f"  sign in as     {person.username:<22} {person.password}  ({person.label})")
    if stack.seed is not None:
        print()
        for line in stack.seed.summary_table():
            print(f"  {line}")
    print()
    print(f"  try: curl -H 'Authorization: Bearer {stack.admin_token[:12]}…' {stack.api_url}/v1/me")
    print("  Ctrl-C to stop.")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    # Every handler without custom metrics says so on each call; the test config silences it too.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    say: Callable[[str], None] = lambda message: print(f"[keepwell-local] {message}", flush=True)  # noqa: E731
    # The gateway's one line per request would flood the start-up (hundreds of demo webhooks): quiet
    # until ready, then every API call made against the stack is shown.
    log.setLevel(logging.WARNING)
    say(f"the console will be at http://127.0.0.1:{args.port}/ (the API beside it under /v1)")
    stack = start_stack(
        port=args.port, moto_port=args.moto_port, customers=args.customers, log_level=args.log_level, say=say
    )
    stopping = threading.Event()
    serving = threading.Event()

    # Ctrl-C or SIGTERM while serving asks the main loop to stop; during the start-up's scoring, playbooks
    # and backtest it interrupts them at once (they can take a minute). Either way the finally below stops
    # every thread cleanly, and a second signal while stopping is ignored.
    def interrupt(*_: object) -> None:
        stopping.set()
        if not serving.is_set():
            serving.set()  # once: the stop that follows is not interrupted again
            raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    try:
        path = stack.write_config(args.config)
        _print_ready(stack, path)
        started = time.monotonic()
        say("scoring the demo portfolio through the scoring queue…")
        scored = stack.drain(timeout=args.settle_timeout, functions={SCORER}, interval=1.0)
        say(f"scoring {'done' if scored else 'still running'} after {time.monotonic() - started:.1f}s")
        print()
        for line in _health_lines(stack.local_config()):
            print(f"  {line}")
        print()
        say("running the playbooks those scores triggered (domain events, then actions)…")
        remaining = max(0.0, args.settle_timeout - (time.monotonic() - started))
        settled = stack.drain(timeout=remaining, interval=1.0)
        say(
            f"playbooks {'settled' if settled else 'still running (shown so far; the pollers go on)'} "
            f"after {time.monotonic() - started:.1f}s"
        )
        print()
        for line in _playbook_lines(stack):
            print(f"  {line}")
        print()
        say("backtesting the health model against the demo's year of outcomes…")
        for line in backtest_lines(stack.local_config()):
            print(f"  {line}")
        print()
        log.setLevel(logging.INFO)
        serving.set()
        say("serving; Ctrl-C to stop.")
        signed_in = time.monotonic()
        while not stopping.wait(0.5):
            if time.monotonic() - signed_in > TOKEN_REFRESH_SECONDS and stack.seed is not None:
                stack.sign_in_demo_people()  # the pool's ID tokens live an hour, like Cognito's
                stack.write_config(args.config)
                signed_in = time.monotonic()
    except KeyboardInterrupt:
        say("interrupted during start-up")
    finally:
        say("stopping…")
        stack.stop()
        say("stopped")
    return 0


def scheduled_recalc(args: argparse.Namespace) -> int:
    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"{args.config} not found: start the stack first (make run)", file=sys.stderr)
        return 1
    body = {"wait": args.wait} | ({"time": args.at} if args.at else {})
    request = urllib.request.Request(
        f"{config['api_url']}/_local/schedule/{args.function}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", CONTROL_HEADER: config["control_token"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=args.wait + 30) as response:
            outcome = json.loads(response.read())
    except urllib.error.HTTPError as error:
        outcome = json.loads(error.read() or b"{}")
        if "error" in outcome:
            print(f"{error.code}: {outcome['error']['message']}", file=sys.stderr)
            return 1
    except urllib.error.URLError as error:
        print(
            f"the local stack at {config['api_url']} is not answering ({error.reason}): make run",
            file=sys.stderr,
        )
        return 1
    print(
        f"{outcome['function_id']}.{outcome['event_name']} invoked for {outcome['event']['time']}: "
        + ("ok" if outcome["ok"] else f"FAILED {outcome.get('error')}")
    )
    if outcome.get("result") is not None:
        print(f"  returned: {json.dumps(outcome['result'])[:500]}")
    print("  queues " + ("drained" if outcome["drained"] else "still busy (see /_local/status)"))
    for name, stats in outcome["pollers"].items():
        if any(stats[k] for k in ("batches", "succeeded", "failed", "invocation_errors")) or stats["dead_letters"]:
            print(
                f"  {name}: {stats['batches']} batches, {stats['succeeded']} ok, {stats['failed']} failed, "
                f"{stats['invocation_errors']} invocation errors; dead letters now {stats['dead_letters']}"
            )
    return 0 if outcome["ok"] else 1


def _call_api(config: dict[str, Any], method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request to the stack's API as the demo admin; (status, parsed body)."""
    request = urllib.request.Request(
        config["api_url"] + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {config['admin_token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def backtest_lines(config: dict[str, Any], timeout: float = 120.0) -> list[str]:
    """POST /v1/health/model/backtest (the model in force, the last 365 days' outcomes), follow it to the
    end and return its headline: AUC, and the share of churners flagged at risk 30 days ahead."""
    status, job = _call_api(config, "POST", "/v1/health/model/backtest", {})
    if status != 202:
        return [f"backtest not started: {status} {job}"]
    deadline = time.monotonic() + timeout
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        _, job = _call_api(config, "GET", f"/v1/health/model/backtest/{job['job_id']}")
    if job["status"] != "finished":
        return [f"backtest {job['job_id']} {job['status']} ({job['done']}/{job['total']} customers)"]
    report = job["models"][0]["report"]
    churners = next((b for b in report["bands"] if b["band"] == report["at_risk"]["band"]), None)
    lines = [
        f"Health model backtest, outcomes {job['period']['from']} to {job['period']['to']}:",
        f"  {report['headline']}",
    ]
    if churners is not None:
        lead = ", ".join(
            f"{days} before: {share * 100:.0f}%" for days, share in churners["lead_time"].items() if share is not None
        )
        lines.append(
            f"  churners in '{churners['band']}' {lead}; {report['missed_count']} missed (green or neutral 30 days out)"
        )
    lines.append(f"  details: GET /v1/health/model/backtest/{job['job_id']}")
    return lines


def _progress_bar(job: dict[str, Any], width: int = 40) -> str:
    settled, total = job["done"] + job["failed"], job["total"]
    failed = f", {job['failed']} failed" if job["failed"] else ""
    if job.get("percent") is None:  # the scorer is still listing the customers: how many is not known yet
        return f"[{'?' * width}] {settled}/{total}+ customers (listing){failed}"
    share = 1.0 if total == 0 else settled / total
    filled = round(width * share)
    stopped = " (listing stopped early)" if job.get("listing") == "failed" else ""
    return f"[{'#' * filled}{'.' * (width - filled)}] {settled}/{total} customers ({share:.0%}){failed}{stopped}"


def recalc(args: argparse.Namespace) -> int:
    """POST /v1/health/recalculate as the admin, follow GET /v1/health/recalculations/{id} with a progress
    bar, then show the band distribution and the most at-risk customers with why."""
    if args.scheduled:
        return scheduled_recalc(args)
    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"{args.config} not found: start the stack first (make run)", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        status, job = _call_api(config, "POST", "/v1/health/recalculate", {})
    except urllib.error.URLError as error:
        print(f"the local stack at {config['api_url']} is not answering ({error.reason}): make run", file=sys.stderr)
        return 1
    if status != 202:
        print(f"{status}: {(job or {}).get('error', {}).get('message', job)}", file=sys.stderr)
        return 1
    print(f"recalculation {job['job_id']}: every customer, 90 days of history, health model v{job['model_version']}")
    while True:
        print("\r  " + _progress_bar(job), end="", flush=True)
        if job["status"] == "finished":
            break
        if time.monotonic() - started > args.timeout:
            print(f"\n  still running after {args.timeout:.0f}s (GET /v1/health/recalculations/{job['job_id']})")
            return 1
        time.sleep(0.5)
        status, job = _call_api(config, "GET", f"/v1/health/recalculations/{job['job_id']}")
        if status != 200:
            print(f"\n{status}: {job}", file=sys.stderr)
            return 1
    print(f"\n  done in {time.monotonic() - started:.1f}s\n")
    for line in _health_lines(config):
        print(line)
    return 0 if job["failed"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start the local stack with demo data and serve until Ctrl-C")
    run_parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    run_parser.add_argument("--moto-port", type=int, default=DEFAULT_MOTO_PORT)
    run_parser.add_argument("--customers", type=int, default=None, help="demo customers (default: full demo)")
    run_parser.add_argument("--config", type=Path, default=CONFIG_PATH)
    run_parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the functions' structured logs (template LogLevel); INFO prints every handler's log",
    )
    run_parser.add_argument(
        "--settle-timeout", type=float, default=600.0, help="seconds to wait for the start-up scoring and playbooks"
    )
    recalc_parser = sub.add_parser(
        "recalc", help="recalculate every customer's health on the running stack (POST /v1/health/recalculate)"
    )
    recalc_parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the job")
    recalc_parser.add_argument(
        "--scheduled", action="store_true", help="instead, invoke the hourly schedule (--function, --at, --wait)"
    )
    recalc_parser.add_argument("--function", default="ScheduleFunction")
    recalc_parser.add_argument("--at", help="scheduled time (ISO-8601 with timezone); default now")
    recalc_parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the queues to drain")
    recalc_parser.add_argument("--config", type=Path, default=CONFIG_PATH)
    args = parser.parse_args(argv)
    return run(args) if args.command == "run" else recalc(args)


if __name__ == "__main__":
    sys.exit(main())
