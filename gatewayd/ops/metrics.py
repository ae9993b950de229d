"""GET /metrics: Prometheus text format, read from the store and the modem pool at scrape time.

Counts do not live in the daemon's memory: each scrape takes a snapshot of the database
(gatewayd.store.metrics) and of the lines' status, and a custom Collector turns it into metric
families in a registry built for that scrape, so a restart never resets them. The one exception
is the send latency histogram, fed by the dispatcher's on_sent hook.
Like /healthz, the route needs no key: keep the HTTP port on the loopback/LAN (it exposes counts
and line names, never numbers or texts).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gatewayd import __version__, keys
from gatewayd.api.openapi import files, operation, register
from gatewayd.modem.events import LineState, LineStatus
from gatewayd.store import metrics as metrics_store
from gatewayd.store.db import StorageUsage
from gatewayd.store.metrics import MetricsSnapshot

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MESSAGE_STATES = ("scheduled", "queued", "sending", "sent", "delivered", "failed", "expired", "blocked",
                  "canceled", "unknown")
WEBHOOK_STATES = ("pending", "delivered", "failed")


class GatewayCollector(Collector):
    """Metric families of one scrape, from a database snapshot and the lines' status."""

    def __init__(self, snap: MetricsSnapshot, lines: Iterable[LineStatus], storage: StorageUsage,
                 writable: bool) -> None:
        self.snap = snap
        self.lines = list(lines)
        self.storage = storage
        self.writable = writable

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        info = GaugeMetricFamily("gatewayd_build_info", "Daemon version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info

        by_state = GaugeMetricFamily("gatewayd_messages", "Outbound messages by state", labels=["state"])
        for state in sorted(set(MESSAGE_STATES) | set(s.messages_by_state)):
            by_state.add_metric([state], s.messages_by_state.get(state, 0))
        yield by_state
        yield GaugeMetricFamily("gatewayd_queue_depth", "Messages queued for sending", value=s.queue_depth)
        yield GaugeMetricFamily("gatewayd_scheduled_messages", "Messages waiting for their send time",
                                value=s.scheduled)
        yield CounterMetricFamily("gatewayd_send_retries", "Transient send failures that led to a retry",
                                  value=s.retries)

        parts = CounterMetricFamily("gatewayd_parts", "SMS parts handed to a line (state=sent), and of those "
                                    "how many were reported delivered or failed (only goes up)",
                                    labels=["line", "state"])
        for row in s.parts_by_line:
            parts.add_metric([row.line, row.state], row.count)
        yield parts
        failures = CounterMetricFamily("gatewayd_message_failures", "Messages failed, by cause (stable error code)",
                                       labels=["cause"])
        for cause, count in sorted(s.failures_by_cause.items()):
            failures.add_metric([cause], count)
        yield failures
        hook_failures = CounterMetricFamily("gatewayd_webhook_failures", "Webhook attempts that failed, by kind "
                                            "(no_answer: no HTTP answer; http_error: a non-2xx answer)",
                                            labels=["kind"])
        for kind in ("no_answer", "http_error"):
            hook_failures.add_metric([kind], s.webhook_failures.get(kind, 0))
        yield hook_failures

        yield CounterMetricFamily("gatewayd_inbound_messages", "Inbound SMS received", value=s.inbound)
        yield GaugeMetricFamily("gatewayd_opt_outs", "Numbers opted out now", value=s.opt_outs_current)
        events = CounterMetricFamily("gatewayd_opt_out_events", "Opt-out history events (out/in)",
                                     labels=["action"])
        for action in ("out", "in"):
            events.add_metric([action], s.opt_out_events.get(action, 0))
        yield events
        yield CounterMetricFamily("gatewayd_calls", "Incoming calls logged", value=s.calls)
        yield GaugeMetricFamily("gatewayd_webhook_backlog", "Webhook deliveries still pending",
                                value=s.webhook_backlog)
        deliveries = GaugeMetricFamily("gatewayd_webhook_deliveries", "Webhook deliveries by state",
                                       labels=["state"])
        for state in WEBHOOK_STATES:
            deliveries.add_metric([state], s.webhook_deliveries.get(state, 0))
        yield deliveries
        yield from self._storage()
        yield from self._lines()

    def _storage(self) -> Iterator[Metric]:
        # A box in a cupboard fills its SD card slowly: alert on free bytes before writes fail.
        size = GaugeMetricFamily("gatewayd_database_bytes", "Database size on disk", labels=["file"])
        size.add_metric(["main"], self.storage.database_bytes)
        size.add_metric(["wal"], self.storage.wal_bytes)
        yield size
        yield GaugeMetricFamily("gatewayd_database_disk_free_bytes", "Bytes free on the database's disk",
                                value=self.storage.free_bytes)
        yield GaugeMetricFamily("gatewayd_database_writable", "0 while writes fail (disk full), else 1",
                                value=1 if self.writable else 0)

    def _lines(self) -> Iterator[Metric]:
        state = GaugeMetricFamily("gatewayd_line_state", "1 for the line's current supervisor state",
                                  labels=["line", "state"])
        registered = GaugeMetricFamily("gatewayd_line_registered", "1 when registered on a network",
                                       labels=["line"])
        signal = GaugeMetricFamily("gatewayd_line_signal_rssi", "Signal strength, +CSQ RSSI 0-31",
                                   labels=["line"])
        dbm = GaugeMetricFamily("gatewayd_line_signal_dbm", "Signal strength in dBm (from +CSQ: -113 + 2 x RSSI)",
                                labels=["line"])
        reconnects = CounterMetricFamily("gatewayd_line_reconnects", "Times the line's port was reopened "
                                         "since the daemon started", labels=["line"])
        used = GaugeMetricFamily("gatewayd_line_storage_used", "SMS slots in use on the SIM/modem",
                                 labels=["line"])
        total = GaugeMetricFamily("gatewayd_line_storage_total", "SMS slots on the SIM/modem", labels=["line"])
        for line in self.lines:
            for candidate in LineState:
                state.add_metric([line.name, candidate.value], 1 if line.state is candidate else 0)
            registered.add_metric([line.name], 1 if line.registered else 0)
            # Unknown values are left out rather than reported as 0, which would read as "no signal".
            if line.signal is not None:
                signal.add_metric([line.name], line.signal)
                dbm.add_metric([line.name], rssi_dbm(line.signal))
            reconnects.add_metric([line.name], line.reconnects)
            if line.storage_used is not None:
                used.add_metric([line.name], line.storage_used)
            if line.storage_total is not None:
                total.add_metric([line.name], line.storage_total)
        yield from (state, registered, signal, dbm, reconnects, used, total)


def rssi_dbm(rssi: int) -> int:
    """+CSQ RSSI (0-31, 3GPP TS 27.007) in dBm: 0 is -113 dBm or less, 31 is -51 dBm or more."""
    return -113 + 2 * max(0, min(31, rssi))


class SendLatency:
    """Seconds a line took to accept all parts of a message (AT+CMGS round trips), per line.

    The only in-memory metric: the database does not keep handover durations. It starts empty at
    each daemon start, which Prometheus' rate()/histogram_quantile() handle as a counter reset."""

    BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0, 90.0, 120.0)

    def __init__(self) -> None:
        self.histogram = Histogram("gatewayd_send_latency_seconds", "Seconds for a line to accept a message's parts",
                                   ["line"], registry=None, buckets=self.BUCKETS)

    def observe(self, line: str, seconds: float) -> None:
        try:
            self.histogram.labels(line).observe(max(0.0, seconds))
        except Exception:  # a metrics fault must never disturb sending
            log.exception("send latency not recorded")


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Attach the send latency histogram to the dispatcher (after outbound_ctx)."""
    latency = SendLatency()
    app[keys.SEND_LATENCY] = latency
    dispatcher = app.get(keys.DISPATCHER)
    if dispatcher is not None:
        dispatcher.on_sent = latency.observe
    yield
    if dispatcher is not None:
        dispatcher.on_sent = None


async def render(app: web.Application) -> bytes:
    """The whole exposition text of this scrape."""
    async with app[keys.DB].read() as conn:
        snap = await metrics_store.snapshot(conn)
    lines = app[keys.MODEM_STATUS]() if keys.MODEM_STATUS in app else []
    registry = CollectorRegistry(auto_describe=False)
    db = app[keys.DB]
    registry.register(GatewayCollector(snap, lines, db.usage(), db.write_failure is None))
    if keys.SEND_LATENCY in app:
        registry.register(app[keys.SEND_LATENCY].histogram)
    ProcessCollector(namespace="gatewayd", registry=registry)  # RSS, CPU, open files: Linux only, else empty
    return generate_latest(registry)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition (no key: serve it on the loopback/LAN only, like /healthz)."""
    body = await render(request.app)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


register("GET", "/metrics", operation(
    "Prometheus metrics: messages, queue, lines, inbound, opt-outs, calls, webhooks (no key needed)",
    tag="operations",
    description="Text exposition format 0.0.4, read from the database at scrape time. Like /healthz it "
                "needs no key: keep the port on the loopback or the LAN.",
    responses={200: files("Prometheus text exposition (text/plain; version=0.0.4)", "text/plain")}))
