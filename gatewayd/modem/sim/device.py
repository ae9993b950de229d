"""Runtime of one simulated modem: echo, one command line at a time, unsolicited codes, boot
and reset, plug state (the pty itself is port.py, SMS traffic traffic.py).

The host (driver, gammu, minicom) opens the slave path; a stable symlink can point at it so an
unplug (pty closed: the host reads EOF/EIO) and replug (new pty) keep the same path, as
/dev/serial/by-id does for USB modems.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from gatewayd.modem import gsm7
from gatewayd.modem.pdu import Submit
from gatewayd.modem.sim.commands import CommandSet
from gatewayd.modem.sim.network import SimNetwork
from gatewayd.modem.sim.port import PtyPort
from gatewayd.modem.sim.profiles import get_profile
from gatewayd.modem.sim.results import AtError, cme, cms
from gatewayd.modem.sim.state import ModemState
from gatewayd.modem.sim.traffic import SmsTraffic
from gatewayd.modem.sim.tuning import REALISTIC, Faults, SimTimings
from gatewayd.modem.sim.wire import CommandLine, Framer, MessageData, split_commands

__all__ = ["REALISTIC", "SimDevice", "SimTimings"]

log = logging.getLogger(__name__)

# Commands that answer "SIM busy" while the SIM is still initialising after power-up.
_SIM_BUSY_COMMANDS = {"+CPMS", "+CMGL", "+CMGR", "+CMGS", "+CMGD", "+CNMI", "+CSCA", "+CIMI"}


class SimDevice(SmsTraffic):
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
        self.pty = PtyPort(name, self.link, self._received)
        self.random = random.Random(seed)
        self.sent: list[Submit] = []            # every part accepted from the host, decoded
        self.command_log: list[str] = []        # every command line received (without "AT")
        self.plugged = False
        self._framer = Framer()
        self._inbox: asyncio.Queue[CommandLine | MessageData] = asyncio.Queue()
        self._busy = False
        self._deferred: list[tuple[list[str], bool]] = []
        self._after: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[object]] = set()
        self._processor: asyncio.Task[None] | None = None
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
        if self.pty.slave_path is None:
            raise RuntimeError("simulated modem not started")
        return self.pty.slave_path

    @property
    def slave_path(self) -> str | None:
        """The current pty slave (changes at every replug)."""
        return self.pty.slave_path

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

    def _plug(self) -> None:
        self._framer = Framer()
        self._inbox = asyncio.Queue()
        self._busy = False
        self._deferred.clear()
        self.plugged = True
        self.pty.open()
        self._processor = asyncio.get_running_loop().create_task(self._process())
        self._spawn(self._noise())
        log.info("sim %s (%s) plugged at %s", self.name, self.profile.name, self.port)

    async def _unplug_now(self) -> None:
        self.plugged = False
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
        self.pty.close()  # the host's next read sees EOF / EIO: the device is gone
        self._call = None

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(coro)
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

    # ------------------------------------------------------------ bytes in and out

    def _received(self, data: bytes) -> None:
        if self.faults.hung:
            return  # a hung modem swallows everything
        echo, items = self._framer.feed(data)
        if echo and self.state.echo:
            self._write(echo)
        for item in items:
            self._inbox.put_nowait(item)

    def _write(self, data: bytes) -> None:
        if not self.faults.hung:
            self.pty.write(data)

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

    # ------------------------------------------------------------ hooks used by commands

    def after_reply(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    def reboot(self) -> None:
        self._spawn(self._reset())

    async def _reset(self) -> None:
        self.state.registration = 0
        if self.profile.usb_reset:
            # The USB device re-enumerates: the port disappears, then comes back (same link).
            # Its OK reaches the host first, as on the hardware.
            await self.pty.drained()
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

    def ussd(self, code: str) -> list[str]:
        """The network's answer as a +CUSD line: inside the command's reply (before OK) for the
        families that do so, else as a URC a moment after the OK."""
        answer = self.network.ussd(self.name, code)
        if code in self.network.ussd_unanswered:
            return []
        if answer is None:
            line = "+CUSD: 4"  # the network does not know this code
        else:
            m = 1 if code in self.network.ussd_menus else 0
            if self.profile.ussd_packed_hex and gsm7.is_gsm7(answer):
                line = f'+CUSD: {m},"{gsm7.pack(gsm7.encode(answer)).hex().upper()}",15'
            elif self.profile.ussd_packed_hex:
                line = f'+CUSD: {m},"{answer.encode("utf-16-be").hex().upper()}",72'
            else:
                line = f'+CUSD: {m},"{answer}",15'
        delay = self.network.ussd_delays.get(code, self.timings.ussd)
        if self.profile.ussd_reply == "before_ok" and code not in self.network.ussd_delays:
            return [line]

        async def later() -> None:
            await asyncio.sleep(delay)
            self.emit([line])

        self._spawn(later())
        return []

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

    async def _noise(self) -> None:
        """Spontaneous lines of the family (Huawei ^RSSI and friends) until ^CURC=0."""
        while True:
            interval = self.noise_interval
            await asyncio.sleep(interval or 0.5)
            if interval and self.noise_lines and self.state.curc:
                self.emit([self.random.choice(self.noise_lines)])
