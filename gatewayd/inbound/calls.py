"""Incoming calls: each CallEvent logged with its webhook event, and an optional SMS to the caller.

The gateway never answers calls. Hanging up automatically is the driver's job (per modem
`auto_hangup`): the event says whether we or the caller ended the call. The missed-call SMS is
rate-limited per number (and counts towards the automatic-answer cap like any auto-reply).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from gatewayd.clock import Clock
from gatewayd.config import InboundSettings
from gatewayd.inbound.autoreply import AutoResponder
from gatewayd.inbound.parts import is_dialable, normalise_sender
from gatewayd.inbound.ports import enqueue_event
from gatewayd.inbound.shapes import call_json
from gatewayd.modem.events import CallEvent
from gatewayd.phone import mask
from gatewayd.store import calls
from gatewayd.store.calls import Call
from gatewayd.store.db import Database

log = logging.getLogger(__name__)


class CallLog:
    """Handles CallEvents from the modem layer (registered as the router's `call`)."""

    def __init__(self, db: Database, clock: Clock, settings: InboundSettings, responder: AutoResponder,
                 region: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.responder = responder
        self.region = region

    async def handle_call(self, event: CallEvent) -> None:
        """Log the call, enqueue call.received and (if configured) the missed-call SMS, in one transaction."""
        number = normalise_sender(event.number, self.region) if event.number else None
        now = self.clock.now()
        async with self.db.write() as conn:
            call_id = await calls.add(conn, line=event.line, number=number or None, started_at=event.started_at,
                                      ended_at=event.ended_at, rings=event.rings, hung_up_by_us=event.hung_up_by_us)
            reply_id = None
            if self.settings.missed_call_text and number and is_dialable(number):
                decision = await self.responder.answer(
                    conn, kind="missed-call", number=number, line=event.line, text=self.settings.missed_call_text,
                    now=now, every=timedelta(hours=self.settings.missed_call_every_hours), call_id=call_id)
                reply_id = decision.queued_message_id
                if reply_id is not None:
                    await calls.set_reply(conn, call_id, reply_id)
            call = Call(call_id, event.line, number or None, event.started_at, event.ended_at, event.rings,
                        "us" if event.hung_up_by_us else "caller", reply_id)
            await enqueue_event(conn, "call.received", call_json(call), now)
        log.info("%s: call from %s, %d ring(s), hung up by %s", event.line, mask(number) if number else "withheld",
                 event.rings, "us" if event.hung_up_by_us else "the caller")

    async def listing(self, *, limit: int = 100, before_id: int | None = None, number: str | None = None,
                      line: str | None = None) -> list[Call]:
        return await calls.listing(self.db, limit=limit, before_id=before_id, number=number, line=line)
