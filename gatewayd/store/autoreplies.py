"""Auto-reply rules (keyword → reply) and the record of every automatic answer (rate limits)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso_required, utc_iso
from gatewayd.store.db import Database

AUTO_KINDS = ("auto-reply", "optout-confirm", "optin-confirm", "missed-call")


class DuplicateRule(Exception):
    """Another rule already answers this keyword on this line."""


@dataclass(frozen=True)
class Rule:
    id: int
    keyword: str
    keyword_key: str
    reply: str
    line: str | None
    enabled: bool
    hits: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AutoSend:
    id: int
    number: str
    kind: str
    line: str | None
    message_id: int | None
    inbound_id: int | None
    call_id: int | None
    rule_id: int | None
    held_back: str | None
    created_at: datetime


def _rule(r: sqlite3.Row) -> Rule:
    return Rule(r["id"], r["keyword"], r["keyword_key"], r["reply"], r["line"], bool(r["enabled"]), r["hits"],
                parse_iso_required(r["created_at"]), parse_iso_required(r["updated_at"]))


def _send(r: sqlite3.Row) -> AutoSend:
    return AutoSend(r["id"], r["number"], r["kind"], r["line"], r["message_id"], r["inbound_id"], r["call_id"],
                    r["rule_id"], r["held_back"], parse_iso_required(r["created_at"]))


# -- rules --------------------------------------------------------------------------------------

async def add_rule(db: Database, *, keyword: str, keyword_key: str, reply: str, line: str | None,
                   enabled: bool, now: datetime) -> Rule:
    """Create a rule; DuplicateRule when the keyword already has one on that line."""
    try:
        async with db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO autoreply_rules (keyword, keyword_key, reply, line, enabled, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (keyword, keyword_key, reply, line, int(enabled), utc_iso(now), utc_iso(now)),
            )
            rule_id = int(cur.lastrowid or 0)
    except sqlite3.IntegrityError:
        raise DuplicateRule(keyword) from None
    rule = await get_rule(db, rule_id)
    assert rule is not None
    return rule


async def update_rule(db: Database, rule_id: int, *, keyword: str, keyword_key: str, reply: str,
                      line: str | None, enabled: bool, now: datetime) -> Rule | None:
    """Replace a rule's fields; None when it does not exist, DuplicateRule on a keyword clash."""
    try:
        async with db.write() as conn:
            cur = await conn.execute(
                "UPDATE autoreply_rules SET keyword = ?, keyword_key = ?, reply = ?, line = ?, enabled = ?,"
                " updated_at = ? WHERE id = ?",
                (keyword, keyword_key, reply, line, int(enabled), utc_iso(now), rule_id),
            )
            if cur.rowcount == 0:
                return None
    except sqlite3.IntegrityError:
        raise DuplicateRule(keyword) from None
    return await get_rule(db, rule_id)


async def delete_rule(db: Database, rule_id: int) -> bool:
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM autoreply_rules WHERE id = ?", (rule_id,))
        return cur.rowcount > 0


async def get_rule(db: Database, rule_id: int) -> Rule | None:
    async with db.read() as conn, conn.execute("SELECT * FROM autoreply_rules WHERE id = ?", (rule_id,)) as cur:
        row = await cur.fetchone()
    return _rule(row) if row else None


async def rules(db: Database) -> list[Rule]:
    """Every rule, by keyword (there are few)."""
    async with db.read() as conn, conn.execute(
        "SELECT * FROM autoreply_rules ORDER BY keyword_key, line IS NOT NULL, line"
    ) as cur:
        return [_rule(r) for r in await cur.fetchall()]


async def rule_for(conn: aiosqlite.Connection, *, keyword_key: str, line: str) -> Rule | None:
    """The enabled rule answering `keyword_key` on `line` (a rule for that line beats one for any line)."""
    async with conn.execute(
        "SELECT * FROM autoreply_rules WHERE keyword_key = ? AND enabled = 1 AND (line IS NULL OR line = ?)"
        " ORDER BY line IS NULL LIMIT 1", (keyword_key, line),
    ) as cur:
        row = await cur.fetchone()
    return _rule(row) if row else None


async def count_hit(conn: aiosqlite.Connection, rule_id: int) -> None:
    await conn.execute("UPDATE autoreply_rules SET hits = hits + 1 WHERE id = ?", (rule_id,))


# -- automatic answers ----------------------------------------------------------------------------

async def record_send(conn: aiosqlite.Connection, *, number: str, kind: str, now: datetime, line: str | None = None,
                      message_id: int | None = None, inbound_id: int | None = None, call_id: int | None = None,
                      rule_id: int | None = None, held_back: str | None = None) -> int:
    """Record an automatic answer queued (or held back, with the reason) inside the caller's transaction."""
    cur = await conn.execute(
        "INSERT INTO auto_sends (number, kind, line, message_id, inbound_id, call_id, rule_id, held_back, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (number, kind, line, message_id, inbound_id, call_id, rule_id, held_back, utc_iso(now)),
    )
    return int(cur.lastrowid or 0)


async def sent_since(conn: aiosqlite.Connection, *, number: str, since: datetime,
                     kinds: tuple[str, ...] = AUTO_KINDS) -> int:
    """Automatic answers actually queued to `number` since `since` (held-back ones do not count)."""
    marks = ",".join("?" * len(kinds))
    async with conn.execute(
        f"SELECT COUNT(*) FROM auto_sends WHERE number = ? AND kind IN ({marks}) AND created_at >= ?"
        " AND held_back IS NULL", (number, *kinds, utc_iso(since)),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def sends(db: Database, *, number: str | None = None, limit: int = 100,
                before_id: int | None = None) -> list[AutoSend]:
    """Automatic answers newest first (audit), optionally to one number."""
    sql = "SELECT * FROM auto_sends WHERE id < ?"
    args: list[object] = [before_id or 2**62]
    if number:
        sql += " AND number = ?"
        args.append(number)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    async with db.read() as conn, conn.execute(sql, args) as cur:
        return [_send(r) for r in await cur.fetchall()]


async def sent_to_anyone_since(conn: aiosqlite.Connection, *, since: datetime) -> int:
    """Automatic answers actually queued to any number since `since`. Rows are read newest first
    and only back to `since` (ids grow with time), so the count costs the last hour, not the table."""
    async with conn.execute(
        "SELECT COUNT(*) FROM auto_sends WHERE id > coalesce((SELECT id FROM auto_sends WHERE created_at < ?"
        " ORDER BY id DESC LIMIT 1), 0) AND held_back IS NULL", (utc_iso(since),),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0
