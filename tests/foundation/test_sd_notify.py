"""sd_notify never blocks the daemon: a notify socket whose queue is full (a stalled or slow reader)
drops the datagram instead of stopping the event loop that serves the HTTP API."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from gatewayd.ops.systemd import notify


def test_a_full_notify_queue_drops_pings_instead_of_blocking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.sock"
    reader = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reader.bind(str(path))  # never read: the kernel's queue fills after a few datagrams
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.extend(notify("WATCHDOG=1") for _ in range(200)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    try:
        assert not worker.is_alive(), "notify() blocked on a full notify socket"
        assert results[0] is True and results[-1] is False  # the first went through, the overflow was dropped
        assert reader.recv(100) == b"WATCHDOG=1"
    finally:
        reader.close()
