"""Scorer: compute and store health snapshots for the customers named by a ScoringRequest."""

from __future__ import annotations

from keepwell.observability import logger
from keepwell.schemas.messages import ScoringRequest


def run_scoring_request(request: ScoringRequest) -> None:
    """Score one customer (or every customer of the workspace) for the request's day.

    To do: load the workspace's health model and the customers' metrics by key, compute the
    snapshot (domain.health), store it idempotently (same day → same item), and publish
    health.scored / health.band_changed / health.alert. Raising fails only this record.
    """
    logger.info(
        "not implemented yet",
        extra={
            "use_case": "scoring",
            "workspace_id": request.workspace_id,
            "customer_id": request.customer_id,
            "reason": request.reason,
        },
    )
