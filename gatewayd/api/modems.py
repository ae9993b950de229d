"""/api/v1/modems: every line's state, signal, operator, SIM identity, queue depth and caps used;
USSD requests on a line (a prepaid SIM's balance)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.openapi import describe
from gatewayd.clock import utc_iso
from gatewayd.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from gatewayd.line_identity import LineIdentities
from gatewayd.modem.errors import LineUnavailableError, UssdError
from gatewayd.modem.events import LineStatus
from gatewayd.modem.ussd import UssdAnswer, check_code
from gatewayd.store import messages as message_store

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


class ModemOut(BaseModel):
    name: str
    label: str = Field(description="what people call the line (set by an administrator; else its name)")
    number: str | None = Field(None, description="the SIM's own number (AT+CNUM), else the one an admin set")
    number_source: str | None = Field(None, description="sim | admin")
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
    return app[keys.POOL].statuses()


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
    statuses = _statuses(app)
    identities = await identities_of(app).of({st.name: st for st in statuses})
    for s in statuses:
        item: dict[str, Any] = {
            "name": s.name, **identities[s.name].json(), "port": s.port, "state": s.state.value, "signal": s.signal, "registered": s.registered,
            "roaming": s.roaming, "operator": s.operator, "manufacturer": s.manufacturer, "model": s.model,
            "imei": s.imei, "imsi": s.imsi, "iccid": s.iccid, "sim_mismatch": s.sim_mismatch,
            "last_error": s.last_error, "since": utc_iso(s.since), "queue_depth": depth.get(s.name, 0),
        }
        if dispatcher is not None:
            item.update(dispatcher.line_info(s.name))
        out.append(item)
    return web.json_response({"modems": out, "unassigned_queue": depth.get("", 0)})


def identities_of(app: web.Application) -> LineIdentities:
    if keys.LINE_IDENTITIES in app:
        return app[keys.LINE_IDENTITIES]
    return LineIdentities(app[keys.DB], app[keys.CLOCK], app[keys.POOL], app[keys.SETTINGS].sending.default_region)


class IdentityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field("", max_length=40, description="what people call the line; empty: its name")
    number: str | None = Field(None, max_length=40, description="the line's number, for a SIM that does not store it")


@routes.put("/api/v1/modems/{name}/identity")
@describe("Set a line's label and, for a SIM that does not store it, its number", tag="modems", scope="admin",
          body=IdentityBody, responses={204: None, 404: None, 422: None})
async def set_identity(request: web.Request) -> web.Response:
    key = await require_scope(request, "admin")
    body = await parse_body(request, IdentityBody)
    await identities_of(request.app).set(request.match_info["name"], label=body.label, number=body.number,
                                         actor=f"api key {key.name}")
    return web.Response(status=204)


class UssdBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64, description="a service code such as *100# (digits, * and #)")


class UssdOut(BaseModel):
    line: str
    code: str
    status: str = Field(description="done | more_input (the menu was closed) | ended_by_network | "
                                    "answered_elsewhere | not_supported | network_timeout")
    text: str | None = Field(None, description="the network's answer, decoded")
    at: str


@routes.post("/api/v1/modems/{name}/ussd")
@describe("Ask the network of a line a USSD code (a prepaid SIM's balance)", tag="modems", scope="admin",
          body=UssdBody, responses={200: UssdOut, 404: None, 409: None, 422: None, 503: None})
async def ussd(request: web.Request) -> web.Response:
    key = await require_scope(request, "admin")  # some codes move credit: not for send/read keys
    body = await parse_body(request, UssdBody)
    line = request.match_info["name"]
    answer = await ask_ussd(request.app, line, body.code, who=f"api key {key.name}")
    return web.json_response({"line": line, "code": check_code(body.code), "status": answer.status, "text": answer.text,
                              "at": utc_iso(request.app[keys.CLOCK].now())})


async def ask_ussd(app: web.Application, line: str, code: str, *, who: str) -> UssdAnswer:
    """The one path of the API and the console: checks, the pool's request, errors as problems."""
    try:
        code = check_code(code)
    except ValueError:
        raise InvalidInput("code", code="ussd.bad_code", code_given=code[:40]) from None
    names = app[keys.POOL].names()
    if line not in names:
        raise NotFound(code="line.unknown", field="line", line=line, known=", ".join(names) or "none")
    log.info("line %s: USSD %s asked by %s", line, code, who)
    try:
        return await app[keys.POOL].ussd(line, code)
    except LineUnavailableError as exc:
        raise Conflict(code="ussd.line_unavailable", line=line, why=exc.reason) from None
    except UssdError as exc:
        raise ServiceUnavailable(code="ussd.failed", line=line, reason=exc.problem.as_data()) from None
