"""/api/v1/modems: every line's state, signal, operator, SIM identity, queue depth and caps used."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.openapi import describe
from gatewayd.clock import utc_iso
from gatewayd.modem.events import LineState, LineStatus
from gatewayd.store import messages as message_store

routes = web.RouteTableDef()


class ModemOut(BaseModel):
    name: str
    state: str = Field(description="disconnected | opening | initialising | ready | degraded")
    signal: int | None = Field(None, description="RSSI 0-31 (+CSQ), null when unknown")
    operator: str | None = None
    imei: str | None = None
    imsi: str | None = None
    iccid: str | None = None
    queue_depth: int = Field(description="queued messages pinned to this line")
    caps: dict[str, Any] = Field(description="segments used / limit this minute, hour and day")


class ModemList(BaseModel):
    modems: list[ModemOut]
    unassigned_queue: int = Field(description="queued messages any line may take")


def _statuses(app: web.Application) -> list[LineStatus]:
    if keys.MODEM_STATUS in app:
        return app[keys.MODEM_STATUS]()
    settings = app[keys.SETTINGS]
    return [LineStatus(name=m.name, port=m.port, state=LineState.DISCONNECTED) for m in settings.modems]


@routes.get("/api/v1/modems")
@describe("Modem lines: health, SIM identity, queue and caps", tag="modems", scope="read",
          responses={200: ModemList})
async def list_modems(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    app = request.app
    async with app[keys.DB].read() as conn:
        depth = await message_store.queue_depth(conn)
    dispatcher = app[keys.DISPATCHER] if keys.DISPATCHER in app else None
    out = []
    for s in _statuses(app):
        item: dict[str, Any] = {
            "name": s.name, "port": s.port, "state": s.state.value, "signal": s.signal, "registered": s.registered,
            "roaming": s.roaming, "operator": s.operator, "manufacturer": s.manufacturer, "model": s.model,
            "imei": s.imei, "imsi": s.imsi, "iccid": s.iccid, "sim_mismatch": s.sim_mismatch,
            "last_error": s.last_error, "since": utc_iso(s.since), "queue_depth": depth.get(s.name, 0),
        }
        if dispatcher is not None:
            item.update(dispatcher.line_info(s.name))
        out.append(item)
    return web.json_response({"modems": out, "unassigned_queue": depth.get("", 0)})
