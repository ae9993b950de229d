"""A message whose delivery report never comes does not stay `sent` without a word: after
[outbound] report_timeout_hours it says why (and a report that comes later still settles it)."""

from __future__ import annotations

from pathlib import Path

from gatewayd.modem.sim import SimNetwork

from .conftest import gateway


async def test_no_report_within_the_deadline_is_said_and_a_late_report_still_counts(tmp_path: Path) -> None:
    net = SimNetwork()
    net.add_subscriber("+33644444444", report_status=None)                 # the report is lost for good
    net.add_subscriber("+33655555555", report_status=0, report_delay=2.5)  # it comes, but late
    async with gateway(tmp_path, network=net, sections={"outbound": {"report_timeout_hours": 1 / 3600}}) as gw:
        _, lost = await gw.post({"to": "+33644444444", "text": "sans rapport", "category": "transactional"})
        _, late = await gw.post({"to": "+33655555555", "text": "rapport tardif", "category": "transactional"})
        lost_id, late_id = lost["messages"][0]["id"], late["messages"][0]["id"]
        await gw.wait_state(lost_id, "sent")
        flagged = await gw.wait_until(lost_id, lambda m: m.get("error") is not None, timeout=8)
        assert flagged["state"] == "sent"
        assert flagged["error"].startswith("no delivery report within 1 s: delivery not confirmed")
        assert flagged["reason"] == {"code": "report.none", "params": {"span": "1 s"}}
        late_flagged = await gw.wait_until(late_id, lambda m: m.get("error") is not None, timeout=8)
        assert late_flagged["state"] == "sent"
        delivered = await gw.wait_state(late_id, "delivered")
        assert "error" not in delivered  # the report settled it: the reason is gone
