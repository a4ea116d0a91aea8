"""POST /v1/integrations/{provider}/{workspace_id}: signed inbound webhooks from support/CRM tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keepwell.services.pending import not_implemented


def receive_webhook(provider: str, workspace_id: str, headers: Mapping[str, str], raw_body: bytes) -> dict[str, Any]:
    """Verify the provider's signature over `raw_body` with the workspace's secret, then record it.

    To do: look up the workspace's integration secret (Secrets Manager, keepwell/<ws>/<provider>),
    verify e.g. Zendesk's X-Zendesk-Webhook-Signature (base64 HMAC-SHA256 of timestamp + body),
    map the payload to timeline entries / signals, and queue rescoring. Unknown provider or
    workspace → NotFound; bad signature → Unauthorized; nothing is written on failure.
    """
    raise not_implemented(f"{provider} integration webhooks")
