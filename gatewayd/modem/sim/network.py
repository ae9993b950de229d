"""The virtual mobile network shared by simulated modems: subscribers, what they received,
scripted replies and delivery reports. Everything the network "got" is recorded so crash tests
can count losses and duplicates."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from gatewayd.clock import Clock, SystemClock
from gatewayd.modem.events import Concat
from gatewayd.modem.pdu import Submit, reassemble
from gatewayd.modem.sim.pdus import encode_deliver, encode_status_report

log = logging.getLogger(__name__)

Reply = str | Callable[[str], str | None] | None


class NetworkModem(Protocol):
    """What the network needs from a simulated modem."""

    name: str
    msisdn: str

    def accept_deliver(self, pdus: list[str]) -> bool: ...

    def accept_status_report(self, pdu: str) -> bool: ...


@dataclass
class Subscriber:
    """A phone on the virtual network and how it behaves."""

    number: str
    reply: Reply = None                      # text, or fn(received_text) -> text | None
    reply_delay: float = 0.05
    report_status: int | Sequence[int] | None = 0   # TP-ST sent back; a sequence sends several
    report_delay: float = 0.05


@dataclass(frozen=True)
class SubmittedPart:
    """One SMS-SUBMIT as the network got it (duplicates included)."""

    line: str
    recipient: str
    reference: int            # TP-MR the modem gave it
    text: str
    concat: Concat | None
    status_report: bool
    at: datetime


@dataclass(frozen=True)
class ReceivedSms:
    """A whole message as its recipient saw it (parts reassembled)."""

    line: str
    sender: str               # the line's own number
    recipient: str
    text: str
    parts: int
    references: tuple[int, ...]
    at: datetime


@dataclass
class _Assembly:
    parts: dict[int, Submit] = field(default_factory=dict)
    refs: dict[int, int] = field(default_factory=dict)


@dataclass
class _Pending:
    kind: str                 # "deliver" | "report"
    pdus: list[str]


class SimNetwork:
    """Subscribers, modems (by line name) and the record of everything that went through."""

    def __init__(self, *, clock: Clock | None = None, default_report_status: int | None = 0,
                 default_report_delay: float = 0.05, ussd_answer: str = "Votre solde est de 12,34 EUR.") -> None:
        self.clock = clock or SystemClock()
        self.subscribers: dict[str, Subscriber] = {}
        self.default_report_status = default_report_status
        self.default_report_delay = default_report_delay
        self.ussd_answer = ussd_answer
        self.ussd_codes: dict[str, str | None] = {}
        self.ussd_unanswered: set[str] = set()   # codes the network never answers
        self.ussd_delays: dict[str, float] = {}  # codes answered this many seconds late
        self.ussd_menus: set[str] = set()        # codes answered with a menu (status 1)
        self.ussd_requests: list[tuple[str, str]] = []
        self.parts: list[SubmittedPart] = []
        self.received: list[ReceivedSms] = []
        self.duplicate_parts: list[SubmittedPart] = []
        self.modems: dict[str, NetworkModem] = {}
        self._assemblies: dict[tuple[str, str, int, int], _Assembly] = {}
        self._pending: dict[str, list[_Pending]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._reference = 0

    # ------------------------------------------------------------ set-up

    def add_subscriber(self, number: str, *, reply: Reply = None, reply_stop: bool = False,
                       reply_delay: float = 0.05, report_status: int | Sequence[int] | None = 0,
                       report_delay: float = 0.05) -> Subscriber:
        """Add (or replace) a phone; `reply_stop` makes it answer "STOP" to anything."""
        sub = Subscriber(number, "STOP" if reply_stop else reply, reply_delay, report_status, report_delay)
        self.subscribers[number] = sub
        return sub

    def attach(self, modem: NetworkModem) -> None:
        self.modems[modem.name] = modem

    def detach(self, modem: NetworkModem) -> None:
        if self.modems.get(modem.name) is modem:
            del self.modems[modem.name]

    def close(self) -> None:
        """Cancel every scheduled reply and report."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    # ------------------------------------------------------------ from modems

    def submit(self, line: str, reference: int, sms: Submit) -> None:
        """A modem handed over one SMS-SUBMIT part (TP-MR `reference`)."""
        now = self.clock.now()
        part = SubmittedPart(line, sms.recipient, reference, sms.text, sms.concat, sms.status_report, now)
        self.parts.append(part)
        sub = self.subscribers.get(sms.recipient)
        if sms.status_report:
            self._schedule_reports(line, reference, sms.recipient, sub)
        if sms.concat is None:
            self._complete(line, sms.recipient, sms.text, (reference,), now)
            return
        key = (line, sms.recipient, sms.concat.reference, sms.concat.total)
        asm = self._assemblies.setdefault(key, _Assembly())
        if sms.concat.sequence in asm.parts:
            self.duplicate_parts.append(part)
            return
        asm.parts[sms.concat.sequence] = sms
        asm.refs[sms.concat.sequence] = reference
        if len(asm.parts) == sms.concat.total:
            del self._assemblies[key]
            text = reassemble([asm.parts[i] for i in sorted(asm.parts)])
            refs = tuple(asm.refs[i] for i in sorted(asm.refs))
            self._complete(line, sms.recipient, text, refs, now)

    def ussd(self, line: str, code: str) -> str | None:
        """The network's answer to a USSD code: `ussd_codes[code]` when set (None: the network
        does not know it), else `ussd_answer`."""
        self.ussd_requests.append((line, code))
        return self.ussd_codes[code] if code in self.ussd_codes else self.ussd_answer

    def wake(self, line: str) -> None:
        """The modem on `line` can take messages again: hand over what waited."""
        modem = self.modems.get(line)
        queue = self._pending.get(line)
        if modem is None or not queue:
            return
        while queue:
            item = queue[0]
            ok = modem.accept_deliver(item.pdus) if item.kind == "deliver" else modem.accept_status_report(item.pdus[0])
            if not ok:
                return
            queue.pop(0)

    # ------------------------------------------------------------ towards modems

    def deliver(self, line: str, sender: str, text: str, *, reference: int | None = None,
                order: Sequence[int] | None = None, dcs: int | None = None) -> list[str]:
        """Send `text` from `sender` to the modem on `line` (now, or as soon as it can take it).

        `order` gives the part numbers in arrival order (e.g. [2, 1]); returns the PDUs."""
        if reference is None:
            self._reference = (self._reference + 1) % 256
            reference = self._reference
        pdus = encode_deliver(sender, text, scts=self.clock.now(), reference=reference, dcs=dcs)
        if order is not None:
            pdus = [pdus[i - 1] for i in order]
        self.deliver_pdus(line, pdus)
        return pdus

    def deliver_pdus(self, line: str, pdus: list[str]) -> None:
        """Queue ready-made SMS-DELIVER PDUs for `line`, one at a time as separate arrivals."""
        for pdu in pdus:
            self._pending.setdefault(line, []).append(_Pending("deliver", [pdu]))
        self.wake(line)

    def report(self, line: str, reference: int, recipient: str, status: int) -> str:
        """Queue one status report for the part sent on `line` with TP-MR `reference`."""
        now = self.clock.now()
        pdu = encode_status_report(reference, recipient, status, scts=now, discharge=now)
        self._pending.setdefault(line, []).append(_Pending("report", [pdu]))
        self.wake(line)
        return pdu

    def pending(self, line: str) -> int:
        """Messages and reports waiting for the modem on `line` to become reachable."""
        return len(self._pending.get(line, []))

    # ------------------------------------------------------------ waiting (tests)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Return once `predicate()` holds; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)

    async def wait_received(self, count: int, timeout: float = 10.0) -> list[ReceivedSms]:
        await self.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)

    def received_by(self, recipient: str) -> list[ReceivedSms]:
        return [r for r in self.received if r.recipient == recipient]

    # ------------------------------------------------------------ internals

    def _complete(self, line: str, recipient: str, text: str, refs: tuple[int, ...], now: datetime) -> None:
        modem = self.modems.get(line)
        sender = modem.msisdn if modem else line
        self.received.append(ReceivedSms(line, sender, recipient, text, len(refs), refs, now))
        log.debug("network: %s -> %s: %r (%d part(s))", line, recipient, text, len(refs))
        sub = self.subscribers.get(recipient)
        if sub is None or sub.reply is None:
            return
        answer = sub.reply(text) if callable(sub.reply) else sub.reply
        if answer:
            self._later(sub.reply_delay, lambda: self.deliver(line, recipient, answer))

    def _schedule_reports(self, line: str, reference: int, recipient: str, sub: Subscriber | None) -> None:
        status = sub.report_status if sub else self.default_report_status
        delay = sub.report_delay if sub else self.default_report_delay
        if status is None:
            return
        statuses = [status] if isinstance(status, int) else list(status)
        for i, st in enumerate(statuses, start=1):
            self._later(delay * i, functools.partial(self.report, line, reference, recipient, st))

    def _later(self, delay: float, fn: Callable[[], object]) -> None:
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._timers.discard(handle)
            fn()

        handle = loop.call_later(delay, run)
        self._timers.add(handle)
