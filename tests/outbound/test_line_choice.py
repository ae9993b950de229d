"""The line choice rule over two simulated lines (real ptys): a correspondent keeps being written to
from the line of the last exchange ("sticky", a soft pin that yields when its line goes down), a
user's default line, and the STOP mention naming the number of the line it leaves through."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from gatewayd import keys
from gatewayd.outbound.compose import Draft
from gatewayd.outbound.model import Category
from gatewayd.store import templates as template_store
from gatewayd.store import users as user_store

from .conftest import Gateway, gateway, until

CUSTOMER = "+33612345678"


async def _line_of(gw: Gateway, body: dict[str, object]) -> str:
    status, answer = await gw.post({"category": "transactional", **body})
    assert status == 202, answer
    sent = await gw.wait_state(answer["messages"][0]["id"], "sent", "delivered", timeout=20)
    return str(sent["modem"])


async def _received_on(gw: Gateway, line: str, text: str) -> None:
    """The customer texts `line`; returns once the daemon stored it (its thread exists)."""
    gw.network.deliver(line, CUSTOMER, text)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        async with gw.app[keys.DB].read() as conn:
            async with conn.execute("SELECT 1 FROM threads WHERE number = ? AND line = ? AND last_text = ?",
                                    (CUSTOMER, line, text)) as cur:
                if await cur.fetchone():
                    return
        if loop.time() > deadline:
            raise AssertionError(f"the SMS sent to {line} was never stored")
        await asyncio.sleep(0.05)


async def test_a_correspondent_is_answered_from_the_line_they_wrote_to(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2, stable_links=True) as gw:
        await _received_on(gw, "line2", "Bonjour, mon rendez-vous ?")
        # Written to without choosing a line: every message leaves through line2, the line they wrote to
        # (the dispatcher alone would share them between the two lines).
        lines = [await _line_of(gw, {"to": CUSTOMER, "text": f"Rappel {i}"}) for i in range(4)]
        assert lines == ["line2"] * 4
        # A line the sender names still wins.
        assert await _line_of(gw, {"to": CUSTOMER, "text": "par la 1", "modem": "line1"}) == "line1"
        # ...and the exchange is now on line1: the next one follows it.
        assert await _line_of(gw, {"to": CUSTOMER, "text": "suite"}) == "line1"
        # Someone who never wrote is not pinned.
        status, body = await gw.post({"to": "+33699999999", "text": "x", "category": "transactional"})
        async with gw.app[keys.DB].read() as conn:
            row = await (await conn.execute("SELECT line, line_soft FROM messages WHERE id = ?",
                                            (body["messages"][0]["id"],))).fetchone()
        assert tuple(row) == (None, 0)


async def test_a_soft_pin_yields_when_its_line_goes_down(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2, stable_links=True) as gw:
        await _received_on(gw, "line2", "allo")
        assert await _line_of(gw, {"to": CUSTOMER, "text": "un"}) == "line2"
        pool = gw.app[keys.POOL]
        await gw.modems[1].unplug()
        await until(lambda: pool.ready_lines() == ["line1"], 20, "line2 down")
        # Down at enqueue: not pinned to it at all.
        assert await _line_of(gw, {"to": CUSTOMER, "text": "deux"}) == "line1"


async def test_a_message_softly_pinned_to_a_line_that_then_goes_down_leaves_by_another(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2, stable_links=True) as gw:
        await _received_on(gw, "line2", "allo")
        outbound = gw.app[keys.OUTBOUND]
        [row] = await outbound.submit_draft(Draft(recipients=(CUSTOMER,), text="plus tard", source="api",
                                                  send_at=gw.app[keys.CLOCK].now() + timedelta(seconds=3)))
        assert row.line == "line2" and row.state == "scheduled"
        await gw.modems[1].unplug()
        sent = await gw.wait_state(row.id, "sent", "delivered", timeout=30)
        assert sent["modem"] == "line1"


async def test_a_users_default_line_is_used_when_they_choose_none(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2) as gw:
        db = gw.app[keys.DB]
        clock = gw.app[keys.CLOCK]
        uid = await user_store.insert(db, name="accueil", password_hash="x", role="operator", now=clock.now())
        assert await user_store.set_default_line(db, uid, "line2")
        outbound = gw.app[keys.OUTBOUND]
        rows = await outbound.submit_draft(Draft(recipients=("+33611111111", "+33622222222", "+33633333333"),
                                                 text="Bonjour", source="console", user_id=uid,
                                                 created_by="console accueil"))
        assert [(r.line) for r in rows] == ["line2"] * 3
        for r in rows:
            assert (await gw.wait_state(r.id, "sent", "delivered", timeout=20))["modem"] == "line2"
        # Another user without a default: any line.
        other = await user_store.insert(db, name="sav", password_hash="x", role="operator", now=clock.now())
        [row] = await outbound.submit_draft(Draft(recipients=("+33644444444",), text="x", source="console",
                                                  user_id=other))
        assert row.line is None


async def test_the_stop_mention_names_the_number_of_the_line_it_leaves_through(tmp_path: Path) -> None:
    # line1's SIM stores its number (AT+CNUM); line2's does not: an admin sets it.
    sections = {"campaigns": {"stop_mention": "STOP au {number}", "stop_number": "+33600000000"}}
    async with gateway(tmp_path, lines=2, msisdns=("+33612340001", ""), sections=sections) as gw:
        resp = await gw.client.put("/api/v1/modems/line2/identity", json={"label": "SAV", "number": "06 12 34 00 02"},
                                   headers=gw.auth)
        assert resp.status == 204, await resp.text()
        status, modems = await gw.get("/api/v1/modems")
        assert {m["name"]: (m["label"], m["number"]) for m in modems["modems"]} == {
            "line1": ("line1", "+33612340001"), "line2": ("SAV", "+33612340002")}
        texts = {}
        for line in ("line1", "line2"):
            status, body = await gw.post({"to": "+33655555555", "text": "Promo", "category": "marketing",
                                          "modem": line})
            assert status == 202, body
            texts[line] = (await gw.message(body["messages"][0]["id"]))["text"]
        assert texts == {"line1": "Promo\nSTOP au +33612340001", "line2": "Promo\nSTOP au +33612340002"}
        # No line known at composition: the site's number.
        status, body = await gw.post({"to": "+33655555556", "text": "Promo", "category": "marketing"})
        assert (await gw.message(body["messages"][0]["id"]))["text"] == "Promo\nSTOP au +33600000000"
        # The counters' preview through a line counts that line's mention.
        composer = gw.app[keys.OUTBOUND].composer
        assert composer.preview("Promo", category=Category.MARKETING, line="line2").text == "Promo\nSTOP au +33612340002"


async def test_a_templates_line_applies_to_a_text_started_from_it(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2) as gw:
        db, clock = gw.app[keys.DB], gw.app[keys.CLOCK]
        tpl = await template_store.insert(db, title="SAV", line="line2", text="Votre dossier {code}", now=clock.now())
        outbound = gw.app[keys.OUTBOUND]
        # New SMS: the text was taken from the template and edited; the template's line still applies,
        # as a line chosen (not a soft pin).
        [row] = await outbound.submit_draft(Draft(recipients=("+33611111111",), text="Votre dossier 42 est prêt",
                                                  based_on=tpl, source="console"))
        assert (row.line, await _soft(gw, row.id)) == ("line2", 0)
        # A line chosen in the form wins over the template's.
        [row] = await outbound.submit_draft(Draft(recipients=("+33611111111",), text="x", based_on=tpl,
                                                  line="line1", source="console"))
        assert row.line == "line1"


async def _soft(gw: Gateway, message_id: int) -> int:
    async with gw.app[keys.DB].read() as conn:
        async with conn.execute("SELECT line_soft FROM messages WHERE id = ?", (message_id,)) as cur:
            row = await cur.fetchone()
    assert row is not None
    return int(row[0])
