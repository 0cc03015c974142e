"""Domain errors: each carries a stable code and a sentence a patient understands."""
from __future__ import annotations


class DomainError(Exception):
    status = 422
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}
        self.status = status or self.status

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationError(DomainError):
    status, code = 422, "invalid"


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"

    def __init__(self, message: str = "We could not find that.", **kwargs):
        super().__init__(message, **kwargs)


class Conflict(DomainError):
    status, code = 409, "conflict"
