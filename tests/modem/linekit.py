"""Helpers for driver/supervisor/pool tests: a recording sink and simulated lines over real ptys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from gatewayd.config import ModemSettings
from gatewayd.modem.events import CallEvent, IncomingSms, LineState, LineStatus, StatusReport
from gatewayd.modem.pool import ModemPool
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.timings import FAST_TEST_TIMINGS, ModemTimings
from tests.waiting import until  # noqa: F401 (the modem tests import it from here)


class RecordingSink:
    """A ModemEventSink that remembers everything; `refuse` makes on_incoming_sms fail N times."""

    def __init__(self) -> None:
        self.sms: list[IncomingSms] = []
        self.reports: list[StatusReport] = []
        self.calls: list[CallEvent] = []
        self.statuses: list[LineStatus] = []
        self.refuse = 0
        self.refused = 0
        self.changed = asyncio.Event()

    async def on_incoming_sms(self, sms: IncomingSms) -> None:
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            raise RuntimeError("database unavailable (test)")
        self.sms.append(sms)
        self.changed.set()

    async def on_status_report(self, report: StatusReport) -> None:
        self.reports.append(report)
        self.changed.set()

    async def on_call(self, call: CallEvent) -> None:
        self.calls.append(call)
        self.changed.set()

    async def on_line_status(self, status: LineStatus) -> None:
        self.statuses.append(status)
        self.changed.set()


def settings_for(modem: SimModem, **extra: Any) -> ModemSettings:
    data: dict[str, Any] = {"name": modem.name, "port": modem.port, "baudrate": 115200, "dialect": "auto"}
    data.update(extra)
    return ModemSettings(**data)


@asynccontextmanager
async def simulated_pool(tmp_path: Path, *profiles: str, network: SimNetwork | None = None,
                         timings: ModemTimings = FAST_TEST_TIMINGS, sink: RecordingSink | None = None,
                         modem_kwargs: dict[str, Any] | None = None,
                         settings_kwargs: dict[str, Any] | None = None,
                         pool_kwargs: dict[str, Any] | None = None,
                         wait_ready: bool = True,
                         ) -> AsyncIterator[tuple[ModemPool, list[SimModem], RecordingSink, SimNetwork]]:
    """Simulated modems (one per profile) behind stable links, and a started pool over them."""
    net = network or SimNetwork()
    sink = sink or RecordingSink()
    modems: list[SimModem] = []
    pool: ModemPool | None = None
    tmp_path.mkdir(parents=True, exist_ok=True)
    try:
        for i, profile in enumerate(profiles or ("sim800",), 1):
            modem = SimModem(net, name=f"line{i}", profile=profile, link=tmp_path / f"line{i}",
                             imei=f"86506702000{i:04d}", imsi=f"20801123456{i:04d}",
                             iccid=f"893301123456789{i:04d}", msisdn=f"+3363998{i:04d}",
                             seed=i, **(modem_kwargs or {}))
            await modem.start()
            modems.append(modem)
        pool = ModemPool([settings_for(m, **(settings_kwargs or {})) for m in modems], sink,
                         timings=timings, **(pool_kwargs or {}))
        await pool.start()
        if wait_ready:
            await until(lambda: len(pool.ready_lines()) == len(modems), 15, "all lines ready")  # type: ignore[union-attr]
        yield pool, modems, sink, net
    finally:
        if pool is not None:
            await pool.stop()
        for modem in modems:
            await modem.stop()
        net.close()


def is_state(pool: ModemPool, line: str, state: LineState) -> Callable[[], bool]:
    return lambda: pool.status(line).state is state
