"""SMS command handlers of the simulated modem (TS 27.005): format, indications, storage, sending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from gatewayd.modem.pdu import Deliver, PduError, Submit, decode
from gatewayd.modem.sim.results import SYNTAX, AtError, Hooks, Reply, cme, cms, int_arg, ranges
from gatewayd.modem.sim.state import STAT_NAMES, ModemState, Storage, StoredSms
from gatewayd.modem.sim.wire import Command


class SmsCommands:
    """Mixin of CommandSet: the +CM… handlers (named as CommandSet._method maps them)."""

    s: ModemState
    hooks: Hooks

    def _need_sim(self, kind: Callable[[int], AtError] = cms) -> None:
        if self.s.sim_state == "SIM PIN":
            raise kind(11 if kind is cme else 311)
        if self.s.sim_state == "SIM PUK":
            raise kind(12 if kind is cme else 316)

    # A 0/1 (or 0..n) setting of ModemState: read, test and set forms (shared with CommandSet).
    def _flag(self, cmd: Command, attr: str, name: str, values: set[int]) -> list[str]:
        if cmd.kind == "read":
            return [f"{name}: {int(getattr(self.s, attr))}"]
        if cmd.kind == "test":
            return [f"{name}: ({ranges(frozenset(values))})"]
        if cmd.kind != "set":
            raise SYNTAX
        value = int_arg(cmd.params()[0] if cmd.params() else "0", values)
        setattr(self.s, attr, bool(value) if isinstance(getattr(self.s, attr), bool) else value)
        return []

    def _plus_cmgf(self, cmd: Command) -> list[str]:
        return self._flag(cmd, "cmgf", "+CMGF", {0, 1})

    def _plus_csdh(self, cmd: Command) -> list[str]:
        return ["+CSDH: 0"] if cmd.kind == "read" else []

    def _plus_csmp(self, cmd: Command) -> list[str]:
        return ["+CSMP: 17,167,0,0"] if cmd.kind == "read" else []

    def _plus_csms(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            return [f"+CSMS: {self.s.csms},1,1,1"]
        if cmd.kind == "test":
            return ["+CSMS: (0,1)"]
        self.s.csms = int_arg(cmd.params()[0], {0, 1})
        return ["+CSMS: 1,1,1"]

    def _plus_cnmi(self, cmd: Command) -> list[str]:
        p = self.s.profile
        if cmd.kind == "read":
            return ["+CNMI: " + ",".join(str(v) for v in self.s.cnmi)]
        if cmd.kind == "test":
            return [p.cnmi_test]
        values = [int_arg(v) if v else 0 for v in cmd.params()] + [0] * 5
        mode, mt, bm, ds, bfr = values[:5]
        if mode not in p.cnmi_modes or mt not in p.cnmi_mt or ds not in p.cnmi_ds or bfr not in (0, 1):
            raise cms(303) if self.s.cmee else SYNTAX
        self.s.cnmi = (mode, mt, bm, ds, bfr)
        self.hooks.after_reply(self.hooks.storage_changed)  # buffered URCs may flow now
        return []

    def _plus_csca(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            self._need_sim()
            return [f'+CSCA: "{self.s.smsc}",{145 if self.s.smsc.startswith("+") else 129}']
        if cmd.kind == "set" and cmd.params():
            self.s.smsc = cmd.params()[0]
        return []

    def _plus_cpms(self, cmd: Command) -> list[str]:
        self._need_sim()
        if cmd.kind == "test":
            return [self.s.profile.cpms_test]
        if cmd.kind == "read":
            parts = []
            for name in self.s.cpms:
                mem = self.s.storage(name)
                assert mem is not None
                parts.append(f'"{name}",{mem.used},{mem.capacity}')
            return ["+CPMS: " + ",".join(parts)]
        names = [p.upper() for p in cmd.params() if p]
        if not names or len(names) > 3 or any(self.s.storage(n) is None for n in names):
            raise cms(302)
        mems = tuple((names + list(self.s.cpms[len(names):]))[:3])
        self.s.cpms = (mems[0], mems[1], mems[2])
        out = []
        for name in self.s.cpms:
            mem = self.s.storage(name)
            assert mem is not None
            out.append(f"{mem.used},{mem.capacity}")
        return ["+CPMS: " + ",".join(out)]

    def _mem(self, which: int) -> Storage:
        self._need_sim()
        mem = self.s.storage(self.s.cpms[which])
        assert mem is not None
        return mem

    def _entry(self, idx: int, sms: StoredSms, listing: bool) -> list[str]:
        head = "+CMGL: " if listing else "+CMGR: "
        if self.s.cmgf == 0:
            return [f"{head}{f'{idx},' if listing else ''}{sms.stat},,{sms.length}", sms.pdu]
        return self._text_entry(head, idx, sms, listing)

    def _text_entry(self, head: str, idx: int, sms: StoredSms, listing: bool) -> list[str]:
        try:
            msg = decode(sms.pdu)
        except PduError:
            return [f'{head}{f"{idx}," if listing else ""}"{STAT_NAMES[sms.stat]}","",,', ""]
        who = msg.sender if isinstance(msg, Deliver) else msg.recipient if isinstance(msg, Submit) else ""
        text = msg.text if isinstance(msg, (Deliver, Submit)) else ""
        when = text_time(msg.smsc_time) if isinstance(msg, Deliver) else ""
        prefix = f"{idx}," if listing else ""
        return [f'{head}{prefix}"{STAT_NAMES[sms.stat]}","{who}",,"{when}"', text]

    def _plus_cmgr(self, cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return []
        mem = self._mem(0)
        idx = _index(cmd)
        if not mem.valid_index(idx):
            raise cms(321)
        sms = mem.slots.get(idx)
        if sms is None:
            if self.s.profile.empty_read_error is not None:
                raise cms(self.s.profile.empty_read_error)
            return []
        lines = self._entry(idx, sms, listing=False)
        if sms.stat == 0:
            sms.stat = 1
        return lines

    def _plus_cmgl(self, cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return ["+CMGL: (0-4)"] if self.s.cmgf == 0 else ['+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")']
        mem = self._mem(0)
        wanted = 4 if cmd.kind == "exec" else _stat_filter(cmd.params()[0] if cmd.params() else "", self.s.cmgf)
        out: list[str] = []
        for idx in sorted(mem.slots):
            sms = mem.slots[idx]
            if wanted in (4, sms.stat):
                out += self._entry(idx, sms, listing=True)
                if sms.stat == 0:
                    sms.stat = 1
        return out

    def _plus_cmgd(self, cmd: Command) -> list[str]:
        mem = self._mem(0)
        if cmd.kind == "test":
            used = ",".join(str(i) for i in sorted(mem.slots))
            return [f"+CMGD: ({used}),(0-4)"]
        params = cmd.params()
        if not params:
            raise cms(302)
        idx = int_arg(params[0])
        flag = int_arg(params[1], {0, 1, 2, 3, 4}) if len(params) > 1 and params[1] else 0
        if flag == 0:
            if not mem.valid_index(idx):
                raise cms(321)
            mem.slots.pop(idx, None)
        else:
            doomed = {1: {1}, 2: {1, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}[flag]
            for i in [i for i, sms in mem.slots.items() if sms.stat in doomed]:
                del mem.slots[i]
        self.hooks.after_reply(self.hooks.storage_changed)
        return []

    def _plus_cnma(self, cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return ["+CNMA: (0-2)"]
        if self.s.awaiting_ack <= 0:
            raise cms(340)
        self.s.awaiting_ack -= 1
        return []

    def _plus_cmgs(self, cmd: Command) -> Reply:
        if cmd.kind == "test":
            return Reply()
        if cmd.kind != "set" or not cmd.params():
            raise cms(302) if self.s.cmee else SYNTAX
        self._need_sim()
        if self.s.cmgf == 0:
            length = _cms_int(cmd.params()[0])
            if not 7 <= length <= 164:
                raise cms(304)
        return Reply(prompt=("submit", cmd.params()[0]))

    def _plus_cmgw(self, cmd: Command) -> Reply:
        self._need_sim()
        mem = self._mem(1)
        if mem.free_index() is None:
            raise cms(322)
        return Reply(prompt=("write", cmd.params()[0] if cmd.params() else ""))


def _index(cmd: Command) -> int:
    params = cmd.params()
    if cmd.kind != "set" or not params:
        raise cms(302)
    return _cms_int(params[0])


def _cms_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise cms(304) from None


def _stat_filter(value: str, cmgf: int) -> int:
    if cmgf == 1:
        names = {v: k for k, v in STAT_NAMES.items()}
        if value.upper() not in names:
            raise cms(305)
        return names[value.upper()]
    stat = _cms_int(value)
    if stat not in range(5):
        raise cms(304)
    return stat


def text_time(when: datetime | None) -> str:
    """A timestamp as text mode prints it: yy/MM/dd,hh:mm:ss±zz (zz in quarter hours)."""
    if when is None:
        return ""
    quarters = int((when.utcoffset() or timedelta(0)).total_seconds() // 900)
    return when.strftime("%y/%m/%d,%H:%M:%S") + f"{quarters:+03d}"
