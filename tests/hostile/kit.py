"""A gatewayd process to attack, and the yardsticks of the attacks: /healthz latency and memory.

Used by tests/hostile and by bench/hostile.py. Every connection goes to 127.0.0.1; an attacker
"host" is a different source address on the loopback network (127.0.0.2, 127.0.0.3, …), which
Linux routes to 127.0.0.1 like any other.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HEALTHZ_P95_MS = 100.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HostileDaemon:
    """`python -m gatewayd run --simulate 0` in its own process, optionally with few descriptors.

    `env` adds GATEWAYD_* overrides; `pythonpath` runs another checkout's code (bench "before")."""

    def __init__(self, home: Path, *, nofile: int | None = None, env: dict[str, str] | None = None,
                 pythonpath: str | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.nofile = nofile
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "daemon.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAYD_", "NOTIFY_", "WATCHDOG_"))}
        self.env.update(GATEWAYD_HOME=str(home), GATEWAYD_HTTP__PORT=str(self.port), PYTHONUNBUFFERED="1",
                        GATEWAYD_QUIET_HOURS__ENABLED="false",
                        GATEWAYD_WEBHOOKS__ALLOW_LOCAL_TARGETS="true",  # the tests' receivers are on 127.0.0.1
                        **(env or {}))
        self.python = [sys.executable, "-m", "gatewayd"]
        if pythonpath:
            # Another checkout's code: the editable install's import hook would win over PYTHONPATH.
            self.python = [sys.executable, "-c", "import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path"
                           " if 'editable' not in getattr(f, '__module__', '')]; sys.path.insert(0, sys.argv.pop(1));"
                           " runpy.run_module('gatewayd', run_name='__main__')", pythonpath]
        self.proc: subprocess.Popen[bytes] | None = None

    def _limits(self) -> None:
        os.setsid()
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.python, *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    def start(self, timeout: float = 60.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([*self.python, "run", "--simulate", "0"],
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=self._limits)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}: {self.log_tail()}")
            if healthz_ms(self.url, timeout=1.0) is not None:
                return
            time.sleep(0.05)
        raise AssertionError(f"daemon not answering /healthz after {timeout} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def rss_mb(self) -> float:
        assert self.proc is not None
        return rss_mb(self.proc.pid)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def log_bytes(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def peak_rss_mb(pid: int) -> float:
    """Highest resident memory the process has had (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def healthz_ms(url: str, timeout: float = 2.0) -> float | None:
    """Milliseconds for one GET /healthz on a fresh connection (200 expected), None when it fails."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=timeout) as response:
            response.read()
            if response.status != 200:
                return None
    except (OSError, urllib.error.URLError):
        return None
    return (time.perf_counter() - started) * 1000


class HealthProbe:
    """Asks /healthz every `every` seconds in a thread while an attack runs; a failure counts as the
    timeout (so a daemon that stops answering shows as a slow one, never as a missing sample)."""

    def __init__(self, url: str, every: float = 0.05, timeout: float = 2.0) -> None:
        self.url, self.every, self.timeout = url, every, timeout
        self.samples: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            ms = healthz_ms(self.url, self.timeout)
            if ms is None:
                self.failures += 1
                ms = self.timeout * 1000
            self.samples.append(ms)
            self._stop.wait(self.every)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def p95(self) -> float:
        return percentile(self.samples, 95)

    def summary(self) -> str:
        return (f"{len(self.samples)} probes, {self.failures} failed, median {percentile(self.samples, 50):.1f} ms,"
                f" p95 {self.p95():.1f} ms, max {max(self.samples, default=0):.1f} ms")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def wait_for(condition: Any, timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def half_open_flood(port: int, sources: list[str], per_source: int) -> list[socket.socket]:
    """Connections that each send half a request and wait (slowloris), from each source address."""
    out: list[socket.socket] = []
    for source in sources:
        for _ in range(per_source):
            sock = socket.socket()
            sock.settimeout(2.0)
            sock.bind((source, 0))
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
            except OSError:
                sock.close()
                continue
            out.append(sock)
    return out


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the daemon has closed this connection (without blocking)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def json_request(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None,
                 data: bytes | None = None, timeout: float = 30.0) -> tuple[int, Any]:
    payload = data if data is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=payload, method=method, headers={
        **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")
