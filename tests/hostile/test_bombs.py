"""Attacks 2, 4 and 5 of issue 14 against a real daemon process: a spreadsheet memory bomb, a
webhook receiver answering a gzip bomb, a storm of sign-ins. Each time the daemon keeps answering
/healthz within 100 ms (p95) and its memory stays under a stated ceiling (peak RSS, VmHWM)."""

from __future__ import annotations

import http.cookiejar
import re
import socket
import struct
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.kit import HEALTHZ_P95_MS, HealthProbe, HostileDaemon, json_request, peak_rss_mb, wait_for

from .test_uploads import workbook

MEMORY_CEILING_MB = 200  # the daemon idles at ~60-70 MB; the bombs took 1.5 to 4 GB before


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[HostileDaemon]:
    d = HostileDaemon(tmp_path, env={"GATEWAYD_LOGGING__LEVEL": "WARNING"})
    d.start()
    yield d
    d.stop()


def _key(d: HostileDaemon, *scopes: str) -> str:
    args = ["apikey", "create", "attacker"]
    for scope in scopes:
        args += ["--scope", scope]
    result = d.cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def shared_strings_bomb(path: Path, strings: int) -> None:
    """The probe's bomb: a tiny sheet and `strings` shared strings (16 M fit in ~660 KB)."""
    path.write_bytes(workbook(shared=strings))


def test_a_spreadsheet_memory_bomb_is_refused_with_bounded_memory(daemon: HostileDaemon, tmp_path: Path) -> None:
    token = _key(daemon, "send", "read")
    auth = {"Authorization": f"Bearer {token}"}
    bomb = tmp_path / "bomb.xlsx"
    shared_strings_bomb(bomb, 16_000_000)
    assert bomb.stat().st_size < 1_000_000
    many = tmp_path / "many.xlsx"
    shared_strings_bomb(many, 1_100_000)  # unpacks to 20 MB: refused for the count, not the size
    with HealthProbe(daemon.url) as probe:
        for path, limit in ((bomb, "imports.xlsx_max_unzipped_bytes"), (many, "imports.xlsx_max_shared_strings")):
            status, row = json_request(f"{daemon.url}/api/v1/imports?filename={path.name}", "POST",
                                       data=path.read_bytes(), headers=auth)
            assert status == 201, row
            status, problem = json_request(f"{daemon.url}/api/v1/imports/{row['id']}/analyse", "POST", headers=auth)
            assert status == 422, problem
            assert limit in problem["detail"], problem
        wait_for(lambda: len(probe.samples) >= 20, 30, "20 /healthz answers")
    assert probe.p95() < HEALTHZ_P95_MS, probe.summary()
    assert daemon.proc is not None
    assert peak_rss_mb(daemon.proc.pid) < MEMORY_CEILING_MB


class GzipBombReceiver:
    """A webhook receiver on 127.0.0.1 that answers 200 with 1 GB of zeros gzipped into ~1 MB."""

    def __init__(self, gigabytes: int = 1) -> None:
        block = b"\0" * (1 << 20)
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        chunk = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)  # identical for every megabyte
        blocks = gigabytes << 10
        crc = 0
        for _ in range(blocks):
            crc = zlib.crc32(block, crc)
        self.body = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + chunk * blocks + deflate.flush()
                     + struct.pack("<II", crc, (blocks << 20) & 0xFFFFFFFF))
        self.requests = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                    while len(rest) < length:
                        rest += conn.recv(65536)
                    self.requests += 1
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                                 b"Content-Length: " + str(len(self.body)).encode() + b"\r\n\r\n" + self.body)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def test_a_webhook_receiver_answering_a_gzip_bomb_is_not_inflated(daemon: HostileDaemon) -> None:
    receiver = GzipBombReceiver()
    try:
        auth = {"Authorization": f"Bearer {_key(daemon, 'admin')}"}
        status, endpoint = json_request(f"{daemon.url}/api/v1/webhooks", "POST",
                                        body={"url": receiver.url, "events": ["optout.created"]}, headers=auth)
        assert status == 201, endpoint
        with HealthProbe(daemon.url) as probe:
            status, _ = json_request(f"{daemon.url}/api/v1/opt-outs", "POST", body={"number": "+33612345678"},
                                     headers=auth)
            assert status in (200, 201)

            def delivered() -> bool:
                _, log = json_request(f"{daemon.url}/api/v1/webhooks/{endpoint['id']}/deliveries", headers=auth)
                return bool(log["deliveries"]) and log["deliveries"][0]["state"] == "delivered"

            wait_for(delivered, 30, "the delivery to count as delivered (a 200 is a 200)")
            wait_for(lambda: len(probe.samples) >= 20, 30, "20 /healthz answers")
        assert receiver.requests == 1  # not retried
        assert probe.p95() < HEALTHZ_P95_MS, probe.summary()
        assert daemon.proc is not None
        assert peak_rss_mb(daemon.proc.pid) < MEMORY_CEILING_MB
    finally:
        receiver.close()


def _sign_in_storm(url: str, stop: threading.Event, counts: list[int]) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "/login", timeout=10).read().decode()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode({"_csrf": csrf, "name": "admin", "password": "Wrong-guess-1"}).encode()
    while not stop.is_set():
        try:
            opener.open(urllib.request.Request(url + "/login", data=form, method="POST"), timeout=10).read()
        except urllib.error.HTTPError as exc:
            exc.read()
        counts.append(1)


def test_a_sign_in_storm_does_not_stall_the_daemon(tmp_path: Path) -> None:
    # Throttling set out of the way: this is about the cost of each password check.
    # (40 sign-ins stay under login_max_per_user_untrusted's 50.)
    d = HostileDaemon(tmp_path, env={"GATEWAYD_CONSOLE__LOGIN_MAX_PER_USER": "1000",
                                     "GATEWAYD_CONSOLE__LOGIN_MAX_PER_ADDRESS": "10000"})
    result = d.cli("user", "add", "admin", "--role", "admin", "--password-stdin", stdin="Correct-Horse-9\n")
    assert result.returncode == 0, result.stderr
    d.start()
    stop = threading.Event()
    counts: list[int] = []
    storm = [threading.Thread(target=_sign_in_storm, args=(d.url, stop, counts), daemon=True) for _ in range(4)]
    try:
        with HealthProbe(d.url) as probe:
            for thread in storm:
                thread.start()
            wait_for(lambda: len(counts) >= 40 or len(probe.samples) >= 100, 60, "40 sign-ins")
            stop.set()
        for thread in storm:
            thread.join(timeout=20)
        assert probe.p95() < HEALTHZ_P95_MS, probe.summary()
        assert d.proc is not None
        assert peak_rss_mb(d.proc.pid) < MEMORY_CEILING_MB  # two 64 MiB hashes at a time, at most
    finally:
        stop.set()
        d.stop()
