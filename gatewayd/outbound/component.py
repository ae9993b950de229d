"""Lifecycle of the modem pool, the outbound ledger/dispatcher and the webhook sender in the app
(cleanup_ctx, in dependency order), and the API routes they serve."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from gatewayd import keys
from gatewayd.api.ratelimit import KeyLimits
from gatewayd.api.ratelimit import add_headers as add_rate_headers
from gatewayd.clock import SystemClock
from gatewayd.config import ModemSettings
from gatewayd.line_identity import LineIdentities
from gatewayd.outbound.dispatcher import Dispatcher
from gatewayd.outbound.service import OutboundService
from gatewayd.outbound.webhooks import WebhookSender

log = logging.getLogger(__name__)


async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """The configured modems plus `[simulator] lines` simulated ones, unless a pool was pre-set.

    (Interim wiring by outbound until the modem owners take it over: same behaviour.)"""
    if keys.POOL in app:
        app.setdefault(keys.MODEM_STATUS, app[keys.POOL].statuses)
        yield
        return
    from gatewayd.modem.pool import ModemPool
    from gatewayd.modem.timings import ModemTimings

    settings = app[keys.SETTINGS]
    modems: list[ModemSettings] = list(settings.modems)
    simulated: list[Any] = []
    if settings.simulator.lines:
        from gatewayd.modem.sim import start_simulated_lines

        simulated = await start_simulated_lines(settings.simulator.lines, data_dir=settings.storage.database.parent,
                                                latency=settings.simulator.latency_ms / 1000.0,
                                                line_names=settings.simulated_line_names())
        modems += [ModemSettings(**entry) for _, entry in simulated]
    timings = app[keys.MODEM_TIMINGS] if keys.MODEM_TIMINGS in app else ModemTimings.from_settings(settings.modem)
    # Modem timeouts are real I/O time, whatever clock drives the business rules.
    pool = ModemPool(modems, app[keys.MODEM_EVENTS], clock=SystemClock(), timings=timings)
    await pool.start()
    app[keys.POOL] = pool
    app[keys.MODEM_STATUS] = pool.statuses
    yield
    await pool.stop()
    if simulated:
        from gatewayd.modem.sim import stop_simulated_lines

        await stop_simulated_lines(simulated)


async def outbound_ctx(app: web.Application) -> AsyncIterator[None]:
    """OutboundService (keys.OUTBOUND) and the Dispatcher over the pool (keys.DISPATCHER)."""
    db, live, clock = app[keys.DB], app[keys.LIVE_SETTINGS], app[keys.CLOCK]
    settings = live.settings
    options = app[keys.OUTBOUND_OPTIONS] if keys.OUTBOUND_OPTIONS in app else {}
    pool = app[keys.POOL]
    seed = options.get("seed")
    dispatcher = Dispatcher(db, settings, clock, pool, fallback=float(options.get("fallback", 1.0)),
                            stop_grace=float(options.get("stop_grace", 2.0)),
                            rng=random.Random(seed) if seed is not None else None)
    service = OutboundService(db, settings, clock, lines=pool, on_new_work=dispatcher.wake)
    identities = LineIdentities(db, clock, pool, settings.sending.default_region, statuses=pool.statuses)
    await identities.load()
    app[keys.LINE_IDENTITIES] = identities
    # The line choice rule and the STOP mention's number (gatewayd.outbound.compose) ask the pool and these.
    service.composer.ready_lines = pool.ready_lines
    service.composer.line_number = identities.number_of
    service.explain_wait = dispatcher.why_waiting
    live.subscribe(dispatcher.use_settings)
    live.subscribe(service.use_settings)
    router = app[keys.MODEM_EVENTS]
    router.status_report = dispatcher.on_status_report
    router.line_status.append(dispatcher.on_line_status)
    await dispatcher.start()
    app[keys.OUTBOUND] = service
    app[keys.DISPATCHER] = dispatcher
    app[keys.API_LIMITS] = KeyLimits(settings.api, clock, ZoneInfo(settings.site.timezone),
                                     service.count_for_key_since)
    yield
    await dispatcher.stop()
    router.status_report = None


async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    """The webhook sender (keys.WEBHOOKS), woken by the dispatcher after it commits events."""
    sender = WebhookSender(app[keys.DB], app[keys.SETTINGS].webhooks, app[keys.CLOCK])
    await sender.start()
    app[keys.WEBHOOKS] = sender
    if keys.DISPATCHER in app:
        app[keys.DISPATCHER].on_events = sender.wake
    yield
    await sender.stop()


def add_routes(app: web.Application) -> None:
    from gatewayd.api import messages, modems, openapi, webhooks

    for module in (messages, modems, webhooks, openapi):
        app.add_routes(module.routes)
    app.on_response_prepare.append(add_rate_headers)
