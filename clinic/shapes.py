"""What the JSON API takes and gives, declared once with pydantic: a request body or query string is a `Shape`,
an answer an `Answer`. clinic.openapi turns the same declarations into /api/v1/openapi.json, and `read` validates
a request with them, so the document and the checks cannot drift apart.

Each field of a Shape names, beside its type, the jsonin reader that checks it (`text`, `email`, `day`, ...):
the reader keeps the sentence a patient understands and the field it concerns, and pydantic collects every
field's problem so one answer names all of them, as a person fixing a form expects."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, ClassVar, Mapping

import pydantic
from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError, core_schema

from clinic import jsonin
from clinic.errors import ValidationError

_PLURAL_MESSAGE = "Please correct the {count} details marked."


class Shape(BaseModel):
    """A request body or query string. Unknown keys are ignored, as a browser form's extra fields are; a nested
    Shape says in `refusal` what to answer when it is missing or is not an object."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    refusal: ClassVar[tuple[str, str]] = ("invalid", "Please send these details as an object.")

    def given(self) -> set[str]:
        """The fields the request sent (a PATCH changes only those)."""
        return set(self.model_fields_set)


class Answer(BaseModel):
    """The shape of a response, for the document (the app's serializers build the JSON; the contract tests check
    every answer they see against the document)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, eq=False)
class Reads:
    """A field checked by a jsonin reader: `reader(data, field, **options)` returns the value or raises the
    ValidationError a patient reads. `schema` is what the document says of the field."""

    reader: Callable[..., Any]
    schema: Mapping[str, Any]
    options: Mapping[str, Any] = dataclass_field(default_factory=dict)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(self._validate)

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict:
        return dict(self.schema)

    def _validate(self, value: Any, info: core_schema.ValidationInfo) -> Any:
        return self.check(info.field_name or "value", value)

    def check(self, field: str, value: Any) -> Any:
        try:
            return self.reader({field: value}, field, **self.options)
        except ValidationError as refused:
            raise PydanticCustomError(refused.code, (refused.fields or {}).get(field, refused.message)) from None


def _reads(reader: Callable[..., Any], schema: dict, nullable: bool, **options: Any) -> Reads:
    return Reads(reader, {**schema, "nullable": True} if nullable else schema, options)


def text(label: str | None = None, *, required: bool = True, max_len: int = 200, multiline: bool = False) -> Reads:
    return _reads(jsonin.text, {"type": "string", "maxLength": max_len}, not required, label=label,
                  required=required, max_len=max_len, multiline=multiline)


def person_name(label: str = "name", *, required: bool = True) -> Reads:
    return _reads(jsonin.person_name, {"type": "string", "maxLength": 200}, not required, label=label,
                  required=required)


def email(*, required: bool = True) -> Reads:
    return _reads(jsonin.email, {"type": "string", "format": "email", "maxLength": 254}, not required,
                  required=required)


def phone(label: str = "phone number", *, required: bool = True) -> Reads:
    return _reads(jsonin.phone, {"type": "string", "maxLength": 40}, not required, label=label, required=required)


def day(label: str | None = None, *, required: bool = True) -> Reads:
    return _reads(jsonin.day, {"type": "string", "format": "date"}, not required, label=label, required=required)


def birth_date(*, required: bool = False) -> Reads:
    return _reads(jsonin.birth_date, {"type": "string", "format": "date"}, not required, required=required)


def instant(label: str = "start time") -> Reads:
    return _reads(jsonin.instant, {"type": "string", "format": "date-time"}, False, label=label)


def integer(label: str | None = None, *, required: bool = False, minimum: int = 0, maximum: int = 10**9) -> Reads:
    return _reads(jsonin.integer, {"type": "integer", "minimum": minimum, "maximum": maximum}, not required,
                  label=label, required=required, minimum=minimum, maximum=maximum)


def boolean(*, default: bool = False) -> Reads:
    return _reads(lambda data, field: jsonin.boolean(data, field, default=default), {"type": "boolean"}, False)


def string_list(*, allowed: set[str] | None = None, pattern: str | None = None, required: bool = True) -> Reads:
    items: dict[str, Any] = {"type": "string"}
    if allowed is not None:
        items["enum"] = sorted(allowed)
    if pattern is not None:
        items["pattern"] = f"^{pattern}$"
    return _reads(jsonin.string_list, {"type": "array", "items": items, "minItems": 1}, not required,
                  allowed=allowed, pattern=pattern, required=required)


def read(shape: type[Shape], data: Mapping[str, Any]) -> Shape:
    """`data` checked against `shape`; every problem in one 422 (one problem: its own sentence and code)."""
    try:
        return shape.model_validate(data)
    except pydantic.ValidationError as refused:
        problems = [_problem(shape, error) for error in refused.errors(include_url=False)]
    fields: dict[str, str] = {}
    for field, message, _code in problems:
        fields.setdefault(field, message)
    if len(fields) == 1:
        field, message, code = problems[0]
        raise ValidationError(message, code=code, fields=fields)
    raise ValidationError(_PLURAL_MESSAGE.format(count=len(fields)), fields=fields)


def _problem(shape: type[Shape], error: Mapping[str, Any]) -> tuple[str, str, str]:
    """(field, sentence, code) for one of pydantic's errors: a reader's own sentence, or what the declaration
    says of a field that is missing or of an object that is not one."""
    location = [part for part in error["loc"] if isinstance(part, str)]
    field = location[-1] if location else "body"
    declared = _declared(shape, location)
    if isinstance(declared, Reads):
        if error["type"] != "missing":
            return field, error["msg"], error["type"]
        try:
            declared.check(field, None)
        except PydanticCustomError as refused:
            return field, refused.message(), refused.type
    if isinstance(declared, type) and issubclass(declared, Shape):
        code, message = declared.refusal
        return field, message, code
    return field, f"Please give the {field.replace('_', ' ')}.", "invalid"


def _declared(shape: type[Shape], location: list[str]) -> Any:
    """The Reads marker or nested Shape declared at `location` (by field name or alias)."""
    current: Any = shape
    for part in location:
        if not (isinstance(current, type) and issubclass(current, Shape)):
            return None
        found = next((f for name, f in current.model_fields.items() if part in (name, f.alias)), None)
        if found is None:
            return None
        current = next((m for m in found.metadata if isinstance(m, Reads)), None) or _shape_in(found.annotation)
    return current


def _shape_in(annotation: Any) -> type[Shape] | None:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, Shape):
            return candidate
    return None
