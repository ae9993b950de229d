"""Dashboard: traffic today and over 7 days, queue, campaigns running, lines, alerts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gatewayd import keys
from gatewayd.console import charts
from gatewayd.console.render import render
from gatewayd.console.routing import Pages

pages = Pages()


def line_statuses(request: web.Request) -> list[Any]:
    if keys.MODEM_STATUS in request.app:
        return list(request.app[keys.MODEM_STATUS]())
    return []


def line_alerts(lines: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(message key, values) for each line problem worth a banner."""
    alerts: list[tuple[str, dict[str, Any]]] = []
    for line in lines:
        if line.state.value in ("disconnected", "degraded"):
            alerts.append(("alert.line_down", {"line": line.name, "state": line.state.value}))
        if line.storage_total and line.storage_used is not None and line.storage_used >= line.storage_total:
            alerts.append(("alert.storage_full", {"line": line.name}))
        if line.sim_mismatch:
            alerts.append(("alert.sim_mismatch", {"line": line.name}))
    return alerts


@pages.get("/", name="dashboard")
async def dashboard(request: web.Request) -> web.Response:
    lines = line_statuses(request)
    alerts = line_alerts(lines)
    running: list[Any] = []
    if hasattr(keys, "CAMPAIGNS"):
        from gatewayd.store import campaigns as campaign_store

        running = await campaign_store.list_page(request.app[keys.DB], state="running", limit=20)
    traffic = None
    return await render(request, "dashboard.html", {
        "lines": lines, "alerts": alerts, "running": running, "traffic": traffic,
        "chart": charts.bar_chart(traffic["days"]) if traffic else None,
    })
