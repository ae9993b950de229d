"""Every timer of the modem layer in one frozen value: real-world defaults, shrunk by tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class TimingSettings(Protocol):
    """The [modem] section of the config (config.ModemTimingSettings)."""

    # Read-only: the settings are frozen pydantic models.
    @property
    def command_timeout(self) -> float: ...

    @property
    def prompt_timeout(self) -> float: ...

    @property
    def submit_timeout(self) -> float: ...

    @property
    def health_interval(self) -> float: ...

    @property
    def sweep_interval(self) -> float: ...

    @property
    def call_quiet(self) -> float: ...

    @property
    def reconnect_max_delay(self) -> float: ...

    @property
    def stop_grace(self) -> float: ...


@dataclass(frozen=True)
class ModemTimings:
    """Seconds unless said otherwise."""

    command: float = 5.0            # ordinary command (AT, +CSQ, +CMGD…)
    slow_command: float = 30.0      # +COPS?, +CMGL listing, +CPMS, +CFUN (network or flash bound)
    prompt: float = 10.0            # AT+CMGS=<n> until the '> ' prompt
    submit: float = 90.0            # PDU+Ctrl-Z until +CMGS: <mr> (network round trip)
    probe: float = 1.0              # one AT of a resynchronisation
    resync_settle: float = 0.3      # silence required after the probe's OK (late answers drained)
    resync_attempts: int = 8        # AT probes before the session is declared hung
    ready_wait: float = 30.0        # after init, wait at most this long for SMS Ready / +QIND
    sim_busy_retry: float = 2.0     # between AT+CPIN? while the SIM answers "busy"
    sim_busy_attempts: int = 10
    health_interval: float = 30.0   # AT / +CSQ / registration probe
    sweep_interval: float = 300.0   # AT+CMGL=4 storage sweep
    call_quiet: float = 8.0         # no RING for this long = the caller gave up
    reset_settle: float = 10.0      # after AT+CFUN=1,1 the modem reboots and the port may vanish
    backoff_base: float = 1.8       # reconnect delay = min(base**n, backoff_cap) * jitter
    backoff_cap: float = 60.0
    backoff_scale: float = 1.0      # multiplies the delay (tests shrink it to milliseconds)
    stop_grace: float = 5.0         # stop() lets an AT transaction in flight finish this long
    ussd_quiet: float = 10.0        # after a USSD timeout or a closed menu, late +CUSD answers are dropped

    @classmethod
    def from_settings(cls, section: TimingSettings) -> ModemTimings:
        """Real-world timings with the configured values applied."""
        return cls(command=section.command_timeout, prompt=section.prompt_timeout,
                   submit=section.submit_timeout, health_interval=section.health_interval,
                   sweep_interval=section.sweep_interval, call_quiet=section.call_quiet,
                   backoff_cap=section.reconnect_max_delay, stop_grace=section.stop_grace)


FAST_TEST_TIMINGS = ModemTimings(
    command=1.0, slow_command=2.0, prompt=1.0, submit=1.5, probe=0.3, resync_settle=0.05,
    resync_attempts=5, ready_wait=1.0, sim_busy_retry=0.05, sim_busy_attempts=5,
    health_interval=0.3, sweep_interval=5.0, call_quiet=0.3, reset_settle=0.3,
    backoff_base=1.8, backoff_cap=0.5, backoff_scale=0.05, stop_grace=1.0, ussd_quiet=0.6,
)
