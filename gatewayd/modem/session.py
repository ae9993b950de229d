"""One AT session over one serial port: one command in flight, timeouts, resynchronisation.

The listener for a command's answer is registered before the command is written, so an answer
that arrives in the same read as the echo is never missed. URCs go to `on_urc` (called from the
reader, must not block). After any exit other than a final result (a timeout, a cancellation of
the caller, a closed port) the command is abandoned and the session is "out of step": the next
caller first resynchronises (ESC, then AT probes until an OK followed by silence) so a late answer
to an old command is never taken for the answer to a new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from gatewayd.modem.at import CTRL_Z, ESC, AtEvent, AtParser, Echo, FinalResult, InfoLine, Prompt, UrcRegistry, Urc
from gatewayd.modem.errors import CommandError, CommandTimeout, PortClosedError
from gatewayd.modem.timings import ModemTimings
from gatewayd.modem.transport import close_quietly, open_serial, trace
from gatewayd.tasks import within

log = logging.getLogger(__name__)


class SubmitTimeout(CommandTimeout):
    """No answer after the PDU and Ctrl-Z were written (or the port vanished): it may have gone out."""

    def __init__(self, command: str, timeout: float, detail: str | None = None) -> None:
        super().__init__(command, timeout)
        if detail:
            self.args = (f"{command!r}: {detail}",)


class PromptTimeout(CommandTimeout):
    """No `> ` prompt after AT+CMGS: ESC was sent and nothing went out."""


@dataclass(frozen=True)
class Response:
    """Information lines and the final result of one successful command."""

    command: str
    lines: tuple[str, ...]
    final: FinalResult

    def first(self, prefix: str) -> str | None:
        """The first information line starting with `prefix`."""
        return next((line for line in self.lines if line.startswith(prefix)), None)


class _Pending:
    def __init__(self, command: str, loop: asyncio.AbstractEventLoop) -> None:
        self.command = command
        self.lines: list[str] = []
        self.prompt: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[FinalResult] = loop.create_future()


class AtSession(asyncio.Protocol):
    """AT command session; open() it, then await command()/submit_pdu(); close() when done."""

    def __init__(self, name: str, timings: ModemTimings, *, registry: UrcRegistry | None = None,
                 on_urc: Callable[[Urc], None] | None = None) -> None:
        self.name = name
        self.timings = timings
        self.parser = AtParser(registry)
        self.on_urc = on_urc or (lambda urc: None)
        self.needs_resync = True          # a freshly opened port may hold anything
        self.late_lines: list[str] = []   # info lines that came after their command timed out
        self._lock = asyncio.Lock()
        self._transport: asyncio.Transport | None = None
        self._pending: _Pending | None = None
        self._closed = asyncio.Event()
        self._closed.set()
        self._close_reason: BaseException | None = None
        self._stray_finals = 0
        self._refuse = False

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self, port: str, baudrate: int) -> None:
        """Open the serial port; raises PortClosedError when it cannot."""
        self._closed.clear()
        self._close_reason = None
        self.needs_resync = True
        try:
            self._transport = await open_serial(port, baudrate, self)
        except BaseException:
            self._closed.set()
            raise

    @property
    def is_open(self) -> bool:
        return not self._closed.is_set()

    @property
    def busy(self) -> bool:
        """True while a command holds the session."""
        return self._lock.locked()

    async def wait_closed(self) -> BaseException | None:
        """Return when the port is gone (the reason, or None for a deliberate close)."""
        await self._closed.wait()
        return self._close_reason

    async def close(self) -> None:
        """Close the port (a command in flight fails with PortClosedError)."""
        if self._transport is not None:
            close_quietly(self._transport)
        await asyncio.sleep(0)
        self._mark_closed(None)

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_closed(exc or PortClosedError(f"{self.name}: port closed"))

    def data_received(self, data: bytes) -> None:
        trace(self.name, "<-", data)
        for event in self.parser.feed(data):
            try:
                self._dispatch(event)
            except Exception:  # a bug in a handler must never stop the reader
                log.exception("%s: failed to handle %r", self.name, event)

    def _mark_closed(self, exc: BaseException | None) -> None:
        if self._closed.is_set():
            return
        self._close_reason = exc
        self._transport = None
        self._closed.set()
        pending = self._pending
        if pending is not None:
            err = PortClosedError(f"{self.name}: port closed during {pending.command!r}")
            for fut in (pending.prompt, pending.done):
                if not fut.done():
                    fut.set_exception(err)
                    fut.exception()  # mark retrieved: the waiter may already have given up

    def _dispatch(self, event: AtEvent) -> None:
        pending = self._pending
        if isinstance(event, Urc):
            self.on_urc(event)
        elif isinstance(event, Echo):
            pass
        elif isinstance(event, InfoLine):
            if pending is not None and not pending.done.done():
                pending.lines.append(event.text)
            else:
                self.late_lines.append(event.text)
                del self.late_lines[:-20]
                level = logging.WARNING if event.text.startswith("+CMGS:") else logging.DEBUG
                log.log(level, "%s: line without a command in flight: %r", self.name, event.text)
        elif isinstance(event, Prompt):
            if pending is not None and not pending.prompt.done():
                pending.prompt.set_result(None)
        elif isinstance(event, FinalResult):
            if pending is not None and not pending.done.done():
                pending.done.set_result(event)
            else:
                self._stray_finals += 1
                log.debug("%s: stray final result %s", self.name, event.kind.value)

    # -- commands --------------------------------------------------------------------------------
    async def command(self, command: str, *, timeout: float | None = None, check: bool = True) -> Response:
        """Run one command; CommandError on an error result (unless check=False), CommandTimeout."""
        async with self._lock:
            await self._ensure_synced()
            return await self._transact(command, timeout or self.timings.command, check=check)

    async def submit_pdu(self, length: int, pdu_hex: str) -> Response:
        """AT+CMGS=<length>, prompt, PDU+Ctrl-Z; PromptTimeout (nothing sent) or SubmitTimeout."""
        async with self._lock:
            await self._ensure_synced()
            command = f"AT+CMGS={length}"
            pending = self._start(command)
            try:
                await self._wait_prompt_or_final(pending)
                if pending.done.done():  # refused before the prompt (e.g. +CMS ERROR 304)
                    return self._finish(pending, pending.done.result(), check=True)
                self.parser.data_sent(pdu_hex)
                self._write(pdu_hex + CTRL_Z)
                try:
                    final = await within(self.timings.submit, asyncio.shield(pending.done))
                except TimeoutError:
                    self._abandon()
                    raise SubmitTimeout(command, self.timings.submit) from None
                except PortClosedError:
                    raise SubmitTimeout(command, self.timings.submit,
                                        "port closed after the PDU was written") from None
                return self._finish(pending, final, check=True)
            finally:
                # Cancelled (or the port went) before a final result: the modem may still be
                # at the prompt or about to answer; the next caller resynchronises first.
                if self._pending is pending:
                    self._abandon()

    async def quiesce(self, grace: float) -> bool:
        """Stop taking commands; wait up to `grace` for the one in flight. True if it finished."""
        try:
            await within(grace, self._lock.acquire())
        except TimeoutError:
            self._refuse = True
            return False
        self._refuse = True
        self._lock.release()
        return True

    async def resync(self) -> None:
        """Force a resynchronisation now (the supervisor's first recovery stage)."""
        async with self._lock:
            self.needs_resync = True
            await self._ensure_synced()

    # -- internals -------------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        if self._transport is None or self._closed.is_set():
            raise PortClosedError(f"{self.name}: port is closed")
        data = text.encode("ascii", errors="replace")
        trace(self.name, "->", data)
        self._transport.write(data)

    def _start(self, command: str) -> _Pending:
        if self._closed.is_set() or self._refuse:
            raise PortClosedError(f"{self.name}: port is closed")
        pending = _Pending(command, asyncio.get_running_loop())
        self._pending = pending  # listener first, then the write
        self.parser.command_started(command)
        self._write(command + "\r")
        return pending

    async def _wait_prompt_or_final(self, pending: _Pending) -> None:
        waiters: set[asyncio.Future[object]] = {
            asyncio.ensure_future(asyncio.shield(pending.prompt)),
            asyncio.ensure_future(asyncio.shield(pending.done)),
        }
        try:
            done, _ = await asyncio.wait(waiters, timeout=self.timings.prompt,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        for fut in (pending.prompt, pending.done):
            error = fut.exception() if fut.done() and not fut.cancelled() else None
            if error is not None:
                raise error
        if not done:
            # Cancel the half-typed message so the modem leaves its text-entry state.
            self._safe_write(ESC)
            self._abandon()
            raise PromptTimeout(pending.command, self.timings.prompt)

    async def _transact(self, command: str, timeout: float, *, check: bool) -> Response:
        pending = self._start(command)
        try:
            final = await within(timeout, asyncio.shield(pending.done))
        except TimeoutError:
            self._abandon()
            raise CommandTimeout(command, timeout) from None
        except BaseException:
            # Cancelled by the caller (or the port closed): the answer will still come, late.
            if self._pending is pending:
                self._abandon()
            raise
        return self._finish(pending, final, check=check)

    def _finish(self, pending: _Pending, final: FinalResult, *, check: bool) -> Response:
        if self._pending is pending:
            self._pending = None
        if check and not final.ok:
            raise CommandError(pending.command, final.kind.value, final.code, final.text)
        return Response(pending.command, tuple(pending.lines), final)

    def _abandon(self, *, resync: bool = True) -> None:
        """Forget the command in flight; its late answer must be drained before the next one."""
        pending, self._pending = self._pending, None
        self.parser.command_finished()
        if pending is not None:
            for fut in (pending.prompt, pending.done):
                if not fut.done():
                    fut.cancel()
        if resync:
            self.needs_resync = True

    def _safe_write(self, text: str) -> None:
        try:
            self._write(text)
        except (PortClosedError, OSError):
            pass

    async def _ensure_synced(self) -> None:
        if not self.needs_resync:
            return
        t = self.timings
        self._safe_write(ESC)
        for attempt in range(1, t.resync_attempts + 1):
            self._stray_finals = 0
            try:
                resp = await self._transact("AT", t.probe, check=False)
            except CommandTimeout:
                log.debug("%s: resync probe %d got no answer", self.name, attempt)
                continue
            if not resp.final.ok:
                continue
            # The OK may be a late answer to an older command: accept only if silence follows.
            await asyncio.sleep(t.resync_settle)
            if self._stray_finals == 0:
                self.needs_resync = False
                if attempt > 1:
                    log.info("%s: resynchronised after %d probes", self.name, attempt)
                return
        raise CommandTimeout("AT (resync)", t.probe * t.resync_attempts)
