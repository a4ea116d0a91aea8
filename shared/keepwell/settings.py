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
    # Only the local stack sets this: HS256 tokens signed with a shared key instead of RS256 + JWKS.
    local_jwt_secret: str
    stage: str
    # Bulk imports (issue 20): the bucket uploads go to and the queue their dry runs and commits go on.
    import_bucket_name: str = ""
    import_queue_url: str = ""

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
        local_jwt_secret=env.get("LOCAL_JWT_SECRET", ""),
        stage=env.get("STAGE", "prod"),
        import_bucket_name=env.get("IMPORT_BUCKET_NAME", ""),
        import_queue_url=env.get("IMPORT_QUEUE_URL", ""),
    )


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
