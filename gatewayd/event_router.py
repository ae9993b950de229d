"""Routes what the modem layer hears to the services that own it (inbound, outbound, calls)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from gatewayd.modem.events import CallEvent, IncomingSms, LineStatus, StatusReport

log = logging.getLogger(__name__)


class NoHandler(RuntimeError):
    """Nobody has taken this SMS yet: the driver must keep it in modem storage."""


class ModemEventRouter:
    """A ModemEventSink whose handlers the services register at start."""

    def __init__(self) -> None:
        self.incoming_sms: Callable[[IncomingSms], Awaitable[None]] | None = None
        self.status_report: Callable[[StatusReport], Awaitable[None]] | None = None
        self.sms_deleted: Callable[[IncomingSms], Awaitable[None]] | None = None
        self.call: Callable[[CallEvent], Awaitable[None]] | None = None
        self.line_status: list[Callable[[LineStatus], Awaitable[None]]] = []

    async def on_incoming_sms(self, sms: IncomingSms) -> None:
        if self.incoming_sms is None:
            # Raising keeps the SMS on the SIM: it is read again by the next sweep.
            raise NoHandler("no inbound handler registered")
        await self.incoming_sms(sms)

    async def on_sms_deleted(self, sms: IncomingSms) -> None:
        if self.sms_deleted is not None:
            await self.sms_deleted(sms)

    async def on_status_report(self, report: StatusReport) -> None:
        if self.status_report is None:
            raise NoHandler("no status-report handler registered")
        await self.status_report(report)

    async def on_call(self, call: CallEvent) -> None:
        if self.call is not None:
            await self.call(call)

    async def on_line_status(self, status: LineStatus) -> None:
        for handler in self.line_status:
            try:
                await handler(status)
            except Exception:
                log.exception("line status handler failed")
