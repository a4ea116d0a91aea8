"""The audit API (`GET /v1/audit`): its query and its answer. Targets are `<kind>:<id>` and actions
`<kind>.<verb>` (the vocabulary is listed in docs/api.md, "Audit log")."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from keepwell.domain.audit import AuditEntry

MAX_LIMIT = 200
TARGET_PATTERN = r"^[a-z_]+:[^\s]+$"
ACTION_PATTERN = r"^[a-z_]+\.[a-z_]+$"


class AuditQuery(BaseModel):
    """`since` is inclusive and `until` exclusive; both ISO-8601 with a time zone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    target: str | None = Field(default=None, min_length=3, max_length=300, pattern=TARGET_PATTERN)
    actor: str | None = Field(default=None, min_length=1, max_length=128)
    action: str | None = Field(default=None, min_length=3, max_length=80, pattern=ACTION_PATTERN)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=2048)

    @model_validator(mode="after")
    def _window(self) -> AuditQuery:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


# The domain's AuditEntry as the API answers it: its fields are written there, once (the renewal forecast
# history answers the same model). A comment, not a docstring, so the OpenAPI document stays as it was.
class AuditEntryOut(AuditEntry):
    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls.model_validate(entry, from_attributes=True)


class AuditListOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
