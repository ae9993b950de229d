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
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from gatewayd import __version__

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
    return {"description": _STATUS_TEXT.get(status, "OK"), "content": {"application/json": {"schema": _schema_of(value)}}}


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
            schema = {"type": "string"}
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
        op = dict(op)
        names = _PARAM.findall(path)
        if names and not any(p.get("in") == "path" for p in op.get("parameters", [])):
            op["parameters"] = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                                for n in names] + list(op.get("parameters", []))
        op.setdefault("operationId", _operation_id(method, path, route))
        paths.setdefault(path, {})[method.lower()] = op
    _unique_operation_ids(paths)
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
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
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
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
@describe("This OpenAPI document", tag="meta", responses={200: {"type": "object"}})
async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document (no key needed: it holds no data)."""
    return web.json_response(build_document(request.app))
