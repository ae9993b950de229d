"""Retention on a real SQLite file with a FakeClock: old texts blanked, rows, counts and opt-outs kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from gatewayd import keys
from gatewayd.clock import FakeClock
from gatewayd.config import RetentionSettings
from gatewayd.ops.retention import JOB_ID, Retention
from gatewayd.store import retention as retention_store
from gatewayd.store import webhooks as webhook_store
from gatewayd.store.db import Database
from tests.outbound.conftest import Gateway, gateway

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


async def send(gw: Gateway, to: str, text: str) -> int:
    status, body = await gw.post({"to": to, "text": text, "category": "transactional"})
    assert status == 202, body
    message_id = int(body["messages"][0]["id"])
    await gw.wait_state(message_id, "delivered")
    return message_id


async def inbound_count(gw: Gateway) -> int:
    status, body = await gw.get("/api/v1/inbound?limit=100")
    assert status == 200, body
    return len(body["messages"])


async def receive(gw: Gateway, sender: str, text: str) -> None:
    before = await inbound_count(gw)
    gw.network.deliver("line1", sender, text)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while await inbound_count(gw) == before:
        assert loop.time() < deadline, "inbound SMS never arrived"
        await asyncio.sleep(0.02)


async def test_old_texts_are_blanked_and_counts_and_opt_outs_kept(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    async with gateway(tmp_path, clock=clock, sections={"retention": {"message_body_days": 365}}) as gw:
        assert JOB_ID in gw.app[keys.SCHEDULER].jobs()
        old_id = await send(gw, "+33612345678", "Code secret 1234")
        await receive(gw, "+33698765432", "Ancienne réponse")
        for method, path in (("POST", "/api/v1/opt-outs"), ("DELETE", "/api/v1/opt-outs/+33611111111"),
                             ("POST", "/api/v1/opt-outs")):
            body = {"number": "+33611111111"} if method == "POST" else {"note": "asked again"}
            resp = await gw.client.request(method, path, json=body, headers=gw.auth)
            assert resp.status < 300, await resp.text()

        clock.advance(400 * 86400)
        new_id = await send(gw, "+33612345678", "Nouveau message")
        await receive(gw, "+33698765432", "Réponse récente")
        async with gw.app[keys.DB].read() as conn:
            before = await retention_store.footprint(conn)
        assert (before.messages, before.messages_with_text, before.inbound, before.inbound_with_text) == (2, 2, 2, 2)

        report = await gw.app[keys.RETENTION].run()
        assert (report.message_texts, report.inbound_texts) == (1, 1)

        async with gw.app[keys.DB].read() as conn:
            after = await retention_store.footprint(conn)
        assert (after.messages, after.messages_with_text, after.inbound, after.inbound_with_text) == (2, 1, 2, 1)
        assert after.opt_out_events == before.opt_out_events == 3
        old, new = await gw.message(old_id), await gw.message(new_id)
        assert old["text"] == "" and old["state"] == "delivered" and old["to"] == "+33612345678"
        assert new["text"] == "Nouveau message"
        status, body = await gw.get("/api/v1/inbound?limit=100")
        assert sorted(m["text"] for m in body["messages"]) == ["", "Réponse récente"]
        status, body = await gw.get("/api/v1/opt-outs")
        assert [o["number"] for o in body["opt_outs"]] == ["+33611111111"]
        resp = await gw.client.get("/metrics")
        assert 'gatewayd_messages{state="delivered"} 2.0' in await resp.text()

        again = await gw.app[keys.RETENTION].run()
        assert (again.message_texts, again.inbound_texts, again.thread_previews) == (0, 0, 0)


async def test_zero_days_keeps_texts(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    async with gateway(tmp_path, clock=clock, sections={"retention": {"message_body_days": 0}}) as gw:
        message_id = await send(gw, "+33612345678", "Gardé pour toujours")
        clock.advance(3650 * 86400)
        report = await gw.app[keys.RETENTION].run()
        assert report.message_texts == 0
        assert (await gw.message(message_id))["text"] == "Gardé pour toujours"


async def test_webhook_log_purged_in_batches_pending_kept(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    db = Database(tmp_path / "gatewayd.db")
    await db.open()
    try:
        endpoint = await webhook_store.create_endpoint(db, url="http://127.0.0.1:9/hook", secret="s", events=["*"],
                                                       description="", now=clock.now())
        async with db.write() as conn:
            for i in range(7):
                await webhook_store.enqueue_event(conn, "call.received", {"n": i}, clock.now())
        rows = await webhook_store.deliveries(db, endpoint_id=endpoint.id, limit=100)
        assert len(rows) == 7
        for row in rows[:5]:  # five delivered long ago, two still pending
            await webhook_store.record_attempt(db, row.id, attempt=1, at=clock.now(), status=200, error=None,
                                               duration_ms=3, state="delivered", next_at=None)
        clock.advance(40 * 86400)
        async with db.write() as conn:
            await webhook_store.enqueue_event(conn, "call.received", {"n": "recent"}, clock.now())
        recent = (await webhook_store.deliveries(db, endpoint_id=endpoint.id, limit=100))
        newest = max(recent, key=lambda r: r.id)
        await webhook_store.record_attempt(db, newest.id, attempt=1, at=clock.now(), status=200, error=None,
                                           duration_ms=3, state="delivered", next_at=None)

        retention = Retention(db, RetentionSettings(webhook_log_days=30, batch_size=2), clock)
        report = await retention.run()
        assert report.webhook_deliveries == 5 and report.webhook_events == 5
        assert report.batches >= 3  # five rows in batches of two
        left = await webhook_store.deliveries(db, endpoint_id=endpoint.id, limit=100)
        assert sorted(r.state for r in left) == ["delivered", "pending", "pending"]
        assert await webhook_store.attempts(db, rows[0].id) == []
        async with db.read() as conn:
            fp = await retention_store.footprint(conn)
        assert (fp.webhook_deliveries, fp.webhook_events) == (3, 3)
    finally:
        await db.close()
