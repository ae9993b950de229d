"""Modem families as small deltas over one generic AT profile (no `if manufacturer ==` elsewhere).

What an unsolicited code *means* to the driver is a table too: the generic entries (3GPP codes)
plus the dialect's own (`urc_meanings`), so a new family is a new `Dialect` value and its
transcripts, nothing in driver.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatewayd.modem.at import Urc, UrcSpec

# What the driver does with a URC (beyond the 3GPP codes it handles itself: +CMTI, +CMT, +CDSI,
# +CDS, RING, +CRING, +CLIP, +CUSD and the registration codes).
SIGNAL = "signal"              # the argument is an RSSI 0–31 (like +CSQ's first field)
READY = "ready"                # the SMS service is ready (stop waiting out "SIM busy")
CALL_END = "call-end"          # the incoming call ended
STORAGE_FULL = "storage-full"  # the message storage is full: sweep it now
REBOOTED = "rebooted"          # the modem restarted: its settings are gone


@dataclass(frozen=True)
class UrcMeaning:
    """One row of the URC table: the URC called `name` (as the parser registry names it), when its
    line contains `contains` (case-insensitive; empty: always), means `means`."""

    name: str
    means: str
    contains: str = ""

    def matches(self, urc: Urc) -> bool:
        return urc.name == self.name and self.contains.lower() in urc.line.lower()


GENERIC_MEANINGS: tuple[UrcMeaning, ...] = (
    UrcMeaning("RDY", REBOOTED),
    UrcMeaning("NO CARRIER", CALL_END),
    UrcMeaning("BUSY", CALL_END),
    UrcMeaning("NO ANSWER", CALL_END),
    UrcMeaning("+CIEV", STORAGE_FULL, "smsfull"),   # 27.007 indicator "smsfull"
)


@dataclass(frozen=True)
class Dialect:
    """What differs between families: detection, extra URCs, init, storage, CNMI and call verbs."""

    name: str
    match: tuple[str, ...] = ()                 # lowercase fragments of "manufacturer model"
    extra_urcs: tuple[UrcSpec, ...] = ()       # parser registry: lines that are URCs, not answers
    urc_meanings: tuple[UrcMeaning, ...] = ()   # what some of them mean (after GENERIC_MEANINGS)
    init: tuple[str, ...] = ()                  # best-effort extra commands after the generic init
    # Whole lines that say the SMS service is ready. The generic profile knows the common ones, as
    # it is also the profile in use before `auto` has identified the modem.
    ready_markers: tuple[str, ...] = ("SMS Ready", "+QIND: SMS DONE", "SMS DONE")
    storage: tuple[str, ...] = ("SM", "ME", "MT")  # preferred message storage, first supported wins
    cnmi_mode2: bool = True                     # False: firmware rejects or mishandles mode 2
    # Status-report routing, first supported wins: 2 (stored, +CDSI) survives a daemon restart,
    # 1 (direct, +CDS) is lost when nobody reads the port.
    cnmi_ds: tuple[int, ...] = (2, 1)
    # Tried in turn until one answers an ICCID (the generic profile tries every family's spelling:
    # SIMCom A76xx answers only AT+CICCID, Telit AT#CCID, Huawei AT^ICCID?).
    iccid_commands: tuple[str, ...] = ("AT+CCID", "AT+ICCID", "AT+QCCID", "AT+CICCID", "AT^ICCID?", "AT#CCID")
    hangup: str = "ATH"
    reset: str = "AT+CFUN=1,1"
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def meaning(self, urc: Urc) -> str | None:
        """What `urc` means to the driver (READY, SIGNAL…), or None: the dialect's rows first."""
        if urc.line in self.ready_markers:
            return READY
        for row in (*self.urc_meanings, *GENERIC_MEANINGS):
            if row.matches(urc):
                return row.means
        return None


GENERIC = Dialect("generic", notes="3GPP TS 27.005/27.007 only")

SIM800 = Dialect(
    "sim800", match=("simcom sim800", "sim800", "sim900"),
    extra_urcs=(UrcSpec("*PSNWID:", "*PSNWID"),),
    init=("AT+CLTS=0",),                        # network time URCs are noise for us
    ready_markers=("SMS Ready",),
    cnmi_ds=(1, 0),                             # SIM800 accepts only ds 0/1
    iccid_commands=("AT+CCID", "AT+ICCID"),
    notes="2G only; +CREG is the only registration that matters",
)

SIM7600 = Dialect(
    "sim7600", match=("sim7600", "sim7500", "sim7000", "sim7070", "simcom_sim76"),
    extra_urcs=(UrcSpec("+CPSI:", "+CPSI"), UrcSpec("+CNSMOD:", "+CNSMOD")),
    init=("AT+CLTS=0",),
    ready_markers=("SMS DONE", "PB DONE"),
    iccid_commands=("AT+CICCID", "AT+CCID", "AT+ICCID"),
    hangup="AT+CHUP",
)

EC25 = Dialect(
    "ec25", match=("quectel", "ec25", "ec21", "eg25", "em06", "bg96"),
    extra_urcs=(UrcSpec("+QIURC:", "+QIURC"), UrcSpec("POWERED DOWN", "POWERED DOWN")),
    urc_meanings=(UrcMeaning("+QIND", STORAGE_FULL, '"smsfull"'),),
    init=('AT+QURCCFG="urcport","usbat"',),     # URCs on the AT port, not the modem port
    ready_markers=("+QIND: SMS DONE",),
    storage=("ME", "SM", "MT"),
    iccid_commands=("AT+QCCID", "AT+CCID"),
    hangup="AT+CHUP",
)

E3372 = Dialect(
    "e3372", match=("huawei", "e3372", "e353", "e3131", "ms2131", "ms2372"),
    extra_urcs=(UrcSpec("^SMMEMFULL:", "^SMMEMFULL"), UrcSpec("^NWTIME:", "^NWTIME"),
                UrcSpec("^CEND:", "^CEND"), UrcSpec("^ORIG:", "^ORIG"), UrcSpec("^CONF:", "^CONF"),
                UrcSpec("^CONN:", "^CONN"), UrcSpec("^NDISSTAT:", "^NDISSTAT"),
                UrcSpec("^RSSILVL:", "^RSSILVL"), UrcSpec("^HRSSILVL:", "^HRSSILVL"),
                UrcSpec("^LTERSRP:", "^LTERSRP"), UrcSpec("^ACTIVEBAND:", "^ACTIVEBAND"),
                UrcSpec("^CERSSI:", "^CERSSI")),
    urc_meanings=(UrcMeaning("^RSSI", SIGNAL), UrcMeaning("^CEND", CALL_END),
                  UrcMeaning("^SMMEMFULL", STORAGE_FULL)),
    init=("AT^CURC=0",),                        # silence ^RSSI/^HCSQ periodic reports where allowed
    ready_markers=(),
    cnmi_mode2=False,                           # stick firmware rejects mode 2
    iccid_commands=("AT^ICCID?", "AT+CCID"),
    hangup="AT+CHUP",
    notes="stick (serial) mode only; HiLink mode has no AT port",
)

SIERRA = Dialect(
    "sierra", match=("sierra", "mc7455", "mc7304", "em7455", "em7565"),
    extra_urcs=(UrcSpec("!PCINFO:", "!PCINFO"),),
    ready_markers=(),
    cnmi_mode2=False,                           # Qualcomm base: mode 2 rejected
    iccid_commands=("AT!ICCID?", "AT+ICCID", "AT+CCID"),
    hangup="AT+CHUP",
)

TELIT = Dialect(
    "telit", match=("telit", "le910", "ln920", "he910", "ge910"),
    extra_urcs=(UrcSpec("#QSS:", "#QSS"), UrcSpec("#STN:", "#STN")),
    init=("AT#QSS=0",),                         # no SIM-status URC storm
    ready_markers=(),
    iccid_commands=("AT#CCID", "AT+ICCID", "AT+CCID"),
    hangup="AT+CHUP",
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (GENERIC, SIM800, SIM7600, EC25, E3372, SIERRA, TELIT)}


def by_name(name: str) -> Dialect:
    """The dialect called `name`; ValueError listing the known ones otherwise."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown modem dialect {name!r} (known: {', '.join(DIALECTS)})") from None


def detect(manufacturer: str | None, model: str | None) -> Dialect:
    """Pick a dialect from AT+CGMI/AT+CGMM answers; the generic profile when nothing matches."""
    text = f"{manufacturer or ''} {model or ''}".lower()
    # Most specific first: model fragments before manufacturer names (SIMCom makes both families).
    for dialect in (SIM7600, SIM800, EC25, E3372, SIERRA, TELIT):
        if any(fragment in text for fragment in dialect.match):
            return dialect
    return GENERIC
