"""Knobs of the simulated hardware: its delays (SimTimings) and the faults armed by test verbs."""

from __future__ import annotations

from dataclasses import dataclass, field


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
