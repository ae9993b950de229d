"""Start N simulated lines at stable paths (for `gatewayd run --simulate`, tests and the bench)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

from gatewayd.modem.sim.tuning import SimTimings
from gatewayd.modem.sim.network import SimNetwork
from gatewayd.modem.sim.verbs import SimModem

DEFAULT_PROFILES = ("sim800", "ec25", "sim7600", "e3372", "generic")

# Demo subscribers: one thanks, one says STOP, one is never reachable (its reports say "still
# trying", then "expired"). Valid French mobile numbers, so the console can answer them: the
# 06 39 98 range ARCEP keeps for fiction is refused by libphonenumber (gatewayd.phone.normalise).
# Nothing leaves the simulator, so no real phone is ever reached.
DEMO_SUBSCRIBERS: dict[str, dict[str, Any]] = {
    "+33612340101": {"reply": "Merci, bien reçu !"},
    "+33612340102": {"reply_stop": True},
    "+33612340103": {"report_status": (0x30, 0x46), "report_delay": 2.0},
}


def luhn(digits: str) -> str:
    """`digits` with its Luhn check digit appended (IMEI, ICCID)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return digits + str((10 - total % 10) % 10)


class SimulatedIdentity(TypedDict):
    """The SIM and modem identity of one simulated line (keyword arguments of SimModem)."""

    imei: str
    imsi: str
    iccid: str
    msisdn: str


def identity(index: int) -> SimulatedIdentity:
    """Plausible, distinct, valid-looking identities for simulated line `index` (1-based)."""
    return {
        "imei": luhn(f"86506702{index:06d}"),
        "imsi": f"20801{index:010d}",
        "iccid": luhn(f"893301{index:012d}"),
        "msisdn": f"+336399800{index:02d}",
    }


def demo_network() -> SimNetwork:
    """A network with the demo subscribers above."""
    network = SimNetwork()
    for number, behaviour in DEMO_SUBSCRIBERS.items():
        network.add_subscriber(number, **behaviour)
    return network


async def start_simulated_lines(
    n: int,
    *,
    data_dir: str | Path,
    network: SimNetwork | None = None,
    profiles: Sequence[str] | None = None,
    latency: float | tuple[float, float] = 0.0,
    timings: SimTimings | None = None,
    pins: Sequence[str | None] | None = None,
    line_names: Sequence[str] | None = None,
) -> list[tuple[SimModem, dict[str, Any]]]:
    """Start `n` modems named line1..lineN (or `line_names`) with stable links under data_dir/sim/; returns each
    modem with the `[[modems]]` entry (name, port, baudrate, dialect, pin) that reaches it.

    Profiles cycle through `profiles` (default: every family); without `network` the demo network
    is used. Stop them with `stop_simulated_lines`."""
    if n < 1:
        raise ValueError("at least one simulated line is needed")
    links = Path(data_dir) / "sim"
    links.mkdir(parents=True, exist_ok=True)
    net = network if network is not None else demo_network()
    families = list(profiles or DEFAULT_PROFILES)  # not `names`: that is the caller's line names
    started: list[tuple[SimModem, dict[str, Any]]] = []
    try:
        for i in range(1, n + 1):
            profile = families[(i - 1) % len(families)]
            pin = pins[i - 1] if pins and i - 1 < len(pins) else None
            name = line_names[i - 1] if line_names else f"line{i}"
            modem = SimModem(net, name=name, profile=profile, link=links / name,
                             latency=latency, timings=timings, seed=i, pin=pin, **identity(i))
            await modem.start()
            entry: dict[str, Any] = {"name": modem.name, "port": modem.port, "baudrate": 115200, "dialect": profile}
            if pin:
                entry["pin"] = pin
            started.append((modem, entry))
    except BaseException:
        await stop_simulated_lines(started)
        raise
    return started


async def stop_simulated_lines(lines: Sequence[tuple[SimModem, Any]]) -> None:
    """Stop every modem started by start_simulated_lines (and the network's timers)."""
    for modem, _ in lines:
        await modem.stop()
    if lines:
        lines[0][0].network.close()
