"""Pure parts of the driver: call tracking and dialect selection."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gatewayd.modem.calls import CallTracker
from gatewayd.modem.dialects import DIALECTS, GENERIC, by_name, detect

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_call_ends_on_silence_with_rings_counted() -> None:
    calls = CallTracker("line1", quiet=8.0)
    calls.ring(T0, 100.0)
    calls.clip("+33612345678", T0, 100.1)
    calls.ring(T0 + timedelta(seconds=3), 103.0)
    calls.clip("+33612345678", T0 + timedelta(seconds=3), 103.1)
    assert calls.tick(T0 + timedelta(seconds=5), 105.0) is None
    assert calls.deadline() == pytest.approx(111.1)
    event = calls.tick(T0 + timedelta(seconds=12), 111.2)
    assert event is not None and (event.rings, event.number, event.hung_up_by_us) == (2, "+33612345678", False)
    assert event.started_at == T0 and not calls.active
    assert calls.tick(T0 + timedelta(seconds=30), 200.0) is None  # reported once


def test_call_end_and_clip_only_firmware() -> None:
    calls = CallTracker("line1", quiet=8.0)
    assert calls.end(T0) is None
    calls.clip(None, T0, 1.0)  # withheld number, +CLIP without RING
    event = calls.end(T0 + timedelta(seconds=1), hung_up_by_us=True)
    assert event is not None and (event.rings, event.number, event.hung_up_by_us) == (1, None, True)


@pytest.mark.parametrize(("manufacturer", "model", "expected"), [
    ("SIMCOM_Ltd", "SIMCOM_SIM800L", "sim800"),
    ("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "sim7600"),
    ("Quectel", "EC25", "ec25"),
    ("huawei", "E3372", "e3372"),
    ("Sierra Wireless, Incorporated", "MC7455", "sierra"),
    ("Telit", "LE910C1-EUX", "telit"),
    ("ACME", "X1", "generic"),
    (None, None, "generic"),
])
def test_detect(manufacturer: str | None, model: str | None, expected: str) -> None:
    assert detect(manufacturer, model).name == expected


def test_dialects_are_small_deltas() -> None:
    assert by_name("generic") is GENERIC
    with pytest.raises(ValueError, match="unknown modem dialect 'nokia'.*sim800"):
        by_name("nokia")
    assert not by_name("e3372").cnmi_mode2 and not by_name("sierra").cnmi_mode2
    assert 2 not in by_name("sim800").cnmi_ds
    # Every dialect named in the config model exists here, and the other way round.
    from typing import get_args

    from gatewayd.config import ModemSettings

    names = set(get_args(ModemSettings.model_fields["dialect"].annotation)) - {"auto"}
    assert names == set(DIALECTS)


def test_what_a_urc_means_is_the_dialect_table() -> None:
    from gatewayd.modem import dialects as d
    from gatewayd.modem.at import Urc

    assert by_name("e3372").meaning(Urc("^RSSI", "^RSSI: 18")) == d.SIGNAL
    assert by_name("e3372").meaning(Urc("^SMMEMFULL", '^SMMEMFULL: "SM"')) == d.STORAGE_FULL
    assert by_name("e3372").meaning(Urc("^CEND", "^CEND:1,0,104,16")) == d.CALL_END
    assert by_name("ec25").meaning(Urc("+QIND", '+QIND: "smsfull","SM"')) == d.STORAGE_FULL
    assert by_name("ec25").meaning(Urc("+QIND", "+QIND: SMS DONE")) == d.READY
    assert by_name("ec25").meaning(Urc("+QIND", '+QIND: "csq",20,99')) is None
    assert GENERIC.meaning(Urc("^SMMEMFULL", '^SMMEMFULL: "SM"')) is None  # not a 3GPP code
    assert GENERIC.meaning(Urc("+CIEV", '+CIEV: "smsfull",1')) == d.STORAGE_FULL
    assert GENERIC.meaning(Urc("RDY", "RDY")) == d.REBOOTED


async def test_a_new_family_is_a_new_dialect_value_and_nothing_else() -> None:
    import asyncio

    from gatewayd.clock import SystemClock
    from gatewayd.config import ModemSettings
    from gatewayd.modem import dialects as d
    from gatewayd.modem.at import Urc, UrcSpec
    from gatewayd.modem.driver import ModemDriver
    from gatewayd.modem.timings import FAST_TEST_TIMINGS

    from .linekit import RecordingSink

    acme = d.Dialect("acme", extra_urcs=(UrcSpec("%SIGQ:", "%SIGQ"), UrcSpec("%MEMF", "%MEMF")),
                     urc_meanings=(d.UrcMeaning("%SIGQ", d.SIGNAL), d.UrcMeaning("%MEMF", d.STORAGE_FULL)),
                     ready_markers=("%SMSRDY",))
    driver = ModemDriver(ModemSettings(name="line1", port="/dev/null"), RecordingSink(), clock=SystemClock(),
                         timings=FAST_TEST_TIMINGS)
    driver.dialect = acme
    driver.on_urc(Urc("%SIGQ", "%SIGQ: 23"))
    assert driver.signal == 23
    driver.on_urc(Urc("%SMSRDY", "%SMSRDY"))
    assert driver.ready_marker.is_set()
    driver.on_urc(Urc("%MEMF", "%MEMF"))
    queued = driver.urcs.get_nowait()
    assert acme.meaning(queued) == d.STORAGE_FULL
    await asyncio.sleep(0)
