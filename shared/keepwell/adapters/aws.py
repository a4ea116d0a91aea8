"""AWS clients, created on first use and kept for the container's life (cold start pays only for what it uses).

botocore's clients, built from the container's one session, except S3's: boto3 adds its managed transfers
(`upload_file`) to that one. Importing boto3 and wrapping the session was ~20-30 ms of CPU of every
cold start that sent a message or an event; its clients of the other services are botocore's, built the same
way with the same configuration (decision 0027, third pass)."""

from __future__ import annotations

import threading
import weakref
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

from keepwell.aws_session import botocore_session, reset_session
from keepwell.settings import get_settings

if TYPE_CHECKING:
    import boto3

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=3, read_timeout=10)


# The services whose boto3 client has methods its botocore client lacks and that we call.
BOTO3_SERVICES = frozenset({"s3"})
_CREATING = threading.Lock()  # a session is not safe to build clients from in parallel
# boto3's wrapper of each botocore session (the one pynamodb's DynamoDB client is built from too).
_BOTO3: weakref.WeakKeyDictionary[botocore.session.Session, boto3.Session] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=8)
def client(service: str) -> Any:
    with _CREATING:
        core = botocore_session()
        if service not in BOTO3_SERVICES:
            return core.create_client(service, region_name=get_settings().region, config=_CONFIG)
        import boto3

        session = _BOTO3.get(core)
        if session is None:
            session = _BOTO3[core] = boto3.Session(botocore_session=core)
        return session.client(service, region_name=get_settings().region, config=_CONFIG)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Tests and the local stack switch endpoints; forget clients built for the old one."""
    client.cache_clear()
    reset_session()
