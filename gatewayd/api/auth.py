"""Bearer-key authentication and scope checks for the JSON API."""

from __future__ import annotations

from aiohttp import web

from gatewayd import keys
from gatewayd.errors import Forbidden, Unauthorized
from gatewayd.store.apikeys import ApiKeyRow

# A typed request key where this aiohttp has them (silences NotAppKeyWarning); else the plain string.
_REQUEST_KEY = (web.RequestKey("gatewayd.api_key", ApiKeyRow) if hasattr(web, "RequestKey")
                else "gatewayd.api_key")


async def authenticate(request: web.Request) -> ApiKeyRow:
    """The API key behind `Authorization: Bearer …`; 401 when absent, malformed or revoked."""
    cached = request.get(_REQUEST_KEY)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    return await authenticate_token(request, token.strip())


async def authenticate_token(request: web.Request, token: str) -> ApiKeyRow:
    """The API key `token` (however the client carried it: header, JSON-RPC param, Basic
    password); 401 when unknown or revoked."""
    row = await request.app[keys.API_KEYS].verify(token)
    if row is None:
        raise Unauthorized("invalid or revoked API key")
    request[_REQUEST_KEY] = row
    return row


def check_scope(row: ApiKeyRow, scope: str) -> ApiKeyRow:
    """`row` if it holds `scope` (admin holds every scope); 403 otherwise."""
    if scope not in row.scopes and "admin" not in row.scopes:
        raise Forbidden(f"this API key lacks the '{scope}' scope")
    return row


async def require_scope(request: web.Request, scope: str) -> ApiKeyRow:
    """The authenticated key if it holds `scope` (admin holds every scope); 403 otherwise."""
    return check_scope(await authenticate(request), scope)


def actor(key: ApiKeyRow) -> str:
    """Who did it, as the audit columns (created_by, by) record an API caller."""
    return f"api key {key.name}"
