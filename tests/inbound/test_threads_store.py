"""Threads on a real SQLite file: unread counts, read/unread, last message, listing and search."""

from __future__ import annotations

from datetime import timedelta

from gatewayd.inbound.receive import receive_part
from gatewayd.store import calls, threads
from gatewayd.store.db import Database

from .conftest import T0, sms


async def put(db: Database, text: str, *, sender: str = "+33612345678", line: str = "line1", minute: int = 0) -> int:
    async with db.write() as conn:
        got = await receive_part(conn, sms(text, sender=sender, line=line, seconds=minute * 60),
                                 sender=sender, now=T0 + timedelta(minutes=minute))
    return got.new_messages[0].thread_id  # type: ignore[return-value]


async def test_one_thread_per_number_and_line_with_unread_count(db: Database) -> None:
    a = await put(db, "un", minute=0)
    assert await put(db, "deux", minute=1) == a
    b = await put(db, "autre ligne", line="line2", minute=2)
    assert b != a
    thread = await threads.get(db, a)
    assert thread is not None and thread.unread == 2 and thread.last_text == "deux"
    assert await threads.unread_total(db) == 3


async def test_mark_read_unread_and_outbound_last_message(db: Database) -> None:
    tid = await put(db, "question ?")
    async with db.write() as conn:
        assert await threads.set_read(conn, tid, read=True)
    assert (await threads.get(db, tid)).unread == 0  # type: ignore[union-attr]
    async with db.write() as conn:
        await threads.set_read(conn, tid, read=False)
        await threads.touch_outbound(conn, tid, text="réponse", at=T0 + timedelta(minutes=5))
        assert not await threads.set_read(conn, 999, read=True)
    thread = await threads.get(db, tid)
    assert thread is not None and thread.unread == 1 and thread.last_direction == "out" and thread.last_text == "réponse"


async def test_listing_newest_first_with_keyset_and_unread_filter(db: Database) -> None:
    ids = [await put(db, f"m{i}", sender=f"+3361234560{i}", minute=i) for i in range(5)]
    async with db.write() as conn:
        await threads.set_read(conn, ids[1], read=True)
    page1 = await threads.listing(db, limit=2)
    assert [t.id for t in page1] == [ids[4], ids[3]]
    after = (page1[-1].last_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), page1[-1].id)
    page2 = await threads.listing(db, limit=2, before=after)
    assert [t.id for t in page2] == [ids[2], ids[1]]
    unread = await threads.listing(db, unread_only=True, limit=10)
    assert ids[1] not in [t.id for t in unread] and len(unread) == 4


async def test_search_by_number_prefix_and_by_text(db: Database) -> None:
    a = await put(db, "Je serai en retard pour le rendez-vous", sender="+33611110000", minute=0)
    b = await put(db, "Quel est l'horaire d'ouverture ?", sender="+33622220000", minute=1)
    c = await put(db, "Arrêt de bus fermé", sender="+33633330000", minute=2)
    assert [t.id for t in await threads.listing(db, number_prefix="+336222")] == [b]
    assert [t.id for t in await threads.listing(db, text_query=threads.fts_query("retard"))] == [a]
    assert [t.id for t in await threads.listing(db, text_query=threads.fts_query("arret"))] == [c]  # accents folded
    assert [t.id for t in await threads.listing(db, text_query=threads.fts_query("horai"))] == [b]  # prefix
    both = await threads.listing(db, number_prefix="+336111", text_query=threads.fts_query("horaire"))
    assert sorted(t.id for t in both) == sorted([a, b])
    assert threads.fts_query('") * -') is None  # nothing searchable
    assert await threads.listing(db, text_query=threads.fts_query('") OR NEAR(*')) == []  # quoted: no syntax error


async def test_calls_log_and_listing(db: Database) -> None:
    async with db.write() as conn:
        first = await calls.add(conn, line="line1", number="+33612345678", started_at=T0,
                                ended_at=T0 + timedelta(seconds=9), rings=3, hung_up_by_us=False)
        second = await calls.add(conn, line="line2", number=None, started_at=T0, ended_at=T0, rings=1,
                                 hung_up_by_us=True)
        await calls.set_reply(conn, first, 42)
    listed = await calls.listing(db)
    assert [c.id for c in listed] == [second, first]
    assert listed[0].hung_up_by == "us" and listed[0].number is None
    assert listed[1].hung_up_by == "caller" and listed[1].rings == 3 and listed[1].reply_message_id == 42
    assert [c.id for c in await calls.listing(db, number="+33612345678")] == [first]
    assert [c.id for c in await calls.listing(db, before_id=second)] == [first]


async def test_word_search_by_newest_match_pages_without_repeats(db: Database) -> None:
    # 12 threads; every one says "livraison" at least once, some several times, interleaved.
    said: list[int] = []
    for minute in range(30):
        who = (minute * 7) % 12
        text = "livraison prévue demain" if minute % 3 else "merci, livraison reçue"
        said.append(await put(db, text, sender=f"+336123456{who:02d}", minute=minute))
    newest_first = list(dict.fromkeys(reversed(said)))
    fts = threads.fts_query("livraison")
    assert fts is not None
    pages, before = [], None
    while True:
        found = await threads.search_text(db, fts, limit=5, before=before)
        pages.append([t.id for t, _ in found])
        if len(found) < 5:
            break
        before = found[-1][1]
    assert [tid for page in pages for tid in page] == newest_first  # each thread once, in order
    received = await threads.search_text(db, threads.fts_query("reçue") or "", limit=50)
    assert {t.id for t, _ in received} == {said[m] for m in range(0, 30, 3)}
    async with db.write() as conn:
        await threads.set_read(conn, newest_first[0], read=True)
    unread = await threads.search_text(db, fts, limit=50, unread_only=True)
    assert newest_first[0] not in [t.id for t, _ in unread] and len(unread) == 11
