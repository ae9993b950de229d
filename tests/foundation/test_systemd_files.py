"""The shipped systemd unit and udev rules are well-formed and say what the daemon relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
UNIT = ROOT / "systemd" / "gatewayd.service"
RULES = ROOT / "systemd" / "99-gatewayd-modems.rules"


def _unit() -> ConfigParser:
    parser = ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_declares_notify_watchdog_and_an_unprivileged_user() -> None:
    service = _unit()["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) >= 10
    assert service["Restart"] == "on-failure"
    assert service["User"] == "gatewayd" and "dialout" in service["SupplementaryGroups"]
    assert service["StateDirectory"] == "gatewayd"
    assert service["ExecStart"].split()[1:] == ["run", "--config", "/etc/gatewayd/gatewayd.toml"]
    # Stopping must leave systemd room: the daemon promises to stop within 5 s.
    assert int(service["TimeoutStopSec"]) > 5
    # Exit status 2 is a bad configuration (cli.py): restarting cannot fix it.
    assert service["RestartPreventExitStatus"].split() == ["2"]
    # A Pi without a real-time clock boots in the past: start once the clock is synchronised.
    assert "time-sync.target" in _unit()["Unit"]["After"].split()


def test_unit_lets_the_daemon_reach_usb_and_gpio_uart_modems_only() -> None:
    allowed = [line.split("=", 1)[1].split() for line in UNIT.read_text().splitlines()
               if line.startswith("DeviceAllow=")]
    assert sorted(device for device, _mode in allowed) == ["char-ttyACM", "char-ttyAMA", "char-ttyS", "char-ttyUSB"]
    assert "DevicePolicy=closed" in UNIT.read_text().splitlines()


def _with_existing_exec(unit: Path, tmp_path: Path) -> Path:
    # verify/security check that ExecStart exists: point it at this environment's gatewayd script.
    script = Path(sys.executable).parent / "gatewayd"
    assert script.exists(), "gatewayd is not installed in this environment"
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace("/opt/gatewayd/venv/bin/gatewayd", str(script)))
    return copy


_SCORE = re.compile(r"Overall exposure level for gatewayd\.service: (\d+\.\d)")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (Debian package 'systemd')")
def test_unit_hardening_scores_2_or_lower_in_systemd_analyze_security(tmp_path: Path) -> None:
    unit = _with_existing_exec(UNIT, tmp_path)
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=60)
    match = _SCORE.search(result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (Debian package 'systemd')")
def test_backup_timer_and_service_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    service = _with_existing_exec(ROOT / "systemd" / "gatewayd-backup.service", tmp_path)
    timer = tmp_path / "gatewayd-backup.timer"
    timer.write_text((ROOT / "systemd" / "gatewayd-backup.timer").read_text())
    result = subprocess.run(["systemd-analyze", "verify", str(timer), str(service)], capture_output=True,
                            text=True, timeout=60)
    ours = [line for line in result.stderr.splitlines() if "gatewayd-backup" in line]
    assert ours == [], result.stderr
    assert "--keep" in service.read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (Debian package 'systemd')")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this environment's gatewayd script.
    script = Path(sys.executable).parent / "gatewayd"
    assert script.exists(), "gatewayd is not installed in this environment"
    text = UNIT.read_text().replace("/opt/gatewayd/venv/bin/gatewayd", str(script))
    unit = tmp_path / "gatewayd.service"
    unit.write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                            timeout=60)
    # Complaints about other units on the host are not ours; any line naming our unit is.
    ours = [line for line in result.stderr.splitlines() if "gatewayd.service" in line]
    assert ours == [], result.stderr


_PAIR = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)')


def test_udev_rules_parse_and_every_goto_has_its_label() -> None:
    gotos: set[str] = set()
    labels: set[str] = set()
    for number, line in enumerate(RULES.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pairs = []
        rest = line
        while rest.strip():
            match = _PAIR.match(rest)
            assert match, f"line {number}: cannot parse {rest!r}"
            pairs.append(match.groups())
            rest = rest[match.end():]
        for key, _op, value in pairs:
            if key == "GOTO":
                gotos.add(value)
            if key == "LABEL":
                labels.add(value)
    assert gotos and gotos <= labels
    text = RULES.read_text()
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in text and 'SYMLINK+="gatewayd/' in text


def test_udev_rules_keep_modemmanager_off_every_port_of_the_modem_not_only_serial() -> None:
    # QMI/MBIM control ports are usbmisc (cdc-wdm), their data side net/wwan: ModemManager grabs
    # the modem through any of them, so the ignore flags must be set before the rules narrow to tty.
    lines = [line.strip() for line in RULES.read_text().splitlines() if line.strip() and not line.startswith("#")]
    first_filter = next(line for line in lines if line.startswith("SUBSYSTEM!="))
    for subsystem in ("usb", "tty", "usbmisc", "net", "wwan"):
        assert subsystem in first_filter.split('"')[1].split("|")
    ignore = lines.index('ENV{ID_MM_DEVICE_IGNORE}="1"')
    narrow = lines.index('SUBSYSTEM!="tty", GOTO="gatewayd_end"')
    assert ignore < narrow
