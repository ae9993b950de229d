"""Dashboard: SMS sent and received today and over 7 days (chart), queue, campaigns running,
every line's state, signal, operator, caps used and SIM identity, and alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from console import charts
from console.render import formats, render, t
from console.routing import Pages

from gatewayd import keys
from gatewayd.modem.events import LineStatus
from gatewayd.store import console_reads

pages = Pages()
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def line_statuses(request: web.Request) -> list[LineStatus]:
    if keys.MODEM_STATUS in request.app:
        return list(request.app[keys.MODEM_STATUS]())
    return []


def line_alerts(lines: list[LineStatus]) -> list[tuple[str, dict[str, Any]]]:
    """(message key, values) for each line problem worth a banner."""
    alerts: list[tuple[str, dict[str, Any]]] = []  # (message key, its values; "number" picks singular or plural)
    for line in lines:
        if line.state.value in ("disconnected", "degraded"):
            alerts.append(("alert.line_down", {"line": line.name, "state": line.state.value}))
        if line.storage_total and line.storage_used is not None and line.storage_used >= line.storage_total:
            alerts.append(("alert.storage_full", {"line": line.name}))
        if line.sim_mismatch:
            alerts.append(("alert.sim_mismatch", {"line": line.name}))
    return alerts


def day_starts(now: datetime, tz: ZoneInfo, days: int = 7) -> list[datetime]:
    """Local midnights of the last `days` days, oldest first, plus the next midnight (end bound)."""
    today = now.astimezone(tz).date()
    out = []
    for back in range(days - 1, -2, -1):
        day = today - timedelta(days=back)
        out.append(datetime(day.year, day.month, day.day, tzinfo=tz))
    return out


async def traffic(request: web.Request) -> dict[str, Any]:
    """Counts per local day for 7 days, the queue and unknown messages (index ranges only)."""
    settings = request.app[keys.SETTINGS]
    tz = ZoneInfo(settings.site.timezone)
    bounds = day_starts(request.app[keys.CLOCK].now(), tz)
    names = set(request.app[keys.POOL].names())
    days = []
    async with request.app[keys.DB].read() as conn:
        lines = sorted(names | set(await console_reads.part_lines(conn)))
        for start, end in pairwise(bounds):
            sent = await console_reads.parts_sent_between(conn, lines, start, end)
            received = await console_reads.received_between(conn, start, end)
            days.append((start, sent, received))
        today = bounds[-2]
        first_today = await console_reads.first_id_since(conn, "messages", today)
        failed_today = await console_reads.failed_since_id(conn, first_today) if first_today else 0
        first_stop = await console_reads.first_id_since(conn, "opt_out_events", today)
        stop_today = await console_reads.opt_outs_since_id(conn, first_stop) if first_stop else 0
        latest_sent = await console_reads.latest_sent(conn, 5)
        latest_received = await console_reads.inbound_newest(conn, limit=5)
        queued = await console_reads.state_count(conn, "queued")
        scheduled = await console_reads.state_count(conn, "scheduled")
        sending = await console_reads.state_count(conn, "sending")
        unknown = await console_reads.state_count(conn, "unknown")
    data = {"days": days, "sent_today": days[-1][1], "received_today": days[-1][2],
            "sent_week": sum(d[1] for d in days), "received_week": sum(d[2] for d in days),
            "queued": queued + sending, "scheduled": scheduled, "unknown": unknown,
            "failed_today": failed_today, "stop_today": stop_today, "today": today,
            "latest_sent": latest_sent, "latest_received": latest_received}
    return data


@pages.get("/", name="dashboard")
async def dashboard(request: web.Request) -> web.Response:
    lines = line_statuses(request)
    alerts = line_alerts(lines)
    running: list[Any] = []
    if keys.CAMPAIGNS in request.app:
        from gatewayd.store import campaigns as campaign_store

        running = await campaign_store.list_page(request.app[keys.DB], state="running", limit=20)
    data = None
    chart = None
    caps: dict[str, Any] = {}
    if keys.OUTBOUND in request.app:
        data = await traffic(request)
        if data["unknown"]:
            alerts.append(("alert.unknown", {"number": data["unknown"], "n": formats(request).integer(data["unknown"])}))
        labels = [(f"{t(request, 'day.' + DAY_KEYS[d.weekday()])} {d.day}", s, r) for d, s, r in data["days"]]
        chart = charts.bar_chart(labels)
        from console.views.lines import caps_used

        caps = await caps_used(request, lines)
    ready = sum(1 for line in lines if line.state.value == "ready")
    return await render(request, "dashboard.html", {
        "lines_ready": ready, "lines": lines, "alerts": alerts, "running": running, "traffic": data, "chart": chart, "caps": caps})
