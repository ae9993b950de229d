"""Fuzzing the sans-IO AT parser and its reply helpers (gatewayd/modem/at.py, replies.py).

Properties: `AtParser.feed` never raises whatever the bytes and whatever the session told it;
how the bytes are chunked (down to one byte per read, empty reads included) never changes the
events; events are well-formed values. The `parse_*` helpers raise `ReplyError` only, and fast.
Streams are built from real modem vocabulary (finals, URCs of the registry, +CMT + PDU, prompts,
echoes) mixed with arbitrary text, every line ending and raw noise, so the fuzzer reaches the
branches that random bytes alone almost never hit. Budgets: tests/fuzz/profiles.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hypothesis import example, given
from hypothesis import strategies as st

from gatewayd.modem import replies
from gatewayd.modem.at import (
    GENERIC_URCS,
    AtEvent,
    AtParser,
    Echo,
    FinalResult,
    InfoLine,
    Prompt,
    ResultKind,
    Urc,
)
from .profiles import budget

COMMANDS = ["AT", "ATE0", "AT+CMGF=0", "AT+CREG?", "AT+CREG=?", "AT+CSQ", "AT+CMGS=23", "AT+CMGL=4",
            "AT+CPIN?", "ATD+33612345678;", "ATA", "AT+CUSD=1,\"*100#\"", "AT^HCSQ?", "AT+CLIP=1"]
FINALS = ["OK", "ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT"]
PDU = "07913396050066F0040B913306214365F70000621041512445400AE8329BFD4697D9EC37"
DIGITS_ANYWHERE = st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=4)
noise_text = st.text(max_size=30)


@st.composite
def lines(draw: st.DrawFn) -> str:
    """One line as a modem (or a noisy cable) could send it, without its terminator."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(FINALS))
    if kind == 1:
        code = draw(st.one_of(st.integers(0, 999).map(str), DIGITS_ANYWHERE, noise_text))
        return f"+{draw(st.sampled_from(['CME', 'CMS']))} ERROR: {code}"
    if kind == 2:
        spec = draw(st.sampled_from(GENERIC_URCS))
        return spec.prefix + draw(st.sampled_from(["", " ", " 1,2", ' "SM",3', " 23"])) + draw(noise_text)
    if kind == 3:
        return draw(st.sampled_from(["> ", ">", "\x00> ", "\xff>"]))
    if kind == 4:
        return draw(st.sampled_from(COMMANDS))
    if kind == 5:
        return PDU[: draw(st.integers(0, len(PDU)))]
    if kind == 6:
        return "+CMT: ," + str(draw(st.integers(0, 200)))
    if kind == 7:
        return "+CDS: " + draw(st.sampled_from(["25", "6,12,\"+33612345678\",145", ""]))
    return draw(noise_text)


@st.composite
def wire(draw: st.DrawFn) -> bytes:
    """Lines joined by arbitrary terminators, encoded as UTF-8 or Latin-1, with raw noise between."""
    out = bytearray()
    for line in draw(st.lists(lines(), max_size=12)):
        raw = line.encode(draw(st.sampled_from(["utf-8", "latin-1"])), errors="replace")
        out += raw + draw(st.sampled_from([b"\r\n", b"\r", b"\n", b"\n\r", b"\r\r\n", b""]))
        if draw(st.integers(0, 5)) == 0:
            out += draw(st.binary(max_size=8))
    return bytes(out)


@dataclass(frozen=True)
class Feed:
    data: bytes


@dataclass(frozen=True)
class Start:
    command: str


@dataclass(frozen=True)
class Sent:
    text: str


@dataclass(frozen=True)
class Finish:
    pass


Op = Feed | Start | Sent | Finish

session_ops = st.lists(st.one_of(
    wire().map(Feed),
    st.binary(max_size=40).map(Feed),
    st.one_of(st.sampled_from(COMMANDS), st.text(max_size=20)).map(Start),
    st.sampled_from([PDU + "\x1a", "\x1b", PDU]).map(Sent),
    st.just(Finish()),
), max_size=10)


def _run(ops: Sequence[Op], split: Callable[[bytes], list[bytes]]) -> list[AtEvent]:
    parser = AtParser()
    events: list[AtEvent] = []
    for op in ops:
        if isinstance(op, Feed):
            for chunk in split(op.data):
                events += parser.feed(chunk)
        elif isinstance(op, Start):
            parser.command_started(op.command)
        elif isinstance(op, Sent):
            parser.data_sent(op.text)
        else:
            parser.command_finished()
    return events


def _well_formed(event: AtEvent) -> None:
    assert isinstance(event, Echo | InfoLine | FinalResult | Prompt | Urc)
    for text in (getattr(event, name) for name in ("text", "line", "pdu") if hasattr(event, name)):
        assert text is None or (isinstance(text, str) and "\r" not in text and "\n" not in text)
    if isinstance(event, FinalResult):
        assert isinstance(event.kind, ResultKind)
        assert event.code is None or (isinstance(event.code, int) and event.code >= 0)
    if isinstance(event, Urc):
        assert event.name and isinstance(event.args, str)


@budget()
@given(session_ops)
@example([Feed(b"+CME ERROR: \xc2\xb2\r\n")])  # a superscript digit passed str.isdigit() then broke int()
@example([Feed(b"+CMS ERROR: \xd9\xa3\r\n")])  # Arabic-Indic digit: int() reads it, a modem never sends it
def test_feed_never_raises_and_yields_well_formed_events(ops: list[Op]) -> None:
    for event in _run(ops, lambda data: [data]):
        _well_formed(event)


@budget()
@given(session_ops, st.data())
@example([Feed(b"A\xe2\x82\xac\xf0\x9f\x98\x80\r\nOK\r\n")], None)  # multi-byte characters cut anywhere
def test_chunking_never_changes_the_events(ops: list[Op], data: st.DataObject | None) -> None:
    whole = _run(ops, lambda raw: [raw])
    bytewise = _run(ops, lambda raw: [raw[i:i + 1] for i in range(len(raw))] + [b""])
    assert bytewise == whole

    def random_split(raw: bytes) -> list[bytes]:
        if data is None:
            return [raw[:2], b"", raw[2:5], raw[5:]]
        cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
        bounds = [0, *cuts, len(raw)]
        return [raw[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    assert _run(ops, random_split) == whole


@budget()
@given(st.binary(max_size=300), st.integers(1, 300))
def test_arbitrary_bytes_in_fixed_reads_match_one_read(raw: bytes, size: int) -> None:
    whole = AtParser().feed(raw)
    parser = AtParser()
    chunked = [e for i in range(0, len(raw), size) for e in parser.feed(raw[i:i + size])]
    assert chunked == whole


line_text = st.one_of(lines(), st.text(max_size=60),
                      st.builds(lambda p, r: p + r, st.sampled_from(
                          ["+CSQ: ", "+CREG: ", "+COPS: ", "+CPMS: ", "+CNMI: ", "+CMTI: ", "+CLIP: ", "+CMGS: ",
                           "+CPIN: ", "+CSCA: ", "+CMGL: ", "+CMGR: ", "+CCID: "]), st.text(max_size=40)),
                      st.builds(lambda a, b: f"+CNMI: ({a}-{b}),(0-{b})", st.integers(-5, 10**12),
                                st.integers(-5, 10**12)))

SINGLE_LINE: list[Callable[[str], object]] = [
    replies.parse_csq, lambda ln: replies.parse_registration(ln, solicited=True),
    lambda ln: replies.parse_registration(ln, solicited=False), replies.parse_cops, replies.parse_cpms,
    replies.parse_cpms_test, replies.parse_cnmi_test, replies.parse_index_urc, replies.parse_clip,
    replies.parse_cmgs, replies.parse_cpin, replies.parse_csca, replies.strip_prefix,
    replies.parse_int_set, replies.split_fields,
]


def _bounded(call: Callable[[], object]) -> None:
    started = time.monotonic()
    try:
        call()
    except replies.ReplyError as exc:
        assert str(exc), "a ReplyError must say what is wrong"
    # A modem line is short: parsing it must never take long (or allocate per value of a range).
    assert time.monotonic() - started < 2.0


@budget()
@given(line_text)
@example("+CNMI: (0-99999999999),(0-1)")  # a huge range was expanded into a set, value by value
@example("+CNMI: (2-1),(a-b)")
def test_reply_parsers_raise_only_reply_error(line: str) -> None:
    for parse in SINGLE_LINE:
        _bounded(lambda parse=parse: parse(line))  # type: ignore[misc]


@budget(0.5)
@given(st.lists(line_text, max_size=8), st.integers(0, 400))
def test_multi_line_parsers_raise_only_reply_error(lines_: list[str], index: int) -> None:
    _bounded(lambda: replies.parse_cmgl(lines_))
    _bounded(lambda: replies.parse_cmgr(index, lines_))
    _bounded(lambda: replies.parse_iccid(lines_))
    _bounded(lambda: replies.first_digits(lines_))
