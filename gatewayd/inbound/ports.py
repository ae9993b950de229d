"""What inbound needs from other parts (outbound's queue, the webhook outbox), named in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import aiosqlite

log = logging.getLogger(__name__)


class Outbound(Protocol):
    """The part of gatewayd.outbound.service.OutboundService inbound uses (see SERVICES.md)."""

    async def submit_draft(self, draft: Any, *, conn: aiosqlite.Connection | None = None) -> list[Any]: ...

    async def block_pending_to(self, conn: aiosqlite.Connection, numbers: Sequence[str]) -> int: ...


def conversation_draft(*, to: str, text: str, line: str | None, thread_id: int | None, source: str,
                       created_by: str | None = None) -> Any:
    """The outbound Draft of a reply or an automatic answer: transactional (conversation, not
    marketing), its text literal; outbound's composition applies the other rules to it as to any SMS."""
    from gatewayd.outbound.compose import Draft  # outbound owns the message model
    from gatewayd.outbound.model import Category

    return Draft(recipients=(to,), text=text, category=Category.TRANSACTIONAL, line=line, thread_id=thread_id,
                 source=source, created_by=created_by)


EventSink = Callable[[aiosqlite.Connection, str, dict[str, Any], datetime], Any]


async def enqueue_event(conn: aiosqlite.Connection, event_type: str, payload: dict[str, Any], now: datetime) -> None:
    """Put a webhook event in the persisted outbox inside the caller's transaction (commits with its cause)."""
    await enqueue_events(conn, [(event_type, payload)], now)


async def enqueue_events(conn: aiosqlite.Connection, events: Sequence[tuple[str, dict[str, Any]]],
                         now: datetime) -> None:
    """Several events at once (a list of opt-outs), inside the caller's transaction; nothing is stored
    (not even a round trip per event) when no endpoint listens."""
    try:
        from gatewayd.store import webhooks
    except ImportError:  # outbound's outbox not there yet: say so instead of pretending
        log.warning("webhook outbox missing: %d events not recorded", len(events))
        return
    if events and await webhooks.any_subscriber(conn):
        await webhooks.enqueue_events(conn, events, now)
