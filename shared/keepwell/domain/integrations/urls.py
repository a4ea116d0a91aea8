"""The public URL of a request as the caller used it (behind API Gateway, a custom domain or the local
gateway): HubSpot signs it, and admins are shown the webhook URL to give each provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from keepwell.domain.signatures.inbound import lower_headers


def public_base_url(
    headers: Mapping[str, str], request_context: Mapping[str, Any], event_path: str, *, local: bool
) -> str:
    """`https://<host>[/<stage or base path>]`. API Gateway's `requestContext.path` is the path as called
    (with the stage on the execute-api host, the base path on a custom domain); the event's `path` is the
    resource path without it, so the difference is the prefix. The local gateway serves without a prefix."""
    h = lower_headers(headers)
    host = h.get("host") or str(request_context.get("domainName") or "localhost")
    scheme = h.get("x-forwarded-proto") or ("http" if local else "https")
    prefix = ""
    called = str(request_context.get("path") or event_path)
    if not local and called.endswith(event_path):
        prefix = called[: len(called) - len(event_path)]
    return f"{scheme}://{host}{prefix.rstrip('/')}"


def request_url(base_url: str, event_path: str, query: Mapping[str, list[str]] | None) -> str:
    """REST APIs pass no raw query string: it is rebuilt from the parsed parameters (give providers
    webhook URLs without one)."""
    url = f"{base_url}{event_path}"
    if query:
        url += "?" + urlencode([(k, v) for k, values in query.items() for v in values])
    return url


def webhook_url(base_url: str, provider: str, workspace_id: str) -> str:
    return f"{base_url}/v1/integrations/{provider}/{workspace_id}"
