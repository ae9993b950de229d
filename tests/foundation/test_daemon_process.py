"""The daemon as an admin runs it: a real process, sd_notify socket, signals, CLI while running."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 60  # two cores shared with the rest of the suite: starting can be slow, stopping must not


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAYD_", "NOTIFY_", "WATCHDOG_"))}
    env.update(GATEWAYD_HOME=str(home), GATEWAYD_HTTP__PORT=str(port), **extra)
    return env


def _cli(home: Path, port: int, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatewayd", *args], env=_env(home, port), input=stdin,
                          capture_output=True, text=True, timeout=60)


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Daemon:
    """`gatewayd run --simulate 1` in its own process, with a notify socket we read."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.notify_path = home / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(START_TIMEOUT_S)
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        # WATCHDOG_PID is left unset: systemd sets it to the service's pid, which we cannot know before.
        env = _env(self.home, self.port, NOTIFY_SOCKET=str(self.notify_path), WATCHDOG_USEC="1000000")
        self.proc = subprocess.Popen([sys.executable, "-m", "gatewayd", "run", "--simulate", "1"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def messages_until(self, wanted: str) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            datagram = self.notify.recv(4096).decode()
            seen.append(datagram)
            if wanted in datagram.splitlines():
                return seen
        raise AssertionError(f"{wanted} never arrived; got {seen}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.notify.close()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path)
    yield d
    d.close()


def test_start_ready_watchdog_serve_and_stop_on_sigterm_within_5_seconds(daemon: Daemon) -> None:
    daemon.start()
    daemon.messages_until("READY=1")
    daemon.messages_until("WATCHDOG=1")  # fed because the loop and the store answer

    status, health = _get(f"{daemon.url}/healthz")
    assert status == 200 and health["database"] == {"ok": True, "writable": True} and health["status"] in ("ok", "degraded")
    assert health["modems"]["total"] == 1

    # Embedded default: the data lives under $GATEWAYD_HOME, never in the working directory.
    assert (daemon.home / "gatewayd.db").exists() or list(daemon.home.rglob("*.db"))

    assert daemon.proc is not None
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    assert "STOPPING=1" in "".join(daemon.messages_until("STOPPING=1"))
    code = daemon.proc.wait(timeout=10)
    elapsed = time.monotonic() - started
    out = daemon.proc.stdout.read() if daemon.proc.stdout else ""
    assert code == 0, daemon.proc.stderr.read() if daemon.proc.stderr else ""
    assert elapsed < 5.0
    assert f"Console: http://127.0.0.1:{daemon.port}/" in out


def test_cli_user_apikey_and_backup_work_while_the_daemon_runs(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    daemon.messages_until("READY=1")

    weak = _cli(daemon.home, daemon.port, "user", "add", "ann", "--role", "admin", "--password-stdin",
                stdin="short\n")
    assert weak.returncode == 2 and weak.stderr.count("\n") == 1 and "password" in weak.stderr.lower()
    added = _cli(daemon.home, daemon.port, "user", "add", "ann", "--role", "admin", "--password-stdin",
                 stdin="Corr3ct-horse\n")
    assert added.returncode == 0, added.stderr

    created = _cli(daemon.home, daemon.port, "apikey", "create", "crm", "--scope", "read")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("gw_")
    assert _get(f"{daemon.url}/api/v1/modems", token)[0] == 200
    assert _get(f"{daemon.url}/api/v1/modems", token + "x")[0] == 401

    copy = tmp_path / "copy.db"
    backup = _cli(daemon.home, daemon.port, "backup", str(copy))
    assert backup.returncode == 0, backup.stderr
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT name, role FROM users").fetchall() == [("ann", "admin")]
        # The key is stored hashed: the secret never appears in the copy.
        assert token not in str(conn.execute("SELECT * FROM api_keys").fetchall())


def test_a_second_daemon_on_the_same_database_is_refused(daemon: Daemon) -> None:
    daemon.start()
    daemon.messages_until("READY=1")
    second = _cli(daemon.home, _free_port(), "run", "--simulate", "1")
    assert second.returncode == 1 and "another gatewayd" in second.stderr and str(daemon.proc.pid) in second.stderr


def test_bad_config_exits_2_with_one_line_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[http]\nport = "eighty"\n')
    result = _cli(tmp_path, 0, "run", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "http.port" in result.stderr


def test_usage_errors_exit_2_and_every_command_has_help(tmp_path: Path) -> None:
    assert _cli(tmp_path, 0, "frobnicate").returncode == 2
    assert _cli(tmp_path, 0, "apikey", "create", "x", "--scope", "root").returncode == 2
    for command in (["run"], ["user", "add"], ["apikey", "create"], ["backup"], ["restore"], ["modem", "probe"]):
        result = _cli(tmp_path, 0, *command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_a_port_in_use_fails_with_a_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _cli(tmp_path, taken.getsockname()[1], "run", "--simulate", "1")
    assert result.returncode == 1 and "cannot listen" in result.stderr
    # Checked before anything starts: no modem was opened (the simulator makes its links in sim/).
    assert not (tmp_path / "sim").exists() and "line1" not in result.stderr


def _config_with_line1(tmp_path: Path) -> Path:
    # What the Debian package installs: the example's real line is called line1 too.
    config = tmp_path / "gatewayd.toml"
    config.write_text(f'[storage]\ndatabase = "{tmp_path / "gatewayd.db"}"\n[http]\nhost = "127.0.0.1"\n'
                      f'[[modems]]\nname = "line1"\nport = "{tmp_path / "no-such-port"}"\n')
    return config


def test_simulated_lines_run_beside_a_configuration_whose_line_is_called_line1(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gatewayd", "run", "--config", str(_config_with_line1(tmp_path)),
                             "--simulate", "1"], env=_env(tmp_path, port), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        health: dict = {}
        while time.monotonic() < deadline and not health:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            try:
                health = _get(f"http://127.0.0.1:{port}/healthz")[1]
            except OSError:
                time.sleep(0.2)
        assert health["modems"]["total"] == 2
        # The simulated line takes the first free name; the configured line1 keeps its own.
        token = _cli(tmp_path, port, "apikey", "create", "t", "--config", str(tmp_path / "gatewayd.toml")
                     ).stdout.strip().splitlines()[-1]
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/modems", token)
        assert status == 200 and sorted(m["name"] for m in body["modems"]) == ["line1", "line2"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_a_component_that_fails_at_start_ends_the_process_instead_of_hanging(tmp_path: Path) -> None:
    # The simulator keeps its links in <data dir>/sim: a file there makes it fail after the
    # database (and its worker thread) is already open.
    (tmp_path / "sim").write_text("in the way")
    result = subprocess.run([sys.executable, "-m", "gatewayd", "run", "--simulate", "1"],
                            env=_env(tmp_path, _free_port()), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "sim" in result.stderr
