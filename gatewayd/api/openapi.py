"""The OpenAPI 3.1 document of the JSON API, built from the app's routes (GET /api/v1/openapi.json).

Describe a route by decorating its handler, under the RouteTableDef decorator:

    @routes.get("/api/v1/things/{id}")
    @describe("One thing", tag="things", scope="read", responses={200: ThingOut, 404: None})
    async def get_thing(request): ...

`body` and response values may be pydantic models (their JSON Schema lands in components), plain
JSON Schema dicts, or None (a problem-JSON error / no body). Routes that cannot be decorated can be
registered with `register("GET", "/api/v1/x", {...operation...})`, and a team that keeps its
operations as a `{path: {method: operation}}` fragment adds its provider function to PROVIDERS
("module:function", imported when the document is built). A route described nowhere still appears
(summary from its docstring) but is marked `x-undocumented`, which tests/outbound/test_openapi.py refuses.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import BaseModel

from gatewayd import __version__
from gatewayd.api import schemas as S
from gatewayd.errors import BadRequest, FieldError

routes = web.RouteTableDef()

F = TypeVar("F", bound=Callable[..., Any])
Response = type[BaseModel] | dict[str, Any] | str | None

REGISTRY: dict[tuple[str, str], dict[str, Any]] = {}
# Fragment providers: functions returning {path: {method: operation}}.
PROVIDERS: list[str] = [
    "gatewayd.inbound.component:openapi_paths",
]
_MODELS: dict[str, type[BaseModel]] = {}
_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 400: "Malformed request",
                401: "Missing or invalid API key", 403: "The key lacks the scope", 404: "Not found",
                409: "Conflict with the current state", 413: "Body too large", 422: "Invalid input (field named)",
                429: "Rate limit or daily cap reached (see Retry-After)", 503: "Unavailable"}
_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")
_DIGITS = re.compile(r"\(\?P<([^>]+)>(?:\\d|\[0-9\])\+\)")  # {id:\d+}'s regex: an integer path parameter

# Query parameters whose meaning is the same on every list: declared with their type, so clients
# and fuzzers send what the server takes, and an empty value of a typed one is refused (400).
KNOWN_QUERY: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 500},
    "since": {"type": "string", "format": "date-time"},
    "until": {"type": "string", "format": "date-time"},
    "unread": {"type": "boolean"},
}
ROW_ID: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}

# Answer headers, declared once in components and referenced from the answers that carry them.
HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}},
    "Idempotent-Replayed": {"description": "`true` when this is the stored answer to an earlier request with the "
                                           "same Idempotency-Key and body (nothing was sent again)",
                            "schema": {"type": "string", "enum": ["true"]}},
    "RateLimit-Limit": {"description": "requests this key's burst holds (when a rate limit is configured)",
                        "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "requests left in the burst now", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "seconds until the burst is whole again", "schema": {"type": "integer"}},
    "Allow": {"description": "the methods the path takes", "schema": {"type": "string"}},
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names every offending field.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}


def _schema_of(value: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    _MODELS[value.__name__] = value
    return {"$ref": f"#/components/schemas/{value.__name__}"}


def _response(status: int, value: Response) -> dict[str, Any]:
    if status == 204:
        return {"description": _STATUS_TEXT[204]}
    if value is None:
        schema: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}
        media = "application/problem+json" if status >= 400 else "application/json"
        return {"description": _STATUS_TEXT.get(status, "Error"), "content": {media: {"schema": schema}}}
    if isinstance(value, str):
        return {"description": value}
    if isinstance(value, dict) and "description" in value and "content" in value:  # a response object: files()
        return value
    return {"description": _STATUS_TEXT.get(status, "OK"), "content": {"application/json": {"schema": _schema_of(value)}}}


def files(description: str, *media: str, json_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response object for a download: each media type (`text/csv`…) as a binary body, and JSON
    with `json_schema` when the route can also answer JSON."""
    content: dict[str, Any] = {m: {"schema": {"type": "string", "format": "binary"}} for m in media}
    if json_schema is not None:
        content["application/json"] = {"schema": json_schema}
    return {"description": description, "content": content}


def operation(summary: str, *, tag: str, scope: str | None = None, body: type[BaseModel] | dict[str, Any] | None = None,
              responses: Mapping[int, Response] | None = None, query: Mapping[str, str | dict[str, Any]] | None = None,
              headers: Mapping[str, str] | None = None, description: str | None = None) -> dict[str, Any]:
    """An OpenAPI operation object. `query`/`headers` map a name to its description (or a schema
    dict with a 'description'); 401/403 are added when a `scope` is required."""
    op: dict[str, Any] = {"summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    params: list[dict[str, Any]] = []
    for where, items in (("query", query or {}), ("header", headers or {})):
        for name, spec in items.items():
            schema = dict(KNOWN_QUERY.get(name, {"type": "string"})) if where == "query" else {"type": "string"}
            desc = spec
            if isinstance(spec, dict):
                desc = spec.get("description", "")
                schema = {k: v for k, v in spec.items() if k != "description"} or schema
            params.append({"name": name, "in": where, "required": False, "description": desc, "schema": schema})
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema_of(body)}}}
    out = {str(code): _response(code, value) for code, value in (responses or {200: "OK"}).items()}
    if scope is None:
        op["security"] = []
    else:
        op["x-scope"] = scope
        out.setdefault("401", _response(401, None))
        out.setdefault("403", _response(403, None))
    op["responses"] = out
    return op


def describe(summary: str, **kwargs: Any) -> Callable[[F], F]:
    """Attach an operation (see `operation`) to a route handler."""
    op = operation(summary, **kwargs)

    def deco(handler: F) -> F:
        handler.__openapi__ = op  # type: ignore[attr-defined]
        return handler

    return deco


def register(method: str, path: str, op: dict[str, Any]) -> None:
    """Describe a route whose handler cannot carry the decorator."""
    REGISTRY[(method.upper(), path)] = op


def _fragments() -> dict[tuple[str, str], dict[str, Any]]:
    import importlib

    found: dict[tuple[str, str], dict[str, Any]] = {}
    for spec in PROVIDERS:
        module_name, _, func = spec.partition(":")
        try:
            provider = getattr(importlib.import_module(module_name), func)
        except (ImportError, AttributeError):
            continue  # that part is not installed in this build
        for path, methods in provider().items():
            for method, op in methods.items():
                found[(method.upper(), _PARAM.sub(r"{\1}", path))] = op
    return found


def route_path(route: web.AbstractRoute) -> str | None:
    info = route.get_info()
    return info.get("path") or info.get("formatter")


def documented_routes(app: web.Application) -> list[tuple[str, str, web.AbstractRoute]]:
    """(METHOD, path, route) of every API and operations route of the app."""
    out = []
    for route in app.router.routes():
        path = route_path(route)
        if path is None or route.method in ("HEAD", "OPTIONS", "*"):
            continue
        if path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics"):
            out.append((route.method, _PARAM.sub(r"{\1}", path), route))
    return out


def _path_operation_id(method: str, path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{method.lower()} {path}").strip("_")


def _operation_id(method: str, path: str, route: web.AbstractRoute) -> str:
    """The handler's module and name (`messages_send`), which client generators turn into method names."""
    handler = route.handler
    name, module = getattr(handler, "__name__", ""), getattr(handler, "__module__", "")
    if not name or name.startswith("_") or name == "<lambda>" or not module.startswith("gatewayd"):
        return _path_operation_id(method, path)
    return f"{module.rsplit('.', 1)[-1]}_{name}"


def _unique_operation_ids(paths: dict[str, dict[str, Any]]) -> None:
    """Operation ids must be unique: a handler serving several routes gets one per method and path."""
    seen: dict[str, int] = {}
    for methods in paths.values():
        for op in methods.values():
            seen[op["operationId"]] = seen.get(op["operationId"], 0) + 1
    for path, methods in paths.items():
        for method, op in methods.items():
            if seen[op["operationId"]] > 1:
                methods[method] = {**op, "operationId": _path_operation_id(method, path)}


def _integer_params(route: web.AbstractRoute) -> set[str]:
    """Path parameters the route only matches as digits ({id:\\d+})."""
    pattern = route.get_info().get("pattern")
    return set(_DIGITS.findall(pattern.pattern)) if pattern is not None else set()


def _complete(method: str, path: str, route: web.AbstractRoute, op: dict[str, Any]) -> dict[str, Any]:
    """What every operation of this server shares, added to its own description: typed path
    parameters, the error answers the server's common code gives (400 malformed body or empty typed
    query parameter, 404 unknown id, 422 invalid input, 413 body too large, 401/403 without a key or
    its scope), and the answer headers (Retry-After, Idempotent-Replayed, RateLimit-*)."""
    integers = _integer_params(route)
    params = [dict(p) for p in op.get("parameters", [])]
    declared = {p["name"] for p in params if p.get("in") == "path"}
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in _PARAM.findall(path) if n not in declared] + params
    for p in params:
        if p.get("in") == "path" and p["name"] in integers:
            p["schema"] = dict(ROW_ID)
    if params:
        op["parameters"] = params
    out = {code: dict(answer) for code, answer in op.get("responses", {}).items()}
    typed_query = any(p.get("in") == "query" and _typed(p.get("schema", {})) for p in params)
    queries = any(p.get("in") == "query" for p in params)
    if "requestBody" in op or typed_query:
        out.setdefault("400", _response(400, None))
    if "requestBody" in op:
        out.setdefault("413", _response(413, None))
    if "requestBody" in op or queries or any(p.get("in") == "header" for p in params):
        out.setdefault("422", _response(422, None))
    if any(p.get("in") == "path" for p in params):
        out.setdefault("404", _response(404, None))
    if op.get("security") != [] and (op.get("x-scope") or op.get("security")):
        out.setdefault("401", _response(401, None))
        out.setdefault("403", _response(403, None))
    for code, answer in out.items():
        if not answer.get("content") and code not in ("204", "304") and not code.startswith(("2", "3")):
            answer.update({**_response(int(code), None), "description": answer.get("description")
                           or _STATUS_TEXT.get(int(code), "Error")})
    idempotent = any(p.get("in") == "header" and p["name"] == "Idempotency-Key" for p in params)
    limited = "429" in out
    for code, answer in out.items():
        headers = dict(answer.get("headers", {}))
        if code in ("429", "503", "507"):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        if idempotent and code.startswith("2"):
            headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
        if limited:
            for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
                headers[name] = {"$ref": f"#/components/headers/{name}"}
        if headers:
            answer["headers"] = headers
    op["responses"] = out
    return op


def _typed(schema: dict[str, Any]) -> bool:
    """A query parameter whose empty value means nothing (an integer, a boolean, a time…)."""
    kind = schema.get("type")
    return kind in ("integer", "number", "boolean") or bool(schema.get("format")) or "enum" in schema


def build_document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document of every API route of `app`."""
    paths: dict[str, dict[str, Any]] = {}
    fragments = _fragments()
    for method, path, route in documented_routes(app):
        op = (getattr(route.handler, "__openapi__", None) or REGISTRY.get((method, path))
              or fragments.get((method, path)))
        if op is None:
            doc = (route.handler.__doc__ or "").strip().splitlines()
            op = {"summary": doc[0] if doc else f"{method} {path}", "x-undocumented": True,
                  "responses": {"200": {"description": "OK"}}}
        op = _complete(method, path, route, dict(op))
        op.setdefault("operationId", _operation_id(method, path, route))
        paths.setdefault(path, {})[method.lower()] = op
    _unique_operation_ids(paths)
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA, **S.COMPONENTS}
    for name, model in sorted(_MODELS.items()):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "gatewayd API", "version": __version__,
                 "description": "SMS gateway appliance: send and follow SMS, inbound messages, opt-outs, "
                                "contacts and campaigns. Authenticate with `Authorization: Bearer <key>`; "
                                "each operation names the scope it needs in `x-scope`."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas,
                       "headers": HEADERS},
    }


register("GET", "/healthz", operation(
    "Liveness: database and modem lines (no key needed)", tag="operations",
    responses={200: {"type": "object", "properties": {
        "status": {"enum": ["ok", "degraded", "down"]}, "version": {"type": "string"},
        "database": {"type": "object"}, "modems": {"type": "object"}}},
        503: "the database does not answer"}))

register("GET", "/readyz", operation(
    "Readiness: a line can send and the database takes writes (no key needed)", tag="operations",
    responses={200: {"type": "object", "properties": {"ready": {"type": "boolean"}, "reasons": {
        "type": "array", "items": {"type": "string"}}}},
        503: "not ready: `reasons` says why (no line can send, the database cannot be written)"}))


@routes.get("/api/v1/openapi.json")
@describe("This OpenAPI document", tag="meta", responses={200: {
    "type": "object", "required": ["openapi", "info", "paths"], "properties": {
        "openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}}}})
async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document (no key needed: it holds no data)."""
    return web.json_response(build_document(request.app))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def typed_query_guard() -> Middleware:
    """A middleware refusing an empty or repeated typed query parameter (`?limit=`, `?since=`,
    `?unread=`, `?limit=5&limit=9`) with a 400 naming it: the document declares those parameters as an integer, a time or
    a boolean, and an empty string is none of them (it used to be read as 'absent'). The document is
    the one place that says which parameters are typed; its map is built on the first API request."""
    typed: dict[tuple[str, str], frozenset[str]] = {}

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.query and request.path.startswith("/api/"):
            if not typed:
                typed.update(_typed_query_map(request.app))
            route = request.match_info.route
            path = route_path(route)
            names = typed.get((route.method, _PARAM.sub(r"{\1}", path))) if path else None
            for name in names or ():
                values = request.query.getall(name, [])
                if len(values) > 1:  # the handlers read the first one: refuse rather than guess
                    raise BadRequest(f"query parameter {name!r} is given {len(values)} times: give it once",
                                     [FieldError(name, "repeated")])
                if values and not values[0].strip():
                    raise BadRequest(f"query parameter {name!r} is empty: give a value or leave it out",
                                     [FieldError(name, "empty")])
        return await handler(request)

    return guard


def _typed_query_map(app: web.Application) -> dict[tuple[str, str], frozenset[str]]:
    out: dict[tuple[str, str], frozenset[str]] = {("", ""): frozenset()}  # never empty once built
    for path, methods in build_document(app)["paths"].items():
        for method, op in methods.items():
            out[(method.upper(), path)] = frozenset(
                p["name"] for p in op.get("parameters", []) if p.get("in") == "query" and _typed(p.get("schema", {})))
    return out
