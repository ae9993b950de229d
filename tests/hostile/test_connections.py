"""Attack 1 of issue 14: connection exhaustion from the LAN, without a login.

A daemon with only 256 descriptors (so the test needs a few hundred sockets, not thousands) is
flooded with half-sent requests from one address and from ten others. It must keep answering
/healthz quickly, free the attackers' slots after the header deadline, keep its log short, keep
feeding the watchdog, and never let a descriptor shortage freeze number parsing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.kit import (HEALTHZ_P95_MS, HealthProbe, HostileDaemon, closed_by_peer, half_open_flood, wait_for)

NOFILE = 256
MEMORY_CEILING_MB = 160


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[HostileDaemon]:
    d = HostileDaemon(tmp_path, nofile=NOFILE, env={"GATEWAYD_HTTP__HEADER_TIMEOUT_SECONDS": "2",
                                                   "GATEWAYD_HTTP__MAX_CONNECTIONS_PER_ADDRESS": "32"})
    d.start()
    yield d
    d.stop()


def test_a_half_open_connection_flood_never_stops_healthz(daemon: HostileDaemon) -> None:
    log_before = daemon.log_bytes()
    # 300 from one host (held to 32 by the per-address cap), then 10 hosts × 30 (300 more: past the
    # cap of 112 that 256 descriptors allow, so the oldest half-open ones make room for newcomers).
    attackers = half_open_flood(daemon.port, ["127.0.0.2"], 300)
    attackers += half_open_flood(daemon.port, [f"127.0.0.{i}" for i in range(3, 13)], 30)
    try:
        with HealthProbe(daemon.url, every=0.02) as probe:
            wait_for(lambda: len(probe.samples) >= 60, 30, "60 /healthz answers during the flood")
        assert probe.failures == 0, probe.summary()
        assert probe.p95() < HEALTHZ_P95_MS, probe.summary()
        assert daemon.rss_mb() < MEMORY_CEILING_MB

        # The header deadline (2 s here) frees every slot the attackers still hold.
        wait_for(lambda: all(closed_by_peer(s) for s in attackers), 15, "the daemon to close every half-open request")
        assert daemon.proc is not None and daemon.proc.poll() is None
        log = daemon.log_path.read_text(errors="replace")[log_before:]
        assert "out of system resource" not in log
        # ~600 refusals, evictions and timeouts of the same few kinds, folded by the repeat filter.
        assert len(log.splitlines()) < 40, log[-3000:]
    finally:
        for sock in attackers:
            sock.close()


def _run_python(*parts: str, nofile: int = 64, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run the code `parts` in a fresh interpreter with few descriptors (what happens when they run out)."""
    def limit() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return subprocess.run([sys.executable, "-c", "\n".join(textwrap.dedent(p) for p in parts)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)


EXHAUST = """
    import os
    held = []
    while True:
        try:
            held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            break
"""


def test_numbers_of_new_countries_parse_while_descriptors_are_exhausted() -> None:
    # Before the fix: the first number of a not-yet-seen country failed with EMFILE inside
    # phonenumbers, whose metadata lock stayed held, and the second one hung for ever.
    result = _run_python("""
        from gatewayd.resources import preload_phone_metadata
        from gatewayd.phone import normalise
        preload_phone_metadata()
    """, EXHAUST, """
    for raw in ["+4915123456789", "+4915123456789", "+819012345678", "+5511912345678", "+88163123456"]:
        try:
            print(normalise(raw))
        except ValueError as exc:
            print("invalid", exc)
    """, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == ["+4915123456789", "+4915123456789", "+819012345678"]


def test_the_watchdog_ping_needs_no_new_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(10)
    try:
        result = _run_python(f"""
            import os
            os.environ["NOTIFY_SOCKET"] = {str(path)!r}
            from gatewayd.ops.systemd import notify
            notify("READY=1")  # sent at start, while descriptors are plentiful
        """, EXHAUST, """
        print(notify("WATCHDOG=1"))
        """)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True", result.stderr
        assert listener.recv(100) == b"READY=1"
        assert listener.recv(100) == b"WATCHDOG=1"
    finally:
        listener.close()
        os.unlink(path)


def test_a_malformed_request_is_one_log_line_not_a_traceback(daemon: HostileDaemon) -> None:
    before = daemon.log_bytes()
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: gw\r\nBad Header Name: x\r\n\r\n")
        assert b" 400 " in sock.recv(100).split(b"\r\n")[0]
    wait_for(lambda: "malformed HTTP request refused" in daemon.log_path.read_text(errors="replace")[before:], 10,
             "the one-line notice")
    log = daemon.log_path.read_text(errors="replace")[before:]
    assert "Traceback" not in log and "ERROR" not in log, log
