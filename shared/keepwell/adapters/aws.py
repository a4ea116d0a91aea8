"""boto3 clients, created on first use and kept for the container's life (cold start pays only for what it uses)."""

from __future__ import annotations

import threading
import weakref
from functools import lru_cache
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from keepwell.aws_session import botocore_session, reset_session
from keepwell.settings import get_settings

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=3, read_timeout=10)


_CREATING = threading.Lock()  # a session is not safe to build clients from in parallel
# boto3's wrapper of each botocore session (the one pynamodb's DynamoDB client is built from too).
_BOTO3: weakref.WeakKeyDictionary[botocore.session.Session, boto3.Session] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=8)
def client(service: str) -> Any:
    with _CREATING:
        core = botocore_session()
        session = _BOTO3.get(core)
        if session is None:
            session = _BOTO3[core] = boto3.Session(botocore_session=core)
        return session.client(service, region_name=get_settings().region, config=_CONFIG)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Tests and the local stack switch endpoints; forget clients built for the old one."""
    client.cache_clear()
    reset_session()
