"""Slack incoming webhooks: one JSON POST with short timeouts, no redirects, no proxy from the
environment. Errors say whether the message certainly did not leave (safe to retry) or may have."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class SlackNotSent(Exception):
    """The request never reached Slack (connection refused, DNS, connect timeout): retrying is safe."""


class SlackUncertain(Exception):
    """The request left but no answer came back: Slack may have posted it."""


@dataclass(frozen=True)
class SlackAnswer:
    status: int
    body: str


@lru_cache(maxsize=1)
def _client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False)


def post_message(url: str, payload: dict[str, Any]) -> SlackAnswer:
    try:
        response = _client().post(url, json=payload, headers={"User-Agent": "Keepwell-Playbooks/1"})
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise SlackNotSent(f"{type(error).__name__}: could not reach the Slack webhook") from error
    except httpx.HTTPError as error:
        raise SlackUncertain(f"{type(error).__name__}: no answer from the Slack webhook") from error
    return SlackAnswer(response.status_code, response.text[:200])
