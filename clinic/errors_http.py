"""How errors reach people: JSON in the contract's shape for the API, a calm page for browsers."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from clinic.errors import DomainError
from clinic.extensions import db

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: ("bad_request", "We could not read that request."),
    401: ("unauthorized", "Please sign in first."),
    403: ("forbidden", "Your account cannot do this."),
    404: ("not_found", "We could not find that."),
    405: ("method_not_allowed", "That action is not available here."),
    413: ("too_large", "That request is too large."),
    415: ("unsupported_media_type", "Please send JSON."),
    429: ("too_many_requests", "Too many attempts. Please wait a few minutes and try again."),
}
RACE_MESSAGE = "Someone else changed this at the same moment. Please try again."


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    if wants_json():
        return jsonify(error={"code": code, "message": message, "fields": fields or {}}), status
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        db.session.rollback()
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return error_response(400, "csrf_failed", "This form has expired or was not sent from our site. "
                              "Please reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code, message = HTTP_MESSAGES.get(error.code, ("error", error.description or "Something went wrong."))
        return error_response(error.code or 500, code, message)

    @app.errorhandler(IntegrityError)
    @app.errorhandler(OperationalError)
    def _race(error: DBAPIError):
        # Unique, exclusion, deadlock and serialization failures come from racing requests: a 409 to retry.
        db.session.rollback()
        if isinstance(error, OperationalError) and not _is_race(error):
            raise error
        log.info("database race answered 409: %s", error.orig)
        return error_response(409, "conflict", RACE_MESSAGE)

    @app.errorhandler(500)
    def _server(error):
        return error_response(500, "server_error", "Something went wrong on our side. Nothing was changed; "
                              "please try again.")


def _is_race(error: OperationalError) -> bool:
    text = str(error.orig).lower()
    return any(word in text for word in ("deadlock", "could not serialize", "database is locked", "lock timeout"))
