"""SMS PDU codec (TS 23.040 TPDUs as carried by TS 27.005 PDU mode): pure, no I/O.

Outbound: SMS-SUBMIT parts (`encode_submit`). Inbound: `decode` of SMS-DELIVER,
SMS-STATUS-REPORT and SMS-SUBMIT (the simulator reads what the driver sends).

Why this does not call python-gsmmodem's `gsmmodem.pdu` at run time, although the project prefers a
maintained library where it is right: the parts it gets right (septet packing, semi-octet digits,
the relative validity table, the greedy GSM-7 split) are a few lines each, while its decoder is
built on bare iterators that leak StopIteration/ValueError/TypeError on malformed input (our
contract is "PduError only"), and around those right parts it carries the defects this module exists
to fix: emoji raise on encode and decode to lone surrogates; the 16-bit concatenation IE eats the
first GSM-7 character; '§' is replaced by '`' in its table; a trailing '@' is dropped; 8-bit and
message-class data coding schemes decode as GSM-7 garbage; a reference above 255 is written into the
one-octet TP-MR and crashes; status 0x20-0x3F counts as failed. Its `pdu` module is kept as a test
oracle instead: tests check byte-for-byte agreement wherever it is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gatewayd.modem.events import Concat
from gatewayd.modem.pdu_fields import (
    PduError,
    Reader,
    decode_relative_validity,
    decode_timestamp,
    encode_number,
    encode_relative_validity,
    encode_smsc,
    read_address,
    read_smsc,
)
from gatewayd.modem.pdu_userdata import (
    Alphabet,
    concat_header,
    parse_dcs,
    read_user_data,
    reassemble,
    user_data,
)
from gatewayd.modem.segments import plan

__all__ = [
    "Deliver", "PduError", "StatusReportPdu", "Submit", "SubmitPart", "decode", "encode_submit",
    "reassemble",
]


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class SubmitPart:
    """One SMS-SUBMIT ready for AT+CMGS=<tpdu_length> (hex includes the SMSC field)."""

    hex: str
    tpdu_length: int
    sequence: int
    total: int
    text: str


@dataclass(frozen=True)
class Deliver:
    """A decoded SMS-DELIVER (one part)."""

    sender: str
    text: str
    smsc_time: datetime | None
    concat: Concat | None
    encoding: Alphabet
    smsc: str | None = None
    sender_toa: int = 0x91
    message_class: int | None = None
    protocol_id: int = 0
    status_report_indication: bool = False
    payload: bytes = b""  # user data after the UDH: septet values (GSM-7) or octets
    information_elements: tuple[tuple[int, bytes], ...] = ()
    undecodable: str | None = None  # why `text` is empty although user data was present


@dataclass(frozen=True)
class StatusReportPdu:
    """A decoded SMS-STATUS-REPORT (TP-ST values per TS 23.040 §9.2.3.15)."""

    reference: int
    recipient: str
    status: int
    scts: datetime | None
    discharge_time: datetime | None
    smsc: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status <= 0x1F

    @property
    def final(self) -> bool:
        """False while the SC is still trying (0x20-0x3F); such a report is not a failure."""
        return not 0x20 <= self.status <= 0x3F

    @property
    def failed(self) -> bool:
        return self.status >= 0x40


@dataclass(frozen=True)
class Submit:
    """A decoded SMS-SUBMIT (what a phone or our driver hands to the SC)."""

    reference: int
    recipient: str
    text: str
    concat: Concat | None
    encoding: Alphabet
    status_report: bool
    validity: timedelta | datetime | None = None
    smsc: str | None = None
    recipient_toa: int = 0x91
    reject_duplicates: bool = False
    message_class: int | None = None
    protocol_id: int = 0
    payload: bytes = b""
    information_elements: tuple[tuple[int, bytes], ...] = ()
    undecodable: str | None = None


# ---------------------------------------------------------------- encode


def encode_submit(
    number: str,
    text: str,
    *,
    reference: int,
    status_report: bool = True,
    validity: timedelta | None = None,
    smsc: str | None = None,
) -> list[SubmitPart]:
    """SMS-SUBMIT parts for `text` to `number`; one part when it fits (split as segments.plan).

    TP-MR is left 0: the modem assigns the real one and returns it in +CMGS."""
    if not 0 <= reference <= 0xFFFF:
        raise PduError(f"concatenation reference {reference} must be within 0-65535")
    try:
        p = plan(text, reference=reference)
    except ValueError as exc:
        raise PduError(str(exc)) from None
    toa, digits = encode_number(number)  # a recipient is never alphanumeric
    destination = bytes((len(number.lstrip("+")), toa)) + digits
    prefix = encode_smsc(smsc)
    vp = b"" if validity is None else bytes((encode_relative_validity(validity),))
    dcs = 0x00 if p.encoding == "GSM-7" else 0x08
    total = len(p.chunks)
    parts = []
    for seq, chunk in enumerate(p.chunks, start=1):
        header = concat_header(reference, total, seq) if total > 1 else b""
        udl, ud = user_data(chunk, p.encoding, header)
        first = 0x01 | (0x10 if vp else 0) | (0x20 if status_report else 0) | (0x40 if header else 0)
        tpdu = bytes((first, 0x00)) + destination + bytes((0x00, dcs)) + vp + bytes((udl,)) + ud
        parts.append(SubmitPart((prefix + tpdu).hex().upper(), len(tpdu), seq, total, chunk))
    return parts


# ---------------------------------------------------------------- decode


def decode(hex_pdu: str, *, tpdu_length: int | None = None) -> Deliver | StatusReportPdu | Submit:
    """Decode a PDU-mode PDU (SMSC field + TPDU) as read from the modem; raises PduError only.

    `tpdu_length` (the <length> of +CMGR/+CMT/+CDS) lets a PDU without SMSC prefix be recognised:
    some firmwares leave the prefix out of +CDS."""
    if not isinstance(hex_pdu, str):
        raise PduError(f"PDU must be a hex string, not {type(hex_pdu).__name__}")
    try:
        raw = bytes.fromhex(hex_pdu.strip())
    except ValueError:
        raise PduError(f"PDU is not hexadecimal: {hex_pdu[:40]!r}") from None
    if not raw:
        raise PduError("PDU is empty")
    r = Reader(raw)
    try:
        smsc = None if tpdu_length is not None and tpdu_length == len(raw) else read_smsc(r)
        first = r.byte("first octet")
        mti = first & 0x03
        if mti == 0x00:
            return _deliver(r, first, smsc)
        if mti == 0x01:
            return _submit(r, first, smsc)
        if mti == 0x02:
            return _status_report(r, smsc)
        raise PduError(f"reserved message type indicator 3 (first octet 0x{first:02X})")
    except PduError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError) as exc:  # pragma: no cover - safety net
        raise PduError(f"decoder bug on {hex_pdu[:40]!r}: {exc!r}") from exc


def _deliver(r: Reader, first: int, smsc: str | None) -> Deliver:
    sender, toa = read_address(r, "TP-OA")
    pid = r.byte("TP-PID")
    dcs = parse_dcs(r.byte("TP-DCS"))
    scts = decode_timestamp(r.take(7, "TP-SCTS"))
    ud = read_user_data(r, bool(first & 0x40), dcs)
    return Deliver(
        sender=sender, text=ud.text, smsc_time=scts, concat=ud.concat, encoding=dcs.alphabet,
        smsc=smsc, sender_toa=toa, message_class=dcs.message_class, protocol_id=pid,
        status_report_indication=bool(first & 0x20), payload=ud.payload,
        information_elements=ud.ies, undecodable=ud.undecodable,
    )


def _submit(r: Reader, first: int, smsc: str | None) -> Submit:
    mr = r.byte("TP-MR")
    recipient, toa = read_address(r, "TP-DA")
    pid = r.byte("TP-PID")
    dcs = parse_dcs(r.byte("TP-DCS"))
    vpf = (first >> 3) & 0x03
    validity: timedelta | datetime | None = None
    if vpf == 0x02:
        validity = decode_relative_validity(r.byte("TP-VP"))
    elif vpf == 0x03:
        validity = decode_timestamp(r.take(7, "TP-VP"))
    elif vpf == 0x01:
        r.take(7, "TP-VP (enhanced)")  # enhanced format: skipped, never produced by us
    ud = read_user_data(r, bool(first & 0x40), dcs)
    return Submit(
        reference=mr, recipient=recipient, text=ud.text, concat=ud.concat, encoding=dcs.alphabet,
        status_report=bool(first & 0x20), validity=validity, smsc=smsc, recipient_toa=toa,
        reject_duplicates=bool(first & 0x04), message_class=dcs.message_class, protocol_id=pid,
        payload=ud.payload, information_elements=ud.ies, undecodable=ud.undecodable,
    )


def _status_report(r: Reader, smsc: str | None) -> StatusReportPdu:
    mr = r.byte("TP-MR")
    recipient, _ = read_address(r, "TP-RA")
    scts = decode_timestamp(r.take(7, "TP-SCTS"))
    discharge = decode_timestamp(r.take(7, "TP-DT"))
    status = r.byte("TP-ST")
    # Optional TP-PI/PID/DCS/UD may follow; nothing in them matters for matching, so skip them.
    return StatusReportPdu(mr, recipient, status, scts, discharge, smsc)
