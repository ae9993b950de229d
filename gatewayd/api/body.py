"""Request bodies: JSON parsing and pydantic validation mapped to named-field problems."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from gatewayd.errors import BadRequest, FieldError, InvalidInput

M = TypeVar("M", bound=BaseModel)

ROW_ID_MAX = 2**63 - 1  # SQLite INTEGER; a larger Python int makes sqlite3 raise OverflowError (a 500)
RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]


async def read_json(request: web.Request) -> Any:
    """The decoded JSON body; 400 naming the problem when it is missing or malformed."""
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object", [FieldError("body", "empty")])
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8", [FieldError("body", "not UTF-8")]) from None
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise BadRequest(f"request body is {msg}", [FieldError("body", msg)]) from None
    except RecursionError:
        msg = "nested too deeply (arrays and objects inside one another)"
        raise BadRequest(f"request body is {msg}", [FieldError("body", msg)]) from None
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        msg = f"not usable JSON: {exc}"
        raise BadRequest(f"request body is {msg}", [FieldError("body", msg)]) from None


def field_path(loc: tuple[int | str, ...]) -> str:
    """pydantic location → 'to[3]' / 'recipients[0].number' style path."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def validation_problem(exc: ValidationError) -> InvalidInput:
    errors = []
    for err in exc.errors():
        path = field_path(tuple(err["loc"]))
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        errors.append(FieldError(path, msg))
    first = errors[0]
    return InvalidInput(first.field, first.message, errors[1:])


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Read and validate the body as `model`; 400 for bad JSON, 422 naming every bad field."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None
