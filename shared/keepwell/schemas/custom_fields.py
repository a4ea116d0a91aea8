"""Request and response bodies of the custom-field definition routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keepwell.domain.custom_fields import KEY_PATTERN, CustomFieldDefinition, FieldType, options_problem
from keepwell.errors import InvalidInput

Option = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CustomFieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    key: str = Field(pattern=KEY_PATTERN)
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    type: FieldType
    options: list[Option] | None = Field(default=None, min_length=1, max_length=100)

    def definition(self, created_at: str) -> CustomFieldDefinition:
        """The domain definition; a 400 naming `options` unless only select fields carry them."""
        problem = options_problem(self.type, self.options)
        if problem:
            raise InvalidInput(f"Invalid options: {problem}", [{"field": "options", "issue": problem}])
        return CustomFieldDefinition(
            key=self.key, label=self.label, type=self.type, options=self.options, created_at=created_at
        )


class CustomFieldOut(BaseModel):
    key: str
    label: str
    type: str
    options: list[str] | None
    created_at: str | None

    @classmethod
    def of(cls, definition: CustomFieldDefinition) -> CustomFieldOut:
        return cls.model_validate(definition.model_dump())


class CustomFieldListOut(BaseModel):
    items: list[CustomFieldOut]
