"""What the app accepts before any view runs: ids in URLs that a row can have, JSON bodies it can read, and form
fields and query strings without NUL bytes (no database column can store one: PostgreSQL refuses them).

Both are registered once in the app factory, so that every route (API and pages, now and later) gets them.
"""
from __future__ import annotations

from flask import Flask, abort, request

from clinic.errors import ValidationError

from clinic.fastjson import OrjsonProvider

MAX_ID = 2**31 - 1  # the largest id an INTEGER primary key holds on PostgreSQL (SQLite's go to 2^63-1)
MAX_JSON_DEPTH = 32  # far deeper than any request the API documents; shallow enough never to hit recursion limits


def _refuse_impossible_ids(endpoint: str | None, values: dict | None) -> None:
    """`<int:...>` arguments that no row can have (0, or above 2^31-1) are a 404, not a database overflow.

    Checked after routing rather than in the converter: a converter that refuses makes Werkzeug answer 405
    when the same path has a route for another method.
    """
    if any(type(v) is int and not 1 <= v <= MAX_ID for v in (values or {}).values()):
        abort(404)


def _refuse_nul_bytes() -> None:
    """A NUL byte typed or pasted into any form field or query string is refused with a sentence naming the field,
    on every page and form alike, before a view could hand it to the database."""
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            if "\x00" in key or "\x00" in value:
                message = "This holds a character we cannot store (a NUL byte). Please remove it and try again."
                raise ValidationError(message, code="bad_character", fields={key.replace("\x00", "")[:100]: message})


class BoundedJSONProvider(OrjsonProvider):
    """The app's JSON, written by orjson. JSON that nests too deeply is unreadable (a ValueError: Flask answers
    400, `get_json(silent=True)` gives None), never a RecursionError that escapes as a 500."""

    def loads(self, s, **kwargs):
        try:
            data = super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error
        if _depth(data) > MAX_JSON_DEPTH:
            raise ValueError("JSON nested too deeply")
        return data


def _depth(data) -> int:
    """How deeply lists and objects nest, counted without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((item, level + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def row_id(raw: str | None) -> int | None:
    """An id typed into a form or query string, or None when no row could have it."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def register(app: Flask) -> None:
    app.url_value_preprocessor(_refuse_impossible_ids)
    app.before_request(_refuse_nul_bytes)
    app.json = BoundedJSONProvider(app)
