"""Every key of the single table, built in one place. Every key starts with the workspace.

`docs/data-model.md` lists the access pattern each key or index serves; keep the two in step.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple


class Key(NamedTuple):
    pk: str
    sk: str


def _ws(workspace_id: str) -> str:
    if not workspace_id or "#" in workspace_id:
        raise ValueError(f"invalid workspace id {workspace_id!r}")
    return f"WS#{workspace_id}"


# --- workspace-level configuration: one partition per workspace -------------------------------
def workspace_partition(workspace_id: str) -> str:
    return _ws(workspace_id)


def workspace(workspace_id: str) -> Key:
    return Key(_ws(workspace_id), "WORKSPACE")


def user(workspace_id: str, user_id: str) -> Key:
    return Key(_ws(workspace_id), f"USER#{user_id}")


USER_PREFIX = "USER#"


# The only index keys that do not start with a workspace: a person's identity spans workspaces.
def subject_index(subject: str) -> str:
    """gsi1 partition of every user record (one per workspace) of the person the issuer calls `subject`."""
    return f"IDENTITY#SUB#{subject}"


def invitee_index(email: str) -> str:
    """gsi2 partition of the invitations sent to `email`, in any workspace (first sign-in by verified email)."""
    return f"IDENTITY#EMAIL#{email.lower()}"


def api_key(workspace_id: str, key_hash: str) -> Key:
    return Key(_ws(workspace_id), f"APIKEY#{key_hash}")


APIKEY_PREFIX = "APIKEY#"


def invitation(workspace_id: str, token_hash: str) -> Key:
    """Keyed by the one-time token's hash (like API keys): accepting is one GetItem."""
    return Key(_ws(workspace_id), f"INVITE#{token_hash}")


INVITATION_PREFIX = "INVITE#"


def custom_field(workspace_id: str, field_key: str) -> Key:
    return Key(_ws(workspace_id), f"CFIELD#{field_key}")


CUSTOM_FIELD_PREFIX = "CFIELD#"


def health_model(workspace_id: str, version: int) -> Key:
    return Key(_ws(workspace_id), f"HEALTHMODEL#v{version:06d}")


def current_health_model(workspace_id: str) -> Key:
    return Key(_ws(workspace_id), "HEALTHMODEL#CURRENT")


def segment(workspace_id: str, segment_id: str) -> Key:
    return Key(_ws(workspace_id), f"SEGMENT#{segment_id}")


def playbook(workspace_id: str, playbook_id: str) -> Key:
    return Key(_ws(workspace_id), f"PLAYBOOK#{playbook_id}")


def webhook_subscription(workspace_id: str, subscription_id: str) -> Key:
    return Key(_ws(workspace_id), f"WEBHOOK#{subscription_id}")


def integration_secret_name(workspace_id: str, provider: str) -> str:
    """Secrets Manager name (secrets never live in the table)."""
    return f"keepwell/{workspace_id}/integrations/{provider}"


# --- customers: one item collection per customer ----------------------------------------------
def customer_partition(workspace_id: str, customer_id: str) -> str:
    return f"{_ws(workspace_id)}#CUST#{customer_id}"


def customer(workspace_id: str, customer_id: str) -> Key:
    return Key(customer_partition(workspace_id, customer_id), "PROFILE")


def customer_by_domain(workspace_id: str, domain: str) -> Key:
    return Key(f"{_ws(workspace_id)}#DOMAIN#{domain.lower()}", "ALIAS")


def customer_by_external_id(workspace_id: str, external_id: str) -> Key:
    return Key(f"{_ws(workspace_id)}#EXTID#{external_id}", "ALIAS")


def portfolio_partition(workspace_id: str, user_id: str) -> str:
    """A user's book: one membership item per customer they own or co-own, sorted by name."""
    return f"{_ws(workspace_id)}#USER#{user_id}#PORTFOLIO"


def portfolio_membership(workspace_id: str, user_id: str, customer_name: str, customer_id: str) -> Key:
    return Key(portfolio_partition(workspace_id, user_id), customer_sort(customer_name, customer_id))


def contact(workspace_id: str, customer_id: str, contact_id: str) -> Key:
    return Key(customer_partition(workspace_id, customer_id), f"CONTACT#{contact_id}")


CONTACT_PREFIX = "CONTACT#"


def timeline_item(workspace_id: str, customer_id: str, occurred_at_iso: str, item_id: str) -> Key:
    return Key(customer_partition(workspace_id, customer_id), f"TL#{occurred_at_iso}#{item_id}")


TIMELINE_PREFIX = "TL#"


def daily_metrics(workspace_id: str, customer_id: str, day: date) -> Key:
    return Key(customer_partition(workspace_id, customer_id), f"METRICS#{day.isoformat()}")


def health_snapshot(workspace_id: str, customer_id: str, day: date) -> Key:
    """A customer-day's snapshot item as stored before decision 0026 (read until migrated, never written)."""
    return Key(customer_partition(workspace_id, customer_id), f"HEALTH#{day.isoformat()}")


def health_month(workspace_id: str, customer_id: str, day: date) -> Key:
    """The customer-month item holding every scored day of `day`'s month (decision 0026). It sorts just
    before that month's legacy day items, so one Query `between HEALTH#<yyyy-mm> and HEALTH#<last day>`
    reads both formats."""
    return Key(customer_partition(workspace_id, customer_id), f"HEALTH#{day.isoformat()[:7]}")


def renewal(workspace_id: str, customer_id: str, renewal_id: str) -> Key:
    return Key(customer_partition(workspace_id, customer_id), f"RENEWAL#{renewal_id}")


def playbook_run(workspace_id: str, playbook_id: str, customer_id: str, episode: str) -> Key:
    return Key(f"{_ws(workspace_id)}#PLAYBOOK#{playbook_id}", f"RUN#{customer_id}#{episode}")


PLAYBOOK_PREFIX = "PLAYBOOK#"
PLAYBOOK_RUN_PREFIX = "RUN#"
PLAYBOOK_STATE_PREFIX = "PBSTATE#"


def playbook_partition(workspace_id: str, playbook_id: str) -> str:
    return f"{_ws(workspace_id)}#PLAYBOOK#{playbook_id}"


def playbook_version(workspace_id: str, playbook_id: str, version: int) -> Key:
    """Every version of a playbook, kept (`PBVERSION#`, so it is not listed with the playbooks)."""
    return Key(_ws(workspace_id), f"PBVERSION#{playbook_id}#v{version:06d}")


def playbook_defaults_marker(workspace_id: str) -> Key:
    """The five default playbooks were created (`PLAYBOOKS#…` is read by the same Query as them)."""
    return Key(_ws(workspace_id), "PLAYBOOKS#DEFAULTS")


def playbook_step(workspace_id: str, playbook_id: str, customer_id: str, episode: str, step_index: int) -> Key:
    """The exactly-once marker and outcome of one step of one run (beside its run)."""
    return Key(playbook_partition(workspace_id, playbook_id), f"STEP#{customer_id}#{episode}#{step_index:03d}")


def playbook_state(workspace_id: str, customer_id: str, playbook_id: str) -> Key:
    """A customer's standing with a playbook (in its episode or not, since when, last enrolment)."""
    return Key(customer_partition(workspace_id, customer_id), f"{PLAYBOOK_STATE_PREFIX}{playbook_id}")


def notification(workspace_id: str, user_id: str, created_at_iso: str, notification_id: str) -> Key:
    """An in-app notification of a user, newest last."""
    return Key(f"{_ws(workspace_id)}#USER#{user_id}#NOTIFICATIONS", f"{created_at_iso}#{notification_id}")


def notifications_partition(workspace_id: str, user_id: str) -> str:
    return f"{_ws(workspace_id)}#USER#{user_id}#NOTIFICATIONS"


def notification_inbox(workspace_id: str, user_id: str) -> Key:
    """A copy of a user's newest notifications in one item, read by key with My day's profiles."""
    return Key(f"{_ws(workspace_id)}#USER#{user_id}#INBOX", "INBOX")


def slack_webhook_secret_name(workspace_id: str) -> str:
    """Secrets Manager name of the workspace's Slack incoming webhook URL (a credential)."""
    _ws(workspace_id)
    return f"keepwell/{workspace_id}/slack/webhook-url"


def task(workspace_id: str, task_id: str) -> Key:
    return Key(f"{_ws(workspace_id)}#TASK#{task_id}", "TASK")


def webhook_delivery(workspace_id: str, subscription_id: str, message_id: str) -> Key:
    return Key(f"{_ws(workspace_id)}#WEBHOOK#{subscription_id}", f"DELIVERY#{message_id}")


def audit_entry(workspace_id: str, occurred_at_iso: str, entry_id: str) -> Key:
    return Key(f"{_ws(workspace_id)}#AUDIT", f"{occurred_at_iso}#{entry_id}")


# --- bulk imports: one partition per workspace (a few imports a week; listed whole, newest first) ---
def imports_partition(workspace_id: str) -> str:
    return f"{_ws(workspace_id)}#IMPORTS"


def bulk_import(workspace_id: str, import_id: str) -> Key:
    return Key(imports_partition(workspace_id), f"IMPORT#{import_id}")


def import_file(workspace_id: str, import_id: str, name: str) -> str:
    """S3 key of an import's upload or its failed-rows report (the bucket's lifecycle rule expires `imports/`)."""
    _ws(workspace_id)
    return f"imports/{workspace_id}/{import_id}/{name}"


# --- secondary indexes -------------------------------------------------------------------------
# gsi1: the workspace-wide listing of an entity, sorted by its natural order.
def customers_listing(workspace_id: str) -> str:
    return f"{_ws(workspace_id)}#CUSTOMERS"


def customer_sort(name: str, customer_id: str) -> str:
    return f"{name.strip().lower()}#{customer_id}"


def tasks_by_owner(workspace_id: str, owner_id: str) -> str:
    return f"{_ws(workspace_id)}#OWNER#{owner_id}#TASKS"


def renewals_listing(workspace_id: str) -> str:
    return f"{_ws(workspace_id)}#RENEWALS"


def audit_by_target(workspace_id: str, target: str) -> str:
    return f"{_ws(workspace_id)}#AUDIT#TARGET#{target}"


# gsi2: a second view (customers by owner, audit by actor, tasks by customer).
def customers_by_owner(workspace_id: str, owner_id: str) -> str:
    return f"{_ws(workspace_id)}#OWNER#{owner_id}#CUSTOMERS"


def tasks_by_customer(workspace_id: str, customer_id: str) -> str:
    return f"{_ws(workspace_id)}#CUST#{customer_id}#TASKS"


def audit_by_actor(workspace_id: str, actor_id: str) -> str:
    return f"{_ws(workspace_id)}#AUDIT#ACTOR#{actor_id}"


def raw_events(workspace_id: str, customer_id: str, day: date, batch_digest: str) -> Key:
    """One item per (customer, day, batch): the raw events kept (with TTL) so explanations can cite them."""
    return Key(customer_partition(workspace_id, customer_id), f"RAW#{day.isoformat()}#{batch_digest}")


def product_activity_timeline_item_id(day: date) -> str:
    """The one timeline entry that sums up a customer's product activity for a day."""
    return f"pa-{day.isoformat()}"


# The one cross-workspace partition: the hourly scheduler lists workspace ids (and nothing else) here.
SCHEDULER_LISTING = "SCHEDULE"


def signal_log(workspace_id: str, customer_id: str) -> Key:
    """The customer's rolling signal log (emails, meetings, tickets, NPS) that scoring reads by key."""
    return Key(customer_partition(workspace_id, customer_id), "SIGNALS")


def usage_history(workspace_id: str, customer_id: str) -> Key:
    """The customer's compact usage of the last 180 days (domain/usage_history.py), kept by ingestion
    with the day items and read by scoring instead of them."""
    return Key(customer_partition(workspace_id, customer_id), "USAGE")


# --- the recalculation pipeline ----------------------------------------------------------------
HEALTH_PREFIX = "HEALTH#"


def recalculation_partition(workspace_id: str, job_id: str) -> str:
    return f"{_ws(workspace_id)}#RECALC#{job_id}"


def recalculation(workspace_id: str, job_id: str) -> Key:
    """A recalculation job (total, status, times); its customers are in page items beside it."""
    return Key(recalculation_partition(workspace_id, job_id), "JOB")


def recalculation_page(workspace_id: str, job_id: str, page: int) -> Key:
    """Up to 100 customer ids of a job, with the ids scored and failed so far (idempotent progress)."""
    return Key(recalculation_partition(workspace_id, job_id), f"PAGE#{page:05d}")


def scheduled_scoring(workspace_id: str, day: date, page: int = 0) -> Key:
    """Marker: the hourly schedule enqueued this workspace's scoring for this local day (TTL); page ≥ 1:
    a later page of that fan-out (a large workspace's) was enqueued."""
    suffix = f"#P{page:06d}" if page else ""
    return Key(_ws(workspace_id), f"SCHEDULED#{day.isoformat()}{suffix}")


def segment_baselines(workspace_id: str) -> Key:
    """Every segment's score tally as of the last fan-out: the misalignment alert's baseline, read by
    the scorer by key with the customer's inputs."""
    return Key(_ws(workspace_id), "SEGMENTBASELINES")


def rescoring_marker(workspace_id: str, customer_id: str) -> Key:
    """Debounce window of event-driven rescoring of one customer (TTL)."""
    return Key(customer_partition(workspace_id, customer_id), "RESCORE")


# --- renewals, churn, upsell (docs/renewals.md) ------------------------------------------------
RENEWAL_PREFIX = "RENEWAL#"
UPSELL_RULE_PREFIX = "UPSELLRULE#"


def renewal_sort(renewal_date: date, customer_id: str, renewal_id: str) -> str:
    """gsi1 sort key of a renewal on `WS#w#RENEWALS`: by renewal date, then customer and renewal."""
    return f"{renewal_date.isoformat()}#{customer_id}#{renewal_id}"


def renewals_by_owner(workspace_id: str, owner_id: str) -> str:
    """gsi2 partition of the renewals of one owner's customers (sort key: `renewal_sort`), so a CSM's
    pipeline does not read the rest of the workspace."""
    return f"{_ws(workspace_id)}#OWNER#{owner_id}#RENEWALS"


def pipeline_rows_marker(workspace_id: str) -> Key:
    """Written once every renewal of the workspace carries what its pipeline row shows (a new
    workspace, or `backfill_pipeline_rows`): until then a CSM's pipeline lists the whole workspace."""
    return Key(_ws(workspace_id), "RENEWALROWS#v1")


def renewal_settings(workspace_id: str) -> Key:
    """The workspace's forecast categories."""
    return Key(_ws(workspace_id), "RENEWALSETTINGS")


def churn_record(workspace_id: str, customer_id: str) -> Key:
    """Why and when a customer churned (reason, note, ARR lost, who marked it)."""
    return Key(customer_partition(workspace_id, customer_id), "CHURN")


def upsell_rule(workspace_id: str, rule_id: str) -> Key:
    return Key(_ws(workspace_id), f"{UPSELL_RULE_PREFIX}{rule_id}")


# --- model backtests (docs/health-model.md, "How good is my model?") ----------------------------
def backtest_partition(workspace_id: str, job_id: str) -> str:
    return f"{_ws(workspace_id)}#BACKTEST#{job_id}"


def backtest(workspace_id: str, job_id: str) -> Key:
    """A backtest job: the models compared, the period, progress and, once finished, the result (TTL)."""
    return Key(backtest_partition(workspace_id, job_id), "JOB")


def backtest_page(workspace_id: str, job_id: str, page: int) -> Key:
    """Up to 40 of a backtest's customers with their outcomes, then their replays under each model (TTL)."""
    return Key(backtest_partition(workspace_id, job_id), f"PAGE#{page:05d}")


def contract_summary(workspace_id: str, customer_id: str) -> Key:
    """What the health model's Contract dimension reads of a customer's renewal records (next renewal
    date, auto-renew, expansions, contractions), kept with every renewal write so the scorer reads it
    by key in its one BatchGetItem."""
    return Key(customer_partition(workspace_id, customer_id), "CONTRACT")


# --- the orders of the customer list (gsi3..gsi5 on the workspace's list partition) ----------------------
NO_VALUE = "~"  # sorts after every digit: customers without the value come last in ascending order


def customer_health_order(score: float | None, customer_id: str) -> str:
    return f"{score:06.2f}#{customer_id}" if score is not None else f"{NO_VALUE}#{customer_id}"


def customer_arr_order(arr: float, customer_id: str) -> str:
    return f"{arr:016.2f}#{customer_id}"


def customer_renewal_order(renewal_date: date | None, customer_id: str) -> str:
    return f"{renewal_date.isoformat()}#{customer_id}" if renewal_date else f"{NO_VALUE}#{customer_id}"


# --- success plans (issue 21): capabilities, blueprints, a customer's plan, risk markers ---------
BLUEPRINT_PREFIX = "BLUEPRINT#"


def capabilities(workspace_id: str) -> Key:
    """Every product capability of the workspace in one item: the scorer reads it in its BatchGetItem."""
    return Key(_ws(workspace_id), "CAPABILITIES")


def blueprint(workspace_id: str, blueprint_id: str) -> Key:
    return Key(_ws(workspace_id), f"{BLUEPRINT_PREFIX}{blueprint_id}")


def blueprint_version(workspace_id: str, blueprint_id: str, version: int) -> Key:
    """Each saved version of a blueprint, kept beside the current one (sorted by number)."""
    return Key(_ws(workspace_id), f"BPVERSION#{blueprint_id}#{version:06d}")


def success_plan(workspace_id: str, customer_id: str) -> Key:
    return Key(customer_partition(workspace_id, customer_id), "SUCCESSPLAN")


def risk_signal(workspace_id: str, customer_id: str, kind: str, ref: str) -> Key:
    """Marks a risk signal (a missed milestone, a lapsed capability) as raised: raised once."""
    return Key(customer_partition(workspace_id, customer_id), f"RISK#{kind}#{ref}")


RISK_PREFIX = "RISK#"


def plan_share(workspace_id: str, customer_id: str, share_id: str) -> Key:
    """A share link of a customer's plan, listed and revoked under the customer."""
    return Key(customer_partition(workspace_id, customer_id), f"PLANSHARE#{share_id}")


PLAN_SHARE_PREFIX = "PLANSHARE#"


def shared_link(token_hash: str) -> Key:
    """The public side of a share link, keyed by the hash of its secret token only: the link carries no
    workspace data, so this is (with the scheduler's index) a partition outside any workspace's. It
    holds the ids the token opens, never the token (decision 0030)."""
    if not token_hash or "#" in token_hash:
        raise ValueError("invalid token hash")
    return Key(f"SHAREDLINK#{token_hash}", "LINK")


def engagements(workspace_id: str, customer_id: str) -> Key:
    """A customer's current journey phase and the closed ones (one document)."""
    return Key(customer_partition(workspace_id, customer_id), "ENGAGEMENTS")
