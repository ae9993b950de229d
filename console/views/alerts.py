"""Notifications (the alerts, acknowledged by a user) and Settings › E-mail (its state, the
outbox, and the "send a test e-mail" button). Thin: the alert service and the e-mail sender decide."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from console.forms import actor, text
from console.render import field_errors, redirect, render
from console.routing import Pages
from console.state import LANG

from gatewayd import keys
from gatewayd.alerts.texts import describe
from gatewayd.email.sender import send_test
from gatewayd.errors import ProblemError
from gatewayd.store import alerts as alert_store
from gatewayd.store import email_outbox

pages = Pages()
EVENT_KINDS = ("campaign_paused", "campaign_completed")


def alert_rows(request: web.Request, alerts: list[alert_store.Alert]) -> list[dict[str, Any]]:
    lang = request.get(LANG, "en")
    rows = []
    for a in alerts:
        resolved = a.state == "resolved" and a.kind not in EVENT_KINDS
        rows.append({"alert": a, "text": describe(a.kind, a.params, lang).text,
                     "recovery": describe(a.kind, a.params, lang, "resolved").text if resolved else None})
    return rows


@pages.get("/notifications", role="viewer", name="notifications")
async def notifications(request: web.Request) -> web.Response:
    alerts = await alert_store.recent(request.app[keys.DB], limit=100)
    db_incident = request.app[keys.ALERTS].db_incident
    return await render(request, "notifications.html", {"rows": alert_rows(request, alerts),
                                                        "db_incident": db_incident})


@pages.post("/notifications/acknowledge", role="operator", name="notifications_ack")
async def acknowledge(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw = text(form, "id", 20)
    await request.app[keys.ALERTS].acknowledge(actor(request), int(raw) if raw.isdigit() else None)
    raise redirect(request, "/notifications", "saved")


async def _email_page(request: web.Request, *, outcome: str | None = None, error: str | None = None,
                      to: str = "", status: int = 200) -> web.Response:
    db = request.app[keys.DB]
    return await render(request, "settings/email.html", {
        "email": request.app[keys.SETTINGS].email, "alerts": request.app[keys.SETTINGS].alerts,
        "forwarding": request.app[keys.SETTINGS].forwarding, "sender": request.app[keys.EMAIL].status,
        "counts": await email_outbox.counts(db), "outbox": await email_outbox.recent(db, limit=20),
        "outcome": outcome, "error": error, "to": to}, status=status)


@pages.get("/settings/email", role="admin", name="settings_email")
async def email_settings(request: web.Request) -> web.Response:
    return await _email_page(request)


@pages.post("/settings/email/test", role="admin", name="settings_email_test")
async def email_test(request: web.Request) -> web.Response:
    form = await request.post()
    to = text(form, "to", 254).strip()
    try:
        await send_test(request.app[keys.EMAIL], to, request.get(LANG, "en"))
    except ProblemError as exc:
        return await _email_page(request, error="; ".join(field_errors(exc, request).values()), to=to,
                                 status=exc.status)
    return await _email_page(request, outcome=to, to=to)
