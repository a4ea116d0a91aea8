"""boto3 clients, created on first use and kept for the container's life (cold start pays only for what it uses)."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from keepwell.settings import get_settings

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=3, read_timeout=10)


_CREATING = threading.Lock()  # boto3's default session is not safe to build clients from in parallel


@lru_cache(maxsize=8)
def client(service: str) -> Any:
    with _CREATING:
        return boto3.client(service, region_name=get_settings().region, config=_CONFIG)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Tests and the local stack switch endpoints; forget clients built for the old one."""
    client.cache_clear()
