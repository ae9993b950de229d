"""OutboundStandIn: the SERVICES.md contract of OutboundService over outbound's real `messages`
table, only until outbound's service lands (then the tests use the real one).

It keeps what inbound relies on: submit inside the caller's transaction (blocked when opted out,
per scope; STOP confirmations exempt), and block_pending_to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from gatewayd.clock import Clock, utc_iso
from gatewayd.store import messages, optouts, webhooks
from gatewayd.store.db import Database


@dataclass(frozen=True)
class Msg:
    to: str
    text: str
    line: str | None
    thread_id: int | None
    source: str
    category: str = "transactional"


@dataclass(frozen=True)
class Row:
    id: int
    to: str
    state: str


def make_message(*, to: str, text: str, line: str | None, thread_id: int | None, source: str) -> Msg:
    return Msg(to, text, line, thread_id, source)


class OutboundStandIn:
    def __init__(self, db: Database, clock: Clock, scope: str = "marketing") -> None:
        self.db = db
        self.clock = clock
        self.scope = scope
        self.fail_next = False

    async def submit(self, batch: list[Any], *, conn: aiosqlite.Connection | None = None) -> list[Row]:
        assert conn is not None, "inbound always submits inside its own transaction"
        if self.fail_next:
            self.fail_next = False
            await self._insert(conn, Msg("+33600000000", "half-done", None, None, "api"), "queued")
            raise ValueError("text too long (stand-in failure)")
        out = []
        for m in batch:
            opted = await optouts.is_opted_out(conn, m.to)
            blocked = opted and m.source != "optout-confirm" and (self.scope == "all" or m.category == "marketing")
            state = "blocked" if blocked else "queued"
            out.append(Row(await self._insert(conn, m, state), m.to, state))
        return out

    async def block_pending_to(self, conn: aiosqlite.Connection, number: str) -> int:
        ids = await messages.pending_to(conn, number, marketing_only=self.scope != "all")
        await messages.set_final(conn, ids, "blocked", self.clock.now(), error="recipient opted out")
        return len(ids)

    async def list(self, *, limit: int = 100, before_id: int | None = None, state: str | None = None,
                   to: str | None = None, campaign_id: int | None = None, thread_id: int | None = None) -> list[Any]:
        async with self.db.read() as conn:
            return await messages.list_page(conn, limit=limit, before_id=before_id, state=state, to=to,
                                            campaign_id=campaign_id, thread_id=thread_id)

    async def _insert(self, conn: aiosqlite.Connection, m: Msg, state: str) -> int:
        new_id = await messages.next_id(conn)
        now = utc_iso(self.clock.now())
        values = {"id": new_id, "to_number": m.to, "text": m.text, "category": m.category, "state": state,
                  "priority": 0, "source": m.source, "line": m.line, "line_key": m.line or "", "segments": 1,
                  "encoding": "GSM-7", "concat_ref": 0, "send_at": None, "due_at": now, "expires_at": None,
                  "campaign_id": None, "campaign_recipient_id": None, "thread_id": m.thread_id, "api_key_id": None,
                  "resend_of": None, "created_at": now, "updated_at": now}
        await messages.insert_messages(conn, [tuple(values.get(c) for c in messages.INSERT_COLUMNS)])
        return new_id

    async def add_raw(self, *, to: str, category: str, state: str = "queued", text: str = "promo") -> int:
        async with self.db.write() as conn:
            return await self._insert(conn, Msg(to, text, None, None, "campaign", category), state)

    async def rows(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn, conn.execute("SELECT * FROM messages ORDER BY id") as cur:
            return [dict(r) for r in await cur.fetchall()]


async def subscribe_all(db: Database, now: datetime) -> None:
    """An endpoint for every event, so the outbox keeps them (it stores nothing nobody wants)."""
    await webhooks.create_endpoint(db, url="http://127.0.0.1:9/hook", secret="s3cret", events=["*"],
                                   description="test", now=now)


async def events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """Webhook events in the outbox so far, oldest first."""
    async with db.read() as conn, conn.execute("SELECT type, payload FROM webhook_events ORDER BY id") as cur:
        return [(r[0], json.loads(r[1])) for r in await cur.fetchall()]
