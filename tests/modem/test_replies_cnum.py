"""AT+CNUM answers as modems give them: the SIM's own number, or nothing when the SIM does not store it."""

from __future__ import annotations

from gatewayd.modem.replies import parse_cnum


def test_cnum_answers() -> None:
    assert parse_cnum(['+CNUM: "Voice","+33612345678",145']) == "+33612345678"
    assert parse_cnum(['+CNUM: ,"33612345678",145']) == "+33612345678"   # international without its '+'
    assert parse_cnum(['+CNUM: "","0612345678",129']) == "0612345678"
    assert parse_cnum(['+CNUM: "Fax","",129', '+CNUM: "Voice","+33612345679",145']) == "+33612345679"
    assert parse_cnum([]) is None and parse_cnum(['+CNUM: "","",129']) is None and parse_cnum(["OK"]) is None
