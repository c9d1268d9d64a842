"""Domain errors: each carries an HTTP-like status, a stable code and the offending field."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


class Invalid(ServiceError):
    status = 400
    code = "validation_error"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RunLocked(ServiceError):
    status = 409
    code = "run_locked"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class Busy(ServiceError):
    status = 429
    code = "busy"
