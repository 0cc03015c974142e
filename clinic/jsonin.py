"""Reading JSON request bodies field by field, with errors a patient understands and the field named."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any, Callable

from email_validator import EmailNotValidError, validate_email
from flask import current_app, request

from clinic.errors import BadRequest, ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^\+?[0-9 ().\-]{7,25}$")
# Dates people and the calendar can mean: outside it, date arithmetic and time zones overflow (year 1, 9999).
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2100, 12, 31)
SANE_RANGE = "between January 1, 1900 and December 31, 2100"
# Control, format (bidirectional overrides, zero-width), private-use, unassigned and line/paragraph separators.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    data = request.get_json(silent=True, force=True)
    if data is None and request.get_data(cache=True):
        raise BadRequest("We could not read that request: it is not valid JSON.", code="malformed_json")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadRequest("Please send a JSON object.", code="malformed_json")
    return data


def each_field(readers: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run every field's reader and report all the problems in one 422, so a person fixes a form in one go
    instead of meeting its mistakes one submit at a time. Returns {name: value}."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, read in readers.items():
        try:
            values[name] = read()
        except ValidationError as error:
            problems.update(error.fields or {name: error.message})
    if len(problems) == 1:
        _invalid(*next(iter(problems.items())))
    if problems:
        raise ValidationError(f"Please correct the {len(problems)} details marked.", fields=problems)
    return values


def _invalid(field: str, message: str):
    raise ValidationError(message, fields={field: message})


def text(data: dict, field: str, *, label: str | None = None, required: bool = True, max_len: int = 200,
         multiline: bool = False) -> str | None:
    label = label or field.replace("_", " ")
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            _invalid(field, f"Please enter your {label}.")
        return None
    if not isinstance(value, str):
        _invalid(field, f"The {label} must be text.")
    value = value.strip()
    if len(value) > max_len:
        _invalid(field, f"The {label} can be at most {max_len} characters.")
    if _CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        _invalid(field, f"The {label} contains characters we cannot accept.")
    return value


def email(data: dict, field: str = "email", *, required: bool = True) -> str | None:
    value = text(data, field, label="email address", required=required, max_len=254)
    if value is None:
        return None
    try:
        # Reserved test domains (.test, .example) are accepted outside production: the demo uses them.
        testing = current_app.config.get("CLINIC_ENV") != "production"
        return validate_email(value, check_deliverability=False, test_environment=testing).normalized.lower()
    except EmailNotValidError:
        _invalid(field, "Please enter a valid email address, like name@example.com.")


def phone(data: dict, field: str = "phone", *, required: bool = True, label: str = "phone number") -> str | None:
    value = text(data, field, label=label, required=required, max_len=40)
    if value is not None and (not _PHONE.match(value) or sum(c.isdigit() for c in value) < 7):
        _invalid(field, f"Please enter a valid {label}, with at least 7 digits.")
    return value


def day(data: dict, field: str, *, required: bool = True, label: str | None = None) -> date | None:
    label = label or field.replace("_", " ")
    value = data.get(field)
    if value in (None, ""):
        if required:
            _invalid(field, f"Please give the {label} as YYYY-MM-DD.")
        return None
    if not isinstance(value, str):
        _invalid(field, f"The {label} must be a date written YYYY-MM-DD.")
    return parse_day(value, field, label)


def parse_day(value: str, field: str, label: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        _invalid(field, f"The {label} must be a real date written YYYY-MM-DD.")
    _in_sane_range(parsed, field, label)
    return parsed


def query_day(field: str, *, label: str | None = None, default: date | None = None) -> date | None:
    """A YYYY-MM-DD query argument (API and pages alike), `default` when it is absent or empty."""
    value = request.args.get(field, "")
    return parse_day(value, field, label or field.replace("_", " ")) if value else default


def _in_sane_range(day_: date, field: str, label: str) -> None:
    if not EARLIEST_DAY <= day_ <= LATEST_DAY:
        _invalid(field, f"The {label} must be {SANE_RANGE}.")


def instant(data: dict, field: str, *, label: str = "start time") -> datetime:
    """An ISO 8601 time that must carry its UTC offset (api.md: a time without one is refused)."""
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        _invalid(field, f"Please give the {label}, for example 2026-12-01T09:00:00-05:00.")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        _invalid(field, f"The {label} must be written like 2026-12-01T09:00:00-05:00.")
    if parsed.tzinfo is None:
        _invalid(field, f"The {label} must include its time zone offset, like 2026-12-01T09:00:00-05:00.")
    _in_sane_range(parsed.date(), field, label)
    return parsed


def person_name(data: dict, field: str = "name", *, label: str = "name", required: bool = True) -> str | None:
    """A name as people write it: some visible letters, nothing invisible that could disguise it."""
    value = text(data, field, label=label, required=required)
    if value is None:
        return None
    if any(unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in value):
        _invalid(field, f"The {label} contains characters we cannot accept.")
    if not any(c.isalpha() for c in value):
        _invalid(field, f"Please write the {label} with letters.")
    return value


def birth_date(data: dict, field: str = "date_of_birth", *, required: bool = False) -> date | None:
    """A real date of birth: in the past, and not before 1900."""
    try:
        born = day(data, field, required=required, label="date of birth")
    except ValidationError as error:
        if error.message.endswith(f"{SANE_RANGE}."):  # a birth date past 2100 or before 1900: say why plainly
            _invalid(field, "Please enter a real date of birth, in the past and not before 1900.")
        raise
    if born is not None and born >= date.today():
        _invalid(field, "Please enter a real date of birth, in the past.")
    return born


# One validator for a patient's details wherever they arrive (PATCH /patients/ID, a guest's booking).
_PATIENT_READERS = {
    "name": lambda data, required: person_name(data, required=required),
    "email": lambda data, required: email(data, required=required),
    "phone": lambda data, required: phone(data, required=required),
    "date_of_birth": lambda data, required: birth_date(data, required=required),
    "address": lambda data, required: text(data, "address", required=required, max_len=500, multiline=True),
}
PATIENT_FIELDS = tuple(_PATIENT_READERS)


def patient_details(data: dict, fields, *, required=("name", "email")) -> dict:
    """The given fields of a patient's details, validated; a field in `required` may not be empty."""
    return each_field({field: (lambda f=field: _PATIENT_READERS[f](data, f in required)) for field in fields})


def boolean(data: dict, field: str, *, default: bool = False) -> bool:
    value = data.get(field, default)
    if not isinstance(value, bool):
        _invalid(field, f"The {field.replace('_', ' ')} must be true or false.")
    return value


def integer(data: dict, field: str, *, required: bool = False, minimum: int = 0, maximum: int = 10**9,
            label: str | None = None) -> int | None:
    label = label or field.replace("_", " ")
    value = data.get(field)
    if value is None:
        if required:
            _invalid(field, f"Please give the {label}.")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        _invalid(field, f"The {label} must be a whole number from {minimum} to {maximum}.")
    return value


def string_list(data: dict, field: str, *, allowed: set[str] | None = None, pattern: str | None = None,
                required: bool = True) -> list[str]:
    value = data.get(field)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        _invalid(field, f"The {field.replace('_', ' ')} must be a list of text values.")
    for item in value:
        if allowed is not None and item not in allowed:
            _invalid(field, f"We do not know '{item[:40]}'. Choose from: {', '.join(sorted(allowed))}.")
        if pattern is not None and not re.fullmatch(pattern, item):
            _invalid(field, f"'{item[:40]}' is not written the expected way.")
    return list(dict.fromkeys(value))
