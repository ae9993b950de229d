"""`gatewayd modem probe PORT`: identify a modem and its SIM with read-only AT queries."""

from __future__ import annotations

import os
from pathlib import Path

from gatewayd.modem import replies as rp
from gatewayd.modem.errors import CommandError, CommandTimeout, ModemError
from gatewayd.modem.session import AtSession, Response
from gatewayd.modem.timings import ModemTimings

_REG_TEXT = {0: "not registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown",
             5: "roaming", 6: "home (SMS only)", 7: "roaming (SMS only)", 8: "emergency only"}


def port_holders(port: str, proc: Path = Path("/proc")) -> list[str]:
    """Processes that have `port` open ('pid name'), found by scanning /proc/*/fd."""
    try:
        target = os.path.realpath(port)
    except OSError:
        return []
    holders: list[str] = []
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue  # gone, or not ours to look at
        for fd in fds:
            try:
                if os.path.realpath(fd) == target:
                    comm = (entry / "comm").read_text().strip()
                    holders.append(f"{entry.name} {comm}")
                    break
            except OSError:
                continue
    return holders


async def _ask(session: AtSession, command: str, timeout: float | None = None) -> Response | None:
    try:
        return await session.command(command, timeout=timeout)
    except CommandError:
        return None


async def collect_probe(session: AtSession) -> dict[str, str]:
    """Read identity, SIM, registration, signal, SMSC, storage and CNMI support (changes nothing)."""
    out: dict[str, str] = {}
    for key, command in (("manufacturer", "AT+CGMI"), ("model", "AT+CGMM"), ("firmware", "AT+CGMR")):
        resp = await _ask(session, command)
        out[key] = rp.strip_prefix(resp.lines[0]) if resp and resp.lines else "?"
    resp = await _ask(session, "AT+CGSN")
    out["imei"] = (rp.first_digits(resp.lines, 14) if resp else None) or "?"
    try:
        resp = await session.command("AT+CPIN?")
        line = resp.first("+CPIN:")
        out["sim"] = rp.parse_cpin(line) if line else "?"
    except CommandError as exc:
        out["sim"] = f"error: {exc.info.name if exc.info else exc.text or exc.kind}"
    resp = await _ask(session, "AT+CIMI")
    out["imsi"] = (rp.first_digits(resp.lines) if resp else None) or "?"
    out["iccid"] = "?"
    for command in ("AT+CCID", "AT+ICCID", "AT+QCCID", "AT^ICCID?", "AT#CCID", "AT+CICCID"):
        resp = await _ask(session, command)
        iccid = rp.parse_iccid(resp.lines) if resp else None
        if iccid:
            out["iccid"] = iccid
            break
    regs = []
    for kind in ("+CREG", "+CGREG", "+CEREG"):
        resp = await _ask(session, f"AT{kind}?")
        line = resp.first(kind + ":") if resp else None
        if line:
            try:
                stat = rp.parse_registration(line, solicited=True).stat
                regs.append(f"{kind[1:]} {_REG_TEXT.get(stat, str(stat))}")
            except rp.ReplyError:
                regs.append(f"{kind[1:]} {line}")
    out["registration"] = ", ".join(regs) or "?"
    resp = await _ask(session, "AT+COPS?", timeout=session.timings.slow_command)
    line = resp.first("+COPS:") if resp else None
    out["operator"] = (rp.parse_cops(line).name if line else None) or "?"
    resp = await _ask(session, "AT+CSQ")
    line = resp.first("+CSQ:") if resp else None
    if line:
        sig = rp.parse_csq(line)
        out["signal"] = "unknown" if sig.rssi is None else f"{sig.rssi}/31 ({sig.dbm} dBm)"
    else:
        out["signal"] = "?"
    resp = await _ask(session, "AT+CSCA?")
    line = resp.first("+CSCA:") if resp else None
    out["smsc"] = (rp.parse_csca(line) if line else None) or "?"
    resp = await _ask(session, "AT+CPMS?")
    line = resp.first("+CPMS:") if resp else None
    if line:
        out["storage"] = ", ".join(f"{s.memory} {s.used}/{s.total}" for s in rp.parse_cpms(line))
    else:
        out["storage"] = "?"
    resp = await _ask(session, "AT+CNMI=?")
    line = resp.first("+CNMI:") if resp else None
    out["cnmi_support"] = line.partition(":")[2].strip() if line else "?"
    return out


async def probe_port(port: str, baudrate: int = 115200, *, timings: ModemTimings | None = None) -> dict[str, str]:
    """Open `port`, probe it, close it; ModemError with a readable message when it cannot."""
    holders = port_holders(port)
    session = AtSession("probe", timings or ModemTimings(command=3.0, slow_command=10.0, resync_attempts=4))
    try:
        await session.open(port, baudrate)
    except ModemError as exc:
        extra = f" (held by: {', '.join(holders)})" if holders else ""
        raise ModemError(f"{exc}{extra}") from None
    try:
        try:
            await session.command("ATE0")
        except CommandTimeout:
            raise ModemError(f"{port}: no answer to AT (not an AT port, wrong baud rate, or busy)") from None
        result = {"port": port}
        result.update(await collect_probe(session))
    finally:
        await session.close()
    result["held_by"] = ", ".join(holders) if holders else "nobody else"
    if any("modemmanager" in h.lower() for h in holders):
        result["advice"] = ("ModemManager holds this port: stop it (systemctl stop ModemManager) or add "
                            "a udev rule with ENV{ID_MM_DEVICE_IGNORE}=\"1\" (see firmware-notes/)")
    return result


def format_probe(result: dict[str, str]) -> str:
    """Aligned 'key: value' lines for the terminal."""
    width = max((len(k) for k in result), default=0)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {v}" for k, v in result.items())
