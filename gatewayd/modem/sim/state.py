"""Device state of one simulated modem: settings, SIM, registration, message storage (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gatewayd.modem.sim.profiles import Profile

# <stat> values of TS 27.005 PDU mode and their text-mode names.
REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT = 0, 1, 2, 3
STAT_NAMES = {0: "REC UNREAD", 1: "REC READ", 2: "STO UNSENT", 3: "STO SENT", 4: "ALL"}


@dataclass
class StoredSms:
    """One occupied storage slot: the PDU as the modem would hand it out."""

    stat: int
    pdu: str          # hex, SMSC prefix included
    length: int       # TPDU octets (the <length> of +CMGR/+CMGL)


@dataclass
class Storage:
    """A message memory ("SM", "ME", "SR") with numbered slots."""

    name: str
    capacity: int
    first_index: int
    slots: dict[int, StoredSms] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return len(self.slots)

    def free_index(self) -> int | None:
        for idx in range(self.first_index, self.first_index + self.capacity):
            if idx not in self.slots:
                return idx
        return None

    def store(self, sms: StoredSms) -> int | None:
        """The index used, or None when the memory is full."""
        idx = self.free_index()
        if idx is not None:
            self.slots[idx] = sms
        return idx

    def valid_index(self, idx: int) -> bool:
        return self.first_index <= idx < self.first_index + self.capacity


@dataclass
class ModemState:
    """Everything AT commands read or change; reset() is what a reboot does to it."""

    profile: Profile
    imei: str
    imsi: str
    iccid: str
    msisdn: str
    pin: str | None = None
    puk: str = "12345678"
    operator: str = "Orange F"
    signal: int = 21
    smsc: str = "+33609001390"
    storages: dict[str, Storage] = field(default_factory=dict)
    # --- volatile settings (lost on reset)
    echo: bool = True
    cmee: int = 0
    cmgf: int = 0
    cscs: str = "IRA"
    csms: int = 0
    clip: bool = False
    curc: bool = True
    cnmi: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    creg_n: int = 0
    cgreg_n: int = 0
    cereg_n: int = 0
    cpms: tuple[str, str, str] = ("SM", "SM", "SM")
    cfun: int = 1
    # --- SIM and network
    sim_state: str = "READY"       # READY | SIM PIN | SIM PUK
    pin_attempts: int = 3
    registration: int = 1          # <stat>: 0 not searching, 1 home, 2 searching, 3 denied, 5 roaming
    next_mr: int = 0
    awaiting_ack: int = 0          # +CMT deliveries not yet acknowledged with +CNMA

    def __post_init__(self) -> None:
        if not self.storages:
            self.storages = {
                name: Storage(name, cap, self.profile.first_index)
                for name, cap in self.profile.storages.items()
            }

    def reset(self) -> None:
        """Power cycle: settings back to defaults, SIM locked again if it has a PIN."""
        self.echo, self.cmee, self.cmgf, self.cscs, self.csms = True, 0, 0, "IRA", 0
        self.clip, self.curc = False, True
        self.cnmi = self.profile.default_cnmi
        self.creg_n = self.cgreg_n = self.cereg_n = 0
        default = self.profile.default_storage
        self.cpms = (default, default, default)
        self.cfun = 1
        self.awaiting_ack = 0
        if self.sim_state != "SIM PUK":
            self.sim_state = "SIM PIN" if self.pin else "READY"

    def storage(self, name: str) -> Storage | None:
        """The memory called `name` (aliases resolved), or None when this family lacks it."""
        name = self.profile.storage_aliases.get(name, name)
        return self.storages.get(name)

    def take_mr(self) -> int:
        """The TP-MR for the next submission (one octet, wrapping like real modems)."""
        mr = self.next_mr
        self.next_mr = (self.next_mr + 1) % 256
        return mr

    @property
    def registered(self) -> bool:
        return self.cfun == 1 and self.registration in (1, 5)

    @property
    def sim_ready(self) -> bool:
        return self.sim_state == "READY"
