"""One settings object, read from the environment once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    region: str
    scoring_queue_url: str
    playbook_queue_url: str
    webhook_queue_url: str
    event_bus_name: str
    jwt_issuer: str
    jwt_audience: str
    jwks_url: str
    stage: str
    # Identity (issue 18): this stack's Cognito pool (empty with an external issuer), the console's URL
    # (invitation links) and the SES sender of invitations (empty: none sent).
    user_pool_id: str = ""
    console_url: str = ""
    invitation_sender: str = ""

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME", "keepwell"),
        region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
        scoring_queue_url=env.get("SCORING_QUEUE_URL", ""),
        playbook_queue_url=env.get("PLAYBOOK_QUEUE_URL", ""),
        webhook_queue_url=env.get("WEBHOOK_QUEUE_URL", ""),
        event_bus_name=env.get("EVENT_BUS_NAME", "keepwell"),
        jwt_issuer=env.get("JWT_ISSUER", ""),
        jwt_audience=env.get("JWT_AUDIENCE", ""),
        jwks_url=env.get("JWKS_URL", ""),
        stage=env.get("STAGE", "prod"),
        user_pool_id=env.get("USER_POOL_ID", ""),
        console_url=env.get("CONSOLE_URL", "").rstrip("/"),
        invitation_sender=env.get("INVITATION_SENDER", ""),
    )


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
