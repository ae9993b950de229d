"""Fuzzing the PDU codec (gatewayd/modem/pdu.py, pdu_fields.py, pdu_userdata.py, gsm7.py, segments.py).

Beyond tests/modem/test_pdu_properties.py this drives the decoder with *structured* TPDUs (every
message type, address type, data coding scheme, validity format and user data header layout with
random values and random lengths), non-string inputs and arbitrary `tpdu_length`s; it checks that
whatever decodes is storable text (no lone surrogates) and that reassembly of any decoded parts is
total. Encoding: arbitrary text (emoji, GSM-7 extension characters, lone surrogates, texts past 255
parts), SMSC prefixes, validity periods, alphanumeric senders with extension characters — round
trips, the segment counter agrees with the encoder's part count, and bad input raises PduError
only. Budgets: tests/fuzz/profiles.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from gatewayd.modem import gsm7
from gatewayd.modem.pdu import Deliver, PduError, StatusReportPdu, Submit, decode, encode_submit, reassemble
from gatewayd.modem.pdu_fields import decode_relative_validity
from gatewayd.modem.segments import MAX_PARTS, count_segments
from gatewayd.modem.sim.pdus import encode_deliver, encode_status_report, tpdu_length

from .profiles import budget

SCTS = datetime(2026, 11, 23, 19, 55, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
GSM_CHARS = [c for c in gsm7.BASIC if c != "\x1b"] + list(gsm7.EXTENSION.values())
EXT_CHARS = list(gsm7.EXTENSION.values())

gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=480)
ext_heavy = st.text(alphabet=st.sampled_from(EXT_CHARS + ["a", "@", " "]), max_size=400)
emoji = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
emoji_text = st.text(alphabet=st.one_of(emoji, st.sampled_from(GSM_CHARS)), max_size=200)
any_text = st.text(max_size=400)  # every plane, never a lone surrogate
texts = st.one_of(gsm_text, ext_heavy, emoji_text, any_text)
numbers = st.one_of(st.from_regex(r"\+[1-9][0-9]{0,19}", fullmatch=True),
                    st.from_regex(r"[0-9]{1,20}", fullmatch=True))
alnum_senders = st.text(alphabet=st.sampled_from(GSM_CHARS), min_size=1, max_size=11).filter(
    lambda s: 1 <= len(gsm7.encode(s)) <= 11 and not (s.lstrip("+").isascii() and s.lstrip("+").isdigit()))


def _storable(text: str) -> None:
    """What decode hands on ends up in SQLite and JSON: it must be valid Unicode."""
    assert isinstance(text, str)
    text.encode("utf-8")  # raises on a lone surrogate


def _decode_checked(hex_pdu: object, length: int | None = None) -> Deliver | StatusReportPdu | Submit | None:
    try:
        out = decode(hex_pdu, tpdu_length=length)  # type: ignore[arg-type]
    except PduError as exc:
        assert str(exc) and "decoder bug" not in str(exc), str(exc)
        return None
    for name in ("sender", "recipient", "text", "smsc", "undecodable"):
        value = getattr(out, name, None)
        if value is not None:
            _storable(value)
    if isinstance(out, Deliver | Submit):
        reassemble([out])  # total on a single part, whatever its coding
    return out


# ------------------------------------------------------------------ decoding what a network could send

@st.composite
def address(draw: st.DrawFn) -> bytes:
    digits = draw(st.integers(0, 25))
    toa = draw(st.one_of(st.sampled_from([0x91, 0x81, 0xA1, 0xD0, 0xC8, 0x50]), st.integers(0, 255)))
    body = draw(st.binary(min_size=(digits + 1) // 2, max_size=(digits + 1) // 2 + draw(st.integers(0, 1))))
    return bytes((digits, toa)) + body


@st.composite
def udh(draw: st.DrawFn) -> bytes:
    ies = b""
    for _ in range(draw(st.integers(0, 3))):
        iei = draw(st.sampled_from([0x00, 0x08, 0x04, 0x05, 0x24, 0x25, 0x70, 0xFF]))
        data = draw(st.binary(max_size=6))
        ies += bytes((iei, draw(st.sampled_from([len(data), len(data) + 1, 0, 255])))) + data
    return bytes((draw(st.sampled_from([len(ies), len(ies) + 1, max(0, len(ies) - 1), 0])),)) + ies


@st.composite
def user_data_field(draw: st.DrawFn) -> tuple[bool, bytes]:
    """(UDHI, TP-UDL + TP-UD) with lengths that agree, nearly agree or lie."""
    header = draw(udh()) if draw(st.booleans()) else b""
    body = header + draw(st.binary(max_size=150))
    udl = draw(st.one_of(st.just(len(body)), st.just(len(body) * 8 // 7), st.integers(0, 255)))
    return bool(header) or draw(st.integers(0, 9)) == 0, bytes((udl,)) + body


@st.composite
def tpdus(draw: st.DrawFn) -> bytes:
    """An SMSC prefix and a TPDU built field by field with random values (any MTI, DCS, VPF)."""
    smsc = draw(st.one_of(st.just(b"\x00"), st.builds(lambda b: bytes((len(b),)) + b, st.binary(max_size=11))))
    mti = draw(st.integers(0, 3))
    udhi, ud = draw(user_data_field())
    first = mti | (0x40 if udhi else 0) | draw(st.sampled_from([0x00, 0x04, 0x20, 0x18, 0x10, 0x08]))
    dcs = draw(st.integers(0, 255))
    if mti == 0:
        return smsc + bytes((first,)) + draw(address()) + bytes((draw(st.integers(0, 255)), dcs)) \
            + draw(st.binary(min_size=7, max_size=7)) + ud
    if mti == 1:
        vp = {0: b"", 2: b"\xa7", 1: bytes(7), 3: draw(st.binary(min_size=7, max_size=7))}[(first >> 3) & 3]
        return smsc + bytes((first, draw(st.integers(0, 255)))) + draw(address()) + bytes((0, dcs)) + vp + ud
    return smsc + bytes((first, draw(st.integers(0, 255)))) + draw(address()) \
        + draw(st.binary(min_size=14, max_size=15)) + draw(st.binary(max_size=4))


@budget()
@given(tpdus(), st.data())
@example(bytes.fromhex("0004" "0B913306214365F7" "0008" "62104151244540" "02D83D"), None)  # lone high surrogate
def test_structured_tpdus_decode_to_storable_values_or_pdu_error(raw: bytes, data: st.DataObject | None) -> None:
    _decode_checked(raw.hex())
    _decode_checked(raw.hex().lower(), len(raw) - 1 - raw[0] if raw else None)
    if data is not None:
        cut = data.draw(st.integers(0, len(raw)))
        _decode_checked(raw[:cut].hex(), data.draw(st.one_of(st.none(), st.integers(-3, 300))))


@budget(0.5)
@given(st.one_of(st.binary(max_size=40), st.none(), st.integers(), st.lists(st.integers(0, 255), max_size=5),
                 st.text(alphabet="0123456789abcdefABCDEF \t\n\u00a0\u2007\uff10", max_size=40)),
       st.one_of(st.none(), st.integers(-(2**70), 2**70)))
def test_anything_that_is_not_a_pdu_is_a_pdu_error(value: object, length: int | None) -> None:
    _decode_checked(value, length)


@budget(0.5)
@given(st.lists(tpdus(), min_size=1, max_size=4))
def test_reassembling_any_decoded_parts_is_total(raws: list[bytes]) -> None:
    parts = [p for p in (_decode_checked(r.hex()) for r in raws) if isinstance(p, Deliver | Submit)]
    _storable(reassemble(parts))


# ------------------------------------------------------------------ encoding

@budget()
@given(numbers, texts, st.integers(0, 0xFFFF), st.booleans(),
       st.one_of(st.none(), numbers), st.one_of(st.none(), st.integers(1, 63 * 7 * 24 * 60).map(
           lambda m: timedelta(minutes=m))))
@example("+33612345678", "€" * 80 + "a", 300, True, None, None)  # extension pairs at a 16-bit-IE boundary
@example("0612345678", "😀" * 34 + "x", 7, False, "+33609001390", timedelta(minutes=721))
def test_submit_round_trips_with_every_option(number: str, text: str, reference: int, report: bool,
                                              smsc: str | None, validity: timedelta | None) -> None:
    parts = encode_submit(number, text, reference=reference, status_report=report, validity=validity, smsc=smsc)
    info = count_segments(text, reference=reference)
    assert len(parts) == info.segments and all(p.total == len(parts) for p in parts)
    subs = []
    for seq, part in enumerate(parts, start=1):
        assert part.sequence == seq and part.tpdu_length == tpdu_length(part.hex)
        decoded = decode(part.hex)
        assert isinstance(decoded, Submit)
        assert decoded.recipient == number and decoded.status_report is report
        assert decoded.smsc == smsc and decoded.encoding == info.encoding and decoded.text == part.text
        if validity is None:
            assert decoded.validity is None
        else:  # rounded up to the next value TP-VP can say, never down
            assert isinstance(decoded.validity, timedelta) and decoded.validity >= validity
            vp = bytes.fromhex(part.hex)[_vp_offset(part.hex)]
            assert decoded.validity == decode_relative_validity(vp)
            assert vp == 0 or decode_relative_validity(vp - 1) < validity  # the smallest value that covers it
        if len(parts) > 1:
            assert decoded.concat is not None
            assert (decoded.concat.reference, decoded.concat.total, decoded.concat.sequence) == \
                (reference, len(parts), seq)
        subs.append(decoded)
    assert "".join(p.text for p in parts) == text
    assert reassemble(list(reversed(subs))) == text


def _vp_offset(hex_pdu: str) -> int:
    raw = bytes.fromhex(hex_pdu)
    pos = 1 + raw[0] + 2  # SMSC, first octet, TP-MR
    return pos + 2 + (raw[pos] + 1) // 2 + 2  # TP-DA length, type, digits; TP-PID, TP-DCS


@budget()
@given(st.one_of(alnum_senders, numbers), texts, st.integers(0, 0xFFFF), st.booleans())
@example("€{Shop}", "hi", 0, False)  # extension characters cost two septets in the sender too
@example("@@@@@@@@@@@", "x", 0, False)  # trailing '@' (septet 0) must survive the padding
@example("Ab[]", "🎉" * 70, 256, True)
def test_deliver_round_trips_with_alphanumeric_senders(sender: str, text: str, reference: int, sri: bool) -> None:
    hexes = encode_deliver(sender, text, scts=SCTS, reference=reference, status_report_indication=sri)
    assert len(hexes) == count_segments(text, reference=reference).segments
    parts = [decode(h) for h in hexes]
    assert all(isinstance(p, Deliver) for p in parts)
    delivers = [p for p in parts if isinstance(p, Deliver)]
    for p in delivers:
        assert p.sender == sender and p.smsc_time == SCTS and p.status_report_indication is sri
        digits = sender.lstrip("+")
        alphanumeric = not (digits.isascii() and digits.isdigit())
        assert p.sender_toa == (0xD0 if alphanumeric else 0x91 if sender.startswith("+") else 0x81)
    assert reassemble(delivers) == text
    # Read again as +CMT gives it, with the TPDU length the modem announces: the same parts.
    assert [decode(h, tpdu_length=tpdu_length(h)) for h in hexes] == parts


@budget()
@given(st.one_of(texts, st.text(alphabet=st.sampled_from(["a", "€", "😀", "\ud83d", "\udc00"]), max_size=50),
                 st.builds(lambda unit, n, tail: unit * n + tail,  # around the 255-part limit
                           st.sampled_from(["a", "€", "😀", "aé", "{a", "ж"]), st.integers(0, 40000),
                           st.text(max_size=5))),
       st.integers(-2, 0x10001), st.one_of(numbers, st.text(max_size=25)))
@example("a" * 153 * 255, 0, "+33612345678")
@example("a" * 153 * 255 + "a", 0, "+33612345678")
@example("\ud83d" "x", 0, "+33612345678")
def test_segment_counter_agrees_with_encoder_or_encoder_refuses(text: str, reference: int, number: str) -> None:
    info = count_segments(text, reference=max(0, reference))  # never raises, even past 255 parts
    assert info.characters == len(text) and 0 <= info.remaining <= info.per_segment
    try:
        parts = encode_submit(number, text, reference=reference)
    except PduError as exc:
        assert str(exc)
        lone = any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        bad_number = not (number.lstrip("+").isascii() and number.lstrip("+").isdigit()
                          and 1 <= len(number.lstrip("+")) <= 20 and number.count("+") <= 1
                          and (number.startswith("+") or "+" not in number))
        assert lone or bad_number or info.segments > MAX_PARTS or not 0 <= reference <= 0xFFFF, str(exc)
        return
    assert len(parts) == info.segments <= MAX_PARTS
    assert sum(len(gsm7.encode(p.text)) if info.encoding == "GSM-7" else len(p.text.encode("utf-16-be")) // 2
               for p in parts) == info.units


@budget(0.5)
@given(st.integers(0, 255), st.one_of(numbers, alnum_senders), st.integers(0, 255))
def test_status_reports_round_trip(reference: int, recipient: str, status: int) -> None:
    report = decode(encode_status_report(reference, recipient, status, scts=SCTS, discharge=SCTS))
    assert isinstance(report, StatusReportPdu)
    assert (report.reference, report.recipient, report.status) == (reference, recipient, status)
    assert report.delivered + (not report.final) + report.failed == 1
