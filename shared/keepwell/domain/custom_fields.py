"""Custom field definitions of a workspace and the check of customers' values against them."""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from keepwell.errors import InvalidInput

FieldType = Literal["text", "number", "boolean", "date", "select"]
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
MAX_TEXT_LENGTH = 2000


class CustomFieldDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN)
    label: str = Field(min_length=1, max_length=80)
    type: FieldType
    options: list[str] | None = None
    created_at: str | None = None

    @model_validator(mode="after")
    def _options_only_for_select(self) -> CustomFieldDefinition:
        problem = options_problem(self.type, self.options)
        if problem:
            raise ValueError(problem)
        return self


def options_problem(field_type: str, options: list[str] | None) -> str | None:
    """Why `options` do not suit `field_type`, or None: select needs unique options, others none."""
    if field_type == "select":
        if not options:
            return "a select field needs at least one option"
        if len(set(options)) != len(options):
            return "options must be unique"
    elif options is not None:
        return f"options are only allowed for select fields, not {field_type}"
    return None


def _problem(key: str, issue: str) -> dict[str, str]:
    return {"field": f"custom_fields.{key}", "issue": issue}


def coerce_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """The value as stored, or ValueError saying why it does not fit the field's type."""
    kind = definition.type
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("expected text")
        if len(value) > MAX_TEXT_LENGTH:
            raise ValueError(f"text longer than {MAX_TEXT_LENGTH} characters")
        return value
    if kind == "number":
        # bool is an int in Python; a JSON true is not a number.
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("expected a number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind == "date":
        if not isinstance(value, str):
            raise ValueError("expected a date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as error:
            raise ValueError("expected a date (YYYY-MM-DD)") from error
    if not isinstance(value, str) or value not in (definition.options or []):
        raise ValueError(f"expected one of {definition.options}")
    return value


def validate_values(values: dict[str, Any], definitions: list[CustomFieldDefinition]) -> dict[str, Any]:
    """Check every non-null value against its definition; one 400 lists every offending key.

    Null values pass through untouched (a PATCH uses them to remove a key).
    """
    by_key = {d.key: d for d in definitions}
    cleaned: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for key, value in values.items():
        definition = by_key.get(key)
        if definition is None:
            problems.append(_problem(key, "unknown custom field"))
            continue
        if value is None:
            cleaned[key] = None
            continue
        try:
            cleaned[key] = coerce_value(definition, value)
        except ValueError as error:
            problems.append(_problem(key, f"{error} ({definition.type})"))
    if problems:
        fields = ", ".join(p["field"] for p in problems)
        raise InvalidInput(f"Invalid custom fields: check {fields}", details=problems)
    return cleaned
