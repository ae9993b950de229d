"""One supervisor per modem line: open, initialise, serve, probe health, recover, reconnect.

States: disconnected → opening → initialising → ready ⇄ degraded. Nothing raised by a modem
escapes `run`: a bad modem stays a bad line, the daemon goes on. Every task started here is
owned here and cancelled and awaited on stop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from gatewayd.clock import Clock
from gatewayd.modem.at import Urc
from gatewayd.modem.driver import STORAGE_FULL, LineSettings, ModemDriver, ModemRebooted, SimIdentity
from gatewayd.modem.errors import (
    CommandError,
    CommandTimeout,
    LineUnavailableError,
    ModemError,
    OutcomeUnknownError,
    PinError,
    PortClosedError,
    SendError,
    TransientSendError,
)
from gatewayd.modem.events import LineState, LineStatus, ModemEventSink
from gatewayd.modem.open_hints import open_failure_hint
from gatewayd.modem.pdu import SubmitPart
from gatewayd.modem.probe import port_holders
from gatewayd.modem.timings import ModemTimings
from gatewayd.modem.ussd import UssdAnswer

log = logging.getLogger(__name__)

# Returns a mismatch description when `identity` is not the SIM this line is bound to.
IdentityCheck = Callable[[str, SimIdentity], "str | None"]


class _Hung(Exception):
    """The modem stopped answering (internal: triggers staged recovery)."""


class _Reopen(Exception):
    """Recovery needs the port closed and opened again."""


def _no_answer(exc: SendError) -> bool:
    """The modem itself did not answer (as opposed to the network refusing with a code)."""
    if isinstance(exc, (LineUnavailableError, OutcomeUnknownError)):
        return True
    return isinstance(exc, TransientSendError) and exc.code is None


def backoff_delay(attempt: int, timings: ModemTimings, rng: random.Random | None = None) -> float:
    """Capped exponential delay before reconnect attempt `attempt` (0-based), with jitter."""
    raw = min(timings.backoff_base ** attempt * timings.backoff_scale, timings.backoff_cap)
    return raw * (0.5 + (rng or random).random() / 2)


class LineSupervisor:
    """Owns the port, session and driver of one line and keeps them alive."""

    def __init__(self, settings: LineSettings, sink: ModemEventSink, *, clock: Clock,
                 timings: ModemTimings, check_identity: IdentityCheck | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.sink = sink
        self.clock = clock
        self.timings = timings
        self.check_identity = check_identity or (lambda line, identity: None)
        self.driver = ModemDriver(settings, sink, clock=clock, timings=timings)
        self.driver.on_change = self._refresh_state
        self.state = LineState.DISCONNECTED
        self.since = clock.now()
        self.last_error: str | None = None
        self.sim_mismatch: str | None = None
        # Set when a command of ours got no answer (a send timed out): the line shows degraded
        # with this reason at once, and the health probe runs now instead of at its next turn.
        self.unresponsive: str | None = None
        self._probe_now = asyncio.Event()
        self.recoveries = 0
        self.reconnects = 0
        self._task: asyncio.Task[None] | None = None
        self._children: set[asyncio.Task[None]] = set()
        # An Event, not a bool: stop() sets it while _run() awaits (a plain attribute would be narrowed
        # to False by type checkers across those awaits).
        self._stopping = asyncio.Event()
        self._last_published: LineStatus | None = None
        self._status_changed = asyncio.Event()
        self._publisher_task: asyncio.Task[None] | None = None

    # -- public ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the line's task (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"modem-{self.name}")
            self._publisher_task = asyncio.create_task(self._publisher(), name=f"modem-{self.name}-status")

    async def stop(self) -> None:
        """Let a transaction in flight finish (bounded), then cancel and await every task."""
        self._stopping.set()
        session = self.driver.session
        if session is not None and session.is_open:
            if not await session.quiesce(self.timings.stop_grace):
                log.warning("%s: stopping with a command still in flight", self.name)
        tasks = [t for t in (self._task, self._publisher_task, *self._children) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._children.clear()
        self._task = self._publisher_task = None
        if session is not None:
            await session.close()
        self._set_state(LineState.DISCONNECTED, publish=False)

    @property
    def can_send(self) -> bool:
        return self.state is LineState.READY and self.sim_mismatch is None and not self._stopping.is_set()

    async def send(self, part: SubmitPart) -> int:
        """Submit one part on this line (SendError subclasses on failure)."""
        if not self.can_send:
            why = self.sim_mismatch or self.last_error or self.state.value
            raise LineUnavailableError(f"line {self.name} cannot send now: {why}")
        try:
            return await self.driver.send(part)
        except SendError as exc:
            if _no_answer(exc):
                self._not_answering(exc.reason)
            raise

    def _not_answering(self, reason: str) -> None:
        self.unresponsive = f"not answering: {reason}"
        log.warning("%s: %s", self.name, self.unresponsive)
        self._set_state(LineState.DEGRADED)
        self._probe_now.set()

    async def hang_up(self) -> None:
        if self.driver.session is None or not self.driver.session.is_open:
            raise LineUnavailableError(f"line {self.name} is not connected")
        await self.driver.hang_up()

    async def ussd(self, code: str, timeout: float) -> UssdAnswer:
        """A USSD request on this line (balance checks): the network's answer, or UssdError /
        LineUnavailableError. Needs the modem registered, like sending."""
        if not self.can_send:
            why = self.sim_mismatch or self.last_error or self.state.value
            raise LineUnavailableError(why)  # the caller names the line (api.modems.ask_ussd)
        try:
            return await self.driver.ussd(code, timeout)
        except (CommandTimeout, PortClosedError) as exc:
            raise LineUnavailableError(f"line {self.name} is not answering ({exc})") from None

    def accept_sim(self) -> None:
        """An operator accepted the SIM now in the modem (the pool rebinds the identity)."""
        self.sim_mismatch = None
        self._set_state(self._serving_state())

    def status(self) -> LineStatus:
        d = self.driver
        storage = d.inbox.storage if d.inbox else None
        extra = {"dialect": d.dialect.name}
        for key in ("smsc",):
            if d.info.get(key):
                extra[key] = str(d.info[key])
        if d.cnmi:
            extra["cnmi"] = d.cnmi
        if d.report_mode:
            extra["reports"] = d.report_mode
        if storage:
            extra["storage"] = storage.memory
        if d.inbox and d.inbox.full_reports:
            extra["storage_full_reports"] = str(d.inbox.full_reports)
        for kind, reg in d.registrations.items():
            extra[kind.lstrip("+").lower()] = str(reg.stat)
        return LineStatus(
            name=self.name, port=self.settings.port, state=self.state, signal=d.signal,
            registered=d.registered, roaming=d.roaming, operator=d.operator,
            manufacturer=d.info.get("manufacturer"), model=d.info.get("model"),
            firmware=d.info.get("firmware"), imei=d.info.get("imei"), imsi=d.info.get("imsi"),
            iccid=d.info.get("iccid"), own_number=d.info.get("own_number"), sim_mismatch=self.sim_mismatch,
            storage_used=storage.used if storage else None,
            storage_total=storage.total if storage else None, reconnects=self.reconnects,
            last_error=self.unresponsive or self.last_error, since=self.since, extra=extra,
        )

    # -- the line's task -------------------------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            reached_ready = False
            try:
                reached_ready = await self._connect_and_serve()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let a modem kill the daemon
                log.exception("%s: supervisor error", self.name)
                self.last_error = f"internal error: {exc}"
            finally:
                await self._cancel_children()
                if self.driver.session is not None:
                    await self.driver.session.close()
            if self._stopping.is_set():
                return
            self._set_state(LineState.DISCONNECTED)
            attempt = 0 if reached_ready else attempt + 1
            self.reconnects += 1
            await asyncio.sleep(backoff_delay(attempt, self.timings))

    async def _connect_and_serve(self) -> bool:
        """One port opening; returns whether the line got to serve (resets the backoff)."""
        self._set_state(LineState.OPENING)
        session = self.driver.new_session()
        try:
            await session.open(self.settings.port, self.settings.baudrate)
        except PortClosedError as exc:
            # Said once, at ERROR with what to check; while the port stays away the retries are only DEBUG.
            if self.last_error == str(exc):
                log.debug("%s: %s", self.name, exc)
            else:
                holders = await asyncio.to_thread(port_holders, self.settings.port)
                log.error("%s: %s; %s", self.name, exc, open_failure_hint(self.settings.port, exc.__cause__, holders))
            self.last_error = str(exc)
            return False
        served = False
        while not self._stopping.is_set():
            self._set_state(LineState.INITIALISING)
            try:
                await self._initialise()
            except PinError as exc:
                # Wait for an unplug (maybe a new SIM) or stop; never enter the PIN again.
                self.last_error = str(exc)
                log.error("%s", exc)
                self._set_state(LineState.DEGRADED)
                await session.wait_closed()
                return served
            except (_Reopen, PortClosedError):
                return served
            served = True
            try:
                await self._serve()
            except ModemRebooted as exc:
                self.last_error = str(exc)
                log.warning("%s", exc)
                continue
            except (_Reopen, PortClosedError):
                return served
        return served

    async def _initialise(self) -> None:
        """Init with staged recovery: retry, restart the modem, then ask for a reopen."""
        session = self.driver.session
        assert session is not None
        for stage in range(3):
            try:
                await self.driver.initialise()
                break
            except PinError:
                raise
            except CommandTimeout as exc:
                self.last_error = f"initialisation: {exc}"
                if stage == 1:
                    await self._restart_modem()
                    raise _Reopen from exc
            except CommandError as exc:
                self.last_error = f"initialisation: {exc}"
                self._set_state(LineState.DEGRADED)
                await asyncio.sleep(backoff_delay(stage + 1, self.timings))
            except PortClosedError:
                raise
            except ModemError as exc:
                self.last_error = str(exc)
                self._set_state(LineState.DEGRADED)
                await asyncio.sleep(backoff_delay(stage + 1, self.timings))
        else:
            raise _Reopen
        self.sim_mismatch = self.check_identity(self.name, self.driver.identity())
        if self.sim_mismatch:
            log.error("%s: %s; the line will not send", self.name, self.sim_mismatch)
        self.last_error = self.unresponsive = None
        self._set_state(self._serving_state())

    async def _serve(self) -> None:
        """Run the URC worker and the health loop until the port closes or recovery is needed."""
        session = self.driver.session
        assert session is not None
        while True:
            closed = asyncio.ensure_future(session.wait_closed())
            worker = self._spawn(self._urc_worker(), "urc")
            health = self._spawn(self._health_loop(), "health")
            try:
                done, _ = await asyncio.wait({closed, worker, health}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closed.cancel()
                await self._cancel_children()
            if closed in done or not session.is_open:
                reason = closed.result() if closed in done and not closed.cancelled() else None
                self.last_error = f"port lost: {reason}" if reason else "port closed"
                log.warning("%s: %s", self.name, self.last_error)
                raise PortClosedError(self.last_error)
            for task in done:
                exc = task.exception()
                if isinstance(exc, (ModemRebooted, PortClosedError)):
                    raise exc
                if isinstance(exc, (_Hung, CommandTimeout)):
                    await self._recover(str(exc))
                elif exc is not None:
                    log.error("%s: %s stopped: %r", self.name, task.get_name(), exc)

    async def _recover(self, why: str) -> None:
        """Staged recovery of a modem that stopped answering: resync, re-init, restart, reopen."""
        self.recoveries += 1
        self.last_error = f"modem not answering ({why})"
        self._set_state(LineState.DEGRADED)
        log.warning("%s: %s; recovering", self.name, self.last_error)
        session = self.driver.session
        assert session is not None
        try:
            await session.resync()
            log.info("%s: answering again after resync", self.name)
            await self.driver.initialise()
            self.last_error = self.unresponsive = None
            self._set_state(self._serving_state())
            return
        except (CommandTimeout, CommandError) as exc:
            log.warning("%s: resync/re-init failed: %s", self.name, exc)
        await self._restart_modem()
        raise _Reopen

    async def _restart_modem(self) -> None:
        session = self.driver.session
        if session is None or not session.is_open:
            return
        try:
            await self.driver.reset()
        except ModemError as exc:
            log.warning("%s: %s failed: %s", self.name, self.driver.dialect.reset, exc)
            return
        # The modem reboots; many drop off USB for a while. Give it time before reopening.
        try:
            await asyncio.wait_for(session.wait_closed(), self.timings.reset_settle)
        except asyncio.TimeoutError:
            pass

    async def _urc_worker(self) -> None:
        driver = self.driver
        inbox = driver.inbox
        assert inbox is not None
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()  # sweep at once: messages may have arrived while we were away
        while True:
            now = loop.time()
            if now >= next_sweep:
                try:
                    count = await inbox.sweep()
                    if count:
                        log.info("%s: sweep handed over %d stored message(s)", self.name, count)
                except CommandError as exc:
                    log.warning("%s: sweep failed: %s", self.name, exc)
                next_sweep = loop.time() + self.timings.sweep_interval
            wait = next_sweep - loop.time()
            deadline = driver.calls.deadline()
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - self.clock.monotonic()))
            try:
                urc = await asyncio.wait_for(driver.urcs.get(), max(wait, 0.0))
            except asyncio.TimeoutError:
                await driver.tick()
                continue
            try:
                await driver.handle_urc(urc)
            except (CommandTimeout, ModemRebooted, PortClosedError):
                raise
            except CommandError as exc:
                if inbox.is_storage_full(exc):
                    await inbox.on_storage_full()
                else:
                    log.warning("%s: handling %s: %s", self.name, urc.line, exc)
            except Exception:
                log.exception("%s: handling %s failed", self.name, urc.line)
            await driver.tick()
            self._publish()

    async def _health_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._probe_now.wait(), self.timings.health_interval)
            except asyncio.TimeoutError:
                pass
            self._probe_now.clear()
            try:
                await self.driver.health_check()
            except CommandTimeout as exc:
                raise _Hung(str(exc)) from None
            except CommandError as exc:
                log.warning("%s: health probe: %s", self.name, exc)
            if self.unresponsive:
                log.info("%s: answering again", self.name)
                self.unresponsive = None
            inbox = self.driver.inbox
            if inbox is not None and inbox.storage.full:
                self.driver.urcs.put_nowait(Urc(STORAGE_FULL, "(+CPMS shows the storage full)"))
            self._set_state(self._serving_state())

    # -- helpers ---------------------------------------------------------------------------------
    def _refresh_state(self) -> None:
        """Registration or signal moved (URC): READY ⇄ DEGRADED at once, not at the next probe."""
        if self.state in (LineState.READY, LineState.DEGRADED) and not self.driver.initialising:
            self._set_state(self._serving_state())

    def _serving_state(self) -> LineState:
        if self.sim_mismatch or not self.driver.registered or self.last_error or self.unresponsive:
            return LineState.DEGRADED
        return LineState.READY

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=f"modem-{self.name}-{what}")
        self._children.add(task)
        task.add_done_callback(self._children.discard)
        return task

    async def _cancel_children(self) -> None:
        tasks = list(self._children)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _set_state(self, state: LineState, *, publish: bool = True) -> None:
        if state is not self.state:
            log.info("%s: %s → %s", self.name, self.state.value, state.value)
            self.state = state
            self.since = self.clock.now()
        if publish:
            self._publish()

    def _publish(self) -> None:
        # Only the latest status matters: the publisher task picks it up when it can.
        self._status_changed.set()

    async def _publisher(self) -> None:
        while True:
            await self._status_changed.wait()
            self._status_changed.clear()
            status = self.status()
            if status == self._last_published:
                continue
            self._last_published = status
            try:
                await self.sink.on_line_status(status)
            except Exception:
                log.exception("%s: line status sink failed", self.name)
