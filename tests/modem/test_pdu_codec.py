"""PDU codec: published and modem-captured vectors, each python-gsmmodem defect, error paths."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from gsmmodem import pdu as gsmmodem_pdu

from gatewayd.modem import gsm7
from gatewayd.modem.events import Concat
from gatewayd.modem.pdu import (
    Deliver,
    PduError,
    StatusReportPdu,
    Submit,
    decode,
    encode_submit,
    reassemble,
)
from gatewayd.modem.pdu_fields import decode_relative_validity, encode_relative_validity
from gatewayd.modem.sim.pdus import encode_deliver, encode_status_report

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "pdu_vectors.json").read_text("utf-8"))
CET = timezone(timedelta(hours=1))
T0 = datetime(2026, 3, 14, 15, 9, 26, tzinfo=CET)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_decodes_to_expected_fields(vector: dict[str, Any]) -> None:
    msg = decode(vector["hex"], tpdu_length=vector.get("tpdu_length"))
    expect = dict(vector["expect"])
    assert type(msg).__name__ == expect.pop("type")
    for key, value in expect.items():
        if key == "validity_seconds":
            assert isinstance(msg, Submit) and isinstance(msg.validity, timedelta)
            assert msg.validity.total_seconds() == value
        elif key == "payload_hex":
            assert msg.payload.hex().upper() == value  # type: ignore[union-attr]
        elif key == "concat":
            got = msg.concat  # type: ignore[union-attr]
            assert (got and got.__dict__) == value
        elif key in ("smsc_time", "scts", "discharge_time"):
            assert getattr(msg, key).isoformat() == value
        else:
            assert getattr(msg, key) == value, key


def test_published_submit_is_reproduced_byte_for_byte() -> None:
    [part] = encode_submit(
        "+46708251358", "hellohello", reference=0, status_report=False, validity=timedelta(days=4)
    )
    assert part.hex == "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    assert part.tpdu_length == 23 and (part.sequence, part.total) == (1, 1)


# ------------------------------------------------------------ the defects of gsmmodem.pdu


def test_emoji_encodes_and_decodes_as_one_character() -> None:
    with pytest.raises(ValueError):  # the defect we work around
        gsmmodem_pdu.encodeSmsSubmitPdu("+33612345678", "ok 😀")
    [part] = encode_submit("+33612345678", "ok 😀", reference=1)
    msg = decode(part.hex)
    assert isinstance(msg, Submit) and msg.text == "ok 😀" and msg.encoding == "UCS-2"
    [deliver_hex] = encode_deliver("+33612345678", "👍🏽 merci", scts=T0)
    assert decode(deliver_hex).text == "👍🏽 merci"  # type: ignore[union-attr]
    assert "\ud83d" in gsmmodem_pdu.decodeSmsPdu(deliver_hex)["text"]  # theirs: lone surrogates


def test_sixteen_bit_concat_reference_keeps_first_character() -> None:
    hexes = encode_deliver("+33612345678", "Bx" + "y" * 150 + "Cz" * 10, scts=T0, reference=0x1234)
    parts = [decode(h) for h in hexes]
    assert all(isinstance(p, Deliver) and p.concat and p.concat.reference == 0x1234 for p in parts)
    assert parts[0].text.startswith("Bx")  # type: ignore[union-attr]
    assert parts[1].text.startswith("Cz")  # type: ignore[union-attr]
    assert not gsmmodem_pdu.decodeSmsPdu(hexes[1])["text"].startswith("Cz")


def test_section_sign_is_gsm7_and_backtick_forces_ucs2() -> None:
    assert gsm7.encode("§") == b"\x5f"
    [part] = encode_submit("+33612345678", "Art. 5 §2", reference=0)
    assert decode(part.hex).encoding == "GSM-7"  # type: ignore[union-attr]
    assert decode(part.hex).text == "Art. 5 §2"  # type: ignore[union-attr]
    [tick] = encode_submit("+33612345678", "`code`", reference=0)
    msg = decode(tick.hex)
    assert msg.encoding == "UCS-2" and msg.text == "`code`"  # type: ignore[union-attr]


@pytest.mark.parametrize("length", [1, 7, 8, 15, 16, 159, 160])
def test_trailing_at_sign_survives(length: int) -> None:
    text = "a" * (length - 1) + "@"
    [part] = encode_submit("+33612345678", text, reference=0)
    assert decode(part.hex).text == text  # type: ignore[union-attr]
    [deliver_hex] = encode_deliver("+33612345678", text, scts=T0)
    assert decode(deliver_hex).text == text  # type: ignore[union-attr]


def test_eight_bit_and_message_class_schemes_are_not_read_as_gsm7() -> None:
    eight_bit = "07913306091093F0040B913316325476F800F562304151906240050102FF0041"
    msg = decode(eight_bit)
    assert isinstance(msg, Deliver)
    assert (msg.encoding, msg.message_class, msg.payload, msg.text) == ("8-bit", 1, b"\x01\x02\xff\x00A", "")
    assert msg.undecodable and "8-bit" in msg.undecodable
    for dcs, text in [(0x18, "Flash: coupure ⚡"), (0x48, "auto ✓"), (0xE0, "boîte ✉"), (0x11, "class 1")]:
        [hex_pdu] = encode_deliver("+33612345678", text, scts=T0, dcs=dcs)
        got = decode(hex_pdu)
        assert isinstance(got, Deliver) and got.text == text, hex(dcs)


def test_reference_above_255_uses_sixteen_bit_element_and_leaves_tp_mr_alone() -> None:
    with pytest.raises(ValueError):  # theirs writes the reference into the one-octet TP-MR
        gsmmodem_pdu.encodeSmsSubmitPdu("+33612345678", "x" * 200, reference=300)
    parts = encode_submit("+33612345678", "x" * 200, reference=300)
    decoded = [decode(p.hex) for p in parts]
    assert [d.concat for d in decoded] == [Concat(300, 2, 1), Concat(300, 2, 2)]  # type: ignore[union-attr]
    assert all(d.reference == 0 for d in decoded)  # type: ignore[union-attr]
    ies = decoded[0].information_elements  # type: ignore[union-attr]
    assert ies == ((0x08, bytes((1, 44, 2, 1))),)
    [short] = encode_submit("+33612345678", "short", reference=65535)
    assert decode(short.hex).concat is None  # type: ignore[union-attr]


@pytest.mark.parametrize("wanted", [True, False])
def test_status_report_request_follows_the_argument(wanted: bool) -> None:
    for part in encode_submit("+33612345678", "z" * 300, reference=9, status_report=wanted):
        first_octet = int(part.hex[2:4], 16)
        assert bool(first_octet & 0x20) is wanted
        assert decode(part.hex).status_report is wanted  # type: ignore[union-attr]


@pytest.mark.parametrize(("status", "delivered", "final", "failed"), [
    (0x00, True, True, False), (0x02, True, True, False), (0x20, False, False, False),
    (0x30, False, False, False), (0x3F, False, False, False), (0x41, False, True, True),
    (0x62, False, True, True),
])
def test_status_still_trying_is_not_failure(status: int, delivered: bool, final: bool, failed: bool) -> None:
    report = decode(encode_status_report(7, "+33612345678", status, scts=T0, discharge=T0))
    assert isinstance(report, StatusReportPdu)
    assert (report.status, report.delivered, report.final, report.failed) == (status, delivered, final, failed)


# ------------------------------------------------------------ encoding details


def test_extension_characters_cost_two_septets_and_are_never_split() -> None:
    text = "a" * 152 + "€" + "b" * 10
    parts = encode_submit("+33612345678", text, reference=3)
    assert [p.text for p in parts] == ["a" * 152, "€" + "b" * 10]
    assert "".join(decode(p.hex).text for p in parts) == text  # type: ignore[union-attr]


def test_surrogate_pairs_are_never_split() -> None:
    text = "ж" * 66 + "😀" + "xyz"
    parts = encode_submit("+33612345678", text, reference=3)
    assert [p.text for p in parts] == ["ж" * 66, "😀xyz"]
    assert "".join(decode(p.hex).text for p in parts) == text  # type: ignore[union-attr]


def test_split_surrogate_pair_from_a_careless_sender_is_rejoined() -> None:
    def part(seq: int, payload: bytes) -> str:
        ud = bytes((5, 0, 3, 77, 2, seq)) + payload
        tpdu = bytes.fromhex("440B913316325476F80008623041519062 40".replace(" ", "")) + bytes((len(ud),)) + ud
        return "00" + tpdu.hex()

    emoji = "😀".encode("utf-16-be")
    first = decode(part(1, "a".encode("utf-16-be") + emoji[:2]))
    second = decode(part(2, emoji[2:] + "b".encode("utf-16-be")))
    assert first.text == "a\ufffd"  # type: ignore[union-attr]
    assert reassemble([second, first]) == "a😀b"  # type: ignore[list-item]


def test_alphanumeric_sender_and_smsc_round_trip() -> None:
    [h] = encode_deliver("La Poste", "Colis", scts=T0, smsc="+33609001390")
    msg = decode(h)
    assert isinstance(msg, Deliver)
    assert (msg.sender, msg.sender_toa, msg.smsc) == ("La Poste", 0xD0, "+33609001390")
    [p] = encode_submit("0612345678", "hi", reference=0, smsc="+33609001390")
    sub = decode(p.hex)
    assert isinstance(sub, Submit)
    assert (sub.recipient, sub.recipient_toa, sub.smsc) == ("0612345678", 0x81, "+33609001390")
    assert p.tpdu_length == len(bytes.fromhex(p.hex)) - 8  # 7-octet SMSC field + its length octet


@pytest.mark.parametrize(("validity", "vp", "effective"), [
    (timedelta(minutes=1), 0, timedelta(minutes=5)),
    (timedelta(hours=1), 11, timedelta(hours=1)),
    (timedelta(hours=12), 143, timedelta(hours=12)),
    (timedelta(hours=13), 145, timedelta(hours=13)),
    (timedelta(days=1), 167, timedelta(days=1)),
    (timedelta(days=1, minutes=1), 168, timedelta(days=2)),
    (timedelta(days=30), 196, timedelta(days=30)),
    (timedelta(days=31), 197, timedelta(weeks=5)),
    (timedelta(weeks=63), 255, timedelta(weeks=63)),
])
def test_relative_validity_rounds_up(validity: timedelta, vp: int, effective: timedelta) -> None:
    assert encode_relative_validity(validity) == vp
    assert decode_relative_validity(vp) == effective >= validity or validity < timedelta(minutes=5)


def test_negative_utc_offset_timestamp_round_trips() -> None:
    when = datetime(2025, 12, 31, 23, 59, 58, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
    [h] = encode_deliver("+15551234567", "x", scts=when)
    assert decode(h).smsc_time == when  # type: ignore[union-attr]


def test_nonsense_timestamp_gives_none_not_an_error() -> None:
    [h] = encode_deliver("+33612345678", "ok", scts=T0)
    raw = bytearray(bytes.fromhex(h))
    scts_at = 8 + 1 + 8 + 2  # SMSC field, first octet, OA, PID+DCS
    raw[scts_at + 1] = 0x31  # month 13
    msg = decode(raw.hex())
    assert isinstance(msg, Deliver) and msg.smsc_time is None and msg.text == "ok"


# ------------------------------------------------------------ errors


@pytest.mark.parametrize(("bad", "words"), [
    ("", "empty"),
    ("zz", "not hexadecimal"),
    ("0", "not hexadecimal"),
    ("00", "truncated in first octet"),
    ("0003", "reserved message type"),
    ("0004", "truncated in TP-OA length"),
    ("00040B91331632", "truncated in TP-OA"),
    ("0044" + "0B913316325476F8" + "0000" + "62304151906240" + "030A0000", "header length"),
    ("0044" + "0B913316325476F8" + "0008" + "62304151906240" + "0403000501", "overruns"),
    ("0004" + "0B913316325476F8" + "0000" + "62304151906240" + "0AE8", "truncated in user data"),
])
def test_decode_errors_name_the_problem(bad: str, words: str) -> None:
    with pytest.raises(PduError, match=words):
        decode(bad)


def test_decode_refuses_non_strings() -> None:
    with pytest.raises(PduError, match="hex string"):
        decode(b"0011" )  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"number": "+33 6 12"}, "digits"),
    ({"number": "Bank"}, "digits"),
    ({"number": "+" + "1" * 21}, "1-20 digits"),
    ({"reference": 65536}, "0-65535"),
    ({"reference": -1}, "0-65535"),
    ({"text": "x\ud800"}, "lone surrogate"),
    ({"text": "x" * 153 * 256}, "at most 255"),
    ({"validity": timedelta(weeks=64)}, "63-week"),
    ({"validity": timedelta(0)}, "positive"),
])
def test_encode_errors_name_the_problem(kwargs: dict[str, Any], words: str) -> None:
    args: dict[str, Any] = {"number": "+33612345678", "text": "hello", "reference": 1} | kwargs
    with pytest.raises(PduError, match=words):
        encode_submit(args.pop("number"), args.pop("text"), **args)
