"""One settings object, read from the environment once per container, that refuses to start without
what the function needs (docs/decisions/0019).

A setting the template gives every function (Globals.Function.Environment) is required: declared
without a default, and an empty value counts as missing. A deployed function without one fails its
cold start with the variable's name (`MissingSettings`) instead of running with an empty value that
quietly skips the check or the queue it feeds. A setting only some functions read (the authorizer's
JWT settings) is optional here and required by that function at import: `require("jwt_issuer", ...)`.

A pydantic model validated from the environment, each field from its variable (names compared without
regard to case, an alias list read in order): what pydantic-settings did for these plain strings, without
importing it and its sources (python-dotenv, argparse, asyncio; ~75 ms of every cold start, decision 0027).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

# Required: a string of at least one character (an empty variable is as missing as an absent one).
Required = Annotated[str, Field(min_length=1)]


class MissingSettings(RuntimeError):
    """The function cannot start: these environment variables are missing or empty."""

    def __init__(self, variables: list[str], detail: str = ""):
        self.variables = variables
        hint = "set them in the function's environment (template.yaml sets them when deployed)"
        super().__init__(f"missing required setting(s): {', '.join(variables)}; {hint}{detail}")


class Settings(BaseModel):
    # Every other variable of the environment is ignored; an empty one is kept (and a required one refused).
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: Required = Field(validation_alias="TABLE_NAME")
    event_bus_name: Required = Field(validation_alias="EVENT_BUS_NAME")
    scoring_queue_url: Required = Field(validation_alias="SCORING_QUEUE_URL")
    playbook_queue_url: Required = Field(validation_alias="PLAYBOOK_QUEUE_URL")
    webhook_queue_url: Required = Field(validation_alias="WEBHOOK_QUEUE_URL")
    # Lambda always sets AWS_REGION; scripts and tests may set only the SDK's default region.
    region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    stage: str = Field(default="prod", validation_alias="STAGE")  # unset reads as deployed: the strict side
    # The authorizer's (it requires them when deployed, see `require`).
    jwt_issuer: str = Field(default="", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field(default="", validation_alias="JWT_AUDIENCE")
    jwks_url: str = Field(default="", validation_alias="JWKS_URL")
    # Identity (issue 18): this stack's Cognito pool (empty with an external issuer), the console's URL
    # (invitation links) and the SES sender of invitations (empty: none sent).
    user_pool_id: str = Field(default="", validation_alias="USER_POOL_ID")
    console_url: str = Field(default="", validation_alias="CONSOLE_URL")
    invitation_sender: str = Field(default="", validation_alias="INVITATION_SENDER")
    # Bulk imports (issue 20): the bucket uploads go to and the queue their dry runs and commits go on.
    import_bucket_name: str = Field(default="", validation_alias="IMPORT_BUCKET_NAME")
    import_queue_url: str = Field(default="", validation_alias="IMPORT_QUEUE_URL")
    # HubSpot write-back after each score (issue 20): health.scored of connected workspaces go on this queue.
    hubspot_writeback_queue_url: str = Field(default="", validation_alias="HUBSPOT_WRITEBACK_QUEUE_URL")

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    def require(self, *fields: str) -> Settings:
        """Settings one function needs beyond the common ones: raise `MissingSettings` naming each
        empty one's environment variable. Call it at the function's import, so a cold start fails."""
        missing = [_variable(name) for name in fields if not getattr(self, name)]
        if missing:
            raise MissingSettings(missing)
        return self


def _variable(field_name: str) -> str:
    """The environment variable of a field (a validation error names either)."""
    if field_name not in Settings.model_fields:
        return field_name.upper()
    alias = Settings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias or field_name.upper())


def _environment() -> dict[str, str]:
    """The process environment by upper-case name (the fields' variables are matched without case)."""
    return {name.upper(): value for name, value in os.environ.items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings.model_validate(_environment())
    except ValidationError as error:
        names = sorted({_variable(str(e["loc"][0])) for e in error.errors() if e.get("loc")})
        raise MissingSettings(names or ["(unknown)"]) from None


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
