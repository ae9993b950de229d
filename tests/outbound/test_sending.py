"""Sending through simulated modems over ptys: encodings, multipart, reports, errors, failover."""

from __future__ import annotations

from pathlib import Path

from gatewayd import keys
from gatewayd.modem.sim import SimNetwork

from .conftest import gateway, until

LONG_GSM = "Rendez-vous confirmé. " * 20          # 440 GSM-7 chars (é is GSM-7): 3 parts
EMOJI = "Joyeux anniversaire 🎉🎂 " * 5            # UCS-2 with surrogate pairs: 2 parts


async def test_gsm7_and_emoji_multipart_are_sent_whole_and_delivered(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        status, body = await gw.post({"to": ["0612345678", "+33698765432"], "text": LONG_GSM,
                                      "category": "transactional"})
        assert status == 202
        status, emoji = await gw.post({"to": "0611111111", "text": EMOJI, "category": "transactional"})
        ids = [m["id"] for m in body["messages"]] + [emoji["messages"][0]["id"]]
        done = [await gw.wait_state(i, "delivered") for i in ids]
        assert [d["segments"] for d in done] == [3, 3, 2]
        assert [d["encoding"] for d in done] == ["GSM-7", "GSM-7", "UCS-2"]
        for d in done:
            refs = [p["reference"] for p in d["parts"]]
            assert [p["seq"] for p in d["parts"]] == list(range(1, d["segments"] + 1))
            assert all(isinstance(r, int) for r in refs) and len(set(refs)) == len(refs)
            assert all(p["state"] == "delivered" and p["report_status"] == 0 for p in d["parts"])
        assert sorted((r.recipient, r.text, r.parts) for r in gw.network.received) == sorted([
            ("+33612345678", LONG_GSM, 3), ("+33698765432", LONG_GSM, 3), ("+33611111111", EMOJI, 2)])
        assert gw.network.duplicate_parts == []


async def test_still_trying_is_not_failure_and_reports_fold_into_one_state(tmp_path: Path) -> None:
    net = SimNetwork()
    net.add_subscriber("+33622222222", report_status=(0x21, 0x00), report_delay=0.1)   # busy, then delivered
    net.add_subscriber("+33633333333", report_status=(0x30, 0x46), report_delay=0.1)   # trying, then expired
    async with gateway(tmp_path, network=net) as gw:
        _, a = await gw.post({"to": "+33622222222", "text": "a", "category": "transactional"})
        _, b = await gw.post({"to": "+33633333333", "text": LONG_GSM, "category": "transactional"})
        a_id, b_id = a["messages"][0]["id"], b["messages"][0]["id"]
        sent = await gw.wait_state(a_id, "sent", "delivered")
        await until(lambda: any(p.recipient == "+33622222222" for p in gw.network.parts), what="part out")
        # The "still trying" report (0x21) is in the ledger (or already the final one, which comes after it).
        mid = await gw.wait_until(a_id, lambda m: m["parts"][0]["report_status"] in (0x21, 0))
        assert mid["state"] in ("sent", "delivered") and sent["state"] != "failed"
        assert (await gw.wait_state(a_id, "delivered"))["parts"][0]["report_status"] == 0
        failed = await gw.wait_state(b_id, "failed")
        assert "validity period expired" in failed["error"] and "0x46" in failed["error"]
        assert failed["sent_at"] is not None  # it did go out: the network gave up on it


async def test_transient_error_is_retried_and_permanent_error_fails_at_once(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        gw.modems[0].fail_next(42, times=2)  # congestion, twice
        _, body = await gw.post({"to": "+33612345678", "text": "retry me", "category": "transactional"})
        done = await gw.wait_state(body["messages"][0]["id"], "delivered")
        assert done["attempts"] == 2 and "error" not in done
        assert len(gw.network.received_by("+33612345678")) == 1

        gw.modems[0].fail_next(1)  # unassigned number: permanent
        _, body = await gw.post({"to": "+33687654321", "text": "nobody", "category": "transactional"})
        failed = await gw.wait_state(body["messages"][0]["id"], "failed")
        assert failed["error_code"] == 1 and "unassigned number" in failed["error"]
        assert failed["attempts"] == 0 and gw.network.received_by("+33687654321") == []


async def test_retries_give_up_after_the_table_limit(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        gw.modems[0].fail_next(111, times=10)  # "protocol error, unspecified": 2 retries in the table
        _, body = await gw.post({"to": "+33612345678", "text": "doomed", "category": "transactional"})
        failed = await gw.wait_state(body["messages"][0]["id"], "failed")
        assert failed["attempts"] == 3 and failed["error"].startswith("gave up after 3 attempts")
        assert failed["error_code"] == 111


async def test_only_the_missing_parts_are_retried(tmp_path: Path) -> None:
    async with gateway(tmp_path, latency=0.1) as gw:
        _, body = await gw.post({"to": "+33612345678", "text": LONG_GSM, "category": "transactional"})
        await until(lambda: len(gw.network.parts) == 1, what="first part out")
        gw.modems[0].fail_next(42)  # the second part meets congestion
        done = await gw.wait_state(body["messages"][0]["id"], "delivered")
        assert done["attempts"] == 1
        seqs = [p.concat.sequence for p in gw.network.parts if p.concat]
        assert sorted(seqs) == [1, 2, 3] and gw.network.duplicate_parts == []
        [whole] = gw.network.received
        assert whole.text == LONG_GSM and whole.parts == 3


async def test_a_hung_modem_s_work_moves_to_another_line(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2) as gw:
        gw.modems[0].hang()
        _, body = await gw.post({"to": [f"+336120000{i:02d}" for i in range(6)], "text": "failover",
                                 "category": "transactional"})
        done = [await gw.wait_state(m["id"], "delivered", timeout=15) for m in body["messages"]]
        assert {d["modem"] for d in done} == {"line2"}
        assert len(gw.network.received) == 6 and {r.line for r in gw.network.received} == {"line2"}
        info = gw.app[keys.DISPATCHER].line_info("line1")
        assert info["last_send_error"] is not None


async def test_outcome_unknown_is_never_resent_automatically_but_can_be_resent(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        gw.modems[0].swallow_next_result(sent=True)  # it goes out, but +CMGS never comes back
        _, body = await gw.post({"to": "+33612345678", "text": "maybe", "category": "transactional"})
        message_id = body["messages"][0]["id"]
        unknown = await gw.wait_state(message_id, "unknown")
        assert "may or may not" in unknown["error"]
        await gw.settle()
        assert len(gw.network.received_by("+33612345678")) == 1  # no automatic second copy
        resp = await gw.client.post(f"/api/v1/messages/{message_id}/resend", headers=gw.auth)
        assert resp.status == 202
        again = await resp.json()
        assert again["resend_of"] == message_id and again["id"] != message_id
        assert again["created_by"] == "api key test"  # a deliberate resend says who asked
        await gw.wait_state(again["id"], "delivered")
        resp = await gw.client.post(f"/api/v1/messages/{message_id}/resend", headers=gw.auth)
        assert resp.status == 409 and "already resent" in (await resp.json())["detail"]
        resp = await gw.client.post(f"/api/v1/messages/{again['id']}/resend", headers=gw.auth)
        assert resp.status == 409  # delivered messages are not resent


async def test_api_messages_go_before_campaign_bulk(tmp_path: Path) -> None:
    from gatewayd.outbound.model import Category, NewMessage

    async with gateway(tmp_path, latency=0.03) as gw:
        outbound = gw.app[keys.OUTBOUND]
        bulk = [NewMessage(to=f"+336130000{i:02d}", text=f"bulk {i}", category=Category.TRANSACTIONAL, priority=10,
                           source="campaign") for i in range(15)]
        await outbound.submit(bulk)
        await until(lambda: len(gw.network.received) >= 2, what="bulk started")
        _, body = await gw.post({"to": "+33699999999", "text": "urgent", "category": "transactional"})
        await gw.wait_state(body["messages"][0]["id"], "delivered", "sent")
        order = [r.text for r in gw.network.received]
        assert order.index("urgent") <= 4, order  # behind at most the bulk already on the wire
