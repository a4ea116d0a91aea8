"""The workspace's health model: read it (and its versions), change it (a new version each time, then a
90-day history recomputation), list the presets, and dry-run a proposal over the workspace."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from keepwell import clock
from keepwell.auth import Caller
from keepwell.domain.health.dry_run import PROFILE_FIELDS, DryRunResult, LatestHealth, dry_run
from keepwell.domain.health.expressions import compile_expression, expression_names
from keepwell.domain.health.model import DEFAULT_PRESET, PRESETS, HealthModel, parse_health_model
from keepwell.errors import Conflict, InvalidInput, NotFound
from keepwell.observability import logger
from keepwell.schemas.health import HealthModelOut
from keepwell.schemas.health_model_api import (
    ApproximationOut,
    BandChangeOut,
    DryRunOut,
    HealthModelPutIn,
    HealthModelVersionListOut,
    HealthModelVersionSummary,
    PresetDimension,
    PresetListOut,
    PresetOut,
)
from keepwell.storage import audit as audit_store
from keepwell.storage import health_models as store
from keepwell.storage import segments as profiles

PRESET_LABELS = {
    "balanced": "Balanced",
    "usage_heavy": "Usage Heavy",
    "engagement_first": "Engagement First",
    "support_critical": "Support Critical",
    "six_factor": "Six-factor",
}
MAX_CHANGED = 500
MODEL_CHANGED = "model_changed"
HEALTH_MODEL_TARGET = "workspace:health_model"


# --- reads -----------------------------------------------------------------------------------------
def model_out(stored: store.StoredModel) -> HealthModelOut:
    data = stored.model.model_dump()
    data.update(version=stored.version, updated_at=stored.created_at, updated_by=stored.created_by)
    return HealthModelOut.model_validate(data)


def get_model(caller: Caller) -> store.StoredModel:
    return store.get_current(caller.workspace_id)


def get_version(caller: Caller, version: str) -> store.StoredModel:
    if not version.isdigit() or len(version) > 9:
        raise InvalidInput(
            f"Invalid version {version!r}: a positive whole number", [{"field": "version", "issue": "not a number"}]
        )
    stored = store.get_version(caller.workspace_id, int(version))
    if stored is None:
        raise NotFound(f"No health model version {int(version)}", [{"field": "version", "issue": "not found"}])
    return stored


def list_versions(caller: Caller, limit: int, cursor: str | None) -> HealthModelVersionListOut:
    items, next_cursor = store.list_versions(caller.workspace_id, limit, cursor)
    return HealthModelVersionListOut(
        items=[
            HealthModelVersionSummary(
                version=s.version,
                preset=s.model.preset,
                weights={d.key: d.weight for d in s.model.enabled_dimensions()},
                smoothing_window=s.model.smoothing_window,
                updated_at=s.created_at,
                updated_by=s.created_by,
            )
            for s in items
        ],
        next_cursor=next_cursor,
    )


def list_presets() -> PresetListOut:
    return PresetListOut(
        items=[
            PresetOut(
                name=name,
                label=PRESET_LABELS.get(name, name),
                default=name == DEFAULT_PRESET,
                dimensions=[PresetDimension(key=k, weight=w) for k, w in weights.items()],
            )
            for name, weights in PRESETS.items()
        ]
    )


# --- building a proposed model ---------------------------------------------------------------------
def _issue(text: str) -> str:
    return text.removeprefix("Value error, ")


def _check_expressions(dimensions: list[dict[str, Any]], variables: list[str]) -> None:
    """Each custom expression compiled on its own, so the 400 names the dimension and the position."""
    allowed = expression_names(variables)
    for index, dim in enumerate(dimensions):
        expression = dim.get("expression")
        if not expression:
            continue
        try:
            compile_expression(expression, allowed)
        except InvalidInput as error:
            where = f"dimensions.{index}.expression"
            details = [{**d, "field": where, "dimension": dim.get("key")} for d in error.details]
            message = f"Invalid health model: dimension '{dim.get('key')}': {error.message}"
            raise InvalidInput(message, details) from None


def propose(current: HealthModel, body: HealthModelPutIn) -> HealthModel:
    """The current model with the body's fields applied, validated by the domain (weights sum to 100,
    bands cover 0-100, smoothing window, expressions, hysteresis); one 400 saying what is wrong."""
    changes = body.changes()
    if "preset" in changes and "dimensions" in changes:
        raise InvalidInput(
            "Invalid health model: send either a preset or dimensions, not both",
            [{"field": "preset", "issue": "cannot be combined with dimensions"}],
        )
    data = current.model_dump()
    data.update(changes)
    if "preset" in changes:
        data["dimensions"] = [{"key": k, "weight": w} for k, w in PRESETS[changes["preset"]].items()]
    elif "dimensions" in changes:
        data["preset"] = None  # explicit dimensions are the workspace's own mix
    _check_expressions(data["dimensions"], data.get("variables") or [])
    try:
        return parse_health_model(data)
    except InvalidInput as error:
        issues = [_issue(str(d.get("issue", ""))) for d in error.details]
        details = [
            {**d, "field": "dimensions" if d.get("field") == "health model" else d.get("field"), "issue": issue}
            for d, issue in zip(error.details, issues, strict=True)
        ]
        raise InvalidInput(f"Invalid health model: {'; '.join(issues)}", details) from None


# --- writes --------------------------------------------------------------------------------------
def _changed_fields(before: HealthModel, after: HealthModel, versions: tuple[int, int]) -> tuple[dict[str, Any], ...]:
    """The audit's before/after: only the model fields that changed (bands, dimensions, weights, …), plus
    the version numbers, rather than two whole models."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    changed = sorted(k for k in old.keys() | new.keys() if k != "version" and old.get(k) != new.get(k))
    return (
        {"version": versions[0], **{k: old.get(k) for k in changed}},
        {"version": versions[1], **{k: new.get(k) for k in changed}},
    )


def _start_recalculation(workspace_id: str, requested_by: str) -> str | None:
    """Start the 90-day history recomputation if the pipeline provides it; its job id, or None.

    Looked up lazily: the recalculation service is optional here, and a failure to start it must not
    undo a model that is already saved (the scheduled run picks the new model up anyway)."""
    try:
        module = importlib.import_module("keepwell.services.recalculation")
    except ImportError:
        return None
    start = getattr(module, "start_recalculation", None)
    if start is None:
        return None
    try:
        job = start(workspace_id, requested_by, reason=MODEL_CHANGED)
    except Exception:  # the model is saved: report, do not fail the request
        logger.exception("could not start the history recalculation", extra={"workspace_id": workspace_id})
        return None
    if job is None or isinstance(job, str):
        return job
    value = job.get("job_id") if isinstance(job, dict) else getattr(job, "job_id", None)
    return str(value) if value is not None else None


def save_model(caller: Caller, body: HealthModelPutIn) -> tuple[store.StoredModel, str | None]:
    """Validate and store the change as a new version, then start the history recomputation."""
    current = store.get_current(caller.workspace_id, fresh=True)
    if body.expected_version is not None and body.expected_version != current.version:
        raise Conflict(
            f"The health model is at version {current.version}, not {body.expected_version}",
            [{"field": "expected_version", "issue": "stale"}],
            code="version_conflict",
        )
    proposed = propose(current.model, body)
    before, after = _changed_fields(current.model, proposed, (current.version, current.version + 1))
    entry = audit_store.audit_item(
        caller.workspace_id,
        caller.user_id,
        "health_model.preset_applied" if body.preset else "health_model.updated",
        HEALTH_MODEL_TARGET,
        before,
        after,
    )
    stored = store.save_version(
        caller.workspace_id,
        proposed,
        previous_version=current.version,
        created_at=clock.iso(clock.now()),
        created_by=caller.user_id,
        reason=f"preset {body.preset}" if body.preset else "edited",
        audit=entry,
    )
    logger.info(
        "health model saved",
        extra={"workspace_id": caller.workspace_id, "version": stored.version, "user_id": caller.user_id},
    )
    return stored, _start_recalculation(caller.workspace_id, caller.user_id)


# --- dry run ---------------------------------------------------------------------------------------
def _latest(workspace_id: str) -> Iterator[LatestHealth]:
    for row, _ in profiles.iter_health_rows(workspace_id):
        customer = row.customer
        yield LatestHealth(
            customer_id=customer.customer_id,
            name=customer.name,
            dimensions=row.dimensions,
            fields={k: v for k, v in customer.model_dump().items() if k in PROFILE_FIELDS and v is not None},
            custom=dict(customer.custom_fields),
        )


def dry_run_model(caller: Caller, body: HealthModelPutIn) -> DryRunOut:
    """Score the workspace under the proposal from the customers' latest dimension values; save nothing."""
    current = store.get_current(caller.workspace_id)
    proposed = propose(current.model, body)
    result: DryRunResult = dry_run(current.model, proposed, _latest(caller.workspace_id))
    changed = sorted(
        result.changed,
        key=lambda c: (c.score_after is None, c.score_after or 0.0, c.name.lower(), c.customer_id),
    )
    return DryRunOut(
        current_version=current.version,
        customers=result.customers,
        unscored=result.unscored,
        distribution_before=result.distribution_before,
        distribution_after=result.distribution_after,
        changed_count=len(changed),
        changed=[BandChangeOut(**vars(c)) for c in changed[:MAX_CHANGED]],
        approximations=[ApproximationOut(**vars(a)) for a in result.approximations],
    )
