"""Direct delivery (+CMT acknowledged with +CNMA) and stored status reports (+CDSI in "SR")."""

from __future__ import annotations

from pathlib import Path

from gatewayd.modem.pdu import encode_submit
from gatewayd.modem.sim import SimNetwork

from .linekit import simulated_pool, until


async def test_direct_delivery_is_acknowledged_and_stored_reports_are_read(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "sim7600", network=net) as (pool, modems, sink, _):
        modem = modems[0]
        driver = pool.supervisor("line1").driver
        session, inbox = driver.session, driver.inbox
        assert session is not None and inbox is not None
        # Switch the modem to phase 2+ direct delivery and stored reports, as some firmwares force.
        await session.command("AT+CSMS=1")
        await session.command("AT+CNMI=1,2,0,2,0")
        inbox.needs_cnma = True
        await modem.deliver_sms("+33688888888", "en direct")
        await until(lambda: [s.text for s in sink.sms] == ["en direct"], 5, "direct SMS")
        await until(lambda: modem.state.awaiting_ack == 0, 5, "+CNMA acknowledgement")
        assert "+CNMA" in [c.upper()[:5] for c in modem.command_log]

        mr = await pool.send_part("line1", encode_submit("+33612345678", "rapport", reference=7)[0])
        await until(lambda: len(sink.reports) == 1, 5, "stored report")
        assert sink.reports[0].reference == mr and sink.reports[0].recipient == "+33612345678"
        sr = modem.state.storage("SR")
        assert sr is not None
        await until(lambda: sr.used == 0, 5, "report deleted from SR")
        # The read memory is switched back after the report (and after any sweep, which now
        # lists every memory, SR included).
        await until(lambda: modem.state.cpms[0] == inbox.memory, 5, "read memory switched back")
