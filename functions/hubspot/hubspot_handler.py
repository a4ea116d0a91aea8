"""Scheduled HubSpot sync: for every workspace connected to HubSpot, the companies changed since the last
run (or the next pages of the first full sync), then the write-back of changed scores."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from keepwell.observability import logger, metrics, tracer
from keepwell.services import hubspot_sync


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    ran = hubspot_sync.run_all()
    logger.info("HubSpot sync run", extra=ran)  # the scheduler invokes asynchronously: nothing to answer
