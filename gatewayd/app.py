"""Composition root: build_app(settings) wires store, modems, services, API and console.

Components start in `cleanup_ctx` order and stop in reverse (aiohttp runs the second half of
each context generator on shutdown), so a part is always stopped before what it depends on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gatewayd import keys
from gatewayd.accounts.apikeys import KeyVerifier
from gatewayd.api import apikeys as apikeys_api
from gatewayd.api import diagnostics as diagnostics_api
from gatewayd.api import settings as settings_api
from gatewayd.ops import metrics
from gatewayd.ops.diagnostics import diagnostics_ctx
from gatewayd.ops.retention import retention_ctx
from gatewayd.api import health
from gatewayd.alerts.component import add_routes as add_alert_routes
from gatewayd.alerts.component import alerts_ctx, email_ctx
from gatewayd.api.openapi import typed_query_guard
from gatewayd.api.problem import problem_middleware
from gatewayd.campaigns.component import add_routes as add_campaign_routes
from gatewayd.campaigns.component import campaigns_ctx
from gatewayd.compat.component import add_routes as add_compat_routes
from gatewayd.compat.component import compat_ctx
from gatewayd.clock import Clock, SystemClock
from gatewayd.config import Settings
from console.app import setup_console
from gatewayd.inbound.component import add_routes as add_inbound_routes
from gatewayd.inbound.component import inbound_ctx
from gatewayd.live_settings import LiveSettings
from gatewayd.event_router import ModemEventRouter
from gatewayd.outbound.component import add_routes as add_outbound_routes
from gatewayd.outbound.component import outbound_ctx, pool_ctx, webhooks_ctx
from gatewayd.ops.scheduler import scheduler_ctx
from gatewayd.store.db import Database
from gatewayd.ops.systemd import watchdog_interval, watchdog_loop

log = logging.getLogger(__name__)


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    db = Database(settings.storage.database, busy_timeout_ms=settings.storage.busy_timeout_ms)
    await db.open()
    app[keys.DB] = db
    app[keys.API_KEYS] = KeyVerifier(db, clock=app[keys.CLOCK])
    live = app[keys.LIVE_SETTINGS] = LiveSettings(db, settings, app[keys.CLOCK])
    await live.load()  # before the parts that use the settings start
    yield
    await db.close()


async def watchdog_ctx(app: web.Application) -> AsyncIterator[None]:
    interval = watchdog_interval()
    task = None
    if interval is not None:
        task = asyncio.create_task(watchdog_loop(interval, app[keys.DB].ping), name="systemd-watchdog")
    yield
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def build_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """The whole daemon as an aiohttp Application (used by the CLI, the tests and the benchmarks)."""
    app = web.Application(client_max_size=settings.http.max_body_bytes, middlewares=[problem_middleware, typed_query_guard()])
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or SystemClock()
    app[keys.MODEM_EVENTS] = ModemEventRouter()

    app.cleanup_ctx.append(diagnostics_ctx)  # first: keeps recent warnings of every later part's start
    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(scheduler_ctx)
    # Modem pool, dispatcher, inbound, scheduler and webhooks register here, in dependency order.
    app.cleanup_ctx.append(pool_ctx)  # interim wiring by outbound (keeps a pool pre-set in keys.POOL)
    app.cleanup_ctx.append(outbound_ctx)  # ledger service + dispatcher; status reports registered here
    app.cleanup_ctx.append(webhooks_ctx)
    app.cleanup_ctx.append(compat_ctx)  # after webhooks: gives the sender the other APIs' envelopes
    app.cleanup_ctx.append(inbound_ctx)  # after outbound: STOP blocks through keys.OUTBOUND
    app.cleanup_ctx.append(campaigns_ctx)  # after outbound: its runner submits through keys.OUTBOUND
    app.cleanup_ctx.append(email_ctx)  # after the store: the SMTP sender drains its outbox
    app.cleanup_ctx.append(alerts_ctx)  # after outbound, webhooks and campaigns: alerts go through them
    app.cleanup_ctx.append(metrics.metrics_ctx)  # after outbound: hooks the dispatcher's send timings
    app.cleanup_ctx.append(retention_ctx)  # after the store and the scheduler: daily purge of old texts
    app.cleanup_ctx.append(watchdog_ctx)

    app.add_routes(health.routes)
    app.add_routes(metrics.routes)
    app.add_routes(diagnostics_api.routes)
    app.add_routes(settings_api.routes)
    app.add_routes(apikeys_api.routes)
    add_campaign_routes(app)
    add_inbound_routes(app)
    add_outbound_routes(app)
    add_compat_routes(app)
    add_alert_routes(app)
    setup_console(app)  # last: its middleware and pages wrap everything registered above
    return app
