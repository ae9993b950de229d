"""Sans-IO parser properties and the pure parse_* helpers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.modem import replies as r
from gatewayd.modem.at import (
    AtParser,
    Echo,
    FinalResult,
    InfoLine,
    Prompt,
    ResultKind,
    Urc,
    UrcRegistry,
    UrcSpec,
    command_stem,
)


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=20),
       command=st.sampled_from([None, "AT", "AT+CREG?", "AT+CMGS=20", "ATD123;"]))
def test_feed_never_raises_and_yields_known_events(chunks: list[bytes], command: str | None) -> None:
    parser = AtParser()
    if command:
        parser.command_started(command)
    for chunk in chunks:
        for event in parser.feed(chunk):
            assert isinstance(event, (Echo, InfoLine, FinalResult, Prompt, Urc))


def test_split_utf8_sequence_is_not_mangled() -> None:
    parser = AtParser()
    parser.command_started("AT+COPS?")
    data = '+COPS: 0,0,"Télé"\r\nOK\r\n'.encode()
    cut = data.index(b"\xc3") + 1
    events = parser.feed(data[:cut]) + parser.feed(data[cut:])
    assert events[0] == InfoLine('+COPS: 0,0,"Télé"')


def test_queried_prefix_is_info_only_while_its_query_is_in_flight() -> None:
    parser = AtParser()
    parser.command_started("AT+CREG?")
    assert parser.feed(b"\r\n+CREG: 2,1\r\n") == [InfoLine("+CREG: 2,1")]
    assert parser.feed(b"\r\nOK\r\n+CREG: 5\r\n") == [FinalResult(ResultKind.OK), Urc("+CREG", "+CREG: 5")]
    parser.command_started("AT+CSQ")
    assert parser.feed(b"+CREG: 1\r\n") == [Urc("+CREG", "+CREG: 1")]


def test_no_carrier_ends_only_a_dial_command() -> None:
    parser = AtParser()
    parser.command_started("AT+CMGR=1")
    assert parser.feed(b"\r\nNO CARRIER\r\n") == [Urc("NO CARRIER", "NO CARRIER")]
    parser.command_started("ATA")
    assert parser.feed(b"\r\nNO CARRIER\r\n") == [FinalResult(ResultKind.NO_CARRIER, text="NO CARRIER")]


def test_cmti_is_not_taken_for_cmt_and_cmt_waits_for_its_pdu() -> None:
    parser = AtParser()
    assert parser.feed(b'+CMTI: "SM",1\r\n+CMT: ,3\r\n') == [Urc("+CMTI", '+CMTI: "SM",1')]
    assert parser.feed(b"\r\nABCDEF\r\n") == [Urc("+CMT", "+CMT: ,3", "ABCDEF")]


def test_text_mode_cds_is_one_line() -> None:
    parser = AtParser()
    line = '+CDS: 6,12,"+33612345678",145,"26/01/05,10:00:00+04","26/01/05,10:00:05+04",0'
    assert parser.feed(line.encode() + b"\r\n") == [Urc("+CDS", line)]


def test_dialect_registry_extension() -> None:
    registry = UrcRegistry()
    registry.extend([UrcSpec("+XNOISE:", "+XNOISE")])
    assert AtParser(registry).feed(b"+XNOISE: 1\r\n") == [Urc("+XNOISE", "+XNOISE: 1")]
    assert AtParser().feed(b"+XNOISE: 1\r\n") == [InfoLine("+XNOISE: 1")]


def test_prompt_with_and_without_space() -> None:
    assert AtParser().feed(b"\r\n> ") == [Prompt()]
    assert AtParser().feed(b"\r\n>") == [Prompt()]


@pytest.mark.parametrize(("command", "stem", "querying"), [
    ("AT+CREG?", "+CREG", True), ("AT+CREG=2", "+CREG", False), ("AT+CSQ", "+CSQ", True),
    ("AT^HCSQ?", "^HCSQ", True), ("AT+CNMI=?", "+CNMI", True), ("ATE0", "E0", True),
])
def test_command_stem(command: str, stem: str, querying: bool) -> None:
    assert command_stem(command) == (stem, querying)


def test_parse_csq() -> None:
    assert r.parse_csq("+CSQ: 21,99") == r.Signal(21, None)
    assert r.parse_csq("+CSQ: 99,99").rssi is None
    assert r.parse_csq("+CSQ: 0,0").dbm == -113
    with pytest.raises(r.ReplyError, match=r"\+CSQ"):
        r.parse_csq("+CSQ: x")


def test_parse_registration_forms() -> None:
    urc = r.parse_registration('+CREG: 5,"1A2B","01C4"', solicited=False)
    assert (urc.stat, urc.lac, urc.registered, urc.roaming) == (5, "1A2B", True, True)
    query = r.parse_registration('+CEREG: 2,1,"0102","0A1B2C3D",7', solicited=True)
    assert (query.kind, query.stat, query.ci, query.act, query.registered) == ("+CEREG", 1, "0A1B2C3D", 7, True)
    assert not r.parse_registration("+CGREG: 0,3", solicited=True).registered
    assert r.parse_registration("+CREG: 0,6", solicited=True).registered  # SMS-only counts
    with pytest.raises(r.ReplyError):
        r.parse_registration("+CSQ: 1,2", solicited=False)


def test_parse_cops_cpms_cnmi() -> None:
    assert r.parse_cops('+COPS: 0,0,"Orange F",7') == r.Operator(0, "Orange F", 7)
    assert r.parse_cops("+COPS: 0") == r.Operator(0, None, None)
    assert r.parse_cpms('+CPMS: "SM",3,30,"SM",3,30,"SM",3,30')[0] == r.Storage("SM", 3, 30)
    assert r.parse_cpms("+CPMS: 3,30,3,30,3,30") == [r.Storage(None, 3, 30)] * 3
    assert r.parse_cpms_test('+CPMS: ("SM","ME","MT"),("SM","ME"),("SM")') == [
        ("SM", "ME", "MT"), ("SM", "ME"), ("SM",)]
    cnmi = r.parse_cnmi_test("+CNMI: (0-3),(0-3),(0,2),(0,1),(0,1)")
    assert cnmi.mode == {0, 1, 2, 3} and cnmi.ds == {0, 1} and cnmi.bm == {0, 2}
    assert r.parse_cnmi_test("+CNMI: (0,1),(0-2)").ds == {0}


def test_parse_listing_and_read() -> None:
    lines = ["+CMGL: 0,1,,24", "AABB", "+CMGL: 4,0,,5", "CCDD"]
    assert r.parse_cmgl(lines) == [r.StoredPdu(0, 1, 24, "AABB"), r.StoredPdu(4, 0, 5, "CCDD")]
    with pytest.raises(r.ReplyError, match="without PDU"):
        r.parse_cmgl(["+CMGL: 0,1,,24"])
    assert r.parse_cmgr(3, ["+CMGR: 0,,24", "AABB"]) == r.StoredPdu(3, 0, 24, "AABB")
    assert r.parse_cmgr(3, []) is None


def test_small_parsers() -> None:
    assert r.parse_index_urc('+CMTI: "SM",3') == ("SM", 3)
    assert r.parse_clip('+CLIP: "+33612345678",145,"",0,"",0') == "+33612345678"
    assert r.parse_clip('+CLIP: "33612345678",145') == "+33612345678"
    assert r.parse_clip('+CLIP: "",128') is None
    assert r.parse_cmgs("+CMGS: 45") == 45
    with pytest.raises(r.ReplyError):
        r.parse_cmgs("+CMGS: 300")
    assert r.parse_cpin("+CPIN: SIM PIN") == "SIM PIN"
    assert r.parse_csca('+CSCA: "33689004000",145') == "+33689004000"
    assert r.parse_iccid(["+QCCID: 89330123456789012345F"]) == "89330123456789012345"
    assert r.parse_iccid(["89330123456789012345"]) == "89330123456789012345"
    assert r.parse_iccid(["^ICCID: 983310214365870900F1"]) == "8933011234567890001"
    assert r.first_digits(["860000000000001"]) == "860000000000001"
    assert r.strip_prefix("+CGMM: EC25") == "EC25" and r.strip_prefix("SIM800 R14.18") == "SIM800 R14.18"
    assert r.split_fields('1,"a,b",(0-2,4),x') == ["1", '"a,b"', "(0-2,4)", "x"]
    assert r.parse_int_set("(0-2,4)") == {0, 1, 2, 4}
