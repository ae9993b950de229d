"""The generic dialect against families the project has no profile for (Telit, Sierra, a Huawei
stick in stick mode, SIMCom A7670), each played from a transcript written from its public AT
manual: the line comes up, reads its identity, picks storage and indications, sends and receives."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gatewayd.config import ModemSettings
from gatewayd.modem.events import LineState
from gatewayd.modem.pdu import encode_submit
from gatewayd.modem.pool import ModemPool
from gatewayd.modem.sim.pdus import encode_deliver
from gatewayd.modem.timings import FAST_TEST_TIMINGS

from .familypeer import UNKNOWN_FAMILIES, FamilyModem, FamilyScript
from .linekit import RecordingSink, until

FAMILIES = {p.stem: p for p in sorted(UNKNOWN_FAMILIES.glob("*.txt"))}
# What each must end up with: ICCID read, registration seen, +CNMI accepted (mode 2 refused by some).
EXPECTED = {
    "telit-le910c1": ("89330123456789012345", "2,1,0,2,0"),
    "sierra-mc7455": ("89330123456789012346", "1,1,0,2,0"),
    "huawei-e173-stick": ("89330123456789012345", "1,1,0,2,0"),
    "simcom-a7670e": ("89330123456789012348", "2,1,0,2,0"),
}


def test_the_four_families_have_transcripts() -> None:
    assert set(FAMILIES) == set(EXPECTED)


@pytest.mark.parametrize("family", sorted(EXPECTED))
async def test_the_generic_dialect_serves_a_family_it_does_not_know(family: str) -> None:
    modem = FamilyModem(FamilyScript.load(FAMILIES[family]))
    sink = RecordingSink()
    pool = ModemPool([ModemSettings(name="line1", port=modem.port, dialect="generic")], sink,
                     timings=FAST_TEST_TIMINGS)
    await pool.start()
    try:
        await until(lambda: pool.ready_lines() == ["line1"], 10, f"{family} ready")
        status = pool.status("line1")
        iccid, cnmi = EXPECTED[family]
        assert status.state is LineState.READY and status.registered
        assert status.extra["dialect"] == "generic"
        assert status.iccid == iccid and status.imei and status.imsi and status.operator
        assert status.extra["cnmi"] == cnmi and status.extra["reports"] == "stored"
        assert status.extra["storage"] == "SM" and status.storage_total
        mr = await pool.send_part("line1", encode_submit("+33612345678", "bonjour", reference=5)[0])
        assert mr == 42 and len(modem.submitted) == 1
        modem.store("SM", 3, encode_deliver("+33698765432", "reçu", scts=datetime.now(timezone.utc))[0])
        modem.urc('+CMTI: "SM",3')
        await until(lambda: [s.text for s in sink.sms] == ["reçu"], 5, "SMS read")
        await until(lambda: "AT+CMGD=3" in modem.commands, 5, "SMS deleted after commit")
    finally:
        await pool.stop()
        modem.close()
