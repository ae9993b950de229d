"""AT command handlers of the simulated modem: they read and change ModemState and answer.

A handler returns the information lines of its answer (the device adds `OK`) or raises AtError;
side effects that must follow the final result (a reboot, "+CPIN: READY") go through the hooks.
"""

from __future__ import annotations

import logging

from gatewayd.modem.sim.commands_sms import SmsCommands
from gatewayd.modem.sim.results import NO_CARRIER, SYNTAX, AtError, Hooks, Reply, cme, int_arg
from gatewayd.modem.sim.state import ModemState
from gatewayd.modem.sim.wire import Command

log = logging.getLogger(__name__)


class CommandSet(SmsCommands):
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
        self.s.echo = int_arg(cmd.args or "0", {0, 1}) == 1

    def _b_v(self, cmd: Command) -> None:
        int_arg(cmd.args or "0", {0, 1})  # numeric results are not simulated: stay verbose

    def _b_q(self, cmd: Command) -> None:
        int_arg(cmd.args or "0", {0, 1})

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

    def _plus_cnum(self, cmd: Command) -> list[str]:
        """The subscriber number, as a SIM that stores its MSISDN answers (an empty msisdn: none)."""
        self._need_sim(cme)
        if cmd.kind == "test":
            return []
        if cmd.kind != "exec":
            raise SYNTAX
        if not self.s.msisdn:
            return []
        kind = 145 if self.s.msisdn.startswith("+") else 129
        return [f'+CNUM: "","{self.s.msisdn}",{kind}']

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

    def _plus_cmee(self, cmd: Command) -> list[str]:
        return self._flag(cmd, "cmee", "+CMEE", {0, 1, 2})

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

    # ------------------------------------------------------------ SIM, network
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
        setattr(self.s, attr, int_arg(cmd.params()[0] if cmd.params() else "0", {0, 1, 2}))
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
        fun, rst = int_arg(params[0], {0, 1, 4}), int_arg(params[1], {0, 1})
        if rst:
            self.hooks.after_reply(self.hooks.reboot)
            return []
        self.s.cfun = fun
        self.hooks.after_reply(self.hooks.registration_changed)
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
            return self.hooks.ussd(params[1])
        return []

    def _plus_chup(self, cmd: Command) -> None:
        self.hooks.hang_up()

    def _plus_clcc(self, cmd: Command) -> list[str]:
        return []
