"""First light: one message through the API, the dispatcher and a simulated modem."""

from __future__ import annotations

from pathlib import Path

from .conftest import gateway


async def test_single_message_is_sent_and_delivered(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        status, body = await gw.post({"to": "06 12 34 56 78", "text": "Bonjour", "category": "transactional"})
        assert status == 202, body
        [msg] = body["messages"]
        assert msg["to"] == "+33612345678" and msg["state"] == "queued"
        done = await gw.wait_state(msg["id"], "delivered")
        assert done["modem"] == "line1" and done["parts"][0]["report_status"] == 0
        got = gw.network.received_by("+33612345678")
        assert [r.text for r in got] == ["Bonjour"]
