"""/api/v1/keys (admin scope): the API keys, when each was last used, never their secret."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.openapi import describe
from gatewayd.clock import utc_iso
from gatewayd.store import apikeys as key_store

routes = web.RouteTableDef()


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the key's public start (gw_<prefix>_…), to tell keys apart")
    scopes: list[str]
    created_at: str
    last_used_at: str | None = Field(description="last request made with it (recorded at most once a minute)")
    revoked_at: str | None


class KeyList(BaseModel):
    keys: list[KeyOut]
    next_cursor: str | None


def key_json(k: key_store.ApiKeyRow) -> dict[str, Any]:
    return {"id": k.id, "name": k.name, "prefix": k.prefix, "scopes": sorted(k.scopes),
            "created_at": utc_iso(k.created_at), "last_used_at": utc_iso(k.last_used_at),
            "revoked_at": utc_iso(k.revoked_at)}


@routes.get("/api/v1/keys")
@describe("API keys with when each was last used", tag="keys", scope="admin", responses={200: KeyList})
async def list_keys(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    rows = await key_store.list_all(request.app[keys.DB])
    return web.json_response({"keys": [key_json(k) for k in rows], "next_cursor": None})
