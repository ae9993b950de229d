"""Network-side PDUs the simulator hands to the modem: SMS-DELIVER and SMS-STATUS-REPORT (pure)."""

from __future__ import annotations

from datetime import datetime

from gatewayd.modem.pdu_fields import PduError, encode_address, encode_smsc, encode_timestamp
from gatewayd.modem.pdu_userdata import concat_header, user_data
from gatewayd.modem.segments import plan

DEFAULT_SMSC = "+33609001390"


def encode_deliver(
    sender: str,
    text: str,
    *,
    scts: datetime,
    reference: int = 0,
    smsc: str | None = DEFAULT_SMSC,
    status_report_indication: bool = False,
    dcs: int | None = None,
) -> list[str]:
    """SMS-DELIVER PDUs (hex, SMSC prefix included) carrying `text` from `sender`, split the way
    a phone would split it (segments.plan); `dcs` overrides the data coding octet for tests."""
    try:
        p = plan(text, reference=reference)
    except ValueError as exc:
        raise PduError(str(exc)) from None
    originator = encode_address(sender)
    total = len(p.chunks)
    out = []
    for seq, chunk in enumerate(p.chunks, start=1):
        header = concat_header(reference, total, seq) if total > 1 else b""
        udl, ud = user_data(chunk, p.encoding, header)
        # MMS bit (0x04) set means "no more messages waiting" in TS 23.040's inverted sense.
        first = 0x04 | (0x40 if header else 0) | (0x20 if status_report_indication else 0)
        coding = dcs if dcs is not None else (0x00 if p.encoding == "GSM-7" else 0x08)
        tpdu = bytes((first,)) + originator + bytes((0x00, coding)) + encode_timestamp(scts)
        out.append((encode_smsc(smsc) + tpdu + bytes((udl,)) + ud).hex().upper())
    return out


def encode_status_report(
    reference: int,
    recipient: str,
    status: int,
    *,
    scts: datetime,
    discharge: datetime,
    smsc: str | None = DEFAULT_SMSC,
) -> str:
    """One SMS-STATUS-REPORT (hex, SMSC prefix included) for the part sent with TP-MR `reference`."""
    if not 0 <= reference <= 0xFF or not 0 <= status <= 0xFF:
        raise PduError("status report reference and status must each fit one octet")
    tpdu = (
        bytes((0x06, reference))  # MTI=10 status report, MMS set (nothing more waiting)
        + encode_address(recipient)
        + encode_timestamp(scts)
        + encode_timestamp(discharge)
        + bytes((status,))
    )
    return (encode_smsc(smsc) + tpdu).hex().upper()


def tpdu_length(pdu_hex: str) -> int:
    """Octets after the SMSC prefix: the <length> that +CMGR/+CMT/+CDS announce."""
    raw = bytes.fromhex(pdu_hex)
    return len(raw) - 1 - raw[0]
