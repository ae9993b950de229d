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
    # A full disk leaves reads working: the box is degraded (it refuses new work), not down.
    write_failure = request.app[keys.DB].write_failure
    ok = db_ok
    healthy = ok and write_failure is None and ready == len(statuses)
    database: dict[str, object] = {"ok": db_ok, "writable": write_failure is None}
    if write_failure is not None:
        database["error"] = write_failure
    body = {
        "status": "ok" if healthy else ("degraded" if ok else "down"),
        "version": __version__,
        "database": database,
        "modems": {"ready": ready, "total": len(statuses)},
    }
    return web.json_response(body, status=200 if ok else 503)
