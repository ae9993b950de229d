"""A thread's conversation in both directions: inbound messages merged with outbound ones.

Each side is paginated on its own keyset (inbound on (received_at, id), outbound on id through
store.messages.of_conversation: every message to the number on the line); a page takes the newest `limit` of both and the cursor keeps
one position per side, so no item is skipped or repeated when pages are walked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatewayd.clock import utc_iso
from gatewayd.store import inbound, messages
from gatewayd.store.db import Database
from gatewayd.store.threads import Thread


@dataclass(frozen=True)
class Position:
    """Where the previous page stopped on each side (None: not started)."""

    inbound: tuple[str, int] | None = None     # (received_at ISO, id)
    outbound: int | None = None                # id
    inbound_done: bool = False
    outbound_done: bool = False


START = Position()  # the first page of a conversation


@dataclass(frozen=True)
class Item:
    direction: str            # 'in' | 'out'
    at: datetime
    id: int
    body: dict[str, Any]


async def page(db: Database, thread: Thread, *, limit: int,
               position: Position = START) -> tuple[list[Item], Position | None]:
    """Newest first; the next position, or None when both sides are exhausted. The outbound side
    holds every message sent to the thread's number on its line, not only replies typed in it."""
    ins = [] if position.inbound_done else await inbound.of_thread(db, thread.id, limit=limit, before=position.inbound)
    outs = []
    if not position.outbound_done:
        async with db.read() as conn:
            outs = await messages.of_conversation(conn, number=thread.number, line=thread.line, thread_id=thread.id,
                                                  before_id=position.outbound, limit=limit)
    items = [Item("in", m.received_at, m.id, _in(m)) for m in ins]
    items += [Item("out", m.created_at, m.id, _out(m)) for m in outs]
    items.sort(key=lambda i: (i.at, i.direction == "in", i.id), reverse=True)
    taken = items[:limit]
    last_in = next((i for i in reversed(taken) if i.direction == "in"), None)
    last_out = next((i for i in reversed(taken) if i.direction == "out"), None)
    in_pos = (utc_iso(last_in.at) or "", last_in.id) if last_in else position.inbound
    out_pos = last_out.id if last_out else position.outbound
    in_done = position.inbound_done or (len(ins) < limit and sum(i.direction == "in" for i in taken) == len(ins))
    out_done = position.outbound_done or (len(outs) < limit and sum(i.direction == "out" for i in taken) == len(outs))
    if in_done and out_done:
        return taken, None
    return taken, Position(in_pos, out_pos, in_done, out_done)


def _in(m: inbound.InboundMessage) -> dict[str, Any]:
    body: dict[str, Any] = {"direction": "in", "id": m.id, "text": m.text, "at": utc_iso(m.received_at),
                            "from": m.sender, "modem": m.line}
    if m.parts_missing:
        body["missing_parts"] = list(m.parts_missing)
    if m.undecodable:
        body["undecodable"] = m.undecodable
    if m.intent:
        body["intent"] = m.intent
    return body


def _out(m: Any) -> dict[str, Any]:
    return {"direction": "out", "id": m.id, "text": m.text, "at": utc_iso(m.created_at), "to": m.to,
            "modem": m.sent_line or m.line, "state": m.state, "source": m.source, "sent_at": utc_iso(m.sent_at),
            "delivered_at": utc_iso(m.delivered_at), "error": m.error}
