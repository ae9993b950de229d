"""Simulated modems on real pseudo-terminals and the virtual network behind them.

Layers, as in pyatv's fake devices: wire.py (modem-side AT framing) → commands*.py over state.py
(what each command does to the device state; results.py formats errors) → device.py (runtime:
echo, one command line at a time, URCs, boot/reset) with traffic.py (SMS in and out) on port.py
(the pty and its stable link) → verbs.py (SimModem: what tests make happen). network.py is the
virtual network, profiles.py the modem families, lines.py starts N lines, client.py is a raw AT
client, and `python -m gatewayd.modem.sim` runs them for manual work."""

from __future__ import annotations

from gatewayd.modem.sim.lines import start_simulated_lines, stop_simulated_lines
from gatewayd.modem.sim.network import ReceivedSms, SimNetwork, Subscriber, SubmittedPart
from gatewayd.modem.sim.profiles import PROFILES
from gatewayd.modem.sim.tuning import REALISTIC, SimTimings
from gatewayd.modem.sim.verbs import CallResult, SimModem

__all__ = [
    "PROFILES", "REALISTIC", "CallResult", "ReceivedSms", "SimModem", "SimNetwork", "SimTimings",
    "Subscriber", "SubmittedPart", "start_simulated_lines", "stop_simulated_lines",
]
