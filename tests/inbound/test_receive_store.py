"""Receiving parts into a real SQLite file: duplicates, reassembly across restarts, timeouts, raw PDUs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gatewayd.inbound.receive import flush_stale, receive_part, release_slot
from gatewayd.store import inbound, threads
from gatewayd.store.db import Database

from .conftest import T0, sms


async def put(db: Database, part, *, now=T0):  # type: ignore[no-untyped-def]
    async with db.write() as conn:
        return await receive_part(conn, part, sender=part.sender, now=now)


async def count(db: Database, table: str) -> int:
    async with db.read() as conn, conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    return int(row[0])


async def test_single_message_creates_thread_and_message(db: Database) -> None:
    got = await put(db, sms("Bonjour"))
    assert not got.duplicate and len(got.new_messages) == 1
    message = got.new_messages[0]
    assert (message.text, message.sender, message.line, message.parts_missing) == ("Bonjour", "+33612345678", "line1", ())
    thread = await threads.get(db, message.thread_id)  # type: ignore[arg-type]
    assert thread is not None and thread.unread == 1 and thread.last_text == "Bonjour" and thread.last_direction == "in"


async def test_same_part_read_twice_is_stored_once(db: Database) -> None:
    first = await put(db, sms("Bonjour"))
    again = await put(db, sms("Bonjour"), now=T0 + timedelta(minutes=5))
    assert again.duplicate and again.new_messages == ()
    assert await count(db, "inbound_messages") == 1 and await count(db, "inbound_parts") == 1
    thread = await threads.get(db, first.new_messages[0].thread_id)  # type: ignore[arg-type]
    assert thread is not None and thread.unread == 1


async def test_twins_in_one_second_are_both_kept_but_a_slot_read_twice_is_not(db: Database) -> None:
    # An alarm panel sends the same text twice in one second: same sender, time and bytes.
    first = await put(db, sms("ALARME ZONE 2", slot="SM/1"))
    twin = await put(db, sms("ALARME ZONE 2", slot="SM/2"))
    assert not first.duplicate and not twin.duplicate
    # The first one read again from its slot (committed, then the daemon stopped before deleting it).
    again = await put(db, sms("ALARME ZONE 2", slot="SM/1"), now=T0 + timedelta(minutes=1))
    assert again.duplicate
    assert await count(db, "inbound_messages") == 2


async def test_a_twin_stored_in_the_slot_the_first_one_left_is_kept(db: Database) -> None:
    first = sms("ALARME ZONE 2", slot="SM/1")
    await put(db, first)
    async with db.write() as conn:
        assert await release_slot(conn, first, sender=first.sender)  # deleted from the modem
    twin = await put(db, sms("ALARME ZONE 2", slot="SM/1"))
    assert not twin.duplicate
    assert await count(db, "inbound_messages") == 2


async def test_identical_text_at_different_smsc_times_is_kept_twice(db: Database) -> None:
    await put(db, sms("Oui", seconds=0))
    second = await put(db, sms("Oui", seconds=40))
    assert not second.duplicate
    assert await count(db, "inbound_messages") == 2


async def test_same_time_but_other_sender_or_line_is_not_a_duplicate(db: Database) -> None:
    await put(db, sms("Oui"))
    assert not (await put(db, sms("Oui", sender="+33699999999"))).duplicate
    assert not (await put(db, sms("Oui", line="line2"))).duplicate
    assert await count(db, "threads") == 3


async def test_multipart_out_of_order_and_duplicate_part(db: Database) -> None:
    assert (await put(db, sms("troisième", concat=(7, 3, 3), seconds=2))).waiting
    assert (await put(db, sms("premier ", concat=(7, 3, 1), seconds=0))).waiting
    assert (await put(db, sms("premier ", concat=(7, 3, 1), seconds=0))).duplicate
    done = await put(db, sms("deuxième ", concat=(7, 3, 2), seconds=1))
    assert [m.text for m in done.new_messages] == ["premier deuxième troisième"]
    message = done.new_messages[0]
    assert message.parts_total == 3 and message.parts_missing == () and message.smsc_time == T0
    async with db.read() as conn:
        parts = await inbound.parts_of(conn, message.id)
    assert [p.concat_seq for p in parts] == [1, 2, 3]
    assert await count(db, "inbound_messages") == 1


async def test_multipart_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    first = Database(path)
    await first.open()
    try:
        assert (await put(first, sms("fin.", concat=(200, 2, 2), seconds=1))).waiting
    finally:
        await first.close()
    second = Database(path)
    await second.open()
    try:
        done = await put(second, sms("Le début et la ", concat=(200, 2, 1)), now=T0 + timedelta(minutes=3))
        assert [m.text for m in done.new_messages] == ["Le début et la fin."]
    finally:
        await second.close()


async def test_incomplete_message_kept_after_timeout_with_marker_then_late_part_completes(db: Database) -> None:
    await put(db, sms("A", concat=(9, 3, 1)))
    await put(db, sms("C", concat=(9, 3, 3), seconds=2))
    async with db.write() as conn:
        assert await flush_stale(conn, older_than=T0 - timedelta(minutes=1), now=T0) == []  # not yet
    async with db.write() as conn:
        kept = await flush_stale(conn, older_than=T0 + timedelta(seconds=1), now=T0 + timedelta(hours=1))
    assert len(kept) == 1
    message = kept[0]
    assert message.text == "A[part 2/3 missing]C" and message.parts_missing == (2,)
    thread = await threads.get(db, message.thread_id)  # type: ignore[arg-type]
    assert thread is not None and thread.unread == 1
    late = await put(db, sms("B", concat=(9, 3, 2), seconds=1), now=T0 + timedelta(hours=2))
    assert late.new_messages == () and late.completed is not None
    assert late.completed.id == message.id and late.completed.text == "ABC" and late.completed.parts_missing == ()
    assert await count(db, "inbound_messages") == 1
    hits = await inbound.search(db, threads.fts_query("ABC") or "")
    assert [m.id for m in hits] == [message.id]  # the search index follows the late text


async def test_reference_reused_while_old_group_waits_flushes_the_old_one(db: Database) -> None:
    await put(db, sms("vieux ", concat=(5, 2, 1)))
    got = await put(db, sms("nouveau ", concat=(5, 2, 1), seconds=3600))
    assert [m.text for m in got.new_messages] == ["vieux [part 2/2 missing]"] and got.waiting
    done = await put(db, sms("message", concat=(5, 2, 2), seconds=3601))
    assert [m.text for m in done.new_messages] == ["nouveau message"]


async def test_garbage_pdu_is_kept_raw_and_listed(db: Database) -> None:
    garbage = sms("", sender="", at=None, pdu="07913366003000F0FFFF00", undecodable="TPDU truncated")
    got = await put(db, garbage)
    assert len(got.new_messages) == 1
    message = got.new_messages[0]
    assert message.thread_id is None and message.undecodable == "TPDU truncated" and message.sender == ""
    assert (await put(db, garbage)).duplicate  # the same bytes read again
    raw = await inbound.undecodable_parts(db)
    assert [p.pdu for p in raw] == ["07913366003000F0FFFF00"]
    assert await count(db, "threads") == 0


async def test_undecodable_text_with_known_sender_lands_in_its_thread(db: Database) -> None:
    got = await put(db, sms("", undecodable="unknown data coding 0xF4"))
    message = got.new_messages[0]
    assert message.thread_id is not None and message.undecodable == "unknown data coding 0xF4"


async def test_since_lists_oldest_first_from_a_time_or_an_id(db: Database) -> None:
    for i in range(5):
        await put(db, sms(f"m{i}", seconds=i), now=T0 + timedelta(minutes=i))
    everything = await inbound.since(db)
    assert [m.text for m in everything] == ["m0", "m1", "m2", "m3", "m4"]
    assert [m.text for m in await inbound.since(db, received_from=T0 + timedelta(minutes=2))] == ["m2", "m3", "m4"]
    assert [m.text for m in await inbound.since(db, after_id=everything[3].id)] == ["m4"]
    assert await inbound.since(db, received_from=T0 + timedelta(days=1)) == []
