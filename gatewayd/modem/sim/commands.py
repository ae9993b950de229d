"""AT command handlers of the simulated modem: they read and change ModemState and answer.

A handler returns the information lines of its answer (the device adds `OK`) or raises AtError;
side effects that must follow the final result (a reboot, "+CPIN: READY") go through the hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Protocol

from gatewayd.modem.sim.state import STAT_NAMES, ModemState, Storage, StoredSms
from gatewayd.modem.sim.wire import Command

log = logging.getLogger(__name__)

CME_TEXT = {
    3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
    16: "incorrect password", 30: "no network service", 50: "Incorrect parameters", 100: "unknown",
}
CMS_TEXT = {
    21: "Short message transfer rejected", 38: "Network out of order", 41: "Temporary failure",
    42: "Congestion", 47: "Resources unavailable, unspecified", 300: "ME failure",
    302: "operation not allowed", 303: "operation not supported", 304: "invalid PDU mode parameter",
    305: "invalid text mode parameter", 310: "SIM not inserted", 311: "SIM PIN required",
    314: "SIM busy", 316: "SIM PUK required", 320: "memory failure", 321: "invalid memory index",
    322: "memory full", 330: "SMSC address unknown", 331: "no network service",
    332: "network timeout", 340: "no +CNMA acknowledgement expected", 500: "unknown error",
}


class AtError(Exception):
    """A command failed: kind "ERROR" (plain), "CME" or "CMS" with its code."""

    def __init__(self, kind: str, code: int = 0, text: str = "") -> None:
        super().__init__(f"{kind} {code} {text}".strip())
        self.kind = kind
        self.code = code
        self.text = text

    def render(self, cmee: int, unknown_reply: str = "ERROR") -> str:
        if self.kind == "UNKNOWN":
            return unknown_reply
        if self.kind == "RESULT":
            return self.text
        if self.kind == "ERROR" or cmee == 0:
            return "ERROR"
        if cmee == 2:
            table = CME_TEXT if self.kind == "CME" else CMS_TEXT
            return f"+{self.kind} ERROR: {table.get(self.code, 'unknown error')}"
        return f"+{self.kind} ERROR: {self.code}"


def cme(code: int) -> AtError:
    return AtError("CME", code)


def cms(code: int) -> AtError:
    return AtError("CMS", code)


SYNTAX = AtError("ERROR")
NO_CARRIER = AtError("RESULT", text="NO CARRIER")


@dataclass
class Reply:
    """Information lines; `prompt` asks the device for `> ` and message data (+CMGS/+CMGW)."""

    lines: list[str] = field(default_factory=list)
    prompt: tuple[str, str] | None = None  # ("submit"|"write", argument)


class Hooks(Protocol):
    """What handlers may ask of the device beyond the state."""

    def after_reply(self, fn: Callable[[], None]) -> None: ...

    def reboot(self) -> None: ...

    def hang_up(self) -> bool: ...

    def ussd(self, code: str) -> None: ...

    def storage_changed(self) -> None: ...

    def registration_changed(self) -> None: ...

    def sim_unlocked(self) -> None: ...


def _int(value: str, allowed: range | frozenset[int] | set[int] | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise cme(50) from None
    if allowed is not None and number not in allowed:
        raise cme(50)
    return number


def _ranges(values: frozenset[int]) -> str:
    return ",".join(str(v) for v in sorted(values))


class CommandSet:
    """Dispatches Commands to handlers named after them (`_plus_cmgf` for +CMGF, `_b_e` for E)."""

    def __init__(self, state: ModemState, hooks: Hooks) -> None:
        self.s = state
        self.hooks = hooks

    def execute(self, cmd: Command) -> Reply:
        """Run one command; raises AtError for anything the family would refuse."""
        handler = getattr(self, self._method(cmd.name), None)
        if handler is None:
            raise AtError("UNKNOWN")
        result = handler(cmd)
        if isinstance(result, Reply):
            return result
        return Reply(list(result or []))

    def _method(self, name: str) -> str:
        table = str.maketrans({"+": "_plus_", "^": "_hw_", "&": "_amp_", "$": "_d_", "%": "_p_"})
        if name[0].isalpha():
            return "_b_" + ("s" if name.startswith("S") and name[1:].isdigit() else name.lower())
        return name.lower().translate(table)

    # ------------------------------------------------------------ basic commands

    def _b_e(self, cmd: Command) -> None:
        self.s.echo = _int(cmd.args or "0", {0, 1}) == 1

    def _b_v(self, cmd: Command) -> None:
        _int(cmd.args or "0", {0, 1})  # numeric results are not simulated: stay verbose

    def _b_q(self, cmd: Command) -> None:
        _int(cmd.args or "0", {0, 1})

    def _b_x(self, cmd: Command) -> None:
        return None

    _b_l = _b_m = _b_x

    def _b_z(self, cmd: Command) -> None:
        self.s.reset()

    def _amp_f(self, cmd: Command) -> None:
        self.s.reset()

    def _amp_w(self, cmd: Command) -> None:
        return None

    _amp_d = _amp_c = _amp_k = _amp_w

    def _b_s(self, cmd: Command) -> list[str]:
        return ["000"] if cmd.kind == "read" else []

    def _b_i(self, cmd: Command) -> list[str]:
        return [line.format(imei=self.s.imei) for line in self.s.profile.ati]

    def _b_h(self, cmd: Command) -> None:
        self.hooks.hang_up()

    def _b_a(self, cmd: Command) -> None:
        raise NO_CARRIER  # answering is not simulated: calls only ring in

    def _b_d(self, cmd: Command) -> None:
        raise NO_CARRIER  # nor are outgoing calls

    # ------------------------------------------------------------ identity

    def _ident(self, value: str, cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return []
        if cmd.kind != "exec":
            raise SYNTAX
        return [value]

    def _plus_cgmi(self, cmd: Command) -> list[str]:
        return self._ident(self.s.profile.manufacturer, cmd)

    def _plus_cgmm(self, cmd: Command) -> list[str]:
        return self._ident(self.s.profile.model, cmd)

    def _plus_cgmr(self, cmd: Command) -> list[str]:
        return self._ident(self.s.profile.revision, cmd)

    def _plus_cgsn(self, cmd: Command) -> list[str]:
        return self._ident(self.s.imei, cmd)

    _plus_gmi, _plus_gmm, _plus_gmr, _plus_gsn = _plus_cgmi, _plus_cgmm, _plus_cgmr, _plus_cgsn

    def _plus_cimi(self, cmd: Command) -> list[str]:
        self._need_sim(cme)
        return self._ident(self.s.imsi, cmd)

    def _iccid(self, name: str, cmd: Command) -> list[str]:
        if name not in self.s.profile.iccid_commands:
            raise AtError("UNKNOWN")
        if cmd.kind == "test":
            return []
        digits = self.s.iccid
        padded = digits + ("F" if len(digits) % 2 else "")
        swapped = "".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2))
        return [self.s.profile.iccid_format.format(iccid=digits, iccid_swapped=swapped)]

    def _plus_ccid(self, cmd: Command) -> list[str]:
        return self._iccid("+CCID", cmd)

    def _plus_qccid(self, cmd: Command) -> list[str]:
        return self._iccid("+QCCID", cmd)

    def _plus_ciccid(self, cmd: Command) -> list[str]:
        return self._iccid("+CICCID", cmd)

    def _hw_iccid(self, cmd: Command) -> list[str]:
        return self._iccid("^ICCID", cmd)

    def _plus_gcap(self, cmd: Command) -> list[str]:
        return ["+GCAP: +CGSM"]

    def _plus_cpas(self, cmd: Command) -> list[str]:
        return ["+CPAS: 0"] if cmd.kind != "test" else ["+CPAS: (0-5)"]

    def _plus_cbc(self, cmd: Command) -> list[str]:
        return ["+CBC: 0,92,4123"]

    def _plus_cclk(self, cmd: Command) -> list[str]:
        return ['+CCLK: "26/01/05,10:00:00+04"'] if cmd.kind == "read" else []

    # ------------------------------------------------------------ settings

    def _flag(self, cmd: Command, attr: str, name: str, values: set[int]) -> list[str]:
        if cmd.kind == "read":
            return [f"{name}: {int(getattr(self.s, attr))}"]
        if cmd.kind == "test":
            return [f"{name}: ({_ranges(frozenset(values))})"]
        if cmd.kind != "set":
            raise SYNTAX
        value = _int(cmd.params()[0] if cmd.params() else "0", values)
        setattr(self.s, attr, bool(value) if isinstance(getattr(self.s, attr), bool) else value)
        return []

    def _plus_cmee(self, cmd: Command) -> list[str]:
        return self._flag(cmd, "cmee", "+CMEE", {0, 1, 2})

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
        self.s.csms = _int(cmd.params()[0], {0, 1})
        return ["+CSMS: 1,1,1"]

    def _plus_cscs(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            return [f'+CSCS: "{self.s.cscs}"']
        if cmd.kind == "test":
            return ['+CSCS: ("IRA","GSM","UCS2")']
        value = cmd.params()[0].upper() if cmd.params() else ""
        if value not in ("IRA", "GSM", "UCS2"):
            raise cme(4)
        self.s.cscs = value
        return []

    def _plus_clip(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            return [f"+CLIP: {int(self.s.clip)},1"]
        return self._flag(cmd, "clip", "+CLIP", {0, 1})

    def _hw_curc(self, cmd: Command) -> list[str]:
        if self.s.profile.name != "e3372":
            raise AtError("UNKNOWN")
        return self._flag(cmd, "curc", "^CURC", {0, 1})

    def _hw_portsel(self, cmd: Command) -> list[str]:
        if self.s.profile.name != "e3372":
            raise AtError("UNKNOWN")
        if cmd.kind == "read":
            return ["^PORTSEL: 0"]
        return ["^PORTSEL: (0-1)"] if cmd.kind == "test" else []

    def _plus_qindcfg(self, cmd: Command) -> None:
        if self.s.profile.name != "ec25":
            raise AtError("UNKNOWN")

    def _plus_ipr(self, cmd: Command) -> list[str]:
        return ["+IPR: 115200"] if cmd.kind == "read" else []

    _plus_ifc = _plus_icf = _plus_ipr

    def _plus_cnmi(self, cmd: Command) -> list[str]:
        p = self.s.profile
        if cmd.kind == "read":
            return ["+CNMI: " + ",".join(str(v) for v in self.s.cnmi)]
        if cmd.kind == "test":
            return [p.cnmi_test]
        values = [_int(v) if v else 0 for v in cmd.params()] + [0] * 5
        mode, mt, bm, ds, bfr = values[:5]
        if mode not in p.cnmi_modes or mt not in p.cnmi_mt or ds not in p.cnmi_ds or bfr not in (0, 1):
            raise cms(303) if self.s.cmee else SYNTAX
        self.s.cnmi = (mode, mt, bm, ds, bfr)
        self.hooks.after_reply(self.hooks.storage_changed)  # buffered URCs may flow now
        return []

    # ------------------------------------------------------------ SIM, network

    def _need_sim(self, kind: Callable[[int], AtError] = cms) -> None:
        if self.s.sim_state == "SIM PIN":
            raise kind(11 if kind is cme else 311)
        if self.s.sim_state == "SIM PUK":
            raise kind(12 if kind is cme else 316)

    def _plus_cpin(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            return [f"+CPIN: {self.s.sim_state}"]
        if cmd.kind == "test":
            return []
        params = cmd.params()
        if not params:
            raise cme(50)
        if self.s.sim_state == "READY":
            raise cme(3)
        if self.s.sim_state == "SIM PUK":
            if len(params) < 2 or params[0] != self.s.puk:
                raise cme(16)
            self.s.pin, self.s.pin_attempts = params[1], 3
        elif params[0] != self.s.pin:
            self.s.pin_attempts -= 1
            if self.s.pin_attempts <= 0:
                self.s.sim_state = "SIM PUK"
                raise cme(12)
            raise cme(16)
        self.s.sim_state = "READY"
        self.s.pin_attempts = 3
        self.hooks.after_reply(self.hooks.sim_unlocked)
        return []

    def _reg(self, cmd: Command, attr: str, name: str) -> list[str]:
        if name == "+CEREG" and not self.s.profile.cereg:
            raise AtError("UNKNOWN")
        if cmd.kind == "test":
            return [f"{name}: (0-2)"]
        if cmd.kind == "read":
            n = getattr(self.s, attr)
            return [f"{name}: {n},{self.reg_fields(name, n)}"]
        setattr(self.s, attr, _int(cmd.params()[0] if cmd.params() else "0", {0, 1, 2}))
        return []

    def reg_fields(self, name: str, n: int) -> str:
        """<stat>[,<lac>,<ci>[,<AcT>]] as this family prints it for `name` at level n."""
        stat = self.s.registration if self.s.cfun == 1 else 0
        if n < 2 or stat not in (1, 5):
            return str(stat)
        if name == "+CEREG":
            return f'{stat},"1A2B","01C3D4E5",7'
        act = "" if self.s.profile.act is None else f",{0 if name == '+CREG' and self.s.profile.act == 0 else self.s.profile.act}"
        return f'{stat},"1A2B","01C3D4E5"{act}'

    def _plus_creg(self, cmd: Command) -> list[str]:
        return self._reg(cmd, "creg_n", "+CREG")

    def _plus_cgreg(self, cmd: Command) -> list[str]:
        return self._reg(cmd, "cgreg_n", "+CGREG")

    def _plus_cereg(self, cmd: Command) -> list[str]:
        return self._reg(cmd, "cereg_n", "+CEREG")

    def _plus_cops(self, cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return ['+COPS: (2,"Orange F","Orange","20801",7),,(0-4),(0-2)']
        if cmd.kind == "set":
            return []
        if not self.s.registered:
            return ["+COPS: 0"]
        act = "" if self.s.profile.act is None else f",{self.s.profile.act}"
        return [f'+COPS: 0,0,"{self.s.operator}"{act}']

    def _plus_csq(self, cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return ["+CSQ: (0-31,99),(0-7,99)"]
        rssi = self.s.signal if self.s.cfun == 1 else 99
        return [f"+CSQ: {rssi},99"]

    def _plus_cfun(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            return [f"+CFUN: {self.s.cfun}"]
        if cmd.kind == "test":
            return ["+CFUN: (0,1,4),(0,1)"]
        params = cmd.params() + ["0"]
        fun, rst = _int(params[0], {0, 1, 4}), _int(params[1], {0, 1})
        if rst:
            self.hooks.after_reply(self.hooks.reboot)
            return []
        self.s.cfun = fun
        self.hooks.after_reply(self.hooks.registration_changed)
        return []

    def _plus_csca(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            self._need_sim()
            return [f'+CSCA: "{self.s.smsc}",{145 if self.s.smsc.startswith("+") else 129}']
        if cmd.kind == "set" and cmd.params():
            self.s.smsc = cmd.params()[0]
        return []

    def _plus_cusd(self, cmd: Command) -> list[str]:
        if cmd.kind == "read":
            return ["+CUSD: 1"]
        if cmd.kind == "test":
            return ["+CUSD: (0-2)"]
        params = cmd.params()
        if len(params) >= 2 and params[1]:
            if not self.s.registered:
                raise cme(30)
            code = params[1]
            self.hooks.after_reply(lambda: self.hooks.ussd(code))
        return []

    def _plus_chup(self, cmd: Command) -> None:
        self.hooks.hang_up()

    def _plus_clcc(self, cmd: Command) -> list[str]:
        return []

    # ------------------------------------------------------------ SMS storage

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
        from gatewayd.modem.pdu import Deliver, PduError, Submit, decode

        try:
            msg = decode(sms.pdu)
        except PduError:
            return [f'{head}{f"{idx}," if listing else ""}"{STAT_NAMES[sms.stat]}","",,', ""]
        who = msg.sender if isinstance(msg, Deliver) else msg.recipient if isinstance(msg, Submit) else ""
        text = msg.text if isinstance(msg, (Deliver, Submit)) else ""
        when = ""
        if isinstance(msg, Deliver) and msg.smsc_time is not None:
            off = int((msg.smsc_time.utcoffset() or timedelta(0)).total_seconds() // 900)
            when = msg.smsc_time.strftime('%y/%m/%d,%H:%M:%S') + f"{off:+03d}"
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
        idx = _int(params[0])
        flag = _int(params[1], {0, 1, 2, 3, 4}) if len(params) > 1 and params[1] else 0
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
