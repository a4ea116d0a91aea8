"""The webhook URL admins give each provider (built on the request's public base URL, `keepwell.http`)."""

from __future__ import annotations


def webhook_url(base_url: str, provider: str, workspace_id: str) -> str:
    return f"{base_url}/v1/integrations/{provider}/{workspace_id}"
