from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)


class ApiKeyOut(BaseModel):
    key_id: str
    name: str
    prefix: str
    created_at: str
    created_by: str
    revoked_at: str | None
    active: bool


class ApiKeyCreatedOut(ApiKeyOut):
    """Answer to create and rotate: the only time the plaintext key is shown."""

    api_key: str


class ApiKeyListOut(BaseModel):
    items: list[ApiKeyOut]
