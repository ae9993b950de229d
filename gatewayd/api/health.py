"""GET /healthz: liveness (the process and its database answer); GET /readyz: readiness (a
line can send and the database takes writes). Both without auth. Restart on /healthz; route
traffic and page people on /readyz."""

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


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """503 with the reasons when no line can send or the database cannot be written."""
    from gatewayd.alerts.readiness import readiness

    statuses = request.app[keys.MODEM_STATUS]() if keys.MODEM_STATUS in request.app else []
    reasons = await readiness(request.app[keys.DB], statuses)
    body = {"ready": not reasons, "reasons": reasons}
    return web.json_response(body, status=503 if reasons else 200)
