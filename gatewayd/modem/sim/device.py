"""Runtime of one simulated modem: the master side of a real pty, echo, one command line at a
time, unsolicited codes, message submission, boot and reset, and the pty's plug state.

The host (driver, gammu, minicom) opens the slave path; a stable symlink can point at it so an
unplug (pty closed: the host reads EOF/EIO) and replug (new pty) keep the same path, as
/dev/serial/by-id does for USB modems.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import random
import select
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gatewayd.modem.pdu import Deliver, PduError, Submit, decode, encode_submit
from gatewayd.modem.sim.commands import AtError, CommandSet, cms, cme
from gatewayd.modem.sim.network import SimNetwork
from gatewayd.modem.sim.pdus import tpdu_length
from gatewayd.modem.sim.profiles import get_profile
from gatewayd.modem.sim.state import REC_UNREAD, STO_UNSENT, ModemState, StoredSms
from gatewayd.modem.sim.wire import CommandLine, Framer, MessageData, split_commands

log = logging.getLogger(__name__)
TRACE = 5

# Commands that answer "SIM busy" while the SIM is still initialising after power-up.
_SIM_BUSY_COMMANDS = {"+CPMS", "+CMGL", "+CMGR", "+CMGS", "+CMGD", "+CNMI", "+CSCA", "+CIMI"}


@dataclass(frozen=True)
class SimTimings:
    """Delays of the simulated hardware, in seconds (small by default so tests run fast)."""

    boot: float = 0.02            # power-up to the first boot line
    line_gap: float = 0.0         # between boot lines
    registration: float = 0.02    # after boot, until registered on the network
    reset: float = 0.05           # AT+CFUN=1,1 until power-up
    reenumerate: float = 0.1      # USB families: how long the port is gone after a reset
    ring_interval: float = 0.05
    ussd: float = 0.02
    sim_busy: float = 0.0         # after boot: SMS commands answer "SIM busy" this long


REALISTIC = SimTimings(boot=1.0, line_gap=0.2, registration=2.0, reset=3.0, reenumerate=4.0,
                       ring_interval=3.0, ussd=1.5, sim_busy=2.0)


@dataclass
class Faults:
    """Faults armed by test verbs."""

    fail_submit: list[int] = field(default_factory=list)    # +CMS codes for the next submissions
    fail_command: list[int] = field(default_factory=list)   # ... refused at AT+CMGS, no prompt
    no_prompt: int = 0                                      # AT+CMGS calls that get no prompt
    swallow: list[bool] = field(default_factory=list)       # no +CMGS answer; True: still sent
    latency: float | tuple[float, float] = 0.0
    hung: bool = False
    noise_between: bool = False                             # a noise URC before some finals


class SimDevice:
    """A modem on a pty. Test verbs live in SimModem (verbs.py); this is the machinery."""

    def __init__(self, network: SimNetwork | None = None, *, name: str = "sim1", profile: str = "sim800",
                 imei: str = "865067020000017", imsi: str = "208011234567890",
                 iccid: str = "8933011234567890123", msisdn: str = "+33639980001", pin: str | None = None,
                 link: str | Path | None = None, latency: float | tuple[float, float] = 0.0,
                 timings: SimTimings | None = None, seed: int | None = None, first_mr: int = 0) -> None:
        self.name = name
        self.msisdn = msisdn
        self.network = network if network is not None else SimNetwork()
        self.profile = get_profile(profile)
        self.timings = timings or SimTimings()
        self.state = ModemState(self.profile, imei=imei, imsi=imsi, iccid=iccid, msisdn=msisdn, pin=pin,
                                next_mr=first_mr % 256)
        self.state.reset()
        self.commands = CommandSet(self.state, self)
        self.faults = Faults(latency=latency)
        self.link = Path(link) if link else None
        self.random = random.Random(seed)
        self.sent: list[Submit] = []            # every part accepted from the host, decoded
        self.command_log: list[str] = []        # every command line received (without "AT")
        self.slave_path: str | None = None
        self.plugged = False
        self._master: int | None = None
        self._framer = Framer()
        self._inbox: asyncio.Queue[CommandLine | MessageData] = asyncio.Queue()
        self._out = bytearray()
        self._attached = False
        self._busy = False
        self._deferred: list[tuple[list[str], bool]] = []
        self._after: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[object]] = set()
        self._processor: asyncio.Task[None] | None = None
        self._poller: asyncio.TimerHandle | None = None
        self._sim_busy_until = 0.0
        self._call: dict[str, object] | None = None
        self._registration_wanted = 1
        self._lifecycle: asyncio.Task[None] | None = None
        self._memfull_said = False
        self.noise_interval: float | None = self.profile.noise_interval
        self.noise_lines: tuple[str, ...] = self.profile.noise

    @property
    def port(self) -> str:
        """The path a host opens: the stable link if there is one, else the pty slave."""
        if self.link is not None:
            return str(self.link)
        if self.slave_path is None:
            raise RuntimeError("simulated modem not started")
        return self.slave_path

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Plug in and power up."""
        self.network.attach(self)
        self._plug()
        self._power_on()

    async def stop(self) -> None:
        """Unplug for good and cancel every task of this modem."""
        if self._lifecycle is not None and self._lifecycle is not asyncio.current_task():
            self._lifecycle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lifecycle
        await self._unplug_now()
        self.network.detach(self)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)  # no line discipline: bytes pass untouched (CR stays CR, no tty echo)
        os.set_blocking(master, False)
        self.slave_path = os.ttyname(slave)
        os.close(slave)  # the host opens it by path; until then the master sees a hang-up
        self._master = master
        self._framer = Framer()
        self._inbox = asyncio.Queue()
        self._out.clear()
        self._attached = False
        self._busy = False
        self._deferred.clear()
        self.plugged = True
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_path)
            tmp.replace(self.link)  # atomic: the path never points nowhere while plugged
        self._processor = asyncio.get_running_loop().create_task(self._process())
        self._spawn(self._noise())
        self._watch_attach()
        log.info("sim %s (%s) plugged at %s", self.name, self.profile.name, self.port)

    async def _unplug_now(self) -> None:
        self.plugged = False
        loop = asyncio.get_running_loop()
        tasks = list(self._tasks) + ([self._processor] if self._processor else [])
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        for task in tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks.clear()
        self._processor = None
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        if self._master is not None:
            loop.remove_reader(self._master)
            loop.remove_writer(self._master)
            os.close(self._master)  # the host's next read sees EOF / EIO: the device is gone
            self._master = None
        self._call = None
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def _spawn(self, coro: object) -> asyncio.Task[object]:
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _power_on(self) -> None:
        """Power applied: settings at defaults, searching for the network; _boot() follows."""
        self.state.reset()
        self.state.registration = 2
        self._spawn(self._boot())

    async def _boot(self) -> None:
        """Power-up: boot lines of the family, SIM state, then registration."""
        t = self.timings
        await asyncio.sleep(t.boot)
        self._sim_busy_until = asyncio.get_running_loop().time() + t.sim_busy
        lines = self.profile.boot if self.state.sim_ready else self.profile.boot_pin
        for line in lines:
            self.emit([line])
            if t.line_gap:
                await asyncio.sleep(t.line_gap)
        await asyncio.sleep(t.registration)
        self.state.registration = self._registration_wanted
        self.registration_changed()

    # ------------------------------------------------------------ pty I/O

    def _watch_attach(self) -> None:
        """Read while a host has the slave open; poll for its return after it closes."""
        if self._master is None:
            return
        poller = select.poll()
        poller.register(self._master, select.POLLHUP)
        hung_up = any(ev & select.POLLHUP for _, ev in poller.poll(0))
        loop = asyncio.get_running_loop()
        if not hung_up:
            self._attached = True
            loop.add_reader(self._master, self._readable)
            return
        self._attached = False
        self._poller = loop.call_later(0.02, self._watch_attach)

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            data = b""
        if not data:  # EIO: the host closed the port
            asyncio.get_running_loop().remove_reader(self._master)
            self._attached = False
            self._out.clear()
            self._watch_attach()
            return
        log.log(TRACE, "sim %s <- %r", self.name, data)
        if self.faults.hung:
            return  # a hung modem swallows everything
        echo, items = self._framer.feed(data)
        if echo and self.state.echo:
            self._write(echo)
        for item in items:
            self._inbox.put_nowait(item)

    def _write(self, data: bytes) -> None:
        if self._master is None or not self._attached or self.faults.hung:
            return  # nobody listening: like a UART with the cable out, the bytes are lost
        log.log(TRACE, "sim %s -> %r", self.name, data)
        self._out += data
        self._flush()

    def _flush(self) -> None:
        if self._master is None:
            return
        loop = asyncio.get_running_loop()
        while self._out:
            try:
                n = os.write(self._master, self._out)
            except BlockingIOError:
                loop.add_writer(self._master, self._flush)
                return
            except OSError:
                self._out.clear()
                return
            del self._out[:n]
        loop.remove_writer(self._master)

    def _send_lines(self, lines: list[str], final: str | None) -> None:
        text = "".join(f"\r\n{line}\r\n" for line in lines)
        if final is not None:
            if self.faults.noise_between and self.noise_lines and self.random.random() < 0.5:
                text += f"\r\n{self.random.choice(self.noise_lines)}\r\n"
            text += f"\r\n{final}\r\n"
        self._write(text.encode("latin-1", errors="replace"))

    # ------------------------------------------------------------ unsolicited codes

    def emit(self, lines: list[str], *, sms: bool = False) -> None:
        """Say unsolicited `lines` now, or after the command in progress (or when +CNMI allows)."""
        if self._busy or (sms and self.state.cnmi[0] == 0):
            self._deferred.append((lines, sms))
            return
        self._send_lines(lines, None)

    def _flush_deferred(self) -> None:
        keep: list[tuple[list[str], bool]] = []
        for lines, sms in self._deferred:
            if sms and self.state.cnmi[0] == 0:
                keep.append((lines, sms))
            else:
                self._send_lines(lines, None)
        self._deferred = keep

    # ------------------------------------------------------------ command processing

    async def _process(self) -> None:
        while True:
            item = await self._inbox.get()
            if isinstance(item, MessageData):
                continue  # data after a refused +CMGS: dropped, as the modem does
            self.command_log.append(item.body)
            self._busy = True
            try:
                await self._run_line(item.body)
            except Exception:  # a simulator bug must look like a modem error, not kill the modem
                log.exception("sim %s: command %r failed", self.name, item.body)
                self._framer.leave_prompt()
                self._send_lines([], "ERROR")
            finally:
                self._busy = False
            self._flush_deferred()
            after, self._after = self._after, []
            for fn in after:
                fn()

    async def _run_line(self, body: str) -> None:
        lines: list[str] = []
        try:
            cmds = split_commands(body)
        except ValueError:
            self._framer.leave_prompt()
            self._send_lines([], "ERROR")
            return
        for cmd in cmds:
            try:
                self._precheck(cmd.name)
                reply = self.commands.execute(cmd)
            except AtError as exc:
                self._framer.leave_prompt()
                self._send_lines(lines, exc.render(self.state.cmee, self.profile.unknown_reply))
                return
            lines += reply.lines
            if reply.prompt is not None:
                self._send_lines(lines, None)
                await self._prompted(*reply.prompt)
                return
        self._framer.leave_prompt()
        self._send_lines(lines, "OK")

    def _precheck(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        if name in _SIM_BUSY_COMMANDS and loop.time() < self._sim_busy_until:
            raise cms(314) if name != "+CIMI" else cme(14)
        if name == "+CMGS" and self.faults.fail_command:
            raise cms(self.faults.fail_command.pop(0))

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

    # ------------------------------------------------------------ hooks used by commands

    def after_reply(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    def reboot(self) -> None:
        self._spawn(self._reset())

    async def _reset(self) -> None:
        self.state.registration = 0
        if self.profile.usb_reset:
            # The USB device re-enumerates: the port disappears, then comes back (same link).
            self.cycle_power(self.timings.reenumerate)
            return
        await asyncio.sleep(self.timings.reset)
        self._framer = Framer()
        self._power_on()

    def cycle_power(self, off_for: float) -> None:
        """Unplug now and plug back in after `off_for` seconds (a task of its own)."""

        async def cycle() -> None:
            await self._unplug_now()
            await asyncio.sleep(off_for)
            self._plug()
            self._power_on()

        self._lifecycle = asyncio.get_running_loop().create_task(cycle())

    def hang_up(self) -> bool:
        if self._call is None:
            return False
        self._call["hung_up"] = True
        return True

    def ussd(self, code: str) -> None:
        answer = self.network.ussd(self.name, code)

        async def later() -> None:
            await asyncio.sleep(self.timings.ussd)
            self.emit([f'+CUSD: 0,"{answer}",15'])

        self._spawn(later())

    def storage_changed(self) -> None:
        self._memfull_said = False
        self._flush_deferred()
        self.network.wake(self.name)

    def registration_changed(self) -> None:
        for attr, name in (("creg_n", "+CREG"), ("cgreg_n", "+CGREG"), ("cereg_n", "+CEREG")):
            n = getattr(self.state, attr)
            if n and (name != "+CEREG" or self.profile.cereg):
                self.emit([f"{name}: {self.commands.reg_fields(name, n)}"])
        if self.state.registered:
            self.network.wake(self.name)

    def sim_unlocked(self) -> None:
        for line in self.profile.after_pin:
            self.emit([line])
        self.network.wake(self.name)

    # ------------------------------------------------------------ from the network

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
            if self.state.csms == 1 and not self._attached:
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
        when = msg.smsc_time.strftime("%y/%m/%d,%H:%M:%S+00") if msg.smsc_time else ""
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

    async def _noise(self) -> None:
        """Spontaneous lines of the family (Huawei ^RSSI and friends) until ^CURC=0."""
        while True:
            interval = self.noise_interval
            await asyncio.sleep(interval or 0.5)
            if interval and self.noise_lines and self.state.curc:
                self.emit([self.random.choice(self.noise_lines)])
