"""Benchmarks of issue 14 (hostile load): memory and /healthz latency of a daemon under each attack.

    .venv/bin/python bench/hostile.py [flood xlsx gzip logins] [--json out.json]

  idle    — /healthz for 5 s with nothing else going on (the baseline)
  flood   — 1,100 connections that send half a request and wait, from 11 loopback addresses, against
            a daemon started with the common default of 1,024 descriptors; /healthz for 5 s
  xlsx    — upload and analysis of a 0.7 MB workbook holding 16 M shared strings (answer awaited 60 s)
  gzip    — a webhook receiver answering 200 with 1 GB of zeros gzipped into 1 MB
  logins  — 4 clients signing in with a wrong password as fast as they can, for 5 s

Each phase starts its own `python -m gatewayd run --simulate 0` and reports the daemon's peak RSS
(VmHWM), the /healthz median, p95 and maximum (a failed probe counts as its 2 s timeout) and what
the attack got back. Targets: /healthz p95 < 100 ms, peak RSS < 200 MB. For the "before" column, give
--code DIR with an older checkout (`git archive <commit> | tar -x -C DIR`): the same attacks run
against its daemon. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile.kit import (HealthProbe, HostileDaemon, half_open_flood, json_request,  # noqa: E402
                         peak_rss_mb)
from tests.hostile.test_bombs import GzipBombReceiver, _sign_in_storm, shared_strings_bomb  # noqa: E402

PHASES = ("idle", "flood", "xlsx", "gzip", "logins")
CODE: str | None = None  # --code: another checkout's gatewayd (e.g. before issue 14)


def _figures(d: HostileDaemon, probe: HealthProbe, **extra: Any) -> dict[str, Any]:
    assert d.proc is not None
    alive = d.proc.poll() is None
    return {"peak_rss_mb": round(peak_rss_mb(d.proc.pid), 1) if alive else None, "alive": alive,
            "healthz_probes": len(probe.samples), "healthz_failed": probe.failures,
            "healthz_median_ms": round(sorted(probe.samples)[len(probe.samples) // 2], 1) if probe.samples else None,
            "healthz_p95_ms": round(probe.p95(), 1), "healthz_max_ms": round(max(probe.samples, default=0), 1),
            **extra}


def _key(d: HostileDaemon, *scopes: str) -> str:
    args = ["apikey", "create", "bench"]
    for scope in scopes:
        args += ["--scope", scope]
    return d.cli(*args).stdout.strip().splitlines()[-1]


def idle(work: Path) -> dict[str, Any]:
    d = HostileDaemon(work, pythonpath=CODE)
    d.start()
    try:
        with HealthProbe(d.url) as probe:
            time.sleep(5)
        return _figures(d, probe)
    finally:
        d.stop()


def flood(work: Path) -> dict[str, Any]:
    d = HostileDaemon(work, nofile=1024, pythonpath=CODE)
    d.start()
    sockets = []
    try:
        log_before = d.log_bytes()
        started = time.monotonic()
        sockets = half_open_flood(d.port, [f"127.0.0.{i}" for i in range(2, 13)], 100)
        with HealthProbe(d.url) as probe:
            time.sleep(5)
        seconds = time.monotonic() - started
        return _figures(d, probe, attack_connections=len(sockets),
                        log_bytes_per_s=round((d.log_bytes() - log_before) / seconds))
    finally:
        for sock in sockets:
            sock.close()
        d.stop()


def xlsx(work: Path) -> dict[str, Any]:
    bomb = work / "bomb.xlsx"
    shared_strings_bomb(bomb, 16_000_000)
    d = HostileDaemon(work, pythonpath=CODE)
    d.start()
    try:
        auth = {"Authorization": f"Bearer {_key(d, 'send', 'read')}"}
        result: dict[str, Any] = {}

        def attack() -> None:
            status, row = json_request(f"{d.url}/api/v1/imports?filename=bomb.xlsx", "POST", data=bomb.read_bytes(),
                                       headers=auth)
            started = time.monotonic()
            try:
                status, answer = json_request(f"{d.url}/api/v1/imports/{row['id']}/analyse", "POST", headers=auth,
                                              timeout=60)
            except OSError:
                return  # no answer within 60 s
            result.update(status=status, seconds=round(time.monotonic() - started, 1),
                          detail=str(answer.get("detail") if isinstance(answer, dict) else answer)[:120])

        thread = threading.Thread(target=attack, daemon=True)
        with HealthProbe(d.url) as probe:
            thread.start()
            thread.join(timeout=62)
            time.sleep(1)
        if not result:
            result = {"status": None, "seconds": ">60", "detail": "no answer within 60 s"}
        return _figures(d, probe, file_kb=bomb.stat().st_size // 1024, answer=result)
    finally:
        d.stop()


def gzip(work: Path) -> dict[str, Any]:
    receiver = GzipBombReceiver()
    d = HostileDaemon(work, pythonpath=CODE)
    d.start()
    try:
        auth = {"Authorization": f"Bearer {_key(d, 'admin')}"}
        _, endpoint = json_request(f"{d.url}/api/v1/webhooks", "POST",
                                   body={"url": receiver.url, "events": ["optout.created"]}, headers=auth)
        with HealthProbe(d.url) as probe:
            json_request(f"{d.url}/api/v1/opt-outs", "POST", body={"number": "+33612345678"}, headers=auth)
            deadline = time.monotonic() + 30
            state = None
            while time.monotonic() < deadline:
                _, log = json_request(f"{d.url}/api/v1/webhooks/{endpoint['id']}/deliveries", headers=auth)
                if log["deliveries"] and log["deliveries"][0]["attempts"]:
                    state = log["deliveries"][0]["state"]
                    break
                time.sleep(0.2)
            time.sleep(2)
        return _figures(d, probe, delivery=state, receiver_requests=receiver.requests)
    finally:
        d.stop()
        receiver.close()


def logins(work: Path) -> dict[str, Any]:
    d = HostileDaemon(work, env={"GATEWAYD_CONSOLE__LOGIN_MAX_PER_USER": "1000",
                                 "GATEWAYD_CONSOLE__LOGIN_MAX_PER_ADDRESS": "10000"}, pythonpath=CODE)
    d.cli("user", "add", "admin", "--role", "admin", "--password-stdin", stdin="Correct-Horse-9\n")
    d.start()
    stop = threading.Event()
    counts: list[int] = []
    threads = [threading.Thread(target=_sign_in_storm, args=(d.url, stop, counts), daemon=True) for _ in range(4)]
    try:
        with HealthProbe(d.url) as probe:
            for thread in threads:
                thread.start()
            time.sleep(5)
            stop.set()
        for thread in threads:
            thread.join(timeout=20)
        return _figures(d, probe, sign_ins_per_s=round(len(counts) / 5, 1))
    finally:
        stop.set()
        d.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phases", nargs="*", help=f"some of {', '.join(PHASES)} (default: all)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--code", help="run the daemon from this checkout (e.g. `git archive <commit>` unpacked)")
    args = parser.parse_args()
    global CODE
    CODE = args.code
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    results: dict[str, Any] = {}
    for phase in args.phases or PHASES:
        with tempfile.TemporaryDirectory(prefix=f"gatewayd-bench-{phase}-") as tmp:
            results[phase] = globals()[phase](Path(tmp))
        print(f"{phase:7} {json.dumps(results[phase])}", flush=True)
    print()
    print(f"{'attack':8} {'peak RSS MB':>11} {'healthz p50':>11} {'p95':>8} {'max':>8} {'failed':>6}  target: p95<100 ms, RSS<200 MB")
    for phase, r in results.items():
        rss = "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}"
        print(f"{phase:8} {rss:>11} {r['healthz_median_ms']!s:>11} {r['healthz_p95_ms']:>8} {r['healthz_max_ms']:>8}"
              f" {r['healthz_failed']:>6}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
