"""What each simulated modem family answers and says on its own (identity, ranges, boot noise).

Answers follow what these families print (SIMCom SIM800/SIM7600, Quectel EC25, Huawei E3372 in
stick mode); where firmware versions differ, one plausible version is chosen. A profile is data
only: the command handlers read it, so a new family is a new entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    """One modem family as the simulator plays it."""

    name: str
    manufacturer: str                      # AT+CGMI
    model: str                             # AT+CGMM
    revision: str                          # AT+CGMR (verbatim, prefix included when the family prints one)
    ati: tuple[str, ...]                   # ATI lines; "{imei}" is filled in
    boot: tuple[str, ...]                  # lines after power-up (SIM ready case)
    boot_pin: tuple[str, ...]              # lines after power-up when the SIM wants a PIN
    after_pin: tuple[str, ...]             # lines once the right PIN is entered
    cnmi_test: str                         # AT+CNMI=? answer
    cnmi_modes: frozenset[int]
    cnmi_mt: frozenset[int]
    cnmi_ds: frozenset[int]
    cpms_test: str                         # AT+CPMS=? answer
    storages: dict[str, int]               # storage name -> capacity
    storage_aliases: dict[str, str] = field(default_factory=dict)  # e.g. "MT" -> "SM"
    first_index: int = 1                   # Quectel numbers SIM slots from 0
    empty_read_error: int | None = None    # +CMS code for AT+CMGR on an empty slot (None: bare OK)
    unknown_reply: str = "ERROR"
    cereg: bool = True                     # 2G-only modules do not know AT+CEREG
    act: int | None = 7                    # <AcT> shown in +COPS? (None: the field is absent)
    iccid_commands: tuple[str, ...] = ("+CCID",)
    iccid_format: str = "{iccid}"          # how the ICCID line is printed
    noise: tuple[str, ...] = ()            # spontaneous lines of the family
    noise_interval: float | None = None    # seconds between spontaneous lines (None: silent)
    memfull_urc: str | None = None         # said when an SMS arrives and storage is full
    usb_reset: bool = False                # AT+CFUN=1,1 re-enumerates the USB device (port vanishes)
    ussd_reply: str = "after_ok"           # "after_ok" | "before_ok" (the +CUSD line comes inside the reply)
    ussd_packed_hex: bool = False          # USSD text as 7-bit GSM packed in hex (Huawei), not plain
    default_cnmi: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    # +CPMS after power-up or USB re-enumeration, before the host selects anything (Huawei sticks
    # come back on ME: what arrives before the host re-selects lands there).
    default_storage: str = "SM"


_QUALCOMM_CNMI = "+CNMI: (0,1),(0-3),(0,2),(0-2),(0,1)"

PROFILES: dict[str, Profile] = {
    "sim800": Profile(
        name="sim800",
        manufacturer="SIMCOM_Ltd",
        model="SIMCOM_SIM800L",
        revision="Revision:1418B04SIM800L24",
        ati=("SIM800 R14.18",),
        ussd_reply="before_ok",
        boot=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
        boot_pin=("RDY", "+CFUN: 1", "+CPIN: SIM PIN"),
        after_pin=("+CPIN: READY", "Call Ready", "SMS Ready"),
        cnmi_test="+CNMI: (0-3),(0-3),(0,2),(0,1),(0,1)",
        cnmi_modes=frozenset({0, 1, 2, 3}),
        cnmi_mt=frozenset({0, 1, 2, 3}),
        cnmi_ds=frozenset({0, 1}),
        cpms_test='+CPMS: ("SM","ME","SM_P","ME_P","MT"),("SM","ME","SM_P","ME_P","MT"),("SM","ME","SM_P","ME_P","MT")',
        storages={"SM": 30, "ME": 20},
        storage_aliases={"SM_P": "SM", "ME_P": "ME", "MT": "SM"},
        cereg=False,
        act=None,
    ),
    "sim7600": Profile(
        name="sim7600",
        manufacturer="SIMCOM INCORPORATED",
        model="SIMCOM_SIM7600E-H",
        revision="+CGMR: LE20B04SIM7600M22",
        ati=("Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H",
             "Revision: SIM7600M22_V2.0", "IMEI: {imei}", "+GCAP: +CGSM"),
        boot=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
        boot_pin=("RDY", "+CPIN: SIM PIN"),
        after_pin=("+CPIN: READY", "SMS DONE", "PB DONE"),
        cnmi_test=_QUALCOMM_CNMI,
        cnmi_modes=frozenset({0, 1}),
        cnmi_mt=frozenset({0, 1, 2, 3}),
        cnmi_ds=frozenset({0, 1, 2}),
        cpms_test='+CPMS: ("ME","MT","SM","SR"),("ME","MT","SM","SR"),("ME","MT","SM")',
        storages={"SM": 40, "ME": 255, "SR": 20},
        storage_aliases={"MT": "SM"},
        iccid_commands=("+CICCID", "+CCID"),
        iccid_format="+ICCID: {iccid}",
        usb_reset=True,
    ),
    "ec25": Profile(
        name="ec25",
        manufacturer="Quectel",
        model="EC25",
        revision="EC25EFAR06A06M4G",
        ati=("Quectel", "EC25", "Revision: EC25EFAR06A06M4G"),
        boot=("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
        boot_pin=("RDY", "+CFUN: 1", "+CPIN: SIM PIN"),
        after_pin=("+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
        cnmi_test=_QUALCOMM_CNMI,
        cnmi_modes=frozenset({0, 1}),
        cnmi_mt=frozenset({0, 1, 2, 3}),
        cnmi_ds=frozenset({0, 1, 2}),
        cpms_test='+CPMS: ("SM","ME","MT"),("SM","ME","MT"),("SM","ME","MT")',
        storages={"SM": 50, "ME": 255},
        storage_aliases={"MT": "SM"},
        first_index=0,
        iccid_commands=("+QCCID", "+CCID"),
        iccid_format="+QCCID: {iccid}",
        memfull_urc='+QIND: "smsfull","SM"',
        usb_reset=True,
    ),
    "e3372": Profile(
        name="e3372",
        manufacturer="huawei",
        model="E3372",
        revision="21.180.01.00.00",
        ati=("Manufacturer: huawei", "Model: E3372", "Revision: 21.180.01.00.00",
             "IMEI: {imei}", "+GCAP: +CGSM,+DS,+ES"),
        boot=("^BOOT:20358,0,0,0,82", "^SIMST: 1", "^SRVST: 2"),
        boot_pin=("^BOOT:20358,0,0,0,82", "^SIMST: 255"),
        after_pin=("^SIMST: 1", "^SRVST: 2"),
        cnmi_test="+CNMI: (0,1),(0,1,2,3),(0,2),(0,1,2),(0,1)",
        cnmi_modes=frozenset({0, 1}),
        cnmi_mt=frozenset({0, 1, 2, 3}),
        cnmi_ds=frozenset({0, 1, 2}),
        cpms_test='+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")',
        storages={"SM": 50, "ME": 100},
        empty_read_error=321,
        unknown_reply="COMMAND NOT SUPPORT",
        iccid_commands=("^ICCID",),
        iccid_format="^ICCID: {iccid_swapped}",
        noise=("^RSSI: 18", '^HCSQ: "LTE",52,46,140,27', "^MODE: 7,9", "^BOOT:20358,0,0,0,82", "^SRVST: 2"),
        noise_interval=2.0,
        memfull_urc='^SMMEMFULL: "SM"',
        usb_reset=True,
        ussd_packed_hex=True,
        default_storage="ME",
    ),
    "generic": Profile(
        name="generic",
        manufacturer="GENERIC",
        model="GSM MODEM",
        revision="1.0.0",
        ati=("Generic GSM modem 1.0.0",),
        boot=(),
        boot_pin=(),
        after_pin=(),
        cnmi_test="+CNMI: (0-2),(0-3),(0-3),(0-2),(0,1)",
        cnmi_modes=frozenset({0, 1, 2}),
        cnmi_mt=frozenset({0, 1, 2, 3}),
        cnmi_ds=frozenset({0, 1, 2}),
        cpms_test='+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")',
        storages={"SM": 25, "ME": 100},
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called `name`; ValueError listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown modem profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
