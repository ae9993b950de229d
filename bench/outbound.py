"""Benchmarks of issue 4 (outbound): prints a table and JSON.

    .venv/bin/python bench/outbound.py [dispatch lines4 ingest bulk rss crash ...] [--json out.json]

  dispatch — drain 2,000 single-part messages through one zero-latency simulated line, every state
             change durable (sending, sent + TP-MR, delivery reports)         target ≥ 200 SMS/s
  dispatch3 — 600 three-part messages through the same line: every part but the last committed on
             its own as the modem accepts it (issue 15), so a crash between parts leaves their record
                                                                            measured, no target
  lines4   — 4 simulated lines at 1 s network latency                        target ≥ 3.9 SMS/s
  ingest   — single-message POSTs from 32 concurrent clients to a daemon subprocess (group commit)
                                                                            target ≥ 1,000 accepted/s
  bulk     — one POST of 10,000 recipients                                   target ≤ 1.5 s
  rss      — daemon RSS with 100,000 messages stored (after ingest, and after a restart)
                                                                            target ≤ 80 MB
  crash    — the full kill -9 run: 2,000 messages, 10 kills, one line at 50–200 ms (not in "all")
Without names, every phase but crash runs. The daemon phases start `python -m gatewayd run`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gatewayd import keys  # noqa: E402
from gatewayd.outbound.model import Category, NewMessage  # noqa: E402
from gatewayd.store import messages as message_store  # noqa: E402
from tests.outbound.daemon import Daemon  # noqa: E402

PENDING = ("queued", "sending", "scheduled")


async def simhost(lines: int, latency: float, workdir: Path) -> None:
    """Child-process mode: simulated lines at stable links; stdin 'count' -> messages received."""
    from gatewayd.modem.sim import SimModem, SimNetwork

    net = SimNetwork()
    modems = [SimModem(net, name=f"line{i}", profile=("sim800", "ec25", "sim7600", "e3372")[(i - 1) % 4],
                       link=workdir / f"line{i}", latency=latency, seed=i, imei=f"8650670230{i:05d}",
                       imsi=f"2080155500{i:05d}", iccid=f"8933015550000{i:06d}", msisdn=f"+3363996{i:04d}")
              for i in range(1, lines + 1)]
    for m in modems:
        await m.start()
    print(" ".join(m.port for m in modems), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"count":
            print(len(net.received), len(net.duplicate_parts), flush=True)
        elif line.strip() == b"quit":
            break
    for m in modems:
        await m.stop()
    net.close()


class SimProcess:
    """The simulator in its own process, as a real modem is outside the daemon."""

    def __init__(self, lines: int, latency: float, workdir: Path) -> None:
        self.args = [sys.executable, __file__, "--simhost", str(lines), str(latency), str(workdir)]

    async def __aenter__(self) -> list[str]:
        self.proc = await asyncio.create_subprocess_exec(*self.args, stdin=asyncio.subprocess.PIPE,
                                                         stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        return (await self.proc.stdout.readline()).decode().split()

    async def count(self) -> tuple[int, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"count\n")
        await self.proc.stdin.drain()
        received, dup = (await self.proc.stdout.readline()).decode().split()
        return int(received), int(dup)

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"quit\n")
        await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()


async def _run_app(workdir: Path, ports: list[str], count: int, text: str, timeout: float) -> dict[str, Any]:
    """The daemon's app (no HTTP needed) over `ports`: submit `count` messages, time the drain."""
    from aiohttp import web

    from gatewayd.app import build_app
    from gatewayd.config import Settings

    settings = Settings(storage={"database": str(workdir / "gatewayd.db")}, quiet_hours={"enabled": False},
                        modems=[{"name": f"line{i}", "port": p} for i, p in enumerate(ports, 1)])
    app = build_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        pool = app[keys.POOL]
        deadline = time.perf_counter() + 30
        while len(pool.ready_lines()) < len(ports):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"lines not ready: {pool.statuses()}")
            await asyncio.sleep(0.05)
        msgs = [NewMessage(to=f"+3361{i:07d}", text=text.format(i=i), category=Category.TRANSACTIONAL)
                for i in range(count)]
        dispatcher = app[keys.DISPATCHER]
        passes = dispatcher.passes
        await app[keys.OUTBOUND].submit(msgs)
        started = time.perf_counter()
        while True:
            async with app[keys.DB].read() as conn:
                states = await message_store.state_counts(conn)
            if sum(states.get(s, 0) for s in PENDING) == 0:
                break
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"not drained after {timeout} s: {states}")
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.5)  # the last delivery reports
        async with app[keys.DB].read() as conn:
            states = await message_store.state_counts(conn)
        return {"seconds": seconds, "states": states, "transactions": dispatcher.passes - passes}
    finally:
        await runner.cleanup()


async def phase_dispatch(workdir: Path, count: int = 2000) -> dict[str, Any]:
    sim = SimProcess(1, 0.0, workdir)
    async with sim as ports:
        r = await _run_app(workdir, ports, count, "Votre code est {i:06d}", 120)
        received, duplicates = await sim.count()
    rate = count / r["seconds"]
    return {"messages": count, "seconds": round(r["seconds"], 2), "sms_per_s": round(rate, 1),
            "received": received, "duplicate_parts": duplicates, "states": r["states"],
            "dispatcher_transactions": r["transactions"], "target": ">= 200 SMS/s",
            "ok": rate >= 200 and received == count and duplicates == 0}


LONG = "Rappel {i:06d} : votre rendez-vous est confirmé pour demain matin, merci de vous présenter à l'accueil " \
       "dix minutes avant l'heure avec votre carte et votre convocation. Pour annuler, répondez ANNULER " \
       "au plus tard la veille avant midi. Pour toute question, appelez le standard aux heures d'ouverture, " \
       "du lundi au vendredi de 8 h à 18 h, ou écrivez-nous depuis votre espace personnel en ligne."


async def phase_dispatch3(workdir: Path, count: int = 600) -> dict[str, Any]:
    sim = SimProcess(1, 0.0, workdir)
    async with sim as ports:
        r = await _run_app(workdir, ports, count, LONG, 180)
        received, duplicates = await sim.count()
    return {"messages": count, "parts": 3 * count, "seconds": round(r["seconds"], 2),
            "sms_per_s": round(count / r["seconds"], 1), "parts_per_s": round(3 * count / r["seconds"], 1),
            "received": received, "duplicate_parts": duplicates, "states": r["states"],
            "target": "measured", "ok": received == count and duplicates == 0}


async def phase_lines4(workdir: Path, count: int = 80) -> dict[str, Any]:
    sim = SimProcess(4, 1.0, workdir)
    async with sim as ports:
        r = await _run_app(workdir, ports, count, "Rappel : rendez-vous demain ({i})", 120)
        received, duplicates = await sim.count()
    rate = count / r["seconds"]
    return {"messages": count, "seconds": round(r["seconds"], 2), "sms_per_s": round(rate, 2),
            "received": received, "states": r["states"], "target": ">= 3.9 SMS/s",
            "ok": rate >= 3.9 and received == count and duplicates == 0}


async def _ingest(daemon: Daemon, token: str, clients: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    auth = {"Authorization": f"Bearer {token}"}
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        i = 0
        while time.perf_counter() < stop_at:
            body = {"to": f"+3363{n:03d}{i:04d}", "text": "Votre colis arrive demain", "category": "transactional"}
            t = time.perf_counter()
            async with session.post(f"{daemon.url}/api/v1/messages", json=body, headers=auth) as resp:
                await resp.read()
                statuses[resp.status] += 1
            latencies.append(time.perf_counter() - t)
            i += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, session) for n in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    accepted = statuses.get(202, 0)
    return {"clients": clients, "seconds": round(elapsed, 2), "accepted": accepted,
            "accepted_per_s": round(accepted / elapsed, 1), "statuses": dict(statuses),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1)}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _post_bulk(daemon: Daemon, token: str, start: int, n: int) -> tuple[int, float]:
    import aiohttp

    body = {"to": [f"+3364{i:07d}" for i in range(start, start + n)], "text": "Offre du jour",
            "category": "transactional"}
    async with aiohttp.ClientSession() as session:
        t = time.perf_counter()
        async with session.post(f"{daemon.url}/api/v1/messages", json=body,
                                headers={"Authorization": f"Bearer {token}"}) as resp:
            await resp.read()
            return resp.status, time.perf_counter() - t


async def phase_daemon(workdir: Path, names: list[str]) -> dict[str, Any]:
    """ingest, bulk and rss against one daemon subprocess without modems (nothing leaves)."""
    daemon = Daemon(workdir, modems=[])
    token = daemon.api_key("send", "read")
    out: dict[str, Any] = {}
    daemon.start()
    try:
        await daemon.wait_ready(0)
        if "ingest" in names:
            await _ingest(daemon, token, 32, 1.0)  # warm-up
            before = await _count(daemon, token)
            r = await _ingest(daemon, token, 32, 5.0)
            r["stored"] = await _count(daemon, token) - before  # every 202 is a row, none more
            r.update(target=">= 1000 accepted/s",
                     ok=r["accepted_per_s"] >= 1000 and r["stored"] == r["accepted"])
            out["ingest"] = r
        if "bulk" in names:
            runs = [await _post_bulk(daemon, token, 1_000_000 + k * 10_000, 10_000) for k in range(3)]
            best = min(s for _, s in runs)
            out["bulk"] = {"recipients": 10_000, "statuses": [st for st, _ in runs],
                           "seconds": [round(s, 3) for _, s in runs], "best_s": round(best, 3),
                           "target": "<= 1.5 s", "ok": all(st == 202 for st, _ in runs) and max(s for _, s in runs) <= 1.5}
        if "rss" in names:
            import aiohttp

            async with aiohttp.ClientSession() as session:
                async with session.get(f"{daemon.url}/healthz") as resp:
                    await resp.read()
            stored = await _count(daemon, token)
            k = 0
            while stored < 100_000:
                status, _ = await _post_bulk(daemon, token, 2_000_000 + k * 10_000, min(10_000, 100_000 - stored))
                assert status == 202, status
                stored = await _count(daemon, token)
                k += 1
            assert daemon.proc is not None
            after_ingest = _rss_mb(daemon.proc.pid)
            daemon.stop()
            daemon.start()
            await daemon.wait_ready(0)
            await _count(daemon, token)
            assert daemon.proc is not None
            await asyncio.sleep(1.5)  # a few dispatcher/housekeeping passes
            after_restart = _rss_mb(daemon.proc.pid)
            worst = max(after_ingest, after_restart)
            out["rss"] = {"messages_stored": stored, "rss_after_ingest_mb": round(after_ingest, 1),
                          "rss_after_restart_mb": round(after_restart, 1), "target": "<= 80 MB", "ok": worst <= 80}
    finally:
        daemon.stop()
    return out


async def _count(daemon: Daemon, token: str) -> int:
    """Messages stored, read from the daemon's own database file (read-only)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{daemon.workdir / 'gatewayd.db'}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
    finally:
        conn.close()


async def phase_crash(workdir: Path) -> dict[str, Any]:
    from tests.outbound.crash import check, crash_scenario

    report = await crash_scenario(workdir, messages=2000, kills=10, lines=1, latency=(0.05, 0.2), seed=5,
                                  drain_timeout=900)
    try:
        check(report)
        ok = True
    except AssertionError:
        ok = False
    brief = {k: (len(v) if isinstance(v, list) else v) for k, v in report.items()}
    return {**brief, "target": "none lost, none twice, unknown <= kills", "ok": ok}


def _row(name: str, r: dict[str, Any]) -> str:
    figure = {"dispatch": lambda: f"{r['sms_per_s']} SMS/s ({r['messages']} in {r['seconds']} s)",
              "dispatch3": lambda: f"{r['sms_per_s']} SMS/s, {r['parts_per_s']} parts/s ({r['messages']} in {r['seconds']} s)",
              "lines4": lambda: f"{r['sms_per_s']} SMS/s ({r['messages']} in {r['seconds']} s)",
              "ingest": lambda: f"{r['accepted_per_s']} accepted/s (p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms)",
              "bulk": lambda: f"{r['best_s']} s best, runs {r['seconds']}",
              "rss": lambda: f"{r['rss_after_ingest_mb']} MB after ingest, {r['rss_after_restart_mb']} MB after restart",
              "crash": lambda: f"{r['lost']} lost, {r['received_twice']} twice, {r['unknown']} unknown, "
                               f"{r['seconds']} s"}[name]()
    return f"{name:<9} {figure:<62} {r['target']:<26} {'OK' if r['ok'] else 'MISSED'}"


async def main(names: list[str], json_path: Path | None) -> int:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-") as tmp:
        work = Path(tmp)
        phases = {"dispatch": phase_dispatch, "dispatch3": phase_dispatch3, "lines4": phase_lines4}
        for name, phase in phases.items():
            if name in names:
                (work / name).mkdir()
                results[name] = await phase(work / name)
        daemon_names = [n for n in names if n in ("ingest", "bulk", "rss")]
        if daemon_names:
            (work / "daemon").mkdir()
            results.update(await phase_daemon(work / "daemon", daemon_names))
        if "crash" in names:
            (work / "crash").mkdir()
            results["crash"] = await phase_crash(work / "crash")
    print(f"{'phase':<9} {'measured':<62} {'target':<26} result")
    for name in ("dispatch", "dispatch3", "lines4", "ingest", "bulk", "rss", "crash"):
        if name in results:
            print(_row(name, results[name]))
    text = json.dumps(results, indent=2)
    print(text)
    if json_path:
        json_path.write_text(text)
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--simhost"]:
        asyncio.run(simhost(int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phases", nargs="*", default=["dispatch", "dispatch3", "lines4", "ingest", "bulk", "rss"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.phases, args.json)))
