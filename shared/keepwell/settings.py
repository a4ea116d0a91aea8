"""One settings object, read from the environment once per container, that refuses to start without
what the function needs (docs/decisions/0019).

A setting the template gives every function (Globals.Function.Environment) is required: declared
without a default, and an empty value counts as missing. A deployed function without one fails its
cold start with the variable's name (`MissingSettings`) instead of running with an empty value that
quietly skips the check or the queue it feeds. A setting only some functions read (the authorizer's
JWT settings) is optional here and required by that function at import: `require("jwt_issuer", ...)`.

Each field is read from its variable, names compared without regard to case, a list of variables read in
order. A frozen dataclass, not a pydantic-settings (or pydantic) model: these are plain strings, and
importing pydantic-settings or building a validator for them was ~75 + ~20 ms of CPU of every cold start,
the authorizer's only pydantic model build (decision 0027).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import lru_cache


class MissingSettings(RuntimeError):
    """The function cannot start: these environment variables are missing or empty."""

    def __init__(self, variables: list[str], detail: str = ""):
        self.variables = variables
        hint = "set them in the function's environment (template.yaml sets them when deployed)"
        super().__init__(f"missing required setting(s): {', '.join(variables)}; {hint}{detail}")


@dataclass(frozen=True)
class Settings:
    # Required (no default): a string of at least one character (an empty variable is as missing as an absent one).
    table_name: str
    event_bus_name: str
    scoring_queue_url: str
    playbook_queue_url: str
    webhook_queue_url: str
    # Lambda always sets AWS_REGION; scripts and tests may set only the SDK's default region.
    region: str = "us-east-1"
    stage: str = "prod"  # unset reads as deployed: the strict side
    # The authorizer's (it requires them when deployed, see `require`).
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwks_url: str = ""
    # Identity (issue 18): this stack's Cognito pool (empty with an external issuer), the console's URL
    # (invitation links) and the SES sender of invitations (empty: none sent).
    user_pool_id: str = ""
    console_url: str = ""
    invitation_sender: str = ""
    # Bulk imports (issue 20): the bucket uploads go to and the queue their dry runs and commits go on.
    import_bucket_name: str = ""
    import_queue_url: str = ""
    # HubSpot write-back after each score (issue 20): health.scored of connected workspaces go on this queue.
    hubspot_writeback_queue_url: str = ""

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


# The variables of the fields whose variable is not their name in capitals, first found wins.
_VARIABLES = {"region": ("AWS_REGION", "AWS_DEFAULT_REGION")}
_REQUIRED = ("table_name", "event_bus_name", "scoring_queue_url", "playbook_queue_url", "webhook_queue_url")


def _variables(field_name: str) -> tuple[str, ...]:
    return _VARIABLES.get(field_name, (field_name.upper(),))


def _variable(field_name: str) -> str:
    """The environment variable a field is named by (in errors)."""
    return _variables(field_name)[0]


def _environment() -> dict[str, str]:
    """The process environment by upper-case name (the fields' variables are matched without case)."""
    return {name.upper(): value for name, value in os.environ.items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    environment = _environment()
    values: dict[str, str] = {}
    missing: set[str] = set()
    for field in fields(Settings):
        found = next((environment[v] for v in _variables(field.name) if v in environment), None)
        if field.name in _REQUIRED and not found:
            missing.add(_variable(field.name))
        elif found is not None:
            values[field.name] = found
    if missing:
        raise MissingSettings(sorted(missing))
    return Settings(**values)


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
