"""Lifecycle of the e-mail sender, the alert service, SMS forwarding and SIM care in the app
(after outbound, webhooks and the campaigns they watch), and their API routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gatewayd import keys
from gatewayd.alerts.forwarding import Forwarder
from gatewayd.alerts.service import AlertService
from gatewayd.alerts.sim_care import SimCare
from gatewayd.email.sender import EmailSender


async def email_ctx(app: web.Application) -> AsyncIterator[None]:
    """The SMTP sender draining the outbox (keys.EMAIL); idle when [email] host is empty."""
    sender = EmailSender(app[keys.DB], app[keys.SETTINGS].email, app[keys.CLOCK])
    await sender.start()
    app[keys.EMAIL] = sender
    yield
    await sender.stop()


async def alerts_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    db, clock = app[keys.DB], app[keys.CLOCK]
    statuses = app[keys.MODEM_STATUS] if keys.MODEM_STATUS in app else (lambda: [])
    webhooks = app[keys.WEBHOOKS] if keys.WEBHOOKS in app else None
    service = AlertService(db, settings, clock, statuses=statuses,
                           outbound=app[keys.OUTBOUND] if keys.OUTBOUND in app else None, email=app[keys.EMAIL],
                           on_webhook_events=webhooks.wake if webhooks is not None else None)
    router = app[keys.MODEM_EVENTS]
    router.line_status.append(service.on_line_status)
    forwarder = Forwarder(db, settings, clock, wake_email=app[keys.EMAIL].wake)
    care = SimCare(db, settings.sim_checks, clock, pool=app[keys.POOL] if keys.POOL in app else None,
                   alerts=service, timezone=settings.site.timezone)
    if keys.POOL in app:
        care.schedule(app[keys.SCHEDULER])
    await service.start()
    await forwarder.start()
    app[keys.ALERTS], app[keys.FORWARDER], app[keys.SIM_CARE] = service, forwarder, care
    yield
    await forwarder.stop()
    await service.stop()
    if service.on_line_status in router.line_status:
        router.line_status.remove(service.on_line_status)


def add_routes(app: web.Application) -> None:
    from gatewayd.api import alerts

    app.add_routes(alerts.routes)
