"""Console sessions (`console_sessions`) and login attempts (`login_attempts`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database
from gatewayd.store.users import UserRow


@dataclass(frozen=True)
class SessionRow:
    """A signed-in browser and the user behind it (as the user row is now)."""

    id: int
    user: UserRow
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class SessionInfo:
    """A session as listed to its owner (no secrets)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    address: str | None
    user_agent: str | None


_SELECT = (
    "SELECT s.id AS s_id, s.csrf_token, s.created_at AS s_created, s.last_seen_at, s.expires_at, s.address,"
    " s.user_agent, u.id, u.name, u.password_hash, u.role, u.language, u.created_at, u.disabled_at, u.default_line"
    " FROM console_sessions s JOIN users u ON u.id = s.user_id"
)


def _session(r: sqlite3.Row) -> SessionRow:
    user = UserRow(r["id"], r["name"], r["password_hash"], r["role"], r["language"],
                   parse_iso_required(r["created_at"]), parse_iso(r["disabled_at"]), r["default_line"])
    return SessionRow(r["s_id"], user, r["csrf_token"], parse_iso_required(r["s_created"]),
                      parse_iso_required(r["last_seen_at"]), parse_iso_required(r["expires_at"]),
                      r["address"], r["user_agent"])


async def create(db: Database, *, token_hash: str, user_id: int, csrf_token: str, now: datetime,
                 expires_at: datetime, address: str | None, user_agent: str | None) -> int:
    async def insert(conn: aiosqlite.Connection) -> int:
        cur = await conn.execute(
            "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,"
            " address, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token_hash, user_id, csrf_token, utc_iso(now), utc_iso(now), utc_iso(expires_at), address,
             (user_agent or "")[:200] or None),
        )
        return int(cur.lastrowid or 0)

    # Signing in must work on a full disk: it is how someone gets in to free space.
    return await db.essential_write(insert)


async def by_token_hash(db: Database, token_hash: str) -> SessionRow | None:
    """The session with this token hash, whatever its age (the caller checks expiry)."""
    async with db.read() as conn, conn.execute(_SELECT + " WHERE s.token_hash = ?", (token_hash,)) as cur:
        r = await cur.fetchone()
    return _session(r) if r else None


async def touch(db: Database, session_id: int, now: datetime) -> None:
    async with db.write() as conn:
        await conn.execute("UPDATE console_sessions SET last_seen_at = ? WHERE id = ?", (utc_iso(now), session_id))


async def delete(db: Database, session_id: int) -> bool:
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM console_sessions WHERE id = ?", (session_id,))
        return cur.rowcount == 1


async def delete_for_user(db: Database, user_id: int, *, except_id: int | None = None) -> int:
    """End every session of a user (password changed, account disabled), optionally but one."""
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM console_sessions WHERE user_id = ? AND id IS NOT ?",
                                 (user_id, except_id))
        return cur.rowcount


async def for_user(db: Database, user_id: int) -> list[SessionInfo]:
    async with db.read() as conn, conn.execute(
        "SELECT id, created_at, last_seen_at, address, user_agent FROM console_sessions WHERE user_id = ?"
        " ORDER BY last_seen_at DESC", (user_id,)
    ) as cur:
        return [SessionInfo(r["id"], parse_iso_required(r["created_at"]), parse_iso_required(r["last_seen_at"]),
                            r["address"], r["user_agent"]) for r in await cur.fetchall()]


async def purge(db: Database, *, now: datetime, idle_before: datetime, attempts_before: datetime) -> int:
    """Delete expired or idle sessions and old login attempts; the number of sessions removed."""
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at <= ?",
                                 (utc_iso(now), utc_iso(idle_before)))
        await conn.execute("DELETE FROM login_attempts WHERE at < ?", (utc_iso(attempts_before),))
        return cur.rowcount


# --- login attempts ---------------------------------------------------------------------------------


async def record_attempt(db: Database, *, username: str, address: str, success: bool, now: datetime) -> None:
    async with db.write() as conn:
        await conn.execute("INSERT INTO login_attempts (username, address, success, at) VALUES (?, ?, ?, ?)",
                           (username[:64], address, int(success), utc_iso(now)))


@dataclass(frozen=True)
class Failures:
    """Failed attempts since a moment, and the oldest of them (to say when trying is allowed again)."""

    count: int
    oldest: datetime | None


async def failures_since(db: Database, *, username: str | None = None, address: str | None = None,
                         since: datetime) -> Failures:
    """Failed attempts for one user name (since its last success) or one address, since `since`."""
    if username is not None and address is None:
        # A success clears a user's count; an address's count is never cleared by a success, or an
        # attacker could reset it by signing in to an account of their own between guesses.
        sql = ("SELECT COUNT(*), MIN(at) FROM login_attempts WHERE username = ? AND success = 0 AND at >= ?"
               " AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = ? AND success = 1), '')")
        args: tuple[object, ...] = (username, utc_iso(since), username)
    elif address is not None and username is None:
        sql = "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE address = ? AND success = 0 AND at >= ?"
        args = (address, utc_iso(since))
    else:
        raise ValueError("give exactly one of username or address")
    async with db.read() as conn, conn.execute(sql, args) as cur:
        r = await cur.fetchone()
    return Failures(int(r[0]) if r else 0, parse_iso(r[1]) if r and r[1] else None)


async def user_failures_by_address(db: Database, username: str, since: datetime) -> dict[str, Failures]:
    """One user name's failed attempts since `since` (and since its last success), per address."""
    sql = ("SELECT address, COUNT(*), MIN(at) FROM login_attempts WHERE username = ? AND success = 0 AND at >= ?"
           " AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = ? AND success = 1), '')"
           " GROUP BY address")
    async with db.read() as conn, conn.execute(sql, (username, utc_iso(since), username)) as cur:
        rows = await cur.fetchall()
    return {r[0]: Failures(int(r[1]), parse_iso(r[2])) for r in rows}
