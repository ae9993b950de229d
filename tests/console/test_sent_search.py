"""The Sent page's search on a real SQLite file: exact numbers walk their index, words and number
prefixes scan a bounded window of ids and say where they stopped so the next page goes on."""

from __future__ import annotations

from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.outbound.model import NewMessage
from gatewayd.outbound.service import OutboundService
from gatewayd.store import console_reads
from gatewayd.store.db import Database


async def _ledger(db: Database, settings: Settings) -> list[int]:
    """30 messages: every 5th mentions a parcel, the others an appointment; two recipients."""
    outbound = OutboundService(db, settings, FakeClock())
    rows = await outbound.submit([NewMessage(to="+33611000001" if i % 2 else "+33622000002",
                                             text=f"colis n°{i}" if i % 5 == 0 else f"rendez-vous {i}",
                                             source="console") for i in range(30)])
    return [r.id for r in rows]


async def test_words_are_searched_in_a_window_that_says_where_it_stopped(db: Database, settings: Settings) -> None:
    ids = await _ledger(db, settings)
    async with db.read() as conn:
        first = await console_reads.search_sent(conn, text="colis", limit=50, window=10)
        assert [m.id for m in first.rows] == [ids[25], ids[20]]  # only the newest 10 ids were looked at
        assert first.scanned_to == ids[20] and not first.complete
        rest = await console_reads.search_sent(conn, text="colis", before_id=first.scanned_to, limit=50, window=100)
        assert [m.id for m in rest.rows] == [ids[15], ids[10], ids[5], ids[0]] and rest.complete
        full = await console_reads.search_sent(conn, text="colis", limit=2, window=100)
        assert [m.id for m in full.rows] == [ids[25], ids[20]] and full.scanned_to is None and not full.complete


async def test_an_exact_number_is_not_windowed_and_filters_combine(db: Database, settings: Settings) -> None:
    ids = await _ledger(db, settings)
    async with db.read() as conn:
        mine = await console_reads.search_sent(conn, to="+33611000001", limit=50, window=3)
        assert [m.id for m in mine.rows] == [i for n, i in enumerate(ids) if n % 2][::-1] and mine.complete
        prefix = await console_reads.search_sent(conn, to_prefix="+336220", limit=50, window=100)
        assert {m.to for m in prefix.rows} == {"+33622000002"} and len(prefix.rows) == 15
        both = await console_reads.search_sent(conn, to="+33622000002", text="colis", limit=50, window=100)
        assert [m.id for m in both.rows] == [ids[20], ids[10], ids[0]]
        queued = await console_reads.search_sent(conn, state="queued", limit=50)
        assert len(queued.rows) == 30
        assert (await console_reads.search_sent(conn, state="failed", limit=50)).rows == []
        assert (await console_reads.search_sent(conn, text="100%_", limit=50)).rows == []  # LIKE wildcards escaped


async def test_the_first_message_of_a_day_is_found_by_a_binary_search(db: Database, settings: Settings) -> None:
    from datetime import timedelta

    clock = FakeClock()
    outbound = OutboundService(db, settings, clock)
    ids = []
    for _ in range(37):
        ids += [r.id for r in await outbound.submit([NewMessage(to="+33611000001", text="x", source="api")])]
        clock.advance(3600)
    start = FakeClock().now()
    async with db.read() as conn:
        for k in (0, 1, 5, 17, 36):
            assert await console_reads.first_id_since(conn, "messages", start + timedelta(hours=k)) == ids[k]
        assert await console_reads.first_id_since(conn, "messages", start + timedelta(minutes=30)) == ids[1]
        assert await console_reads.first_id_since(conn, "messages", start + timedelta(hours=40)) is None
        assert await console_reads.first_id_since(conn, "opt_out_events", start) is None    # empty table
