"""Reading JSON request bodies field by field, with errors a patient understands and the field named."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, request

from clinic.errors import BadRequest, ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^\+?[0-9 ().\-]{7,25}$")


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
        return date.fromisoformat(value)
    except ValueError:
        _invalid(field, f"The {label} must be a real date written YYYY-MM-DD.")


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
    return parsed


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
