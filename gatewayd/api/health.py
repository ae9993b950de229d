"""GET /healthz: liveness for load balancers and people (no auth)."""

from __future__ import annotations

from aiohttp import web

from gatewayd import __version__, keys

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    db_ok = await request.app[keys.DB].ping()
    statuses = request.app[keys.MODEM_STATUS]() if keys.MODEM_STATUS in request.app else []
    ready = sum(1 for s in statuses if s.state.value == "ready")
    ok = db_ok
    body = {
        "status": "ok" if ok and ready == len(statuses) else ("degraded" if ok else "down"),
        "version": __version__,
        "database": {"ok": db_ok},
        "modems": {"ready": ready, "total": len(statuses)},
    }
    return web.json_response(body, status=200 if ok else 503)
