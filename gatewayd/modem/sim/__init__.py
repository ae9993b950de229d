"""Simulated modems on real pseudo-terminals and the virtual network behind them.

wire.py (modem-side AT framing) / state.py + commands.py (device state and what commands do) /
verbs.py (what tests make happen), plus device.py (pty runtime), network.py, profiles.py."""

from __future__ import annotations

from gatewayd.modem.sim.device import REALISTIC, SimTimings
from gatewayd.modem.sim.lines import start_simulated_lines, stop_simulated_lines
from gatewayd.modem.sim.network import ReceivedSms, SimNetwork, Subscriber, SubmittedPart
from gatewayd.modem.sim.profiles import PROFILES
from gatewayd.modem.sim.verbs import CallResult, SimModem

__all__ = [
    "PROFILES", "REALISTIC", "CallResult", "ReceivedSms", "SimModem", "SimNetwork", "SimTimings",
    "Subscriber", "SubmittedPart", "start_simulated_lines", "stop_simulated_lines",
]
