"""One middleware that turns every API error into RFC 9457 problem JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from gatewayd.errors import FieldError, ProblemError, TooManyRequests, Unauthorized
from gatewayd.store.errors import DiskFull

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://gatewayd.local/problems/"
JSON_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/jsonrpc/", "/3rdparty/", "/http_api/", "/index.php/")


def problem_response(status: int, title: str, detail: str, *, type_slug: str,
                     errors: list[FieldError] | None = None, instance: str | None = None,
                     headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_BASE + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [_error_json(e) for e in errors]
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False),
                        content_type="application/problem+json", headers=headers)


def _error_json(e: FieldError) -> dict[str, object]:
    """One entry of "errors": the field and its English message, plus the stable code and its
    parameters when the service gave one (clients may switch on the code)."""
    out: dict[str, object] = {"field": e.field, "message": e.message}
    if e.code is not None:
        out["code"] = e.code
        out["params"] = {k: _plain(v) for k, v in e.params.items()}
    return out


def _plain(value: object) -> object:
    """A parameter as JSON: scalars as they are, nested problems ({"code", "params"}) and lists of
    them kept as structures (a number's reason), anything else as text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


_HTTP_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
               405: "method-not-allowed", 413: "payload-too-large", 415: "unsupported-media-type"}


def undecodable_header(request: web.Request) -> str | None:
    """The name of the first header whose value held bytes that are not UTF-8, else None."""
    for name, value in request.headers.items():
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return name if name.isascii() else "(unnamed)"
    return None


@web.middleware
async def problem_middleware(request: web.Request,
                             handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    is_api = request.path.startswith(JSON_PATHS)
    bad = undecodable_header(request)
    if bad is not None:
        # aiohttp keeps bytes that are not UTF-8 as lone surrogates: anything that encodes, hashes or
        # stores such a value (an API key, a session cookie, a User-Agent) would fail later with a 500.
        return problem_response(400, "Bad request", f"the {bad} header is not valid UTF-8",
                                type_slug="bad-request", errors=[FieldError(bad, "not valid UTF-8")],
                                instance=request.path)
    try:
        return await handler(request)
    except ProblemError as exc:
        headers: dict[str, str] = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="gatewayd"'
        if not is_api and exc.status >= 400 and request.get("console"):
            raise
        return problem_response(exc.status, exc.title, exc.detail, type_slug=exc.type_slug,
                                errors=exc.errors, instance=request.path, headers=headers)
    except DiskFull as exc:
        # Not a bug of ours and not a hang: say which disk, so a person can free space.
        if not is_api:
            raise
        return problem_response(507, "Insufficient storage", f"{exc}; new work is refused until space is freed",
                                type_slug="storage-full", instance=request.path, headers={"Retry-After": "30"})
    except web.HTTPException as exc:
        if not is_api or exc.status < 400:
            raise
        detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 413:
            detail = f"request body larger than {request.app._client_max_size} bytes"
        return problem_response(exc.status, exc.reason, detail or exc.reason,
                                type_slug=_HTTP_SLUGS.get(exc.status, "http-error"), instance=request.path,
                                headers={k: v for k, v in exc.headers.items() if k.lower() == "allow"})
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not is_api:
            raise
        return problem_response(500, "Internal error", "the server hit an unexpected error; it is logged",
                                type_slug="internal", instance=request.path)
