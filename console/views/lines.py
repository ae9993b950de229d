"""Lines (modems): state, signal, operator, SIM identity, caps used today, details, a live probe
and USSD requests (a prepaid SIM's balance)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from console.forms import actor, text
from console.render import field_errors, redirect, render, t
from console.routing import Pages

from gatewayd import keys
from gatewayd.api.modems import ask_ussd, identities_of
from gatewayd.errors import ProblemError
from gatewayd.modem.errors import ModemError
from gatewayd.modem.events import LineStatus
from gatewayd.store import console_reads

pages = Pages()


def statuses(request: web.Request) -> list[LineStatus]:
    return list(request.app[keys.MODEM_STATUS]()) if keys.MODEM_STATUS in request.app else []


def day_start(request: web.Request, now: datetime) -> datetime:
    tz = ZoneInfo(request.app[keys.SETTINGS].site.timezone)
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def caps_used(request: web.Request, lines: list[LineStatus]) -> dict[str, dict[str, Any]]:
    """SMS each line sent this hour and today against its caps (settings.outbound)."""
    outbound = request.app[keys.SETTINGS].outbound
    now = request.app[keys.CLOCK].now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    today = day_start(request, now)
    out = {}
    async with request.app[keys.DB].read() as conn:
        for line in lines:
            out[line.name] = {
                "hour": await console_reads.parts_sent_between(conn, [line.name], hour, now + timedelta(seconds=1)),
                "day": await console_reads.parts_sent_between(conn, [line.name], today, now + timedelta(seconds=1)),
                "hour_cap": outbound.per_line_per_hour, "day_cap": outbound.per_line_per_day}
    return out


@pages.get("/lines", name="lines")
async def lines(request: web.Request) -> web.Response:
    found = statuses(request)
    names = await identities_of(request.app).of({s.name: s for s in found})
    return await render(request, "lines/list.html", {"lines": found, "caps": await caps_used(request, found),
                                                     "identities": names})


def _status(request: web.Request) -> LineStatus:
    name = request.match_info["name"]
    for status in statuses(request):
        if status.name == name:
            return status
    raise web.HTTPNotFound()


async def _detail(request: web.Request, status: LineStatus, **results: Any) -> web.Response:
    """The line's page, with what a probe or a USSD request just answered."""
    context = {"line": status, "probe": None, "probe_error": None, "ussd": None, "ussd_error": None,
               "ussd_code": "", "identity_errors": {}, **results}
    context["identity"] = (await identities_of(request.app).of({status.name: status}))[status.name]
    context["caps"] = (await caps_used(request, [status]))[status.name]
    return await render(request, "lines/detail.html", context)


@pages.get("/lines/{name}", name="line")
async def line(request: web.Request) -> web.Response:
    return await _detail(request, _status(request))


@pages.post("/lines/{name}/probe", role="admin", name="line_probe")
async def probe(request: web.Request) -> web.Response:
    """Read the modem live (identity, SIM, registration, signal, storage) through its session."""
    status = _status(request)
    result, error = None, None
    if keys.POOL not in request.app:
        error = t(request, "lines.no_pool")
    else:
        try:
            result = await request.app[keys.POOL].probe(status.name)
        except (ModemError, OSError, TimeoutError) as exc:  # the page shows the modem's reason
            error = str(exc) or exc.__class__.__name__
    return await _detail(request, status, probe=result, probe_error=error)


@pages.post("/lines/{name}/ussd", role="admin", name="line_ussd")
async def ussd(request: web.Request) -> web.Response:
    """Ask the line's network a USSD code (a prepaid balance) and show the answer on the page."""
    status = _status(request)
    code = text(await request.post(), "code", 64)
    answer, error = None, None
    try:
        answer = await ask_ussd(request.app, status.name, code, who=actor(request))
    except ProblemError as exc:
        error = next(iter(field_errors(exc, request).values()))
    return await _detail(request, status, ussd=answer, ussd_error=error, ussd_code=code.strip())


@pages.post("/lines/{name}/identity", role="admin", name="line_identity")
async def set_identity(request: web.Request) -> web.StreamResponse:
    """An administrator names the line and, for a SIM that does not store it, gives its number."""
    status = _status(request)
    form = await request.post()
    try:
        await identities_of(request.app).set(status.name, label=text(form, "label", 40),
                                             number=text(form, "number", 40) or None, actor=actor(request))
    except ProblemError as exc:
        return await _detail(request, status, identity_errors=field_errors(exc, request))
    raise redirect(request, f"/lines/{status.name}", "saved")


@pages.post("/lines/{name}/accept-sim", role="admin", name="line_accept_sim")
async def accept_sim(request: web.Request) -> web.StreamResponse:
    status = _status(request)
    request.app[keys.POOL].accept_sim(status.name)
    raise redirect(request, f"/lines/{status.name}", "saved")
