"""The HTTP contract of every route: (method, path) → request body, query, answer, status, summary, tag.

One registry instead of metadata on each route decorator, so the route files stay parse → call →
respond and the OpenAPI document (keepwell.openapi) has one source. tests/integration/test_openapi.py
checks that it names exactly the routes the Chalice apps and template.yaml serve
(docs/decisions/0011-openapi-from-a-contract-registry.md).

Only imported when the document is built (GET /v1/openapi.json, lazily), never on a cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from keepwell.schemas import api_keys as keys
from keepwell.schemas import audit, contacts, custom_fields, customers, events, health_api, tasks, timeline, users
from keepwell.schemas import backtests as bt
from keepwell.schemas import health as health_schemas
from keepwell.schemas import health_model_api as model_api
from keepwell.schemas import hubspot as hs
from keepwell.schemas import imports as imp
from keepwell.schemas import integrations as integ
from keepwell.schemas import notifications as ntf
from keepwell.schemas import playbooks as pb
from keepwell.schemas import renewals as rn
from keepwell.schemas import segments as seg
from keepwell.schemas import success_plans as sp
from keepwell.schemas import webhooks as wh
from keepwell.schemas import workspace_settings as wss

# bearer: the JWT authorizer; api_key: X-Api-Key checked by the ingest service; signature: the
# provider's signature over the raw body (checked by the service); invitation: the invitee's bearer
# token, checked by the service (no workspace role yet, so no authorizer); public: nothing.
Auth = Literal["bearer", "api_key", "signature", "invitation", "public"]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    answer: type[BaseModel] | None = None  # None: no JSON model (204, CSV, provider-specific replies)
    body: type[BaseModel] | None = None
    body_required: bool = True  # False: the route takes an empty body too (its defaults)
    query: type[BaseModel] | None = None
    status: int = 200
    auth: Auth = "bearer"
    media_type: str = "application/json"  # of the success answer

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _op(method: str, path: str, summary: str, tag: str, **contract: object) -> Operation:
    return Operation(method, path, summary, tag, **contract)  # type: ignore[arg-type]


CUSTOMER = "/v1/customers/{customer_id}"
RENEWAL = CUSTOMER + "/renewals/{renewal_id}"
WEBHOOK = "/v1/webhooks/{subscription_id}"
IMPORT = "/v1/imports/{import_id}"

# One operation a line or two, read as a table.
# fmt: off
OPERATIONS: tuple[Operation, ...] = (
    _op("GET", "/v1/openapi.json", "This document (OpenAPI 3.1)", "meta", auth="public"),
    _op("GET", "/v1/me", "The caller's user and workspace", "me", answer=users.MeOut),
    # --- customers, contacts, timeline, custom fields
    _op("GET", "/v1/customers", "List customers", "customers",
        answer=customers.CustomerListOut, query=customers.CustomerListQuery),
    _op("POST", "/v1/customers", "Create a customer", "customers",
        answer=customers.CustomerOut, body=customers.CustomerCreateIn, status=201),
    _op("GET", CUSTOMER, "Get a customer", "customers", answer=customers.CustomerOut),
    _op("PATCH", CUSTOMER, "Update a customer (partial)", "customers",
        answer=customers.CustomerOut, body=customers.CustomerPatchIn),
    _op("POST", CUSTOMER + "/archive", "Archive a customer", "customers", answer=customers.CustomerOut),
    _op("GET", CUSTOMER + "/contacts", "List a customer's contacts", "contacts", answer=contacts.ContactListOut),
    _op("POST", CUSTOMER + "/contacts", "Add a contact", "contacts",
        answer=contacts.ContactOut, body=contacts.ContactCreateIn, status=201),
    _op("PATCH", CUSTOMER + "/contacts/{contact_id}", "Update a contact", "contacts",
        answer=contacts.ContactOut, body=contacts.ContactPatchIn),
    _op("DELETE", CUSTOMER + "/contacts/{contact_id}", "Delete a contact", "contacts", status=204),
    _op("GET", CUSTOMER + "/timeline", "A customer's timeline", "timeline",
        answer=timeline.TimelineListOut, query=timeline.TimelineQuery),
    _op("POST", CUSTOMER + "/notes", "Add a note to the timeline", "timeline",
        answer=timeline.TimelineItemOut, body=timeline.NoteIn, status=201),
    _op("GET", "/v1/custom-fields", "List custom field definitions", "custom-fields",
        answer=custom_fields.CustomFieldListOut),
    _op("POST", "/v1/custom-fields", "Define a custom field", "custom-fields",
        answer=custom_fields.CustomFieldOut, body=custom_fields.CustomFieldIn, status=201),
    _op("DELETE", "/v1/custom-fields/{field_key}", "Delete a custom field", "custom-fields", status=204),
    # --- ingestion API keys
    _op("GET", "/v1/api-keys", "List ingestion API keys", "api-keys", answer=keys.ApiKeyListOut),
    _op("POST", "/v1/api-keys", "Create an ingestion API key (shown once)", "api-keys",
        answer=keys.ApiKeyCreatedOut, body=keys.ApiKeyIn, status=201),
    _op("POST", "/v1/api-keys/{key_id}/rotate", "Rotate an ingestion API key", "api-keys",
        answer=keys.ApiKeyCreatedOut, status=201),
    _op("DELETE", "/v1/api-keys/{key_id}", "Revoke an ingestion API key", "api-keys", answer=keys.ApiKeyOut),
    # --- health model and health
    _op("GET", "/v1/health/model", "The workspace's health model", "health-model",
        answer=model_api.HealthModelOut),
    _op("PUT", "/v1/health/model", "Replace the health model (starts a recalculation)", "health-model",
        answer=model_api.HealthModelSavedOut, body=model_api.HealthModelPutIn),
    _op("GET", "/v1/health/model/versions", "Health model versions", "health-model",
        answer=model_api.HealthModelVersionListOut, query=model_api.VersionListQuery),
    _op("GET", "/v1/health/model/versions/{version}", "One health model version", "health-model",
        answer=model_api.HealthModelOut),
    _op("POST", "/v1/health/model/dry-run", "Score customers with a draft model, saving nothing", "health-model",
        answer=model_api.DryRunOut, body=model_api.HealthModelPutIn),
    _op("POST", "/v1/health/model/backtest", "Backtest the model in force or a draft against past outcomes",
        "health-model", answer=bt.BacktestOut, body=bt.BacktestIn, body_required=False, status=202),
    _op("GET", "/v1/health/model/backtest/{backtest_id}", "A backtest's progress and result", "health-model",
        answer=bt.BacktestOut),
    _op("GET", "/v1/health/presets", "Health model presets", "health-model", answer=model_api.PresetListOut),
    _op("POST", "/v1/health/recalculate", "Recalculate every customer's health", "health",
        answer=health_api.RecalculationOut, status=202),
    _op("GET", "/v1/health/recalculations/{job_id}", "A recalculation's progress", "health",
        answer=health_api.RecalculationOut),
    _op("GET", CUSTOMER + "/health", "A customer's current health and why", "health",
        answer=health_api.CustomerHealthOut),
    _op("GET", CUSTOMER + "/health/history", "A customer's health history", "health",
        answer=health_api.CustomerHealthHistoryOut, query=health_api.HealthHistoryQuery),
    _op("GET", CUSTOMER + "/health/dimensions/{dimension}", "One dimension of a customer's health", "health",
        answer=health_schemas.DimensionDetailOut, query=health_api.HealthHistoryQuery),
    # --- integrations (admin side; the provider side is below)
    _op("GET", "/v1/integrations", "Integrations and their webhook URLs", "integrations",
        answer=integ.IntegrationListOut),
    _op("PUT", "/v1/integrations/{provider}/secret", "Set a provider's signing secret", "integrations",
        answer=integ.IntegrationOut, body=integ.IntegrationSecretIn),
    _op("DELETE", "/v1/integrations/{provider}/secret", "Remove a provider's signing secret", "integrations",
        status=204),
    _op("GET", "/v1/integrations/unmatched", "Provider events not matched to a customer", "integrations",
        answer=integ.UnmatchedListOut, query=integ.UnmatchedQuery),
    _op("POST", "/v1/integrations/unmatched/{unmatched_id}/map", "Map an unmatched event to a customer",
        "integrations", answer=integ.MapUnmatchedOut, body=integ.MapUnmatchedIn),
    # --- playbooks and Slack
    _op("GET", "/v1/playbooks", "List playbooks", "playbooks", answer=pb.PlaybookListOut),
    _op("POST", "/v1/playbooks", "Create a playbook", "playbooks",
        answer=pb.PlaybookOut, body=pb.PlaybookIn, status=201),
    _op("GET", "/v1/playbooks/{playbook_id}", "Get a playbook", "playbooks", answer=pb.PlaybookOut),
    _op("PATCH", "/v1/playbooks/{playbook_id}", "Update a playbook (new version)", "playbooks",
        answer=pb.PlaybookOut, body=pb.PlaybookPatchIn),
    _op("DELETE", "/v1/playbooks/{playbook_id}", "Delete a playbook", "playbooks", status=204),
    _op("GET", "/v1/playbooks/{playbook_id}/versions", "A playbook's versions", "playbooks",
        answer=pb.PlaybookListOut),
    _op("GET", "/v1/playbooks/{playbook_id}/runs", "A playbook's runs", "playbooks",
        answer=pb.RunListOut, query=pb.RunListQuery),
    _op("POST", "/v1/playbooks/{playbook_id}/dry-run", "Which customers a playbook would act on", "playbooks",
        answer=pb.DryRunOut, query=pb.DryRunQuery),
    _op("GET", "/v1/settings/slack", "Slack settings", "settings", answer=pb.SlackSettingsOut),
    _op("PUT", "/v1/settings/slack", "Set the Slack incoming webhook", "settings",
        answer=pb.SlackSettingsOut, body=pb.SlackSettingsIn),
    # --- renewals, churn, flags, scores, upsell, revenue
    _op("GET", "/v1/renewals", "Renewals pipeline", "renewals", answer=rn.PipelineOut, query=rn.PipelineQuery),
    _op("GET", "/v1/renewals/upcoming", "Upcoming renewals", "renewals",
        answer=rn.UpcomingOut, query=rn.UpcomingQuery),
    _op("GET", "/v1/renewals/upcoming/export", "Upcoming renewals as CSV", "renewals",
        query=rn.UpcomingQuery, media_type="text/csv"),
    _op("GET", "/v1/renewals/forecast-categories", "Forecast categories", "renewals",
        answer=rn.ForecastSettingsOut),
    _op("PUT", "/v1/renewals/forecast-categories", "Set forecast categories", "renewals",
        answer=rn.ForecastSettingsOut, body=rn.ForecastSettingsIn),
    _op("GET", "/v1/renewals/forecast-changes", "Forecast changes", "renewals",
        answer=rn.ForecastChangesOut, query=rn.ForecastChangesQuery),
    _op("GET", CUSTOMER + "/renewals", "A customer's renewals", "renewals", answer=rn.RenewalListOut),
    _op("POST", CUSTOMER + "/renewals", "Open a renewal", "renewals",
        answer=rn.RenewalOut, body=rn.RenewalCreateIn, status=201),
    _op("GET", RENEWAL, "A renewal with its audit trail", "renewals", answer=rn.RenewalDetailOut),
    _op("PATCH", RENEWAL, "Update a renewal", "renewals", answer=rn.RenewalOut, body=rn.RenewalPatchIn),
    _op("PATCH", RENEWAL + "/forecast", "Change a renewal's forecast", "renewals",
        answer=rn.RenewalOut, body=rn.ForecastChangeIn),
    _op("POST", RENEWAL + "/close", "Close a renewal (won, lost, downgraded)", "renewals",
        answer=rn.RenewalOut, body=rn.RenewalCloseIn),
    _op("POST", CUSTOMER + "/churn", "Mark a customer churned", "churn", answer=rn.ChurnOut, body=rn.ChurnIn),
    _op("GET", CUSTOMER + "/flags", "A customer's red and green flags", "flags", answer=rn.FlagsOut),
    _op("GET", CUSTOMER + "/scores", "A customer's churn risk and CLTV", "churn", answer=rn.ScoresOut),
    _op("GET", "/v1/upsell/rules", "List upsell rules", "upsell", answer=rn.UpsellRuleListOut),
    _op("POST", "/v1/upsell/rules", "Create an upsell rule", "upsell",
        answer=rn.UpsellRuleOut, body=rn.UpsellRuleIn, status=201),
    _op("GET", "/v1/upsell/rules/{rule_id}", "Get an upsell rule", "upsell", answer=rn.UpsellRuleOut),
    _op("PATCH", "/v1/upsell/rules/{rule_id}", "Update an upsell rule", "upsell",
        answer=rn.UpsellRuleOut, body=rn.UpsellRulePatchIn),
    _op("DELETE", "/v1/upsell/rules/{rule_id}", "Delete an upsell rule", "upsell", status=204),
    _op("GET", CUSTOMER + "/recommendations", "Upsell recommendations for a customer", "upsell",
        answer=rn.RecommendationsOut),
    _op("POST", CUSTOMER + "/recommendations/{rule_id}/opportunity", "Turn a recommendation into an opportunity",
        "upsell", answer=rn.OpportunityOut, body=rn.OpportunityIn, body_required=False, status=201),
    _op("GET", "/v1/metrics/revenue", "GRR, NRR and revenue movements", "metrics",
        answer=rn.RevenueOut, query=rn.RevenueQuery),
    # --- segments
    _op("GET", "/v1/segments", "List segments", "segments", answer=seg.SegmentListOut),
    _op("POST", "/v1/segments", "Create a segment", "segments", answer=seg.SegmentOut, body=seg.SegmentIn, status=201),
    _op("GET", "/v1/segments/{segment_id}", "Get a segment", "segments", answer=seg.SegmentOut),
    _op("PATCH", "/v1/segments/{segment_id}", "Update a segment", "segments",
        answer=seg.SegmentOut, body=seg.SegmentPatchIn),
    _op("DELETE", "/v1/segments/{segment_id}", "Delete a segment", "segments", status=204),
    _op("GET", "/v1/segments/{segment_id}/members", "A segment's customers", "segments",
        answer=seg.SegmentMembersOut, query=seg.SegmentMembersQuery),
    _op("GET", CUSTOMER + "/benchmark", "A customer against its segments", "segments",
        answer=seg.CustomerBenchmarkOut),
    # --- success plans (capabilities, blueprints, a customer's plan)
    _op("GET", "/v1/capabilities", "List product capabilities", "success-plans", answer=sp.CapabilityListOut),
    _op("POST", "/v1/capabilities", "Define a product capability", "success-plans",
        answer=sp.CapabilityOut, body=sp.CapabilityIn, status=201),
    _op("GET", "/v1/capabilities/{capability_id}", "Get a capability", "success-plans", answer=sp.CapabilityOut),
    _op("PATCH", "/v1/capabilities/{capability_id}", "Update a capability", "success-plans",
        answer=sp.CapabilityOut, body=sp.CapabilityPatchIn),
    _op("DELETE", "/v1/capabilities/{capability_id}", "Delete a capability", "success-plans", status=204),
    _op("GET", CUSTOMER + "/capabilities", "A customer's capability usage", "success-plans",
        answer=sp.CustomerCapabilitiesOut),
    _op("GET", "/v1/blueprints", "List success blueprints", "success-plans", answer=sp.BlueprintListOut),
    _op("POST", "/v1/blueprints", "Create a blueprint", "success-plans",
        answer=sp.BlueprintOut, body=sp.BlueprintIn, status=201),
    _op("GET", "/v1/blueprints/{blueprint_id}", "Get a blueprint", "success-plans", answer=sp.BlueprintOut),
    _op("PATCH", "/v1/blueprints/{blueprint_id}", "Update a blueprint (a new version)", "success-plans",
        answer=sp.BlueprintOut, body=sp.BlueprintPatchIn),
    _op("DELETE", "/v1/blueprints/{blueprint_id}", "Delete a blueprint", "success-plans", status=204),
    _op("GET", "/v1/blueprints/{blueprint_id}/versions", "A blueprint's versions", "success-plans",
        answer=sp.BlueprintVersionsOut),
    _op("GET", CUSTOMER + "/success-plan", "A customer's success plan", "success-plans", answer=sp.PlanOut),
    _op("PUT", CUSTOMER + "/success-plan", "Create or replace a success plan", "success-plans",
        answer=sp.PlanOut, body=sp.PlanIn),
    _op("DELETE", CUSTOMER + "/success-plan", "Delete a success plan", "success-plans", status=204),
    _op("POST", CUSTOMER + "/success-plan/apply", "Apply a blueprint to a customer", "success-plans",
        answer=sp.PlanOut, body=sp.ApplyBlueprintIn, status=201),
    _op("POST", CUSTOMER + "/success-plan/objectives/{objective_id}/outcomes", "Record an outcome", "success-plans",
        answer=sp.PlanOut, body=sp.OutcomeIn, status=201),
    _op("POST", CUSTOMER + "/success-plan/objectives/{objective_id}/achieve", "Mark an objective achieved",
        "success-plans", answer=sp.PlanOut, body=sp.AchieveIn),
    _op("GET", CUSTOMER + "/success-plan/shares", "A plan's live share links", "success-plans",
        answer=sp.ShareListOut),
    _op("POST", CUSTOMER + "/success-plan/shares", "Share the plan's shared milestones by link", "success-plans",
        answer=sp.ShareCreatedOut, body=sp.ShareIn, status=201),
    _op("DELETE", CUSTOMER + "/success-plan/shares/{share_id}", "Revoke a share link", "success-plans", status=204),
    _op("GET", CUSTOMER + "/engagement", "A customer's journey phase and past ones", "success-plans",
        answer=sp.EngagementsOut),
    _op("POST", CUSTOMER + "/engagement", "Open a journey phase (closes the current one)", "success-plans",
        answer=sp.EngagementsOut, body=sp.EngagementOpenIn),
    _op("POST", CUSTOMER + "/engagement/close", "Close the current journey phase", "success-plans",
        answer=sp.EngagementsOut, body=sp.EngagementCloseIn),
    _op("GET", "/v1/shared/plans/{token}", "A shared plan (read-only, no login; 404 once revoked or expired)",
        "success-plans", answer=sp.SharedPlanOut, auth="public"),
    # --- tasks
    _op("GET", "/v1/tasks", "List tasks", "tasks", answer=tasks.TaskListOut, query=tasks.TaskListQuery),
    _op("POST", "/v1/tasks", "Create a task", "tasks", answer=tasks.TaskOut, body=tasks.TaskCreateIn, status=201),
    _op("GET", "/v1/tasks/{task_id}", "Get a task", "tasks", answer=tasks.TaskOut),
    _op("PATCH", "/v1/tasks/{task_id}", "Update a task", "tasks", answer=tasks.TaskOut, body=tasks.TaskPatchIn),
    _op("GET", "/v1/my-day", "The caller's day: tasks, customers needing attention", "tasks",
        answer=tasks.MyDayOut),
    # --- the caller's own notifications
    _op("GET", "/v1/notifications", "The caller's notifications, newest first", "notifications",
        answer=ntf.NotificationListOut, query=ntf.NotificationListQuery),
    _op("POST", "/v1/notifications/read-all", "Mark the caller's notifications read", "notifications",
        answer=ntf.NotificationsReadOut),
    _op("POST", "/v1/notifications/{notification_id}/read", "Mark one of the caller's notifications read",
        "notifications", answer=ntf.NotificationOut),
    # --- outbound webhooks
    _op("GET", "/v1/webhook-event-types", "The event types a subscription may choose", "webhooks",
        answer=wh.WebhookEventTypeListOut),
    _op("GET", "/v1/webhooks", "List webhook subscriptions", "webhooks", answer=wh.WebhookSubscriptionListOut),
    _op("POST", "/v1/webhooks", "Subscribe (the secret is shown once)", "webhooks",
        answer=wh.WebhookSubscriptionCreatedOut, body=wh.WebhookSubscriptionIn, status=201),
    _op("GET", WEBHOOK, "Get a subscription", "webhooks", answer=wh.WebhookSubscriptionOut),
    _op("PATCH", WEBHOOK, "Update a subscription", "webhooks",
        answer=wh.WebhookSubscriptionOut, body=wh.WebhookSubscriptionPatchIn),
    _op("DELETE", WEBHOOK, "Delete a subscription", "webhooks", status=204),
    _op("POST", WEBHOOK + "/rotate-secret", "Rotate the signing secret (both sign for 24 h)", "webhooks",
        answer=wh.WebhookSecretRotatedOut),
    _op("POST", WEBHOOK + "/test", "Send a signed webhook.test event", "webhooks",
        answer=wh.WebhookDeliveryQueuedOut, status=202),
    _op("GET", WEBHOOK + "/deliveries", "A subscription's deliveries and attempts", "webhooks",
        answer=wh.WebhookDeliveryListOut, query=wh.WebhookDeliveryListQuery),
    _op("POST", WEBHOOK + "/deliveries/{delivery_id}/redeliver", "Deliver again", "webhooks",
        answer=wh.WebhookDeliveryQueuedOut, status=202),
    # --- users, invitations, audit
    _op("GET", "/v1/users", "The workspace's users", "users", answer=users.UserListOut),
    _op("GET", "/v1/people", "The workspace's members by name (every role)", "users", answer=users.PeopleOut),
    _op("PUT", "/v1/users/{user_id}/role", "Change a user's role", "users",
        answer=users.UserChangeOut, body=users.RoleChangeIn),
    _op("POST", "/v1/users/{user_id}/deactivate", "Deactivate a user (and hand their book over)", "users",
        answer=users.UserChangeOut, body=users.DeactivateIn, body_required=False),
    _op("POST", "/v1/users/{user_id}/hand-over", "Hand a person's book over to a colleague, access unchanged",
        "users", answer=users.HandoverOut, body=users.HandoverIn),
    _op("POST", "/v1/users/{user_id}/reactivate", "Reactivate a deactivated user", "users", answer=users.UserOut),
    _op("GET", "/v1/invitations", "Open and accepted invitations", "users", answer=users.InvitationListOut),
    _op("POST", "/v1/invitations", "Invite a user (the one-time token is shown once)", "users",
        answer=users.InvitationCreatedOut, body=users.InvitationIn, status=201),
    _op("POST", "/v1/invitations/accept", "Accept an invitation with its token", "users",
        answer=users.UserOut, body=users.InvitationAcceptIn, status=201, auth="invitation"),
    _op("GET", "/v1/settings/workspace", "The workspace's settings", "settings", answer=wss.WorkspaceSettingsOut),
    _op("PATCH", "/v1/settings/workspace", "Change the workspace's settings", "settings",
        answer=wss.WorkspaceSettingsOut, body=wss.WorkspaceSettingsPatchIn),
    _op("GET", "/v1/audit", "The audit log, newest first", "audit", answer=audit.AuditListOut, query=audit.AuditQuery),
    # --- bulk imports (admin): upload by presigned form, mapping, dry run, commit on the import queue
    _op("POST", "/v1/imports", "Start an import (answers the presigned upload form)", "imports",
        answer=imp.ImportCreatedOut, body=imp.ImportCreateIn, status=201),
    _op("GET", "/v1/imports", "The workspace's imports, newest first", "imports", answer=imp.ImportListOut),
    _op("GET", IMPORT, "An import: status, columns, mapping, dry-run and commit counts", "imports",
        answer=imp.ImportOut),
    _op("PUT", IMPORT + "/mapping", "Replace the column mapping", "imports",
        answer=imp.ImportOut, body=imp.ImportMappingIn),
    _op("POST", IMPORT + "/dry-run", "Validate every row, write nothing (queued)", "imports",
        answer=imp.ImportOut, status=202),
    _op("POST", IMPORT + "/commit", "Write the dry-run import (queued)", "imports", answer=imp.ImportOut, status=202),
    _op("GET", IMPORT + "/failed-rows", "A link to the failed rows as CSV", "imports", answer=imp.FailedRowsOut),
    # --- HubSpot two-way sync (admin)
    _op("GET", "/v1/hubspot/connection", "The HubSpot sync: mapping, owned fields, progress", "integrations",
        answer=hs.HubSpotConnectionOut),
    _op("PUT", "/v1/hubspot/connection", "Connect HubSpot (private-app token) and set the mapping", "integrations",
        answer=hs.HubSpotConnectionOut, body=hs.HubSpotConnectionIn),
    # --- IngestFunction: product events with a workspace API key
    _op("POST", "/v1/events", "Send product events (≤ 1,000 per request)", "ingest",
        answer=events.EventBatchOut, body=events.EventBatchIn, auth="api_key"),
    _op("POST", "/v1/ingest/events", "Send product events (older path, same behaviour)", "ingest",
        answer=events.EventBatchOut, body=events.EventBatchIn, auth="api_key"),
    # --- IntegrationsFunction: signed provider webhooks; the body is the provider's own format
    _op("POST", "/v1/integrations/{provider}/{workspace_id}", "A provider's signed webhook", "integrations",
        auth="signature"),
)
# fmt: on


def operations() -> tuple[Operation, ...]:
    return OPERATIONS
