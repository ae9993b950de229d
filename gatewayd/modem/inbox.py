"""Receiving side of one modem: read stored SMS and reports, hand them over, only then delete.

Rule: a message leaves modem storage only after the sink's `on_incoming_sms` (or
`on_status_report`) has returned, i.e. after it is committed. A sink that raises leaves it in
storage; the next sweep tries again. Undecodable PDUs are handed over with `undecodable` set.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from gatewayd.clock import Clock
from gatewayd.modem import pdu as pdu_codec
from gatewayd.modem.errors import STORAGE_FULL_CMS, CommandError, ModemError
from gatewayd.modem.events import IncomingSms, ModemEventSink, StatusReport
from gatewayd.modem.replies import ReplyError, StoredPdu, parse_cmgl, parse_cmgr, parse_cpms
from gatewayd.modem.session import AtSession
from gatewayd.modem.timings import ModemTimings

log = logging.getLogger(__name__)

RECEIVED_STATS = frozenset({0, 1})      # received unread / read (PDU-mode <stat>)
# Names in AT+CPMS=? that are not memories of their own: MT is SM and ME together, *_P the
# "preferred" views of SIMCom, BM cell broadcast. Draining SM, ME and SR covers them.
NOT_MEMORIES = frozenset({"MT", "BM", "TA"})


def drainable(readable: Sequence[str]) -> tuple[str, ...]:
    """The memories of AT+CPMS=?'s first list that hold messages of their own, in order."""
    return tuple(dict.fromkeys(m for m in readable if m not in NOT_MEMORIES and not m.endswith("_P")))


@dataclass
class StorageUse:
    memory: str
    used: int | None = None
    total: int | None = None

    @property
    def full(self) -> bool:
        return self.used is not None and self.total is not None and self.total > 0 and self.used >= self.total


class Inbox:
    """Reads, hands over and deletes messages of one line (run from the line's task only)."""

    def __init__(self, line: str, session: AtSession, sink: ModemEventSink, clock: Clock,
                 timings: ModemTimings) -> None:
        self.line = line
        self.session = session
        self.sink = sink
        self.clock = clock
        self.timings = timings
        self.memory = "SM"               # the memory chosen at init (mem1 = mem2 = mem3)
        # Every memory the modem has (AT+CPMS=?): a sweep drains them all, since SMS and reports
        # land elsewhere while we are away (a stick back from re-enumeration on ME, reports in SR).
        self.memories: tuple[str, ...] = ("SM",)
        self.read_memory = "SM"          # current mem1 (switched for "SR" reports, then back)
        self.needs_cnma = False          # +CSMS service 1: every +CMT/+CDS must be acknowledged
        self.storage = StorageUse("SM")
        self.delivered = 0
        self.reports = 0
        self.full_reports = 0   # storage-full reports (the alert service counts them)
        # (memory, index) → PDU already committed whose delete failed: never hand it over twice.
        self.committed: dict[tuple[str, int], str] = {}
        self.handed: dict[tuple[str, int], IncomingSms] = {}  # committed SMS whose slot is still taken

    # -- URC entry points ------------------------------------------------------------------------
    async def on_index(self, memory: str, index: int) -> None:
        """+CMTI / +CDSI: read the stored message at `index` of `memory`, hand it over, delete it."""
        try:
            await self._select(memory)
            resp = await self.session.command(f"AT+CMGR={index}", timeout=self.timings.slow_command)
            stored = parse_cmgr(index, resp.lines)
        except CommandError as exc:
            log.warning("%s: cannot read %s/%d: %s", self.line, memory, index, exc)
            return
        except ReplyError as exc:
            log.warning("%s: unreadable +CMGR answer for %s/%d: %s", self.line, memory, index, exc)
            return
        if stored is not None and stored.stat in RECEIVED_STATS:
            await self._handle(memory, stored)
        await self._select(self.memory)

    async def on_direct(self, kind: str, header: str, pdu_hex: str | None) -> None:
        """+CMT / +CDS delivered inline (nothing in storage): hand over, then +CNMA if required."""
        if pdu_hex is None:
            return
        length = _last_int(header)
        decoded: pdu_codec.Deliver | pdu_codec.StatusReportPdu | pdu_codec.Submit | None = None
        reason: str | None = None
        try:
            decoded = pdu_codec.decode(pdu_hex, tpdu_length=length)
        except pdu_codec.PduError as exc:
            reason = str(exc)
        try:
            if isinstance(decoded, pdu_codec.StatusReportPdu):
                await self.sink.on_status_report(self._report(decoded))
                self.reports += 1
            elif kind == "+CMT":
                await self.sink.on_incoming_sms(self._sms(pdu_hex, decoded, reason))
                self.delivered += 1
            else:
                log.warning("%s: %s with unusable PDU (%s): %r", self.line, kind, reason, pdu_hex)
        except Exception:
            # Not stored anywhere: this is why store-and-notify (+CMTI) is preferred at init.
            log.exception("%s: sink refused a directly delivered %s", self.line, kind)
        if self.needs_cnma:
            try:
                await self.session.command("AT+CNMA")
            except ModemError as exc:
                log.warning("%s: +CNMA failed: %s", self.line, exc)

    # -- sweep -------------------------------------------------------------------------------------
    async def sweep(self) -> int:
        """List every memory (AT+CMGL=4 in each) and hand over every received message and
        report, the line's own memory last and left selected; the count."""
        handled = 0
        others = [m for m in self.memories if m != self.memory]
        for memory in others:
            try:
                handled += (await self._sweep_one(memory))[0]
            except CommandError as exc:  # a memory listed but not readable now: the next sweep
                log.info("%s: cannot list %s: %s", self.line, memory, exc)
        count, entries = await self._sweep_one(self.memory)
        handled += count
        await self.refresh_storage()
        if self.storage.full:
            await self._clear_non_received(entries)
        return handled

    async def _sweep_one(self, memory: str) -> tuple[int, list[StoredPdu]]:
        await self._select(memory)
        resp = await self.session.command("AT+CMGL=4", timeout=self.timings.slow_command)
        try:
            entries = parse_cmgl(resp.lines)
        except ReplyError as exc:
            log.warning("%s: unusable +CMGL listing of %s: %s", self.line, memory, exc)
            return 0, []
        handled = 0
        for stored in entries:
            if stored.stat in RECEIVED_STATS:
                handled += await self._handle(memory, stored)
        return handled, entries

    async def refresh_storage(self) -> StorageUse:
        """Read AT+CPMS? into `storage` (used/total of the chosen memory)."""
        try:
            resp = await self.session.command("AT+CPMS?")
            line = resp.first("+CPMS:")
            if line:
                first = parse_cpms(line)[0]
                self.storage = StorageUse(first.memory or self.memory, first.used, first.total)
        except (CommandError, ReplyError) as exc:
            log.debug("%s: AT+CPMS? failed: %s", self.line, exc)
        return self.storage

    async def on_storage_full(self) -> None:
        """Storage full reported (CMS 322, ^SMMEMFULL…): commit what is there, then make room."""
        log.warning("%s: message storage full, sweeping", self.line)
        self.full_reports += 1
        await self.sweep()

    @staticmethod
    def is_storage_full(exc: CommandError) -> bool:
        return exc.kind == "CMS" and exc.code in STORAGE_FULL_CMS

    # -- internals -------------------------------------------------------------------------------
    async def _handle(self, memory: str, stored: StoredPdu) -> int:
        key = (memory, stored.index)
        if self.committed.get(key) == stored.pdu:
            log.info("%s: %s/%d already committed, deleting only", self.line, memory, stored.index)
            return await self._delete(key)
        try:
            decoded = pdu_codec.decode(stored.pdu, tpdu_length=stored.length or None)
            reason = None
        except pdu_codec.PduError as exc:
            decoded, reason = None, str(exc)
        try:
            if isinstance(decoded, pdu_codec.StatusReportPdu):
                await self.sink.on_status_report(self._report(decoded))
                self.reports += 1
            elif isinstance(decoded, pdu_codec.Submit):
                return 0  # a stored outgoing message (not ours to hand over)
            else:
                sms = self._sms(stored.pdu, decoded, reason, slot=f"{memory}/{stored.index}")
                await self.sink.on_incoming_sms(sms)
                self.delivered += 1
                self.handed[key] = sms
        except Exception as exc:
            log.warning("%s: %s/%d kept in modem storage, sink failed: %s", self.line, memory,
                        stored.index, exc)
            return 0
        self.committed[key] = stored.pdu
        return await self._delete(key)

    async def _delete(self, key: tuple[str, int]) -> int:
        try:
            await self.session.command(f"AT+CMGD={key[1]}")
        except CommandError as exc:
            if exc.code != 321:  # 321 = invalid index: already gone
                log.warning("%s: delete of %s/%d failed: %s", self.line, key[0], key[1], exc)
                return 1
        self.committed.pop(key, None)
        sms = self.handed.pop(key, None)
        if sms is not None:
            await self._freed(sms)
        return 1

    async def _freed(self, sms: IncomingSms) -> None:
        # The slot is free: what the modem stores there next is a new message, not a re-read.
        freed = getattr(self.sink, "on_sms_deleted", None)
        if freed is None:
            return
        try:
            await freed(sms)
        except Exception as exc:
            log.warning("%s: could not record that %s was deleted: %s", self.line, sms.slot, exc)

    async def _clear_non_received(self, entries: list[StoredPdu]) -> None:
        # Still full after handing everything over: drop stored outgoing drafts (stat 2/3).
        for stored in entries:
            if stored.stat not in RECEIVED_STATS:
                await self._delete((self.memory, stored.index))
        await self.refresh_storage()

    async def _select(self, memory: str) -> None:
        if memory == self.read_memory:
            return
        await self.session.command(f'AT+CPMS="{memory}"')
        self.read_memory = memory

    def _sms(self, pdu_hex: str, decoded: object, reason: str | None, *, slot: str | None = None) -> IncomingSms:
        if isinstance(decoded, pdu_codec.Deliver):
            return IncomingSms(self.line, decoded.sender, decoded.text, decoded.smsc_time,
                               decoded.concat, pdu_hex, decoded.undecodable, slot)
        why = reason or f"not an SMS-DELIVER ({type(decoded).__name__})"
        return IncomingSms(self.line, "", "", None, None, pdu_hex, why, slot)

    def _report(self, rep: pdu_codec.StatusReportPdu) -> StatusReport:
        return StatusReport(self.line, rep.reference, rep.recipient, rep.status, rep.discharge_time,
                            self.clock.now())


def _last_int(header: str) -> int | None:
    tail = header.rpartition(",")[2] if "," in header else header.partition(":")[2]
    tail = tail.strip()
    return int(tail) if tail.isdigit() else None
