"""Values the modem layer hands to the rest of the daemon (its only public vocabulary)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class LineState(enum.Enum):
    """Supervisor state of one modem line."""

    DISCONNECTED = "disconnected"
    OPENING = "opening"
    INITIALISING = "initialising"
    READY = "ready"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class Concat:
    """Concatenation header of one part of a long SMS (TS 23.040 IEI 0x00 / 0x08)."""

    reference: int
    total: int
    sequence: int


@dataclass(frozen=True)
class IncomingSms:
    """One received SMS-DELIVER part, exactly as the network handed it over."""

    line: str
    sender: str                   # E.164 with '+', national digits, or an alphanumeric name
    text: str                     # decoded text of this part ('' when undecodable, see pdu_hex)
    smsc_time: datetime | None    # TP-SCTS, timezone-aware
    concat: Concat | None
    pdu_hex: str                  # raw TPDU (with SMSC prefix) as read, kept for audit and re-decoding
    undecodable: str | None = None  # reason when the PDU could not be decoded
    slot: str | None = None       # "ME/3": where it was stored in the modem (None: delivered directly)


@dataclass(frozen=True)
class StatusReport:
    """An SMS-STATUS-REPORT for one sent part, matched later by (line, reference, recipient)."""

    line: str
    reference: int                # TP-MR of the submitted part
    recipient: str
    status: int                   # TP-ST
    discharge_time: datetime | None
    received_at: datetime

    @property
    def delivered(self) -> bool:
        return 0x00 <= self.status <= 0x1F

    @property
    def final(self) -> bool:
        """False for 'still trying' (0x20–0x3F): the network has not given up yet."""
        return not (0x20 <= self.status <= 0x3F)


@dataclass(frozen=True)
class CallEvent:
    """One incoming call, reported once when it ends (rings counted)."""

    line: str
    number: str | None
    started_at: datetime
    ended_at: datetime
    rings: int
    hung_up_by_us: bool


@dataclass(frozen=True)
class LineStatus:
    """What the console, API and metrics show about a line."""

    name: str
    port: str
    state: LineState
    signal: int | None = None             # RSSI 0–31 from +CSQ, None when unknown (99)
    registered: bool = False
    roaming: bool = False
    operator: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    imei: str | None = None
    imsi: str | None = None
    iccid: str | None = None
    own_number: str | None = None          # the SIM's own number (AT+CNUM), when the SIM stores it
    sim_mismatch: str | None = None        # set when another SIM appears on a configured port
    storage_used: int | None = None
    storage_total: int | None = None
    reconnects: int = 0                    # port reopenings since the daemon started
    last_error: str | None = None
    since: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


class ModemEventSink(Protocol):
    """Where the modem layer delivers what it hears. The driver deletes an SMS from the modem
    storage only after `on_incoming_sms` has returned (i.e. the message is committed)."""

    async def on_incoming_sms(self, sms: IncomingSms) -> None: ...

    async def on_sms_deleted(self, sms: IncomingSms) -> None:
        """The stored SMS handed over as `sms` is gone from its slot: a later message in the same
        slot, even byte for byte the same (twins from one sender in one second), is a new one."""

    async def on_status_report(self, report: StatusReport) -> None: ...

    async def on_call(self, call: CallEvent) -> None: ...

    async def on_line_status(self, status: LineStatus) -> None: ...
