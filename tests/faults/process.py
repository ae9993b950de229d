"""`python -m gatewayd run` as a subprocess whose file-size limit the test controls, so writes to
the database fail as on a full disk and succeed again when the limit is raised ("space returns")."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.outbound.daemon import Daemon

UNLIMITED = resource.RLIM_INFINITY


def unshare_works() -> bool:
    """Whether this machine lets an unprivileged process mount a tmpfs in its own namespace (and
    nsenter is there to look inside it)."""
    if shutil.which("nsenter") is None:
        return False
    try:
        return subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=64k t /mnt"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _own_session_ignoring_sigxfsz() -> None:
    # Without this the kernel kills the process at the first write past the limit (SIGXFSZ);
    # ignored, the write fails with EFBIG instead, which is what SQLite then reports.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.setsid()


class LimitedDaemon(Daemon):
    """One gatewayd process; `limit_files(n)` caps the size any file it writes may reach."""

    def __init__(self, workdir: Path, *, modems: list[dict[str, Any]] | None = None,
                 sections: dict[str, dict[str, Any]] | None = None, tmpfs_bytes: int | None = None) -> None:
        # With tmpfs_bytes the database lives on a small tmpfs of its own, mounted in a private
        # user+mount namespace around the daemon: a real disk that really fills up (ENOSPC).
        self.tmpfs_bytes = tmpfs_bytes
        self.disk = workdir / "disk"
        self.disk.mkdir(exist_ok=True)
        super().__init__(workdir, modems=modems or [], sections=sections, database=self.disk / "gatewayd.db")
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        # Logs go through a pipe, not a file: a log file would hit the same size limit.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-m", "gatewayd", "run", "--config", str(self.config)]
        if self.tmpfs_bytes is not None:
            # The database made by `apikey create` is carried onto the fresh tmpfs mounted over its dir.
            stage = self.workdir / "stage"
            stage.mkdir(exist_ok=True)
            script = ('cp -a "$0"/. "$1"/ && mount -t tmpfs -o size="$2" gatewayd-disk "$0" && '
                      'cp -a "$1"/. "$0"/ && shift 2 && exec "$@"')
            argv = ["unshare", "-Urm", "sh", "-c", script, str(self.disk), str(stage), str(self.tmpfs_bytes), *argv]
        self.proc = subprocess.Popen(argv,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=_own_session_ignoring_sigxfsz)
        self._reader = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        self._reader.start()

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.output.append(raw.decode(errors="replace").rstrip("\n"))

    def seen_path(self, path: Path) -> Path:
        """`path` as the daemon sees it (inside its mount namespace when it has its own tmpfs)."""
        assert self.proc is not None
        return Path(f"/proc/{self.proc.pid}/root{path}") if self.tmpfs_bytes is not None else path

    def limit_files(self, size: int | None) -> None:
        """Cap (or with None, lift) the size the daemon's files may grow to, from outside."""
        assert self.proc is not None
        soft = UNLIMITED if size is None else size
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (soft, UNLIMITED))

    def stop(self) -> int | None:
        """SIGTERM (SIGKILL after 10 s); the exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.output[-lines:])
