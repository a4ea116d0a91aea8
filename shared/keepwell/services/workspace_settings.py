"""The workspace's own settings (admins only, by the permission table): read, change, audit.

Competitor keywords are the health model's sentiment competitors (one list, used by scoring and the
competitor flag): changing them here saves a new health model version, as PUT /v1/health/model does.
"""

from __future__ import annotations

from typing import Any

from keepwell.auth import Caller
from keepwell.errors import NotFound
from keepwell.schemas.health_model_api import HealthModelPutIn
from keepwell.schemas.workspace_settings import WorkspaceSettingsOut, WorkspaceSettingsPatchIn
from keepwell.services import health_models
from keepwell.storage import audit, workspaces
from keepwell.storage import health_models as model_store
from keepwell.storage.models import WorkspaceItem

WORKSPACE_TARGET = "workspace:settings"


def _workspace(caller: Caller) -> WorkspaceItem:
    item = workspaces.get_workspace(caller.workspace_id)
    if item is None:
        raise NotFound("No such workspace")
    return item


def _out(item: WorkspaceItem, competitors: list[str]) -> WorkspaceSettingsOut:
    general = workspaces.general_settings(item)
    return WorkspaceSettingsOut(
        workspace_id=item.workspace_id,
        name=item.name,
        timezone=item.timezone,
        scoring_hour=int(item.scoring_hour),
        currency=str(general["currency"]),
        fiscal_year_start_month=int(str(general["fiscal_year_start_month"])),
        competitor_keywords=competitors,
    )


def _competitors(workspace_id: str) -> list[str]:
    return list(model_store.get_current(workspace_id).model.sentiment.competitors)


def get_settings(caller: Caller) -> WorkspaceSettingsOut:
    return _out(_workspace(caller), _competitors(caller.workspace_id))


def change_settings(caller: Caller, body: WorkspaceSettingsPatchIn) -> WorkspaceSettingsOut:
    """Apply the fields sent (already validated: 400 naming the field otherwise, nothing written);
    one audit entry with the changed fields before and after."""
    item = _workspace(caller)
    before = _out(item, _competitors(caller.workspace_id)).model_dump()
    sent = body.model_dump(exclude_unset=True)
    changed = {k: v for k, v in sent.items() if v is not None and before.get(k) != v}
    if not changed:
        return WorkspaceSettingsOut(**before)
    general: dict[str, Any] | None = None
    if "currency" in changed or "fiscal_year_start_month" in changed:
        general = {k: changed.get(k, before[k]) for k in ("currency", "fiscal_year_start_month")}
    workspaces.update_workspace(
        item,
        name=changed.get("name"),
        timezone=changed.get("timezone"),
        scoring_hour=changed.get("scoring_hour"),
        general=general,
    )
    if "competitor_keywords" in changed:
        current = model_store.get_current(caller.workspace_id, fresh=True).model
        sentiment = current.sentiment.model_copy(update={"competitors": changed["competitor_keywords"]})
        health_models.save_model(caller, HealthModelPutIn(sentiment=sentiment))
    audit.record_audit(
        caller.workspace_id,
        caller.user_id,
        "workspace.settings_changed",
        WORKSPACE_TARGET,
        {k: before[k] for k in changed},
        changed,
    )
    return get_settings(caller)
