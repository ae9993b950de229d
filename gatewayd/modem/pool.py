"""ModemPool: every configured line, its health, and the verbs the rest of the daemon uses.

Line choice, rate limits and retries belong to the outbound dispatcher (durable counts); the
pool only says which lines are healthy and sends a part on the line it is told to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatewayd.clock import Clock, SystemClock
from gatewayd.modem.driver import LineSettings, SimIdentity
from gatewayd.modem.errors import LineUnavailableError
from gatewayd.modem.events import LineStatus, ModemEventSink
from gatewayd.modem.pdu import SubmitPart
from gatewayd.modem.probe import collect_probe
from gatewayd.modem.supervisor import LineSupervisor
from gatewayd.modem.timings import ModemTimings
from gatewayd.modem.ussd import UssdAnswer

if TYPE_CHECKING:
    from gatewayd.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FixedLines:
    """A fixed list of line names, for tools and tests that run services without a pool."""

    fixed: tuple[str, ...]

    @classmethod
    def configured(cls, settings: Settings) -> FixedLines:
        return cls(tuple(m.name for m in settings.modems))

    def names(self) -> list[str]:
        return list(self.fixed)

# Called when a line is bound to a SIM for the first time (or rebound by an operator): persist it.
SimBound = Callable[[str, SimIdentity], None]


class ModemPool:
    """One supervisor per configured modem; never raises because of a bad modem."""

    def __init__(self, modems: Sequence[LineSettings], sink: ModemEventSink, *,
                 clock: Clock | None = None, timings: ModemTimings | None = None,
                 known_sims: dict[str, SimIdentity] | None = None,
                 on_sim_bound: SimBound | None = None) -> None:
        self.clock = clock or SystemClock()
        self.timings = timings or ModemTimings()
        self.known_sims: dict[str, SimIdentity] = dict(known_sims or {})
        self.on_sim_bound = on_sim_bound
        self._lines: dict[str, LineSupervisor] = {}
        for settings in modems:
            if settings.name in self._lines:
                raise ValueError(f"duplicate modem name {settings.name!r}")
            self._lines[settings.name] = LineSupervisor(
                settings, sink, clock=self.clock, timings=self.timings, check_identity=self._check_identity)

    async def start(self) -> None:
        """Start every line's supervisor (returns at once; lines come up in the background)."""
        for line in self._lines.values():
            line.start()

    async def stop(self) -> None:
        """Stop all lines in parallel; a transaction in flight gets `timings.stop_grace`."""
        await asyncio.gather(*(line.stop() for line in self._lines.values()), return_exceptions=True)

    def names(self) -> list[str]:
        """Every line of the pool, configured or simulated: the one list of lines the daemon has
        (USSD, templates, campaigns, inbound rules, the console's forms and the API read it)."""
        return list(self._lines)

    def statuses(self) -> list[LineStatus]:
        return [line.status() for line in self._lines.values()]

    def status(self, line: str) -> LineStatus:
        return self._line(line).status()

    def ready_lines(self) -> list[str]:
        """Lines that are initialised, registered, on their own SIM and may send now."""
        return [name for name, line in self._lines.items() if line.can_send]

    async def send_part(self, line: str, part: SubmitPart) -> int:
        """Send one part on `line`; the TP-MR, or TransientSendError / PermanentSendError /
        OutcomeUnknownError / LineUnavailableError."""
        return await self._line(line).send(part)

    async def hang_up(self, line: str) -> None:
        await self._line(line).hang_up()

    async def probe(self, line: str) -> dict[str, str]:
        """What `gatewayd modem probe` shows, read live through the line's session."""
        sup = self._line(line)
        session = sup.driver.session
        if session is None or not session.is_open:
            raise LineUnavailableError(f"line {line} is not connected")
        result = await collect_probe(session)
        result["line"] = line
        result["state"] = sup.state.value
        return result

    async def ussd(self, line: str, code: str, timeout: float = 30.0) -> UssdAnswer:
        """Ask the network of `line` a USSD code (a prepaid balance, *100#…)."""
        return await self._line(line).ussd(code, timeout)

    def accept_sim(self, line: str) -> None:
        """Bind `line` to the SIM now in it (after an operator checked a SIM swap)."""
        sup = self._line(line)
        identity = sup.driver.identity()
        self.known_sims[line] = identity
        if self.on_sim_bound:
            self.on_sim_bound(line, identity)
        sup.accept_sim()

    def supervisor(self, line: str) -> LineSupervisor:
        return self._line(line)

    def _line(self, line: str) -> LineSupervisor:
        try:
            return self._lines[line]
        except KeyError:
            raise LineUnavailableError(f"unknown line {line!r}") from None

    def _check_identity(self, line: str, identity: SimIdentity) -> str | None:
        known = self.known_sims.get(line)
        if known is None or (known.iccid is None and known.imsi is None):
            if identity.iccid or identity.imsi:
                self.known_sims[line] = identity
                if self.on_sim_bound:
                    try:
                        self.on_sim_bound(line, identity)
                    except Exception:
                        log.exception("%s: persisting the SIM identity failed", line)
            return None
        if known.iccid and identity.iccid and known.iccid != identity.iccid:
            return f"SIM changed: line bound to ICCID {known.iccid}, found {identity.iccid}"
        if known.imsi and identity.imsi and known.imsi != identity.imsi:
            return f"SIM changed: line bound to IMSI {known.imsi}, found {identity.imsi}"
        if (known.iccid or known.imsi) and not (identity.iccid or identity.imsi):
            return "SIM identity unreadable: cannot confirm this is the line's SIM"
        return None
