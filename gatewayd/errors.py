"""Domain errors that the HTTP layer turns into RFC 9457 problem JSON (one shape everywhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field as _field
from typing import Any

from gatewayd.problems import Problem


@dataclass(frozen=True)
class FieldError:
    """One offending input field (dotted path, e.g. `to[3]` or `modems.0.port`).

    `code` and `params` are set when a service raised it with a stable code (gatewayd.problems):
    the console renders those, never `message` (which is the English for the API)."""

    field: str
    message: str
    code: str | None = None
    params: Mapping[str, Any] = _field(default_factory=dict)


def field_error(problem: Problem, field: str) -> FieldError:
    """A coded problem as one entry of a 422's errors, about `field`."""
    return FieldError(field, problem.english(), problem.code, problem.params)


class ProblemError(Exception):
    """Base of every error that should reach a client as problem JSON.

    Two ways to raise one: `ProblemError(code="optout.blocked", field="to", number=n)` (a stable
    code and its parameters, rendered in English for the API and from the catalogue in the
    console), or `problems=[Problem(...), ...]` for several at once. The legacy form
    `ProblemError("English detail")` is kept for errors not yet given a code."""

    status = 500
    title = "Internal error"
    type_slug = "internal"

    def __init__(self, detail: str | None = None, errors: list[FieldError] | None = None, *,
                 code: str | None = None, field: str = "", problems: Sequence[Problem] = (),
                 **params: Any) -> None:
        found = ([Problem(code, field, params)] if code is not None else []) + list(problems)
        if found:
            coded = [FieldError(p.field, p.english(), p.code, p.params) for p in found]
            errors = coded + list(errors or [])
            if detail is None:
                detail = "; ".join(f"{p.field}: {p.english()}" if p.field else p.english() for p in found)
        detail = detail or self.title
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.problems: tuple[Problem, ...] = tuple(found)

    @property
    def code(self) -> str | None:
        """The first problem's code (None for a legacy English-only error)."""
        return self.problems[0].code if self.problems else None


class InvalidInput(ProblemError):
    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"

    def __init__(self, field: str = "", detail: str | None = None, more: list[FieldError] | None = None, *,
                 code: str | None = None, problems: Sequence[Problem] = (), **params: Any) -> None:
        if code is not None or problems:
            super().__init__(None, more, code=code, field=field, problems=problems, **params)
        else:
            super().__init__(f"{field}: {detail}", [FieldError(field, detail or ""), *(more or [])])


    @classmethod
    def of(cls, errors: Sequence[FieldError]) -> InvalidInput:
        """Several field errors at once (each keeps its code), the first one naming the detail."""
        exc = cls(errors[0].field, errors[0].message)
        exc.errors = list(errors)
        return exc


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
