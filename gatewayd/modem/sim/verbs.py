"""SimModem: a simulated modem plus the verbs tests use to make things happen to it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from gatewayd.modem.sim.device import SimDevice
from gatewayd.modem.sim.pdus import encode_deliver, tpdu_length
from gatewayd.modem.sim.state import REC_READ, REC_UNREAD, StoredSms


@dataclass(frozen=True)
class CallResult:
    """How a simulated incoming call went."""

    rings: int
    hung_up: bool      # the host sent ATH / AT+CHUP before the caller gave up


class SimModem(SimDevice):
    """One virtual modem on a pty. Construct, `await start()`, open `.port`, `await stop()`."""

    # ------------------------------------------------------------ traffic

    async def deliver_sms(self, sender: str, text: str, *, order: list[int] | None = None,
                          reference: int | None = None, dcs: int | None = None) -> list[str]:
        """A subscriber sends `text` to this line (parts in `order` if given); returns the PDUs.
        Delivered at once when the modem can take it, otherwise when it can (like an SC)."""
        pdus = self.network.deliver(self.name, sender, text, reference=reference, order=order, dcs=dcs)
        await asyncio.sleep(0)
        return pdus

    async def deliver_pdus(self, pdus: list[str]) -> None:
        """Hand over ready-made SMS-DELIVER PDUs (hex with SMSC prefix), e.g. odd encodings."""
        self.network.deliver_pdus(self.name, pdus)
        await asyncio.sleep(0)

    def store_received(self, sender: str, text: str, memory: str | None = None) -> int:
        """An SMS that reached `memory` (default: the receive memory now selected) without any
        indication, as while the host was away or before it chose the storage; its index."""
        mem = self.state.storage(memory or self.state.cpms[2])
        assert mem is not None
        pdu = encode_deliver(sender, text, scts=self.network.clock.now())[0]
        index = mem.store(StoredSms(REC_UNREAD, pdu, tpdu_length(pdu)))
        if index is None:
            raise RuntimeError(f"{mem.name} is full")
        return index

    async def status_report(self, reference: int, recipient: str, status: int = 0) -> str:
        """The SC reports on the part sent with TP-MR `reference`; returns the PDU."""
        pdu = self.network.report(self.name, reference, recipient, status)
        await asyncio.sleep(0)
        return pdu

    async def ring(self, number: str | None, rings: int = 3, *, interval: float | None = None) -> CallResult:
        """An incoming call: RING (+CLIP when enabled) `rings` times, then NO CARRIER unless the
        host hung up first."""
        if self._call is not None:
            raise RuntimeError("a call is already ringing on this modem")
        gap = self.timings.ring_interval if interval is None else interval
        call: dict[str, object] = {"hung_up": False}
        self._call = call
        count = 0
        try:
            for _ in range(rings):
                if call["hung_up"]:
                    break
                lines = ["RING"]
                if self.state.clip:
                    toa = 145 if (number or "").startswith("+") else 129
                    lines.append(f'+CLIP: "{number or ""}",{toa},"",0,"",0')
                self.emit(lines)
                count += 1
                await asyncio.sleep(gap)
            if not call["hung_up"]:
                self.emit(["NO CARRIER"])
        finally:
            self._call = None
        return CallResult(count, bool(call["hung_up"]))

    # ------------------------------------------------------------ faults

    def fail_next(self, cms: int, times: int = 1, *, stage: str = "submit") -> None:
        """The next `times` sends fail with +CMS ERROR `cms`: after the PDU ("submit") or at
        AT+CMGS itself, before any prompt ("command")."""
        target = self.faults.fail_submit if stage == "submit" else self.faults.fail_command
        if stage not in ("submit", "command"):
            raise ValueError("stage must be 'submit' or 'command'")
        target.extend([cms] * times)

    def swallow_next_result(self, times: int = 1, *, sent: bool = True) -> None:
        """After Ctrl-Z say nothing at all; with `sent` the message still reaches the network
        (the "outcome unknown" case)."""
        self.faults.swallow.extend([sent] * times)

    def no_prompt_next(self, times: int = 1) -> None:
        """The next `times` AT+CMGS get no `> ` prompt (the host must give up and send ESC)."""
        self.faults.no_prompt += times

    def hang(self) -> None:
        """Stop answering anything (input swallowed, nothing said) until unhang()."""
        self.faults.hung = True

    def unhang(self) -> None:
        self.faults.hung = False
        self.network.wake(self.name)

    @property
    def hung(self) -> bool:
        return self.faults.hung

    async def unplug(self) -> None:
        """Pull the USB cable: the pty closes (the host reads EOF/EIO) and the link vanishes."""
        await self._unplug_now()

    async def replug(self) -> None:
        """Plug back in: a new pty, the link repointed at it, then boot as after power-up."""
        if self.plugged:
            raise RuntimeError("modem is already plugged in")
        self._plug()
        self._power_on()
        await asyncio.sleep(0)

    def set_latency(self, seconds: float | tuple[float, float]) -> None:
        """Delay between Ctrl-Z and the +CMGS answer: fixed, or uniform in (lo, hi)."""
        self.faults.latency = seconds

    def storage_full(self) -> int:
        """Fill the receive memory with old, read messages (so new ones cannot be stored and
        AT+CMGW answers +CMS ERROR 322); returns how many were added. A sweep frees it."""
        mem = self.state.storage(self.state.cpms[2])
        assert mem is not None
        added = 0
        when = self.network.clock.now() - timedelta(days=30)
        while mem.free_index() is not None:
            pdu = encode_deliver("+33612340999", f"Ancien message {added + 1}", scts=when)[0]
            mem.store(StoredSms(REC_READ, pdu, tpdu_length(pdu)))
            added += 1
        return added

    def deregister(self, stat: int = 2) -> None:
        """Lose the network (<stat> 0 idle, 2 searching, 3 denied); registration URCs follow."""
        self._registration_wanted = stat
        self.state.registration = stat
        self.registration_changed()

    def register(self, *, roaming: bool = False) -> None:
        """Back on the network (home, or roaming <stat> 5)."""
        self._registration_wanted = 5 if roaming else 1
        self.state.registration = self._registration_wanted
        self.registration_changed()

    def set_signal(self, rssi: int) -> None:
        """+CSQ <rssi> from now on (0-31, or 99 for unknown)."""
        self.state.signal = rssi

    def noisy(self, interval: float = 0.05, *, lines: tuple[str, ...] | None = None, between: bool = True) -> None:
        """Spontaneous noise lines every `interval` s, and (with `between`) one slipped in before
        some final results, as a noisy modem does."""
        self.noise_lines = lines or self.noise_lines or ("^RSSI: 17", "^MODE: 5,4", '^HCSQ: "LTE",52,46,140,27')
        self.noise_interval = interval
        self.faults.noise_between = between

    def quiet(self) -> None:
        self.noise_interval = None
        self.faults.noise_between = False
