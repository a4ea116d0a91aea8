"""Who may do what: one permission table (feature by action → roles) and the portfolio rule.

Every HTTP route declares the permission it needs (`keepwell.http.route(..., permission=...)`) and
`route()` checks it with `require` before the view runs; services never check roles themselves.
Services filter what a caller sees with `can_see_customer` / `portfolio_owner` (the portfolio rule).
`docs/permissions.md` is rendered from this module (`render_markdown`; a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from keepwell.auth import ROLES, Caller
from keepwell.errors import Forbidden

if TYPE_CHECKING:  # every HTTP function imports this table; only some of their requests load a customer
    from keepwell.domain.customers import Customer

Action = Literal["read", "write", "configure", "recalculate"]
ACTIONS: tuple[Action, ...] = ("read", "write", "configure", "recalculate")

ADMIN = frozenset({"admin"})
OVERSIGHT = frozenset({"admin", "director"})
PORTFOLIO_WRITERS = frozenset({"admin", "csm"})
FORECASTERS = frozenset({"admin", "director", "csm"})
EVERYONE = frozenset(ROLES)

# The role a workspace may never be left without an active holder of (storage/workspaces.py counts them).
WORKSPACE_ADMIN = "admin"

# csm and viewer see only the customers they own or co-own; anything else is "not found".
PORTFOLIO_ROLES = frozenset({"csm", "viewer"})


@dataclass(frozen=True)
class Permission:
    """What a route needs: an action on a feature."""

    feature: str
    action: Action


@dataclass(frozen=True)
class NoRole:
    """A route authenticated some other way than a role (an API key, a provider's signature, an
    invitation token), or by being signed in at all, or public. `how` says which, for the docs."""

    how: str


SIGNED_IN = NoRole("any signed-in user of the workspace")
INGEST_API_KEY = NoRole("workspace API key (X-Api-Key)")
PROVIDER_SIGNATURE = NoRole("the provider's signature over the raw body")
INVITATION_TOKEN = NoRole("a one-time invitation token and the invitee's bearer token")
PUBLIC = NoRole("public")
SHARE_LINK = NoRole("a share link's secret token in the path (read-only, expiring, revocable)")

RoutePermission = Permission | NoRole

# feature -> action -> roles allowed. The one place a role's rights are written down.
TABLE: dict[str, dict[Action, frozenset[str]]] = {
    "customers": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
    "contacts": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
    "timeline": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
    "custom_fields": {"read": EVERYONE, "configure": ADMIN},
    "health_model": {"read": EVERYONE, "configure": OVERSIGHT},
    "segments": {"read": EVERYONE, "configure": OVERSIGHT},
    "health": {"read": EVERYONE, "recalculate": OVERSIGHT},
    "playbooks": {"read": EVERYONE, "configure": OVERSIGHT},
    "tasks": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
    "renewals": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
    "forecasts": {"read": OVERSIGHT, "write": FORECASTERS, "configure": ADMIN},
    "churn": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
    "upsell": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
    "upsell_rules": {"read": OVERSIGHT, "configure": ADMIN},
    "revenue_metrics": {"read": EVERYONE},
    "integrations": {"read": ADMIN, "configure": ADMIN},
    "api_keys": {"read": ADMIN, "configure": ADMIN},
    "webhooks": {"read": ADMIN, "configure": ADMIN},
    "settings": {"read": ADMIN, "configure": ADMIN},
    "users": {"read": OVERSIGHT, "configure": ADMIN},
    "audit": {"read": OVERSIGHT},
    "imports": {"read": OVERSIGHT, "write": ADMIN},
    "capabilities": {"read": EVERYONE, "configure": OVERSIGHT},
    "blueprints": {"read": EVERYONE, "configure": OVERSIGHT},
    "success_plans": {"read": EVERYONE, "write": PORTFOLIO_WRITERS},
}

# What each feature covers, for the rendered table.
FEATURES: dict[str, str] = {
    "customers": "customer profiles (create, edit, archive)",
    "contacts": "a customer's contacts",
    "timeline": "a customer's timeline and notes",
    "custom_fields": "custom field definitions",
    "health_model": "the health model, its versions, presets, dry runs and backtests",
    "segments": "segments, their members and benchmarks",
    "health": "customer health scores; starting a recalculation",
    "playbooks": "playbooks, their versions, runs and dry runs",
    "tasks": "tasks and My day",
    "renewals": "renewals, the pipeline and the upcoming table",
    "forecasts": "forecast changes (read), a renewal's forecast (write), forecast categories (configure)",
    "churn": "churn (mark churned), flags and churn scores",
    "upsell": "upsell recommendations and opportunities",
    "upsell_rules": "upsell rules",
    "revenue_metrics": "GRR, NRR and the other revenue metrics",
    "integrations": "integration secrets, URLs and unmatched events",
    "api_keys": "ingestion API keys",
    "webhooks": "outbound webhook subscriptions and deliveries",
    "settings": "workspace settings (name, timezone, scoring hour, currency, fiscal year, competitors; Slack)",
    "users": "users, invitations, roles, deactivation",
    "audit": "the audit log",
    "imports": "bulk imports of customers, contacts and renewals (CSV)",
    "capabilities": "product capabilities and a customer's capability usage",
    "blueprints": "success blueprints and their versions",
    "success_plans": "a customer's success plan: objectives, initiatives, outcomes",
}


def allowed_roles(feature: str, action: Action) -> frozenset[str]:
    """The roles the table allows; an unknown feature or action allows nobody."""
    return TABLE.get(feature, {}).get(action, frozenset())


def is_allowed(role: str, feature: str, action: Action) -> bool:
    return role in allowed_roles(feature, action)


def require(caller: Caller, feature: str, action: Action) -> None:
    """Raise 403 `forbidden` unless the caller's role may do `action` on `feature`."""
    if not is_allowed(caller.role, feature, action):
        raise Forbidden(f"Role {caller.role} may not {action} {feature.replace('_', ' ')}")


def sees_portfolio_only(caller: Caller) -> bool:
    return caller.role in PORTFOLIO_ROLES


def can_see_customer(caller: Caller, customer: Customer) -> bool:
    """The portfolio rule: csm and viewer see the customers they own or co-own; others see all."""
    if customer.workspace_id != caller.workspace_id:
        return False
    return can_see_book_of(caller, customer.owner_id, customer.co_owner_ids)


def can_see_book_of(caller: Caller, owner_id: str | None, co_owner_ids: Iterable[str]) -> bool:
    """The portfolio rule on a customer of the caller's workspace known by its owner and co-owners
    (a renewal's pipeline row)."""
    if not sees_portfolio_only(caller):
        return True
    return owner_id == caller.user_id or caller.user_id in co_owner_ids


def portfolio_of(caller: Caller) -> str | None:
    """Whose book a customer list is limited to: the caller's own (owned and co-owned, read through
    their portfolio memberships) for csm and viewer; nobody's (the whole workspace) for the others."""
    return caller.user_id if sees_portfolio_only(caller) else None


def portfolio_owner(caller: Caller, asked: str | None = None) -> str | None:
    """The owner filter of a list: a portfolio caller always reads their own book."""
    return caller.user_id if sees_portfolio_only(caller) else asked


def render_markdown() -> str:
    """docs/permissions.md, from the table above."""
    lines = [
        "# Permissions",
        "",
        "Rendered from `shared/keepwell/permissions.py` (`python -m keepwell.permissions > docs/permissions.md`);",
        "a test fails when the two differ. Every route declares one permission (feature, action) in",
        "`keepwell.http.route`, which checks it before the view runs and answers 403 `forbidden` otherwise.",
        "",
        "## Roles by feature and action",
        "",
        "| feature | covers | " + " | ".join(ACTIONS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in ACTIONS) + " |",
    ]
    for feature, actions in TABLE.items():
        cells = []
        for action in ACTIONS:
            roles = actions.get(action)
            cells.append(", ".join(r for r in ROLES if r in roles) if roles is not None else "—")
        lines.append(f"| {feature} | {FEATURES[feature]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## The portfolio rule",
        "",
        f"Roles {', '.join(r for r in ROLES if r in PORTFOLIO_ROLES)} see only the customers they own or co-own",
        "(`can_see_customer`). Any other customer, and everything under it (contacts, timeline, health,",
        "renewals, churn, flags, scores, recommendations), answers 404 `not_found`, exactly like a",
        "customer that does not exist or belongs to another workspace. Their lists hold their own book",
        "only: tasks, renewals, playbook runs and revenue metrics show what they own or co-own, and so",
        "do the customer list, segment members and playbook dry runs (their portfolio memberships,",
        "`portfolio_of`).",
        "A role check comes first: a viewer writing to a customer of their own gets 403.",
        "The same holds for a customer named in a query string or a body, not only in the path",
        "(`POST /v1/tasks {customer_id}`, `GET /v1/tasks?customer_id=`, `GET .../runs?customer_id=`):",
        "outside the portfolio it answers exactly what an unknown id answers. User references",
        "(`owner_id`, `co_owner_ids`, `account_executive_id`, `owner`) name workspace members and",
        "are checked against the users (an active user of this workspace; someone given work, a task's",
        "or a success-plan initiative's owner or a playbook task step's `user:<id>` assignee, is never a",
        "viewer); as list filters they only narrow a csm's or viewer's own book.",
        "Every role reads the members' names (`GET /v1/people`: user id, name, active), so owners,",
        "co-owners and authors read as people; their emails and roles stay with `users` / `read`.",
        "",
        "## Routes authenticated without a role",
        "",
        "| marker | how the caller is authenticated |",
        "| --- | --- |",
    ]
    for name, marker in (
        ("SIGNED_IN", SIGNED_IN),
        ("INGEST_API_KEY", INGEST_API_KEY),
        ("PROVIDER_SIGNATURE", PROVIDER_SIGNATURE),
        ("INVITATION_TOKEN", INVITATION_TOKEN),
        ("PUBLIC", PUBLIC),
        ("SHARE_LINK", SHARE_LINK),
    ):
        lines.append(f"| {name} | {marker.how} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
