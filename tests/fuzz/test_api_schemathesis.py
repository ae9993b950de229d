"""Schemathesis against `/api/v1/openapi.json` of a running daemon (a real process on simulated lines).

`python -m gatewayd run --simulate 1` runs with GATEWAYD_HOME in a temporary folder on a free
port; an admin key (send, read, admin) is made with the CLI. Schemathesis' CLI, as a checked
subprocess, sends every operation of the published document schema-valid and schema-violating
requests (coverage and fuzzing phases, `--mode all`). Checks: `not_a_server_error` (no 5xx) and
`problem_json` (tests/fuzz/problem_hooks.py: every 4xx is RFC 9457 problem JSON), and the
document's conformance both ways (statuses, media types, answer schemas and headers as documented;
schema-violating requests refused). Afterwards the
daemon must still serve /healthz with no traceback in its output.

Bounded: a few examples per operation and `--max-time` (GATEWAYD_FUZZ=long raises both, see
profiles.py); the simulator absorbs whatever SMS the fuzzer queues. Pinned Schemathesis 4.x
behaviour: the `run` flags below, hooks loaded from SCHEMATHESIS_HOOKS (a module name on
PYTHONPATH), `@schemathesis.check` functions taking (ctx, response, case) with lowercase list-valued
response headers, exit code 0 only without failures, and a JUnit report with one testcase per
operation. (Its pytest `from_fixture` loader is not used: 4.32 breaks on pytest 9's node ids.)
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .profiles import LONG

START_TIMEOUT_S = 60  # two shared cores: a cold start under load can be slow
EXAMPLES = 100 if LONG else 5  # per operation and phase; ~75 operations
MAX_TIME_S = 900 if LONG else 16  # Schemathesis stops generating when it is spent


@dataclass
class Daemon:
    home: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    key: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAYD_", "NOTIFY_", "WATCHDOG_"))}
    env.update(GATEWAYD_HOME=str(home), GATEWAYD_HTTP__PORT=str(port), GATEWAYD_HTTP__HOST="127.0.0.1")
    return env


def _wait_healthy(daemon: Daemon) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {daemon.proc.returncode}:\n{daemon.output()}")
        try:
            with urllib.request.urlopen(f"{daemon.url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"daemon not healthy after {START_TIMEOUT_S} s:\n{daemon.output()}")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    home = tmp_path_factory.mktemp("schemathesis-home")
    port = _free_port()
    log = home / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gatewayd", "run", "--simulate", "1"], env=_env(home, port),
                                stdout=out, stderr=subprocess.STDOUT)
    d = Daemon(home, port, proc, log)
    try:
        _wait_healthy(d)
        created = subprocess.run([sys.executable, "-m", "gatewayd", "apikey", "create", "schemathesis",
                                  "--scope", "send", "--scope", "read", "--scope", "admin"],
                                 env=_env(home, port), capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, created.stderr
        d.key = created.stdout.strip().splitlines()[-1]
        yield d
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _schemathesis(daemon: Daemon, report: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    env.update(SCHEMATHESIS_HOOKS="problem_hooks", PYTHONPATH=str(Path(__file__).parent), NO_COLOR="1")
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{daemon.url}/api/v1/openapi.json",
        "--url", daemon.url,  # the document's paths are absolute (/api/v1/…, /healthz)
        "--header", f"Authorization: Bearer {daemon.key}",
        # Conformance both ways: the server answers only documented statuses, media types, schemas
        # and headers, and refuses what the document says is invalid. (positive_data_acceptance is
        # left out: a schema-valid phone number or cursor can still be refused by the rules.)
        "--checks", "not_a_server_error,problem_json,status_code_conformance,content_type_conformance,"
                    "response_schema_conformance,response_headers_conformance,negative_data_rejection",
        "--phases", "examples,coverage,fuzzing",
        "--mode", "all",  # schema-valid and schema-violating data
        "--max-examples", str(EXAMPLES),
        "--max-time", str(MAX_TIME_S),
        "--workers", "1",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--report", "junit", "--report-junit-path", str(report),
    ]
    if not LONG:
        command += ["--generation-deterministic"]  # the same requests on every CI run
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=MAX_TIME_S + 120,
                          cwd=daemon.home)  # cwd: no stray schemathesis.toml is discovered


@pytest.mark.timeout(MAX_TIME_S + 240)
def test_every_operation_answers_without_5xx_and_errors_as_problem_json(daemon: Daemon) -> None:
    report = daemon.home / "schemathesis-junit.xml"
    run = _schemathesis(daemon, report)
    assert run.returncode == 0, f"schemathesis exit {run.returncode}\n{run.stdout[-12000:]}\n{run.stderr[-3000:]}"
    # It really tested: every operation of the document appears in the report.
    tested = ET.parse(report).getroot().findall(".//testcase")
    assert len(tested) >= 50, run.stdout[-3000:]

    # Nothing crashed on the way: still serving, no traceback in the daemon's output.
    with urllib.request.urlopen(f"{daemon.url}/healthz", timeout=10) as response:
        assert response.status == 200
    assert daemon.proc.poll() is None
    crashes = _crashes(daemon.output())
    assert not crashes, "\n\n".join(crashes)[-6000:]


def _crashes(output: str) -> list[str]:
    """Log records with a traceback, except aiohttp refusing a malformed request line or header
    (Schemathesis probes NUL bytes in headers; aiohttp answers 400 before any handler runs)."""
    records: list[str] = []
    for line in output.splitlines():
        if line.split(" ", 1)[0] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return [r for r in records if "Traceback" in r
            and not (r.startswith("ERROR aiohttp.server: Error handling request") and "BadHttpMessage" in r)]


def _get(daemon: Daemon, path: str) -> tuple[int, str, dict[str, object]]:
    request = urllib.request.Request(f"{daemon.url}{path}", headers={"Authorization": f"Bearer {daemon.key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), json.loads(exc.read())


def _cursor(*values: object, style: str) -> str:
    raw = json.dumps(["i1", *values]) if style == "json" else f"v1:{values[0]}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("path", "cursor"), [
    # Found by hand after the fuzzer's id overflows: forged cursors carried the same 500.
    ("/api/v1/inbound", _cursor(10**30, style="json")),
    ("/api/v1/calls", _cursor(-(10**30), style="json")),
    ("/api/v1/threads", _cursor("2026-01-01T00:00:00Z", 10**30, style="json")),
    ("/api/v1/contacts", _cursor(10**30, style="v1")),
    ("/api/v1/messages", _cursor(2**63, style="v1")),
    ("/api/v1/templates", _cursor(-(2**64), style="v1")),
])
def test_forged_cursors_with_huge_numbers_are_422_not_500(daemon: Daemon, path: str, cursor: str) -> None:
    status, ctype, body = _get(daemon, f"{path}?cursor={cursor}")
    assert (status, ctype.split(";")[0], body.get("status")) == (422, "application/problem+json", 422), body
    assert "cursor" in str(body.get("detail")), body


def test_ids_beyond_sqlite_integers_are_404_or_422_not_500(daemon: Daemon) -> None:
    status, ctype, body = _get(daemon, f"/api/v1/contacts?group={10**20}")
    assert (status, ctype.split(";")[0], body["errors"][0]["field"]) == (422, "application/problem+json", "group")
    for path in ("/api/v1/threads/22047562721200382447947087872", "/api/v1/contacts/99999999999999999999",
                 "/api/v1/inbound/-99999999999999999999"):
        status, ctype, _ = _get(daemon, path)
        assert (status, ctype.split(";")[0]) == (404, "application/problem+json"), path
    body = json.dumps({"name": "x", "templates": {"default": 10**30}, "audience": {"contacts": [1]}}).encode()
    request = urllib.request.Request(f"{daemon.url}/api/v1/campaigns", data=body, method="POST", headers={
        "Authorization": f"Bearer {daemon.key}", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 422
    assert json.loads(refused.value.read())["errors"][0]["field"] == "templates.default"


def test_the_problem_json_check_rejects_what_it_must() -> None:
    """The custom check can fail: a plain-text 404, a wrong status, a missing title are all refused."""
    from types import SimpleNamespace

    from .problem_hooks import problem_json

    case = SimpleNamespace(method="GET", formatted_path="/api/v1/contacts/1")

    def answer(status: int, ctype: str, body: bytes) -> SimpleNamespace:
        return SimpleNamespace(status_code=status, headers={"content-type": [ctype]}, content=body)

    good = b'{"type": "about:blank", "title": "Not found", "status": 404, "detail": "no such contact"}'
    assert problem_json(None, answer(404, "application/problem+json", good), case) is True
    assert problem_json(None, answer(200, "application/json", b"{}"), case) is None
    for bad in (answer(404, "text/plain; charset=utf-8", b"404: Not Found"),
                answer(404, "application/problem+json", good.replace(b"404,", b"400,")),
                answer(404, "application/problem+json", good.replace(b'"title": "Not found", ', b"")),
                answer(422, "application/problem+json", good.replace(b"404,", b'422, "errors": [{"field": 1}],'))):
        with pytest.raises(AssertionError):
            problem_json(None, bad, case)


def test_a_multipart_upload_without_a_boundary_is_400_not_500(daemon: Daemon) -> None:
    """Found by the conformance run (ST102): `Content-Type: multipart/form-data` with no boundary."""
    for path, method in (("/api/v1/imports?filename=a.csv", "POST"), ("/api/v1/groups/1/members/file", "PUT")):
        request = urllib.request.Request(f"{daemon.url}{path}", data=b"x", method=method, headers={
            "Authorization": f"Bearer {daemon.key}", "Content-Type": "multipart/form-data"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        problem = json.loads(refused.value.read())
        assert refused.value.code in (400, 404), problem  # 404: no group 1 in this box
        if refused.value.code == 400:
            assert problem["errors"][0]["field"] == "Content-Type", problem
