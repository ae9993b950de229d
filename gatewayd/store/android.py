"""SMS Gateway for Android's names for sends: the client's message id -> the ledger messages it became."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class Batch:
    external_id: str
    first_message_id: int
    count: int

    @property
    def message_ids(self) -> range:
        return range(self.first_message_id, self.first_message_id + self.count)


async def insert_batch(conn: aiosqlite.Connection, *, api_key_id: int, external_id: str, message_ids: range,
                       now: datetime) -> None:
    """Inside the write transaction that inserted the messages (ids are consecutive)."""
    await conn.execute(
        "INSERT INTO android_batches (api_key_id, external_id, first_message_id, count, created_at) "
        "VALUES (?, ?, ?, ?, ?)", (api_key_id, external_id, message_ids.start, len(message_ids), utc_iso(now)))


async def get_batch(db: Database, api_key_id: int, external_id: str) -> Batch | None:
    async with db.read() as conn, conn.execute(
            "SELECT external_id, first_message_id, count FROM android_batches WHERE api_key_id = ? AND external_id = ?",
            (api_key_id, external_id)) as cur:
        r = await cur.fetchone()
    return Batch(r[0], r[1], r[2]) if r else None


async def external_id_of(db: Database, message_id: int) -> str | None:
    """The client's id of the send that `message_id` belongs to, if it came through that API."""
    async with db.read() as conn, conn.execute(
            "SELECT external_id, first_message_id, count FROM android_batches WHERE first_message_id <= ? "
            "ORDER BY first_message_id DESC LIMIT 1", (message_id,)) as cur:
        r = await cur.fetchone()
    return r[0] if r and message_id < r[1] + r[2] else None
