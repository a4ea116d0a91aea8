from __future__ import annotations

from pydantic import BaseModel


class MeOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    workspace_id: str
    workspace_name: str
