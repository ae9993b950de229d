"""A message pinned to a line that cannot send does not wait silently: it carries the line's state
as its reason, and loses it once the line is back and the message goes out."""

from __future__ import annotations

from pathlib import Path

from .conftest import gateway


async def test_a_message_pinned_to_a_gone_line_says_why_it_waits(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2, stable_links=True) as gw:
        await gw.modems[1].unplug()
        status, body = await gw.post({"to": "+33612345678", "text": "par la ligne 2", "modem": "line2",
                                      "category": "transactional"})
        assert status == 202, body
        mid = body["messages"][0]["id"]
        waiting = await gw.wait_until(mid, lambda m: (m.get("error") or "").startswith("waiting for line line2"))
        assert waiting["state"] == "queued"
        assert "disconnected" in waiting["error"] or "opening" in waiting["error"], waiting["error"]
        # The same reason as a code, for clients and for the console's own wording.
        assert waiting["reason"]["code"] in ("line.waiting", "line.waiting_detail"), waiting
        assert waiting["reason"]["params"]["line"] == "line2"
        assert waiting["reason"]["params"]["line_state"] in ("disconnected", "opening"), waiting
        await gw.modems[1].replug()
        sent = await gw.wait_state(mid, "sent", "delivered", timeout=20)
        assert "error" not in sent
