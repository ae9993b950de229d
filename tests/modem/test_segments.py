"""Segment counter: figures for the API/console, in exact agreement with encode_submit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.modem import gsm7
from gatewayd.modem.pdu import decode, encode_submit
from gatewayd.modem.segments import count_segments


@pytest.mark.parametrize(("text", "encoding", "units", "segments", "per_segment", "remaining"), [
    ("", "GSM-7", 0, 1, 160, 160),
    ("a" * 160, "GSM-7", 160, 1, 160, 0),
    ("a" * 161, "GSM-7", 161, 2, 153, 145),
    ("€" * 80, "GSM-7", 160, 1, 160, 0),
    ("€" * 81, "GSM-7", 162, 2, 153, 143),  # 76 euros fill 152 of 153: the 77th moves on
    ("a" * 306, "GSM-7", 306, 2, 153, 0),
    ("a" * 307, "GSM-7", 307, 3, 153, 152),
    ("ж" * 70, "UCS-2", 70, 1, 70, 0),
    ("ж" * 71, "UCS-2", 71, 2, 67, 63),
    ("😀" * 35, "UCS-2", 70, 1, 70, 0),
    ("😀" * 36, "UCS-2", 72, 2, 67, 61),  # 33 emoji (66 units) per part, never half of one
])
def test_known_counts(text: str, encoding: str, units: int, segments: int, per_segment: int, remaining: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments, info.per_segment, info.remaining) == (
        encoding, units, segments, per_segment, remaining)
    assert info.characters == len(text)


def test_extension_characters_count_double() -> None:
    for ch in "€[]{}~^\\|":
        assert count_segments(ch * 3).units == 6, ch


def test_ucs2_forcing_characters_in_order_once_each() -> None:
    info = count_segments("Ça coûte 5€ — ok ? ça 😀 —")
    assert info.encoding == "UCS-2"
    assert info.ucs2_forcing == ("û", "—", "ç", "😀")
    assert count_segments("`").ucs2_forcing == ("`",)
    assert count_segments("§ Ç é").ucs2_forcing == ()


def test_sixteen_bit_reference_holds_one_unit_less_per_part() -> None:
    text = "a" * 305
    assert count_segments(text).segments == 2
    assert count_segments(text, reference=300).segments == 3
    assert len(encode_submit("+33612345678", text, reference=300)) == 3


def test_counts_beyond_255_parts_instead_of_failing() -> None:
    info = count_segments("a" * 153 * 300)
    assert info.segments == 300


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab€[ \n@éçж😀👍🏽", max_size=800), st.integers(0, 0xFFFF))
def test_agrees_exactly_with_encode_submit(text: str, reference: int) -> None:
    info = count_segments(text, reference=reference)
    parts = encode_submit("+33612345678", text, reference=reference)
    assert len(parts) == info.segments
    assert {decode(p.hex).encoding for p in parts} == {info.encoding}  # type: ignore[union-attr]

    def units(chunk: str) -> int:
        if info.encoding == "UCS-2":
            return len(chunk.encode("utf-16-le")) // 2
        return len(gsm7.encode(chunk))

    assert info.remaining == info.per_segment - units(parts[-1].text)
    assert sum(units(p.text) for p in parts) == info.units
