"""Prepaid balance checks by USSD (real simulated modem), campaign outcomes as alerts, and the
out-of-hours answer (once per sender per closed period, never to short codes or the box itself)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatewayd import keys
from gatewayd.clock import FakeClock

from .kit import alert_sections, alerting_gateway, mailbox, until

pytestmark = pytest.mark.timeout(90)


async def test_low_balance_raises_one_alert_and_a_recovery(tmp_path: Path) -> None:
    async with mailbox() as box:
        sections = alert_sections(box)
        sections["sim_checks"] = [{"line": "line1", "balance_code": "#123#", "low_balance": 20.0,  # type: ignore[dict-item]
                                   "balance_schedule": "0 9 * * *", "keepalive_code": "*144#"}]
        async with alerting_gateway(tmp_path, box, lines=1, sections=sections) as (gw, hooks):
            assert {"balance-line1", "keepalive-line1"} <= set(gw.app[keys.SCHEDULER].jobs())
            resp = await gw.client.post("/api/v1/modems/line1/balance", headers=gw.auth)
            body = await resp.json()
            assert resp.status == 200 and body["amount"] == 12.34 and body["answer"] == "Votre solde est de 12,34 EUR."
            await until(lambda: bool(box.subjects("Low balance on line line1: €12.34")), 20, "the low-balance e-mail")
            await until(lambda: bool(hooks.events("balance.low")), 20, "the balance.low webhook")
            # Checked again, still low: the same incident, nothing new.
            await gw.client.post("/api/v1/modems/line1/balance", headers=gw.auth)
            gw.network.ussd_codes["#123#"] = "Credit : 31,50 EUR valable jusqu'au 01/02/2027"
            resp = await gw.client.post("/api/v1/modems/line1/balance", headers=gw.auth)
            body = await resp.json()
            assert body["amount"] == 31.5, body
            # (the mail library may fold the encoded subject with an extra space before "€")
            await until(lambda: any("€31.50" in s for s in box.subjects("balance of line line1 is back up")), 20,
                        "the recovery")
            assert len(box.subjects("Low balance")) == 1 and len(hooks.events("balance.low")) == 1
            # A line without a configured check says so.
            resp = await gw.client.post("/api/v1/modems/line9/balance", headers=gw.auth)
            assert resp.status == 404
            await gw.app[keys.SIM_CARE].keep_alive("line1")
            assert ("line1", "*144#") in gw.network.ussd_requests


async def test_finished_campaign_is_announced_once(tmp_path: Path) -> None:
    async with mailbox() as box:
        sections = alert_sections(box, sms=[])
        sections["campaigns"] = {"tick_seconds": 0.1}
        async with alerting_gateway(tmp_path, box, lines=1, sections=sections) as (gw, hooks):
            tpl = await (await gw.client.post("/api/v1/templates", headers=gw.auth,
                                              json={"title": "Rappel", "text": "Rendez-vous demain"})).json()
            campaign = await (await gw.client.post("/api/v1/campaigns", headers=gw.auth, json={
                "name": "Rappels", "category": "transactional", "templates": {"default": tpl["id"]},
                "audience": {"numbers": ["+33611000001", "+33611000002"]}})).json()
            resp = await gw.client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=gw.auth, json={})
            assert resp.status < 300, await resp.text()
            await until(lambda: bool(hooks.events("campaign.completed")), 30, "campaign.completed")
            await until(lambda: bool(box.subjects('Campaign "Rappels" is finished')), 20, "the e-mail")
            ticks = gw.app[keys.ALERTS].ticks
            await until(lambda: gw.app[keys.ALERTS].ticks >= ticks + 5, 10, "more alert checks")
            assert len(hooks.events("campaign.completed")) == 1 and len(box.subjects("finished")) == 1
            assert hooks.events("campaign.completed")[0]["data"]["campaign_id"] == campaign["id"]


async def test_out_of_hours_answer_once_per_sender_per_closed_period(tmp_path: Path) -> None:
    # Saturday 7 March 2026, 11:00 in Paris: the office (Mon–Fri 9–18) is closed since Friday 18:00.
    clock = FakeClock(datetime(2026, 3, 7, 10, 0, tzinfo=UTC))
    text = "Nous sommes fermés, nous vous répondrons lundi."
    async with mailbox() as box:
        sections = {"out_of_hours": {"enabled": True, "text": text},
                    "campaigns": {"stop_number": "+33639980001"}}
        async with alerting_gateway(tmp_path, box, lines=1, sections=sections, clock=clock) as (gw, _):
            line = gw.modems[0]

            def answers(to: str) -> list[object]:
                return [r for r in gw.network.received if r.recipient == to and r.text == text]

            await line.deliver_sms("+33611200001", "Bonjour, êtes-vous ouverts ?")
            await until(lambda: len(answers("+33611200001")) == 1, 20, "the out-of-hours answer")
            await line.deliver_sms("+33611200001", "Allô ?")          # same period: no second answer
            await line.deliver_sms("36000", "Votre code: 1234")       # a short code: never
            await line.deliver_sms("+33639980001", "echo")            # the box's own number: never
            await line.deliver_sms("+33611200002", "Un autre client")  # another sender: answered
            await until(lambda: len(answers("+33611200002")) == 1, 20, "the second sender's answer")
            clock.advance(timedelta(days=2).total_seconds())          # Monday 11:00: open
            await line.deliver_sms("+33611200001", "Lundi matin")
            clock.advance(timedelta(hours=8).total_seconds())         # Monday 19:00: a new closed period
            await line.deliver_sms("+33611200001", "Lundi soir")
            await until(lambda: len(answers("+33611200001")) == 2, 20, "the next period's answer")
            inbound = []
            for _ in range(200):
                status, body = await gw.get("/api/v1/inbound?limit=50")
                inbound = body["messages"]
                if len(inbound) == 7:
                    break
                await asyncio.sleep(0.02)
            assert len(inbound) == 7
            assert answers("36000") == [] and answers("+33639980001") == []
            assert len(answers("+33611200001")) == 2 and len(answers("+33611200002")) == 1
