"""Alerts end to end: simulated modems on real ptys, a real SMTP server, a real webhook receiver,
the real SQLite file. Each fault raises exactly one alert per channel and one recovery message."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from gatewayd import keys
from gatewayd.alerts.forwarding import CURSOR as FORWARD_CURSOR
from gatewayd.store import alerts as alert_store
from gatewayd.store import email_outbox

from .kit import ADMIN_MAIL, ADMIN_SMS, alerting_gateway, mailbox, sms_to, until

pytestmark = pytest.mark.timeout(90)

# Figures the closing note reports (printed with -s): seconds from the fault to each channel.
TIMINGS: dict[str, float] = {}


async def _quiet_for(gw, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Let the alert service look again and again (no storm may come of it)."""
    ticks = gw.app[keys.ALERTS].ticks
    await until(lambda: gw.app[keys.ALERTS].ticks >= ticks + int(seconds / 0.2), seconds * 5, "alert checks")


async def test_unplugged_line_one_alert_per_channel_then_recovery(tmp_path: Path) -> None:
    async with mailbox() as box, alerting_gateway(tmp_path, box) as (gw, hooks):
        start = time.monotonic()
        await gw.modems[0].unplug()
        seen: dict[str, float] = {}

        def arrived() -> bool:
            now = time.monotonic() - start
            if "email" not in seen and box.subjects("Line line1 has not been able to send"):
                seen["email"] = now
            if "sms" not in seen and sms_to(gw, ADMIN_SMS, "line1"):
                seen["sms"] = now
            if "webhook" not in seen and hooks.events("line.down"):
                seen["webhook"] = now
            return len(seen) == 3

        await until(arrived, 20, "the line-down alert by e-mail, SMS and webhook")
        TIMINGS.update({f"unplug → {k}": v for k, v in seen.items()})
        await _quiet_for(gw, 2.0)
        assert len(box.subjects("ALERT")) == 1, box.subjects()
        assert len(sms_to(gw, ADMIN_SMS)) == 1 and sms_to(gw, ADMIN_SMS)[0].line == "line2"
        down = hooks.events("line.down")
        assert len(down) == 1 and down[0]["data"]["line"] == "line1", down
        (_, message, rcpts), = box.matching("ALERT")
        assert rcpts == [ADMIN_MAIL] and "line1" in message.get_content()
        # The console's notification area holds it, unread.
        status, body = await gw.get("/api/v1/alerts")
        assert status == 200 and body["unacknowledged"] == 1 and body["alerts"][0]["kind"] == "line_down"

        await gw.modems[0].replug()
        await until(lambda: bool(box.subjects("RECOVERED")) and bool(hooks.events("line.up"))
                    and len(sms_to(gw, ADMIN_SMS)) == 2, 30, "the recovery by e-mail, SMS and webhook")
        await _quiet_for(gw, 1.0)
        assert len(box.subjects("RECOVERED")) == 1 and len(box.subjects("ALERT")) == 1
        assert len(hooks.events("line.up")) == 1 and len(hooks.events("line.down")) == 1
        assert "works again" in sms_to(gw, ADMIN_SMS)[1].text


async def test_readyz_goes_503_with_reasons_and_back(tmp_path: Path) -> None:
    async with mailbox() as box, alerting_gateway(tmp_path, box, lines=1) as (gw, _):
        resp = await gw.client.get("/readyz")
        assert resp.status == 200 and (await resp.json()) == {"ready": True, "reasons": []}
        start = time.monotonic()
        await gw.modems[0].unplug()
        body: dict[str, object] = {}

        async def not_ready() -> bool:
            resp = await gw.client.get("/readyz")
            body.update(await resp.json())
            return resp.status == 503

        while not await not_ready():
            assert time.monotonic() - start < 15, body
            await asyncio.sleep(0.02)
        TIMINGS["unplug → /readyz 503"] = time.monotonic() - start
        assert body["ready"] is False and "no line can send (line1: " in str(body["reasons"]), body
        health = await gw.client.get("/healthz")
        assert health.status == 200  # liveness: the process is fine, only not ready
        await gw.modems[0].replug()
        for _ in range(1500):
            resp = await gw.client.get("/readyz")
            if resp.status == 200:
                break
            await asyncio.sleep(0.02)
        assert resp.status == 200, await resp.text()


async def test_deregistration_and_storage_full_raise_one_alert_each_and_recover(tmp_path: Path) -> None:
    async with mailbox() as box, alerting_gateway(tmp_path, box) as (gw, hooks):
        gw.modems[0].deregister()
        await until(lambda: bool(box.subjects("off the network")), 20, "the registration alert")
        gw.modems[0].register()
        await until(lambda: bool(box.subjects("registered on the network again")), 20, "its recovery")

        line2 = gw.modems[1]  # the EC25 profile says +QIND "smsfull" when an SMS meets a full storage
        assert line2.storage_full() > 0
        await line2.deliver_sms("+33611188001", "Je confirme")
        await until(lambda: bool(box.subjects("storage of line line2 is full")), 20, "the storage-full alert")
        await until(lambda: bool(box.subjects("storage of line line2 has room again")), 20, "its recovery")
        await _quiet_for(gw, 2.0)
        assert len(box.subjects("off the network")) == 1 and len(box.subjects("registered on the network")) == 1
        assert len(box.subjects("is full")) == 1 and len(box.subjects("has room again")) == 1
        assert [e["data"]["line"] for e in hooks.events("storage.full")] == ["line2"]
        # Deregistration is a line that cannot send: line.down then line.up, once each.
        assert [e["data"]["kind"] for e in hooks.events("line.down")] == ["registration_lost"]
        assert len(hooks.events("line.up")) == 1
        kinds = sorted(a["kind"] for a in (await gw.get("/api/v1/alerts"))[1]["alerts"])
        assert kinds == ["registration_lost", "storage_full"], kinds


async def test_smtp_down_then_up_loses_nothing(tmp_path: Path) -> None:
    async with mailbox(started=False) as box, alerting_gateway(tmp_path, box, lines=2) as (gw, _):
        await gw.modems[0].unplug()
        db = gw.app[keys.DB]

        async def outbox_errors() -> list[str]:
            async with db.read() as conn, conn.execute(
                    "SELECT last_error FROM email_outbox WHERE state = 'pending' AND attempts > 0") as cur:
                return [r[0] for r in await cur.fetchall()]

        for _ in range(1000):
            if errors := await outbox_errors():
                break
            await asyncio.sleep(0.02)
        assert errors and "127.0.0.1" in errors[0], errors  # the failure is kept for the console
        assert gw.app[keys.EMAIL].status.last_error
        await gw.modems[0].replug()
        await until(lambda: len(sms_to(gw, ADMIN_SMS)) == 2, 30, "alert and recovery SMS (e-mail still down)")
        box.start()  # the mail server comes back
        await until(lambda: len(box.messages) == 2, 30, "both e-mails after the server came back")
        states: dict[str, int] = {}
        for _ in range(500):  # the server took them; the outbox records it just after
            async with db.read() as conn, conn.execute("SELECT state, COUNT(*) FROM email_outbox GROUP BY state") as cur:
                states = {r[0]: r[1] for r in await cur.fetchall()}
            if states == {"sent": 2}:
                break
            await asyncio.sleep(0.02)
        assert states == {"sent": 2}
        assert [s.split(":")[0] for s in box.subjects()] == ["[gatewayd] ALERT", "[gatewayd] RECOVERED"]


async def test_received_sms_are_forwarded_by_email_with_contact_and_line(tmp_path: Path) -> None:
    async with mailbox() as box:
        sections = {"email": {"host": "127.0.0.1", "port": box.port},
                    "forwarding": {"email": ["desk@example.test"], "lines": ["line2"]},
                    "site": {"language": "fr", "timezone": "Europe/Paris"}}
        async with alerting_gateway(tmp_path, box, sections=sections) as (gw, _):
            gw.app[keys.FORWARDER].interval = 0.05
            resp = await gw.client.post("/api/v1/contacts", headers=gw.auth, json={
                "mobile": "+33611122233", "first_name": "Léa", "last_name": "Martin"})
            assert resp.status == 201, await resp.text()
            await gw.modems[0].deliver_sms("+33611122299", "sur la ligne 1: pas transféré")
            await gw.modems[1].deliver_sms("+33611122233", "Bonjour, <b>rappelez</b>-moi")
            await until(lambda: len(box.messages) == 1, 20, "the forwarded SMS")

            async def all_decided() -> bool:
                """The forwarder has looked at both SMS and the outbox has nothing left to send."""
                async with gw.app[keys.DB].read() as conn:
                    done = (await alert_store.cursor(conn, FORWARD_CURSOR) or 0) >= await alert_store.max_inbound_id(conn)
                far = gw.app[keys.CLOCK].now() + timedelta(days=1)  # pending at all, due or not
                return done and await email_outbox.due(gw.app[keys.DB], far, limit=1) == []

            await until(all_decided, 20, "the forwarder and the e-mail outbox idle")
            # (a second e-mail, line1's SMS, would be a bug)
            (_, message, rcpts), = box.messages
            assert rcpts == ["desk@example.test"]
            assert message["Subject"] == "SMS de Léa Martin (+33611122233) sur line2"
            text = message.get_content()
            assert "De: Léa Martin (+33611122233)" in text and "Ligne: line2" in text
            assert "Reçu le: " in text and "(Europe/Paris)" in text
            assert text.rstrip().endswith("Bonjour, <b>rappelez</b>-moi")


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> object:
    yield
    if TIMINGS:
        print("\nalert timings: " + json.dumps({k: round(v, 2) for k, v in TIMINGS.items()}))


async def test_readyz_refuses_other_methods_as_problem_json(tmp_path: Path) -> None:
    """A monitoring probe gets problem JSON from /readyz whatever it asks, as from /healthz
    (schemathesis found `TRACE /readyz` answering text/plain)."""
    async with mailbox() as box, alerting_gateway(tmp_path, box, lines=1) as (gw, _):
        for path in ("/healthz", "/readyz"):
            resp = await gw.client.request("TRACE", path)
            assert resp.status == 405 and resp.content_type == "application/problem+json", (path, resp.content_type)
            assert (await resp.json())["status"] == 405
