"""`python -m gatewayd run` as a real subprocess (kill -9 tests and benchmarks), pointed at
simulated modems that live in the calling process behind stable link paths."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, Any]], modems: list[dict[str, Any]]) -> None:
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        lines.append("")
    for modem in modems:
        lines.append("[[modems]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in modem.items()]
        lines.append("")
    path.write_text("\n".join(lines))


async def wait_until_ready(daemon: Any, lines: int, timeout: float = 30.0) -> None:
    """Until a daemon process's /healthz counts `lines` ready lines; fails with its log if it exits or stalls.

    `daemon` has `proc` (a Popen), `url` and `log_tail()`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            assert daemon.proc is not None
            if daemon.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {daemon.proc.returncode}: {daemon.log_tail()}")
            try:
                async with session.get(daemon.url + "/healthz") as resp:
                    body = await resp.json()
                    if body["modems"]["ready"] >= lines:
                        return
            except (aiohttp.ClientError, ValueError):
                pass
            if loop.time() > deadline:
                raise AssertionError(f"daemon not ready after {timeout} s: {daemon.log_tail()}")
            await asyncio.sleep(0.05)


class Daemon:
    """One gatewayd process over `config`; `kill9()` leaves no chance to clean up."""

    def __init__(self, workdir: Path, *, modems: list[dict[str, Any]], sections: dict[str, dict[str, Any]] | None = None,
                 database: Path | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "gatewayd.toml"
        self.database = database or workdir / "gatewayd.db"
        base: dict[str, dict[str, Any]] = {
            "storage": {"database": str(self.database)},
            "http": {"host": "127.0.0.1", "port": self.port},
            "logging": {"level": "WARNING"},
            "quiet_hours": {"enabled": False},
            "api": {"requests_per_minute": 0, "recipients_per_day": 0},
        }
        for name, values in (sections or {}).items():
            base.setdefault(name, {}).update(values)
        write_config(self.config, base, modems)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gatewayd", *args, "--config", str(self.config)],
                              capture_output=True, text=True, timeout=60, check=True)

    def api_key(self, *scopes: str) -> str:
        args = ["apikey", "create", "crash-test"]
        for scope in scopes or ("send", "read"):
            args += ["--scope", scope]
        return self.command(*args).stdout.strip().splitlines()[-1]

    def start(self) -> None:
        self.starts += 1
        log = open(self.workdir / f"daemon-{self.starts}.log", "wb")  # noqa: SIM115 - owned by the process
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "gatewayd", "run", "--config", str(self.config)],
                                     stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()

    async def wait_ready(self, lines: int, timeout: float = 30.0) -> None:
        """Until /healthz says every line is ready."""
        await wait_until_ready(self, lines, timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within the shutdown budget."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.workdir / f"daemon-{self.starts}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


async def all_messages(session: aiohttp.ClientSession, url: str, token: str) -> list[dict[str, Any]]:
    """Every message through the paginated list API."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = "?limit=500" + (f"&cursor={cursor}" if cursor else "")
        async with session.get(f"{url}/api/v1/messages{q}", headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.json()
        out += page["messages"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out
