"""One modem over one AT session: initialise, identify, send PDUs, react to URCs, report health.

The driver outlives sessions (the supervisor attaches a fresh session after each reopen), so
what must survive a reconnect does: a rejected PIN is never entered again, and a committed
but not yet deleted message is never handed over twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from collections.abc import Callable
from typing import Protocol

from gatewayd.clock import Clock
from gatewayd.modem import replies as rp
from gatewayd.modem.at import Urc
from gatewayd.modem.calls import CallTracker
from gatewayd.modem import dialects
from gatewayd.modem.dialects import GENERIC, Dialect, by_name, detect
from gatewayd.modem.errors import (
    SIM_BUSY_CME,
    SIM_BUSY_CMS,
    CommandError,
    CommandTimeout,
    LineUnavailableError,
    ModemError,
    OutcomeUnknownError,
    PinError,
    PortClosedError,
    TransientSendError,
    UssdError,
    send_error_from,
)
from gatewayd.modem.events import CallEvent, ModemEventSink
from gatewayd.modem.inbox import Inbox, drainable
from gatewayd.modem.pdu import SubmitPart
from gatewayd.modem.session import AtSession, PromptTimeout, Response, SubmitTimeout
from gatewayd.modem.timings import ModemTimings
from gatewayd.modem import ussd
from gatewayd.modem.ussd import UssdAnswer

log = logging.getLogger(__name__)

REGISTRATION_KINDS = ("+CREG", "+CGREG", "+CEREG")
STORAGE_FULL = dialects.STORAGE_FULL   # also the synthetic URC queued when +CPMS shows it full
# +CNMI <ds> → how status reports reach us: "stored" (+CDSI, kept in the modem until read, so
# none is lost while the daemon is down), "direct" (+CDS only: lost when nobody listens), "none".
REPORT_MODES = {"2": "stored", "1": "direct", "0": "none"}


class LineSettings(Protocol):
    """The fields of config.ModemSettings the modem layer reads."""

    # Read-only: the settings are frozen pydantic models.
    @property
    def name(self) -> str: ...

    @property
    def port(self) -> str: ...

    @property
    def baudrate(self) -> int: ...

    @property
    def pin(self) -> str | None: ...

    @property
    def dialect(self) -> str: ...

    @property
    def auto_hangup(self) -> bool: ...


class ModemRebooted(ModemError):
    """The modem announced a restart (RDY): its settings are gone, initialise again."""


@dataclass(frozen=True)
class SimIdentity:
    """What binds a line to its SIM and hardware."""

    iccid: str | None
    imsi: str | None
    imei: str | None


def _busy(exc: CommandError) -> bool:
    if exc.kind == "CME":
        return exc.code in SIM_BUSY_CME or (exc.code is None and "busy" in exc.text.lower())
    if exc.kind == "CMS":
        return exc.code in SIM_BUSY_CMS or (exc.code is None and "busy" in exc.text.lower())
    return False


class ModemDriver:
    """AT-level behaviour of one line; every method runs on the line's task or a sender's."""

    def __init__(self, settings: LineSettings, sink: ModemEventSink, *, clock: Clock,
                 timings: ModemTimings) -> None:
        self.settings = settings
        self.name = settings.name
        self.sink = sink
        self.clock = clock
        self.timings = timings
        self.session: AtSession | None = None
        self.dialect: Dialect = GENERIC if settings.dialect == "auto" else by_name(settings.dialect)
        self.inbox: Inbox | None = None
        self.calls = CallTracker(self.name, timings.call_quiet)
        self.urcs: asyncio.Queue[Urc] = asyncio.Queue()
        self.ready_marker = asyncio.Event()
        self.pin_rejected: str | None = None
        self.info: dict[str, str | None] = {}
        self.signal: int | None = None
        self.registrations: dict[str, rp.Registration] = {}
        self.unsupported: set[str] = set()
        self.cnmi: str | None = None
        self.report_mode: str | None = None  # REPORT_MODES value once +CNMI is set
        self.operator: str | None = None
        self.on_change: Callable[[], None] = lambda: None   # registration/signal changed
        self.busy_retries = 0                # "SIM busy / not ready" answers waited out
        self.boots = 0                       # RDY lines seen (the modem announced a restart)
        self.initialising = False
        self._ussd_lock = asyncio.Lock()     # one USSD session at a time per modem
        self._ussd_answer: asyncio.Future[UssdAnswer] | None = None
        self._ussd_quiet_until = 0.0         # loop time before which a +CUSD can be a late answer

    # -- wiring ------------------------------------------------------------------------------------
    def new_session(self) -> AtSession:
        """A fresh session for a (re)opened port, wired to this driver's URC handling."""
        from gatewayd.modem.at import UrcRegistry

        registry = UrcRegistry()
        registry.extend(self.dialect.extra_urcs)
        session = AtSession(self.name, self.timings, registry=registry, on_urc=self.on_urc)
        self.session = session
        memory = self.inbox.memory if self.inbox else "SM"
        memories = self.inbox.memories if self.inbox else ("SM",)
        committed = self.inbox.committed if self.inbox else {}
        handed = self.inbox.handed if self.inbox else {}
        self.inbox = Inbox(self.name, session, self.sink, self.clock, self.timings)
        self.inbox.memory = self.inbox.read_memory = memory
        self.inbox.memories = memories
        self.inbox.committed = committed
        self.inbox.handed = handed
        self.urcs = asyncio.Queue()
        self.ready_marker.clear()
        self.registrations.clear()
        return session

    def _s(self) -> AtSession:
        if self.session is None:
            raise PortClosedError(f"{self.name}: no session")
        return self.session

    @property
    def registered(self) -> bool:
        """Registered if any of CREG / CGREG / CEREG says so (LTE-only modems leave CREG at 0)."""
        return any(r.registered for r in self.registrations.values())

    @property
    def roaming(self) -> bool:
        return any(r.roaming for r in self.registrations.values() if r.registered)

    def identity(self) -> SimIdentity:
        return SimIdentity(self.info.get("iccid"), self.info.get("imsi"), self.info.get("imei"))

    # -- initialisation --------------------------------------------------------------------------
    async def initialise(self) -> None:
        """Full init; PinError (never retried) or ModemError/CommandTimeout on failure.

        A boot announcement (RDY) during init means the modem may have lost what we set:
        initialise again (bounded)."""
        self.initialising = True
        try:
            for _ in range(3):
                boots = self.boots
                await self._initialise_once()
                if self.boots == boots:
                    return
                log.info("%s: the modem restarted during initialisation, again", self.name)
        finally:
            self.initialising = False

    async def _initialise_once(self) -> None:
        s = self._s()
        await s.command("ATE0")                    # echo off; the resync ran first
        await self._try("AT+CMEE=1")               # numeric +CME/+CMS codes
        await self._identify()
        for command in self.dialect.init:
            await self._try(command)
        await self._unlock_sim()
        await self._until_ready("AT+CMGF=0")       # PDU mode; text mode is never used
        imsi = await self._try("AT+CIMI")
        self.info["imsi"] = rp.first_digits(imsi.lines) if imsi else None
        await self._read_iccid()
        cnum = await self._try("AT+CNUM")          # the SIM's own number, where the SIM stores it
        self.info["own_number"] = rp.parse_cnum(cnum.lines) if cnum else None
        await self._setup_storage()
        await self._setup_cnmi()
        csms = await self._try("AT+CSMS?")
        line = csms.first("+CSMS:") if csms else None
        assert self.inbox is not None
        self.inbox.needs_cnma = bool(line and rp.split_fields(rp.args_of(line, "+CSMS"))[0] == "1")
        await self._try("AT+CLIP=1")
        for kind in REGISTRATION_KINDS:
            if await self._try(f"AT{kind}=2") is None:
                await self._try(f"AT{kind}=1")
        await self._try("AT+COPS=3,0")             # long alphanumeric operator names
        smsc = await self._try("AT+CSCA?")
        line = smsc.first("+CSCA:") if smsc else None
        self.info["smsc"] = rp.parse_csca(line) if line else None
        await self.refresh()

    async def _identify(self) -> None:
        for key, command in (("manufacturer", "AT+CGMI"), ("model", "AT+CGMM"),
                             ("firmware", "AT+CGMR"), ("imei", "AT+CGSN")):
            resp = await self._try(command)
            text = rp.strip_prefix(resp.lines[0]) if resp and resp.lines else None
            self.info[key] = rp.first_digits(resp.lines, 14) if key == "imei" and resp else text
        if self.settings.dialect == "auto":
            found = detect(self.info.get("manufacturer"), self.info.get("model"))
            if found is not self.dialect:
                self.dialect = found
                self._s().parser.registry.extend(found.extra_urcs)
        log.info("%s: %s %s (%s dialect), firmware %s", self.name, self.info.get("manufacturer"),
                 self.info.get("model"), self.dialect.name, self.info.get("firmware"))

    async def _unlock_sim(self) -> None:
        s = self._s()
        pin = self.settings.pin
        entered = False
        for _ in range(self.timings.sim_busy_attempts):
            try:
                resp = await s.command("AT+CPIN?")
            except CommandError as exc:
                if _busy(exc):
                    self.busy_retries += 1
                    await asyncio.sleep(self.timings.sim_busy_retry)
                    continue
                if exc.kind == "CME" and exc.code in (10, 13):
                    raise ModemError(f"{self.name}: no usable SIM ({exc})") from exc
                raise
            line = resp.first("+CPIN:")
            state = rp.parse_cpin(line) if line else "READY"
            if state == "READY":
                return
            if state == "SIM PIN" and not entered:
                if self.pin_rejected:
                    raise PinError(f"{self.name}: {self.pin_rejected}")
                if not pin:
                    raise PinError(f"{self.name}: the SIM asks for a PIN and none is configured "
                                   f"(set pin in this [[modems]] entry)")
                try:
                    await s.command(f'AT+CPIN="{pin}"', timeout=self.timings.slow_command)
                except CommandError as exc:
                    # Never enter it again: three wrong PINs lock the SIM into PUK.
                    self.pin_rejected = (f"the SIM rejected the configured PIN ({exc}); not retried "
                                         f"to keep the SIM out of PUK lock: fix modems.pin and restart")
                    raise PinError(f"{self.name}: {self.pin_rejected}") from exc
                entered = True
                log.info("%s: PIN accepted", self.name)
                continue
            if state == "SIM PIN":
                await asyncio.sleep(self.timings.sim_busy_retry)  # accepted, SIM still starting
                continue
            raise PinError(f"{self.name}: the SIM is locked ({state}); unlock it in a phone first")
        raise ModemError(f"{self.name}: SIM stayed busy")

    async def _until_ready(self, command: str) -> Response:
        """Run `command`, retrying while the SIM/SMS service says 'busy / not ready yet'."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timings.ready_wait
        while True:
            try:
                return await self._s().command(command, timeout=self.timings.slow_command)
            except CommandError as exc:
                if not _busy(exc) or loop.time() >= deadline:
                    raise
                self.busy_retries += 1
            try:
                await asyncio.wait_for(self.ready_marker.wait(), self.timings.sim_busy_retry)
            except asyncio.TimeoutError:
                pass

    async def _read_iccid(self) -> None:
        for command in self.dialect.iccid_commands:
            resp = await self._try(command)
            iccid = rp.parse_iccid(resp.lines) if resp else None
            if iccid:
                self.info["iccid"] = iccid
                return
        self.info["iccid"] = None

    async def _setup_storage(self) -> None:
        """Learn every memory (the sweep that follows init drains them all), then select ours.

        Whatever the modem had selected is not trusted: a stick back from a USB re-enumeration
        stores on its default memory (ME) until told otherwise."""
        assert self.inbox is not None
        test = await self._try("AT+CPMS=?")
        memory = "SM"
        memories: tuple[str, ...] = ("SM",)
        if test and test.first("+CPMS:"):
            try:
                lists = rp.parse_cpms_test(test.first("+CPMS:") or "")
                usable = [m for m in lists[0] if m in lists[-1]]  # readable and receiving
                memory = next((m for m in self.dialect.storage if m in usable), usable[0] if usable else "SM")
                memories = drainable(lists[0]) or (memory,)
            except rp.ReplyError as exc:
                log.warning("%s: %s", self.name, exc)
        resp = await self._until_ready(f'AT+CPMS="{memory}","{memory}","{memory}"')
        self.inbox.memory = self.inbox.read_memory = memory
        self.inbox.memories = memories if memory in memories else (*memories, memory)
        line = resp.first("+CPMS:")
        if line:
            first = rp.parse_cpms(line)[0]
            self.inbox.storage.memory, self.inbox.storage.used, self.inbox.storage.total = (
                memory, first.used, first.total)

    async def _setup_cnmi(self) -> None:
        candidates: list[str] = []
        test = await self._try("AT+CNMI=?")
        if test and test.first("+CNMI:"):
            sup = rp.parse_cnmi_test(test.first("+CNMI:") or "")
            modes = [m for m in ((2,) if self.dialect.cnmi_mode2 else ()) + (1, 3) if m in sup.mode]
            mt = next((v for v in (1, 2) if v in sup.mt), 0)  # store + notify preferred (safe)
            ds = next((v for v in self.dialect.cnmi_ds if v in sup.ds), 0)
            bfr = 0 if 0 in sup.bfr or not sup.bfr else min(sup.bfr)
            candidates = [f"{m},{mt},0,{ds},{bfr}" for m in modes]
        candidates += ["2,1,0,1,0", "1,1,0,1,0", "1,1,0,0,0"]
        for args in dict.fromkeys(candidates):
            if await self._try(f"AT+CNMI={args}") is not None:
                self.cnmi = args
                self.report_mode = REPORT_MODES.get(args.split(",")[3], "none")
                if self.report_mode != "stored":
                    log.info("%s: this modem hands delivery reports over only directly (+CNMI ds=%s): "
                             "those arriving while the daemon is down are lost", self.name, args.split(",")[3])
                return
        self.report_mode = "none"
        log.warning("%s: no +CNMI setting accepted: relying on storage sweeps", self.name)

    async def _try(self, command: str) -> Response | None:
        """Best-effort command (busy answers retried): None (logged) on an error result;
        timeouts still propagate."""
        try:
            return await self._until_ready(command)
        except CommandError as exc:
            log.debug("%s: %s", self.name, exc)
            return None

    # -- status ----------------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Signal, registration (all kinds), operator and storage use."""
        s = self._s()
        csq = await self._try("AT+CSQ")
        line = csq.first("+CSQ:") if csq else None
        if line:
            self.signal = rp.parse_csq(line).rssi
        for kind in REGISTRATION_KINDS:
            if kind in self.unsupported:
                continue
            try:
                resp = await s.command(f"AT{kind}?")
            except CommandError:
                self.unsupported.add(kind)
                continue
            line = resp.first(kind + ":")
            if line:
                try:
                    self.registrations[kind] = rp.parse_registration(line, solicited=True)
                except rp.ReplyError as exc:
                    log.debug("%s: %s", self.name, exc)
        cops = await self._try("AT+COPS?")
        line = cops.first("+COPS:") if cops else None
        self.operator = rp.parse_cops(line).name if line else None
        if self.inbox is not None:
            await self.inbox.refresh_storage()

    async def health_check(self) -> None:
        """AT, +CSQ and registration; CommandTimeout when the modem does not answer."""
        await self._s().command("AT", timeout=self.timings.command)
        await self.refresh()

    # -- sending ---------------------------------------------------------------------------------
    async def send(self, part: SubmitPart) -> int:
        """Submit one PDU; the TP-MR, or a SendError subclass saying what happened."""
        try:
            resp = await self._s().submit_pdu(part.tpdu_length, part.hex)
        except PromptTimeout:
            raise TransientSendError("the modem gave no '>' prompt; nothing was sent", None, 3) from None
        except SubmitTimeout as exc:
            raise OutcomeUnknownError(f"no answer after the PDU was handed over ({exc}); it may "
                                      f"or may not have been sent") from None
        except CommandTimeout as exc:
            raise LineUnavailableError(f"the modem is not answering ({exc}); nothing was sent") from None
        except PortClosedError as exc:
            raise LineUnavailableError(f"the port closed ({exc}); nothing was sent") from None
        except CommandError as exc:
            raise send_error_from(exc) from None
        line = resp.first("+CMGS:")
        if line is None:
            raise OutcomeUnknownError("the modem said OK without a +CMGS message reference")
        try:
            return rp.parse_cmgs(line)
        except rp.ReplyError as exc:
            raise OutcomeUnknownError(f"unreadable +CMGS answer: {exc}") from None

    # -- USSD --------------------------------------------------------------------------------------
    async def ussd(self, code: str, timeout: float) -> UssdAnswer:
        """Send a USSD code (checked by ussd.check_code) and wait up to `timeout` s for the network's
        answer, a +CUSD URC; UssdError when refused or unanswered.

        A +CUSD carries no request id: after a request timed out, or a menu was closed, the
        network may still answer. The next request waits out a quiet period first
        (timings.ussd_quiet), during which any +CUSD finds no request and is dropped, so a late
        answer is never taken for the next one's."""
        command = ussd.request_command(code)
        async with self._ussd_lock:
            loop = asyncio.get_running_loop()
            if (wait := self._ussd_quiet_until - loop.time()) > 0:
                await asyncio.sleep(wait)
            self._ussd_answer = loop.create_future()
            try:
                try:
                    # Some firmwares hold their OK until the network answers.
                    await self._s().command(command, timeout=max(self.timings.command, timeout))
                except CommandError as exc:
                    raise UssdError("ussd.refused", reason=str(exc)) from None
                try:
                    answer = await asyncio.wait_for(self._ussd_answer, timeout)
                except TimeoutError:
                    await self._close_ussd()
                    raise UssdError("ussd.no_answer", seconds=f"{timeout:g}") from None
            finally:
                self._ussd_answer = None
            if answer.status == "more_input":
                await self._close_ussd()  # a menu: we ask one question, so close the session
            return answer

    async def _close_ussd(self) -> None:
        """End the network session (AT+CUSD=2, best effort) and start the quiet period."""
        self._ussd_quiet_until = asyncio.get_running_loop().time() + self.timings.ussd_quiet
        with contextlib.suppress(ModemError):
            await self._try("AT+CUSD=2")

    def _on_ussd(self, line: str) -> None:
        try:
            answer = ussd.parse_cusd(line)
        except rp.ReplyError as exc:
            log.warning("%s: %s", self.name, exc)
            return
        waiter = self._ussd_answer
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)
        else:
            log.info("%s: USSD from the network nobody asked for: %s", self.name, answer.status)

    # -- URCs --------------------------------------------------------------------------------------
    def on_urc(self, urc: Urc) -> None:
        """Called by the session's reader: cheap state updates here, anything with I/O queued."""
        if urc.name in REGISTRATION_KINDS:
            try:
                self.registrations[urc.name] = rp.parse_registration(urc.line, solicited=False)
            except rp.ReplyError:
                log.debug("%s: odd registration URC %r", self.name, urc.line)
            self.on_change()
            return
        if urc.name == "+CUSD":
            self._on_ussd(urc.line)
            return
        means = self.dialect.meaning(urc)
        if means == dialects.SIGNAL:
            value = urc.args.split(",")[0].strip()
            self.signal = int(value) if value.isdigit() and int(value) <= 31 else None
            return
        if means == dialects.REBOOTED:
            self.boots += 1
            if self.initialising:
                return  # init notices the count and starts over
        elif means == dialects.READY:
            self.ready_marker.set()
            return
        self.urcs.put_nowait(urc)

    async def handle_urc(self, urc: Urc) -> None:
        """React to one queued URC (line task); ModemRebooted when the modem restarted."""
        assert self.inbox is not None
        name = urc.name
        now, mono = self.clock.now(), self.clock.monotonic()
        if name in ("+CMTI", "+CDSI"):
            try:
                memory, index = rp.parse_index_urc(urc.line)
            except rp.ReplyError as exc:
                log.warning("%s: %s", self.name, exc)
                return
            await self.inbox.on_index(memory, index)
        elif name in ("+CMT", "+CDS"):
            await self.inbox.on_direct(name, urc.line, urc.pdu)
        elif name in ("RING", "+CRING"):
            self.calls.ring(now, mono)
            await self._maybe_auto_hangup()
        elif name == "+CLIP":
            try:
                number = rp.parse_clip(urc.line)
            except rp.ReplyError:
                number = None
            self.calls.clip(number, now, mono)
            await self._maybe_auto_hangup()
        else:
            means = STORAGE_FULL if name == STORAGE_FULL else self.dialect.meaning(urc)
            if means == dialects.CALL_END:
                await self._emit_call(self.calls.end(now))
            elif means == STORAGE_FULL:
                await self.inbox.on_storage_full()
            elif means == dialects.REBOOTED:
                raise ModemRebooted(f"{self.name}: the modem restarted")
            else:
                log.debug("%s: URC %s ignored", self.name, urc.line)

    async def tick(self) -> None:
        """End a call whose rings stopped (called when the call deadline passes)."""
        await self._emit_call(self.calls.tick(self.clock.now(), self.clock.monotonic()))

    async def hang_up(self) -> None:
        """Hang up the current (or any) call; reports the call as hung up by us."""
        if await self._try(self.dialect.hangup) is None and self.dialect.hangup != "ATH":
            await self._try("ATH")
        await self._emit_call(self.calls.end(self.clock.now(), hung_up_by_us=True))

    async def _maybe_auto_hangup(self) -> None:
        if self.settings.auto_hangup and (self.calls.number or self.calls.rings >= 2):
            await self.hang_up()

    async def _emit_call(self, event: CallEvent | None) -> None:
        if event is None:
            return
        try:
            await self.sink.on_call(event)
        except Exception:
            log.exception("%s: call sink failed", self.name)

    async def reset(self) -> None:
        """Full modem restart (AT+CFUN=1,1); the port may disappear for a while afterwards."""
        await self._s().command(self.dialect.reset, timeout=self.timings.slow_command)
