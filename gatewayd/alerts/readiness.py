"""Readiness (GET /readyz): can the box take work and do it? Two questions, both answered
live: is there a line that can send now, and does the database accept a write now."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable

from gatewayd.alerts.rules import lines_that_can_send
from gatewayd.modem.events import LineStatus
from gatewayd.store import alerts as store
from gatewayd.store.db import Database
from gatewayd.store.errors import DatabaseError

_probes = 0


async def probe_write(db: Database, timeout: float = 3.0) -> str | None:
    """Write one tiny row (a real commit, as every accepted SMS needs); None when it worked, else why."""
    global _probes
    if db.write_failure is not None:
        return db.write_failure
    _probes += 1
    try:
        async with asyncio.timeout(timeout):
            async with db.write() as conn:
                await store.set_cursor(conn, "write_probe", _probes)
    except TimeoutError:
        return f"no write went through within {timeout:g} s (the database is locked)"
    except (DatabaseError, sqlite3.Error, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


def line_reasons(statuses: Iterable[LineStatus]) -> list[str]:
    """Why no line can send (empty when one can)."""
    statuses = list(statuses)
    if lines_that_can_send(statuses):
        return []
    if not statuses:
        return ["no line is configured"]
    detail = ", ".join(f"{s.name}: {s.state.value}" + ("" if s.registered else ", not registered")
                       for s in statuses)
    return [f"no line can send ({detail})"]


# The last probe per database, reused for a second: /readyz needs no key, and a client calling it
# in a loop must not queue writes in front of the ones that matter.
_recent: dict[int, tuple[float, str | None]] = {}
PROBE_REUSE_S = 1.0


async def readiness(db: Database, statuses: Iterable[LineStatus]) -> list[str]:
    """Every reason the box is not ready; empty when it is."""
    reasons = line_reasons(statuses)
    now = time.monotonic()
    last = _recent.get(id(db))
    if last is not None and now - last[0] < PROBE_REUSE_S and db.write_failure is None:
        write_error = last[1]
    else:
        write_error = await probe_write(db)
        _recent[id(db)] = (time.monotonic(), write_error)
    if write_error is not None:
        reasons.append(f"the database cannot be written: {write_error}")
    return reasons
