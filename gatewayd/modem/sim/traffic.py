"""SMS traffic of a simulated modem: what the host submits after `> `, and what the network
hands over (stored with +CMTI, direct with +CMT, reports with +CDS/+CDSI)."""

from __future__ import annotations

import asyncio
from random import Random
from typing import TYPE_CHECKING

from gatewayd.modem.pdu import Deliver, PduError, Submit, decode, encode_submit
from gatewayd.modem.sim.commands_sms import text_time
from gatewayd.modem.sim.network import SimNetwork
from gatewayd.modem.sim.pdus import tpdu_length
from gatewayd.modem.sim.port import PtyPort
from gatewayd.modem.sim.profiles import Profile
from gatewayd.modem.sim.results import AtError, cms
from gatewayd.modem.sim.state import REC_UNREAD, STO_UNSENT, ModemState, StoredSms
from gatewayd.modem.sim.tuning import Faults
from gatewayd.modem.sim.wire import CommandLine, Framer, MessageData


class SmsTraffic:
    """Mixin of SimDevice (which provides the attributes below)."""

    name: str
    state: ModemState
    profile: Profile
    network: SimNetwork
    pty: PtyPort
    faults: Faults
    random: Random
    sent: list[Submit]
    plugged: bool
    _framer: Framer
    _inbox: asyncio.Queue[CommandLine | MessageData]
    _memfull_said: bool

    if TYPE_CHECKING:
        def _write(self, data: bytes) -> None: ...

        def _send_lines(self, lines: list[str], final: str | None) -> None: ...

        def emit(self, lines: list[str], *, sms: bool = False) -> None: ...

    async def _prompted(self, kind: str, arg: str) -> None:
        if kind == "submit" and self.faults.no_prompt > 0:
            self.faults.no_prompt -= 1
            self._framer.leave_prompt()
            return  # silence: the host must time out and send ESC
        self._framer.enter_prompt()
        self._write(b"\r\n> ")
        while True:
            item = await self._inbox.get()
            if isinstance(item, MessageData):
                break
        if item.cancelled:
            self._send_lines([], "OK")
            return
        lines: list[str] | None
        try:
            if kind == "write":
                lines = self._write_to_storage(arg, item.text)
            else:
                lines = await self._submit(arg, item.text)
        except AtError as exc:
            self._send_lines([], exc.render(self.state.cmee, self.profile.unknown_reply))
            return
        if lines is not None:
            self._send_lines(lines, "OK")

    def _parse_submit(self, arg: str, data: str) -> tuple[Submit, str]:
        """The Submit the host typed (PDU or text mode), or +CMS ERROR 304/305."""
        if self.state.cmgf == 1:
            number = arg.strip().strip('"').split('"')[0]
            try:
                part = encode_submit(number, data, reference=0, status_report=False)[0]
                msg = decode(part.hex)
            except PduError:
                raise cms(305) from None
            assert isinstance(msg, Submit)
            return msg, part.hex
        hex_pdu = "".join(data.split())
        try:
            raw = bytes.fromhex(hex_pdu)
            length = int(arg)
        except ValueError:
            raise cms(304) from None
        if not raw or len(raw) - 1 - raw[0] != length:
            raise cms(304)  # <length> must count the TPDU octets exactly
        try:
            msg = decode(hex_pdu)
        except PduError:
            raise cms(304) from None
        if not isinstance(msg, Submit):
            raise cms(304)
        return msg, hex_pdu

    async def _submit(self, arg: str, data: str) -> list[str] | None:
        msg, _ = self._parse_submit(arg, data)
        latency = self.faults.latency
        delay = self.random.uniform(*latency) if isinstance(latency, tuple) else latency
        if delay:
            await asyncio.sleep(delay)
        if self.faults.fail_submit:
            raise cms(self.faults.fail_submit.pop(0))
        if not self.state.registered:
            raise cms(331)
        swallow = self.faults.swallow.pop(0) if self.faults.swallow else None
        if swallow is False:
            return None  # no answer and nothing sent
        mr = self.state.take_mr()
        self.sent.append(msg)
        self.network.submit(self.name, mr, msg)
        if swallow:
            return None  # it went out, but the host never hears so
        return [f"+CMGS: {mr}"]

    def _write_to_storage(self, arg: str, data: str) -> list[str]:
        mem = self.state.storage(self.state.cpms[1])
        assert mem is not None
        msg, hex_pdu = self._parse_submit(arg, data)
        raw = bytes.fromhex(hex_pdu)
        idx = mem.store(StoredSms(STO_UNSENT, hex_pdu, len(raw) - 1 - raw[0]))
        if idx is None:
            raise cms(322)
        return [f"+CMGW: {idx}"]

    def can_receive(self) -> bool:
        """Powered, answering, registered, SIM unlocked: the network can reach it."""
        return self.plugged and not self.faults.hung and self.state.registered and self.state.sim_ready

    def accept_deliver(self, pdus: list[str]) -> bool:
        """Take SMS-DELIVER PDUs per +CNMI <mt>; False (the network keeps them) when unreachable
        or when storage is full."""
        if not self.can_receive():
            return False
        mt = self.state.cnmi[1]
        if mt == 2:
            if self.state.csms == 1 and not self.pty.attached:
                return False  # unacknowledged: the SC will try again later
            for pdu in pdus:
                self.emit(self._cmt_lines(pdu), sms=True)
                if self.state.csms == 1:
                    self.state.awaiting_ack += 1
            return True
        name = self.state.cpms[2]
        mem = self.state.storage(name)
        assert mem is not None
        if mem.capacity - mem.used < len(pdus):
            if self.profile.memfull_urc and not self._memfull_said:
                self._memfull_said = True
                self.emit([self.profile.memfull_urc])
            return False
        for pdu in pdus:
            idx = mem.store(StoredSms(REC_UNREAD, pdu, tpdu_length(pdu)))
            if mt in (1, 3):
                self.emit([f'+CMTI: "{name}",{idx}'], sms=True)
        return True

    def _cmt_lines(self, pdu: str) -> list[str]:
        if self.state.cmgf == 0:
            return [f"+CMT: ,{tpdu_length(pdu)}", pdu]
        msg = decode(pdu)
        assert isinstance(msg, Deliver)
        when = text_time(msg.smsc_time)
        return [f'+CMT: "{msg.sender}","","{when}"', msg.text]

    def accept_status_report(self, pdu: str) -> bool:
        """Take an SMS-STATUS-REPORT per +CNMI <ds> (0: the modem drops it, as real ones do)."""
        if not self.can_receive():
            return False
        ds = self.state.cnmi[3]
        if ds == 1:
            self.emit([f"+CDS: {tpdu_length(pdu)}", pdu], sms=True)
        elif ds == 2:
            name = "SR" if self.state.storage("SR") is not None else self.state.cpms[2]
            mem = self.state.storage(name)
            assert mem is not None
            idx = mem.store(StoredSms(REC_UNREAD, pdu, tpdu_length(pdu)))
            if idx is None:
                return False
            self.emit([f'+CDSI: "{name}",{idx}'], sms=True)
        return True
