"""README "Backup and restore", followed step by step on a real daemon process (`gatewayd run --simulate 1`).

Data goes in (a user, an API key, an opt-out and a message through the API), `gatewayd backup` runs
while the daemon serves, more data goes in, the daemon stops (SIGTERM, as `systemctl stop`), the
README's shell lines move the database with its -wal/-shm aside and install the copy, the daemon
starts again: what existed at backup time is there, the later changes are not, integrity is ok.
"""

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
from typing import Any

import pytest

START_TIMEOUT_S = 60  # two shared cores: a start can be slow under load


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Box:
    """One GATEWAYD_HOME: the daemon process, the CLI and the HTTP API against it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.token = ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAYD_", "NOTIFY_", "WATCHDOG_"))}
        env.update(GATEWAYD_HOME=str(self.home), GATEWAYD_HTTP__PORT=str(self.port))
        return env

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "gatewayd", *args], env=self.env(), input=stdin,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gatewayd", "run", "--simulate", "1"], env=self.env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else "exited"
            try:
                status, health = self.call("GET", "/healthz")
                if status == 200 and health["modems"]["ready"] == 1:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("the daemon did not become ready")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)  # what `systemctl stop` sends
        assert self.proc.wait(timeout=15) == 0, self.proc.stderr.read() if self.proc.stderr else ""
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def send(self, to: str, text: str) -> int:
        status, body = self.call("POST", "/api/v1/messages", {"to": to, "text": text, "category": "transactional"})
        assert status == 202, body
        message_id = int(body["messages"][0]["id"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, message = self.call("GET", f"/api/v1/messages/{message_id}")
            if message["state"] in ("sent", "delivered"):
                return message_id
            assert message["state"] in ("queued", "sending"), message
            time.sleep(0.1)
        raise AssertionError(f"message {message_id} was never sent")

    def opt_out(self, number: str) -> None:
        status, body = self.call("POST", "/api/v1/opt-outs", {"number": number})
        assert status in (200, 201), body

    def opted_out(self) -> set[str]:
        status, body = self.call("GET", "/api/v1/opt-outs")
        assert status == 200, body
        return {o["number"] for o in body["opt_outs"]}


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    home = tmp_path / "var-lib-gatewayd"
    home.mkdir()
    b = Box(home)
    yield b
    b.kill()


def users(db: Path) -> set[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM users")}


def test_the_readme_restore_procedure_brings_back_the_backup_and_only_it(box: Box, tmp_path: Path) -> None:
    box.start()
    box.cli("user", "add", "ann", "--role", "admin", "--password-stdin", stdin="Corr3ct-horse-ann\n")
    box.token = box.cli("apikey", "create", "ops", "--scope", "admin").strip().splitlines()[-1]
    box.opt_out("+33611111111")
    kept_id = box.send("+33612345678", "Avant la sauvegarde")

    # `gatewayd backup PATH` while the daemon runs.
    backup = tmp_path / "backups" / "gatewayd-2026-11-23.db"
    backup.parent.mkdir()
    assert "backup written to" in box.cli("backup", str(backup))

    # Life goes on after the backup: these must not survive the restore.
    box.opt_out("+33622222222")
    lost_id = box.send("+33698765432", "Après la sauvegarde")
    box.cli("user", "add", "bob", "--role", "viewer", "--password-stdin", stdin="Corr3ct-horse-bob\n")
    assert box.opted_out() == {"+33611111111", "+33622222222"}

    # README: `gatewayd restore` refuses while the daemon runs; stop it, restore, start.
    refused = subprocess.run([sys.executable, "-m", "gatewayd", "restore", str(backup)], env=box.env(),
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "running" in refused.stderr and "stop it first" in refused.stderr
    assert users(box.home / "gatewayd.db") == {"ann", "bob"}  # untouched
    box.stop()
    out = box.cli("restore", str(backup))
    assert "schema version" in out
    previous = next((box.home / "backups").glob("before-restore-*"))
    assert users(previous / "gatewayd.db") == {"ann", "bob"}  # the later data was committed and is kept
    assert not list(box.home.glob("gatewayd.db-*"))  # no stale -wal/-shm beside the restored file
    assert (box.home / "gatewayd.db").stat().st_mode & 0o777 == 0o600
    box.start()

    status, health = box.call("GET", "/healthz")
    assert status == 200 and health["database"] == {"ok": True, "writable": True}
    assert box.opted_out() == {"+33611111111"}
    status, kept = box.call("GET", f"/api/v1/messages/{kept_id}")
    assert status == 200 and kept["to"] == "+33612345678" and kept["state"] in ("sent", "delivered")
    assert box.call("GET", f"/api/v1/messages/{lost_id}")[0] == 404
    live = box.home / "gatewayd.db"
    assert users(live) == {"ann"}
    with sqlite3.connect(f"file:{live}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    box.stop()
