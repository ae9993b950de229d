"""Domain errors that the HTTP layer turns into RFC 9457 problem JSON (one shape everywhere)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One offending input field (dotted path, e.g. `to[3]` or `modems.0.port`)."""

    field: str
    message: str


class ProblemError(Exception):
    """Base of every error that should reach a client as problem JSON."""

    status = 500
    title = "Internal error"
    type_slug = "internal"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(ProblemError):
    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"

    def __init__(self, field: str, detail: str, more: list[FieldError] | None = None) -> None:
        super().__init__(f"{field}: {detail}", [FieldError(field, detail), *(more or [])])


class BadRequest(ProblemError):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(ProblemError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(ProblemError):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class TooManyRequests(ProblemError):
    status = 429
    title = "Too many requests"
    type_slug = "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(ProblemError):
    status = 503
    title = "Service unavailable"
    type_slug = "unavailable"
