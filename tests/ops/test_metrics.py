"""GET /metrics on the whole app over a simulated line: parsed as Prometheus text, values follow the data."""

from __future__ import annotations

import asyncio

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gatewayd import keys

from tests.outbound.conftest import Gateway, gateway


async def scrape(gw: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = await gw.client.get("/metrics")  # no Authorization header: like /healthz
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await resp.text()
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_follow_a_submitted_message(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=1) as gw:
        before = await scrape(gw)
        assert value(before, "gatewayd_messages", state="delivered") == 0
        assert value(before, "gatewayd_line_state", line="line1", state="ready") == 1
        assert value(before, "gatewayd_line_state", line="line1", state="disconnected") == 0
        assert value(before, "gatewayd_line_registered", line="line1") == 1
        assert 0 <= value(before, "gatewayd_line_signal_rssi", line="line1") <= 31
        assert ("gatewayd_parts_total", (("line", "line1"), ("state", "delivered"))) not in before
        assert ("gatewayd_send_latency_seconds_count", (("line", "line1"),)) not in before

        status, body = await gw.post({"to": "+33612345678", "text": "Bonjour", "category": "transactional"})
        assert status == 202, body
        await gw.wait_state(body["messages"][0]["id"], "delivered")
        later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        status, body = await gw.post({"to": "+33612345679", "text": "Plus tard", "category": "transactional",
                                      "send_at": later})
        assert status == 202, body

        after = await scrape(gw)
        assert value(after, "gatewayd_messages", state="delivered") == 1
        assert value(after, "gatewayd_messages", state="scheduled") == 1
        assert value(after, "gatewayd_scheduled_messages") == 1
        assert value(after, "gatewayd_queue_depth") == 0
        assert value(after, "gatewayd_parts_total", line="line1", state="delivered") == 1
        # A counter: the part delivered is still counted as sent.
        assert value(after, "gatewayd_parts_total", line="line1", state="sent") == 1
        rssi = value(after, "gatewayd_line_signal_rssi", line="line1")
        assert value(after, "gatewayd_line_signal_dbm", line="line1") == -113 + 2 * rssi
        assert value(after, "gatewayd_line_reconnects_total", line="line1") == 0
        assert value(after, "gatewayd_send_retries_total") == 0
        assert value(after, "gatewayd_send_latency_seconds_count", line="line1") == 1
        assert value(after, "gatewayd_send_latency_seconds_bucket", line="line1", le="+Inf") == 1


async def test_metrics_count_opt_outs_and_are_documented(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=1) as gw:
        before = await scrape(gw)
        assert value(before, "gatewayd_opt_outs") == 0
        resp = await gw.client.post("/api/v1/opt-outs", json={"number": "+33611111111"}, headers=gw.auth)
        assert resp.status in (200, 201), await resp.text()
        after = await scrape(gw)
        assert value(after, "gatewayd_opt_outs") == 1
        assert value(after, "gatewayd_opt_out_events_total", action="out") == 1
        assert value(after, "gatewayd_inbound_messages_total") == 0
        assert value(after, "gatewayd_calls_total") == 0
        assert value(after, "gatewayd_webhook_backlog") == 0
        db_file = gw.app[keys.DB].path
        assert value(after, "gatewayd_database_bytes", file="main") == db_file.stat().st_size > 0
        assert value(after, "gatewayd_database_disk_free_bytes") > 0
        assert value(after, "gatewayd_database_writable") == 1

        doc = await (await gw.client.get("/api/v1/openapi.json")).json()
        op = doc["paths"]["/metrics"]["get"]
        assert "x-undocumented" not in op and op["security"] == []


async def test_failures_are_counted_by_cause_and_webhook_failures_by_kind(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=1, sections={"webhooks": {"retry_base_seconds": 0.05,
                                                                  "retry_cap_seconds": 0.1}}) as gw:
        resp = await gw.client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/dead", "events": ["*"]},
                                    headers=gw.auth)
        assert resp.status == 201
        gw.modems[0].fail_next(1)
        status, body = await gw.post({"to": "+33612345678", "text": "Bonjour", "category": "transactional"})
        assert status == 202, body
        failed = await gw.wait_state(body["messages"][0]["id"], "failed")
        for _ in range(200):  # the dead endpoint's attempts: wait until two were recorded
            samples = await scrape(gw)
            if value(samples, "gatewayd_webhook_failures_total", kind="no_answer") >= 2:
                break
            await asyncio.sleep(0.05)
        assert value(samples, "gatewayd_webhook_failures_total", kind="no_answer") >= 2
        assert value(samples, "gatewayd_webhook_failures_total", kind="http_error") == 0
        causes = {dict(labels)["cause"]: v for (name, labels), v in samples.items()
                  if name == "gatewayd_message_failures_total"}
        assert sum(causes.values()) == 1 and failed["state"] == "failed", causes
        # Counters never go down: purging the failed message leaves them.
        async with gw.app[keys.DB].write() as conn:
            await conn.execute("DELETE FROM messages")
        again = await scrape(gw)
        assert sum(v for (name, _), v in again.items() if name == "gatewayd_message_failures_total") == 1


async def test_the_state_gauge_follows_the_ledger_without_scanning_it(tmp_path: Path) -> None:
    """The messages-by-state gauge is kept by triggers: after inserts (one by one and in bulk), moves
    and a removal it equals the GROUP BY over the ledger; a database migrated with messages in it is
    seeded from them."""
    from gatewayd.store import messages as ledger
    from gatewayd.store import metrics
    from gatewayd.store.db import Database
    from gatewayd.store.migrations import migrate

    iso = "2026-12-07T10:00:00.000Z"

    def row(i: int, state: str) -> tuple[object, ...]:
        values = {"id": i, "to_number": f"+3361{i:08d}", "text": "x", "category": "transactional", "state": state,
                  "priority": 0, "source": "api", "line_key": "", "line_soft": 0, "segments": 1, "encoding": "GSM-7",
                  "concat_ref": 0, "due_at": iso, "created_at": iso, "updated_at": iso}
        return tuple(values.get(c) for c in ledger.INSERT_COLUMNS)

    import sqlite3

    import aiosqlite

    path = tmp_path / "gatewayd.db"
    async with aiosqlite.connect(path) as conn:  # an older database, with messages, then upgraded
        await migrate(conn, target=18)
        await conn.executemany(ledger._INSERT_SQL, [row(i, "delivered" if i % 3 else "failed") for i in range(1, 31)])
        # Inbound SMS, calls and opt-out events already there: the totals are seeded from them.
        for _ in range(2):
            await conn.execute("INSERT INTO inbound_messages (line, sender, text, received_at) VALUES ('line1', '+33611111111', 'x', ?)", (iso,))
        await conn.execute("INSERT INTO calls (line, number, started_at, ended_at, rings, hung_up_by) VALUES ('line1', NULL, ?, ?, 1, 'us')", (iso, iso))
        for action in ("out", "out", "in"):
            await conn.execute("INSERT INTO opt_out_events (number, action, source, created_at) VALUES ('+33611111111', ?, 'api', ?)", (action, iso))
        await conn.commit()
    db = Database(path)
    await db.open()
    try:
        async def both() -> tuple[dict[str, int], dict[str, int]]:
            async with db.read() as conn:
                return (await metrics.snapshot(conn)).messages_by_state, await ledger.state_counts(conn)

        gauge, scan = await both()
        assert gauge == scan == {"delivered": 20, "failed": 10}
        now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
        async with db.write() as conn:
            await ledger.insert_messages(conn, [row(i, "queued") for i in range(31, 36)])
            await ledger.insert_messages(conn, [row(i, "scheduled") for i in range(36, 36 + ledger.STAGE_FROM + 5)])
        async with db.write() as conn:
            for i in (31, 32):
                await ledger.mark_sending(conn, i, "line1", now)
            await ledger.mark_sent(conn, 31, now)
            await ledger.cancel(conn, 33, now)
            await ledger.promote_due(conn, now)
            await conn.execute("DELETE FROM messages WHERE id = 1")  # no code path deletes one today
            await conn.execute("INSERT INTO calls (line, number, started_at, ended_at, rings, hung_up_by) VALUES ('line1', NULL, ?, ?, 1, 'us')", (iso, iso))
            await conn.execute("INSERT INTO opt_out_events (number, action, source, created_at) VALUES ('+33622222222', 'out', 'api', ?)", (iso,))
        gauge, scan = await both()
        assert gauge == scan
        # A scrape reads no row of the ledger itself.
        async with aiosqlite.connect(path) as conn:
            tables: set[str] = set()

            def note(action: int, table: str | None, *_: object) -> int:
                if action == sqlite3.SQLITE_READ and table:
                    tables.add(table)
                return sqlite3.SQLITE_OK

            await conn.set_authorizer(note)
            await metrics.snapshot(conn)
        assert "message_state_counts" in tables and "messages" not in tables and "message_parts" not in tables
        assert not tables & {"inbound_messages", "calls"}  # their totals are counters too
        async with db.read() as conn:
            snap = await metrics.snapshot(conn)
        assert (snap.inbound, snap.calls, snap.opt_out_events) == (2, 2, {"out": 3, "in": 1})
        assert sum(gauge.values()) == 29 + 5 + ledger.STAGE_FROM + 5 and gauge["sent"] == gauge["sending"] == 1
        assert gauge["canceled"] == 1 and gauge["delivered"] == 19
    finally:
        await db.close()
