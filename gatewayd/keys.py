"""Typed keys of the aiohttp Application: the one place that lists what the app holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gatewayd.campaigns.runner import CampaignRunner
    from gatewayd.campaigns.service import CampaignService
    from gatewayd.campaigns.template_service import TemplateService
    from gatewayd.ops.metrics import SendLatency
    from gatewayd.ops.retention import Retention
    from gatewayd.contacts.importer import ImportService
    from gatewayd.ops.diagnostics import DiagnosticsState
    from gatewayd.contacts.service import ContactService, GroupService
    from gatewayd.ops.scheduler import Scheduler
    from gatewayd.clock import Clock
    from gatewayd.config import Settings
    from gatewayd.modem.events import LineStatus
    from gatewayd.event_router import ModemEventRouter
    from gatewayd.store.db import Database
    from gatewayd.accounts.apikeys import KeyVerifier
    from gatewayd.live_settings import LiveSettings
    from gatewayd.inbound.service import InboundService
    from gatewayd.api.ratelimit import KeyLimits
    from gatewayd.modem.pool import ModemPool
    from gatewayd.modem.timings import ModemTimings
    from gatewayd.outbound.dispatcher import Dispatcher
    from gatewayd.outbound.service import OutboundService
    from gatewayd.line_identity import LineIdentities
    from gatewayd.outbound.webhooks import WebhookSender
    from gatewayd.alerts.forwarding import Forwarder
    from gatewayd.alerts.service import AlertService
    from gatewayd.alerts.sim_care import SimCare
    from gatewayd.email.sender import EmailSender

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DB: web.AppKey[Database] = web.AppKey("db")
# The effective settings (file + changes made in the console) and their change notifications.
LIVE_SETTINGS: web.AppKey[LiveSettings] = web.AppKey("live_settings")
# API-key checks for every /api request (remembers verified keys briefly; revoke through it).
API_KEYS: web.AppKey[KeyVerifier] = web.AppKey("api_keys")
MODEM_EVENTS: web.AppKey[ModemEventRouter] = web.AppKey("modem_events")

# A callable returning every line's LineStatus (set by the modem pool component).
MODEM_STATUS: web.AppKey[Callable[[], list[LineStatus]]] = web.AppKey("modem_status")

# The daemon's timer service (APScheduler); owners re-register their jobs from the database at start.
SCHEDULER: web.AppKey[Scheduler] = web.AppKey("scheduler")
# Contacts, groups, imports and campaigns (gatewayd.campaigns.component).
CONTACTS: web.AppKey[ContactService] = web.AppKey("contacts")
GROUPS: web.AppKey[GroupService] = web.AppKey("groups")
IMPORTS: web.AppKey[ImportService] = web.AppKey("imports")
CAMPAIGNS: web.AppKey[CampaignService] = web.AppKey("campaigns")
CAMPAIGN_RUNNER: web.AppKey[CampaignRunner] = web.AppKey("campaign_runner")
TEMPLATES: web.AppKey[TemplateService] = web.AppKey("templates")
# Inbound SMS, threads, opt-outs, auto-replies and calls (gatewayd.inbound.component).
INBOUND: web.AppKey[InboundService] = web.AppKey("inbound")

# The modem pool (every configured and simulated line). Pre-set it before start to use your own.
POOL: web.AppKey[ModemPool] = web.AppKey("pool")
# Modem timers for the pool (tests pre-set FAST_TEST_TIMINGS; default: from settings.modem).
MODEM_TIMINGS: web.AppKey[ModemTimings] = web.AppKey("modem_timings")
# Outbound (gatewayd.outbound.component): the ledger service, the dispatcher, the webhook sender,
# per-API-key limits, and test-only knobs of the dispatcher ({"fallback": s, "stop_grace": s, "seed": n}).
OUTBOUND: web.AppKey[OutboundService] = web.AppKey("outbound")
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher")
WEBHOOKS: web.AppKey[WebhookSender] = web.AppKey("webhooks")
API_LIMITS: web.AppKey[KeyLimits] = web.AppKey("api_limits")
OUTBOUND_OPTIONS: web.AppKey[dict[str, float]] = web.AppKey("outbound_options")
# Send latency histogram fed by the dispatcher's on_sent hook (gatewayd.ops.metrics.metrics_ctx).
SEND_LATENCY: web.AppKey[SendLatency] = web.AppKey("send_latency")
# The retention purge (gatewayd.ops.retention.retention_ctx): run() on demand, daily by the scheduler.
RETENTION: web.AppKey[Retention] = web.AppKey("retention")
# Recent WARNING+ log records and the start time, for the diagnostics bundle (gatewayd.ops.diagnostics).
DIAGNOSTICS: web.AppKey[DiagnosticsState] = web.AppKey("diagnostics")
# The box speaks up (gatewayd.alerts.component): outgoing e-mail, alerts, SMS forwarding, SIM care.
EMAIL: web.AppKey[EmailSender] = web.AppKey("email")
ALERTS: web.AppKey[AlertService] = web.AppKey("alerts")
FORWARDER: web.AppKey[Forwarder] = web.AppKey("forwarder")
SIM_CARE: web.AppKey[SimCare] = web.AppKey("sim_care")

# Each line's label and own number, kept in memory (gatewayd.line_identity; set up with outbound).
LINE_IDENTITIES: web.AppKey[LineIdentities] = web.AppKey("line_identities")
