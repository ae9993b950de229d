"""Benchmark of issue 7: console page times with 1,000,000 stored messages.

    .venv/bin/python bench/console.py [--messages 1000000] [--requests 60] [--json out.json] [--keep DIR]

Builds a database through the store layer (outbound ledger rows and their parts with bulk inserts,
inbound messages and threads through the inbound store), 80 % outbound / 20 % inbound spread over
60 days, with one busy conversation of 20,000 messages. Then runs the real app on a real port and
times whole HTTP requests of a signed-in browser-like client (session cookie, server-side session
check, template rendering included):
  dashboard         GET /                    (7-day counts per day, queue, lines, campaigns)
  sent search       GET /sent?q=…            (a word in many texts, a rare word, a full number,
                                              a number prefix, a state filter)
  discussion        GET /discussions/<busy>  (first page of the busy conversation, both directions)
  + for information: the thread list, the conversation's live poll, Received, and the CSV
    exports of Sent and Received for the last 30 days (whole downloads, streamed).
Target: p95 ≤ 100 ms for dashboard, sent search and discussion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_MS = 100.0
BUSY_NUMBER = "+33612345678"
WORDS = ("commande", "livraison", "rendez-vous", "facture", "promo", "merci", "bonjour", "code", "colis", "horaires")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def build_database(path: Path, total: int, *, seed: int = 7) -> dict[str, Any]:
    """Fill a fresh database with `total` messages through the store layer; returns figures."""
    from gatewayd.store import inbound, threads
    from gatewayd.store import messages as ledger
    from gatewayd.store.db import Database

    rng = random.Random(seed)
    db = Database(path)
    await db.open()
    now = _now()
    start = now - timedelta(days=60)
    outbound_n = int(total * 0.8)
    inbound_n = total - outbound_n
    busy_out = busy_in = 10_000
    t0 = time.perf_counter()
    # Threads first: 20,000 correspondents, plus the busy one.
    numbers = [f"+336{rng.randrange(10_000_000, 99_999_999)}" for _ in range(20_000)]
    thread_ids: list[int] = []
    async with db.write() as conn:
        busy_thread = await threads.ensure(conn, number=BUSY_NUMBER, line="line1", now=start)
        for number in numbers:
            thread_ids.append(await threads.ensure(conn, number=number, line="line1", now=start))
    # Outbound ledger: ids grow with time, like a real box; every third message belongs to a thread.
    states = ["delivered"] * 80 + ["sent"] * 10 + ["failed"] * 5 + ["queued"] * 2 + ["unknown"] * 1 + \
        ["blocked"] * 2
    step = (now - start) / outbound_n
    batch: list[tuple[object, ...]] = []
    parts: list[tuple[int, int, str, int, datetime]] = []
    busy_every = max(1, outbound_n // busy_out)

    async def flush() -> None:
        async with db.write() as conn:
            await ledger.insert_messages(conn, batch)
            if parts:
                await ledger.record_parts_sent(conn, parts)
        batch.clear()
        parts.clear()

    for i in range(1, outbound_n + 1):
        at = start + step * i
        iso = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if i % busy_every == 0:
            to, thread_id = BUSY_NUMBER, busy_thread
        else:
            k = rng.randrange(len(numbers))
            to, thread_id = numbers[k], (thread_ids[k] if i % 3 == 0 else None)
        state = rng.choice(states)
        word = rng.choice(WORDS)
        text = f"Bonjour, votre {word} n°{i} est prête. Infos au 01 23 45 67 89."
        if i % 50_000 == 0:
            text += " zzrare"
        line = "line1" if i % 2 else "line2"
        # By column name: the ledger's columns grow, and a positional tuple would go stale.
        row = {"id": i, "to_number": to, "text": text, "category": "transactional", "state": state, "priority": 0,
               "source": "api", "line_key": "", "line_soft": 0, "segments": 1, "encoding": "GSM-7", "concat_ref": i % 256,
               "due_at": iso, "thread_id": thread_id, "created_at": iso, "updated_at": iso,
               "error": "network refused" if state == "failed" else None,
               "finished_at": iso if state not in ("queued",) else None}
        batch.append(tuple(row.get(column) for column in ledger.INSERT_COLUMNS))
        if state in ("sent", "delivered", "unknown"):
            parts.append((i, 1, line, i % 256, at))
        if len(batch) >= 20_000:
            await flush()
    if batch:
        await flush()
    t_out = time.perf_counter() - t0
    # Inbound, through the inbound store (one insert per message, as the box does).
    step_in = (now - start) / inbound_n
    busy_in_every = max(1, inbound_n // busy_in)
    done = 0
    while done < inbound_n:
        async with db.write() as conn:
            for _ in range(min(5_000, inbound_n - done)):
                done += 1
                at = start + step_in * done
                if done % busy_in_every == 0:
                    number, thread_id = BUSY_NUMBER, busy_thread
                else:
                    k = rng.randrange(len(numbers))
                    number, thread_id = numbers[k], thread_ids[k]
                await inbound.add_message(conn, thread_id=thread_id, line="line1", sender=number,
                                          text=f"Merci pour la {rng.choice(WORDS)} {done}", smsc_time=at,
                                          received_at=at)
                if done % 20 == 0 or thread_id == busy_thread:
                    await threads.touch_inbound(conn, number=number, line="line1", text="…", at=at)
    await db.close()
    return {"messages": total, "outbound": outbound_n, "inbound": inbound_n, "busy_thread": busy_thread,
            "busy_thread_messages": busy_in + busy_out, "seconds": round(time.perf_counter() - t0, 1),
            "outbound_seconds": round(t_out, 1), "db_mb": round(path.stat().st_size / 1e6, 1)}


async def measure(path: Path, busy_thread: int, requests: int) -> dict[str, dict[str, float]]:
    """Time pages over real HTTP with a signed-in client."""
    from aiohttp.test_utils import TestClient, TestServer

    from gatewayd import keys
    from gatewayd.accounts.users import create_first_admin
    from gatewayd.app import build_app
    from gatewayd.clock import SystemClock
    from gatewayd.config import Settings

    settings = Settings(storage={"database": str(path)}, http={"host": "127.0.0.1"},
                        modems=[{"name": "line1", "port": "/dev/null-line1"}, {"name": "line2", "port": "/dev/null-line2"}],
                        simulator={"lines": 0}, quiet_hours={"enabled": False})
    app = build_app(settings)
    # No modem in the benchmark: a pre-set empty pool keeps the pool component from opening ports.
    app[keys.POOL] = _NoPool()  # type: ignore[assignment]
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        password = "Bench-Pass-1"
        if await _user_count(app) == 0:
            await create_first_admin(app[keys.DB], SystemClock(), "bench", password)
        page = await (await client.get("/login")).text()
        token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        resp = await client.post("/login", data={"_csrf": token, "name": "bench", "password": password, "next": "/"},
                                 allow_redirects=False)
        assert resp.status == 303, await resp.text()
        live_after = "0.0"
        page = await (await client.get(f"/discussions/{busy_thread}")).text()
        found = re.search(r'data-after="([^"]+)"', page)
        if found:
            live_after = found.group(1)
        groups: dict[str, list[str]] = {
            "dashboard": ["/"],
            "sent search": ["/sent?q=commande", "/sent?q=zzrare", f"/sent?q={quote(BUSY_NUMBER)}", "/sent?q=0612",
                            "/sent?state=failed", "/sent"],
            "discussion": [f"/discussions/{busy_thread}"],
            "thread list": ["/discussions", "/discussions?unread=1"],
            "discussion poll": [f"/discussions/{busy_thread}/live?after={live_after}"],
            "received": ["/received", "/received?q=livraison"],
        }
        results: dict[str, dict[str, Any]] = {}
        for name, paths in groups.items():
            for p in paths:  # warm-up: first reads page the indexes in
                await (await client.get(p)).read()
            times = []
            per_path: dict[str, list[float]] = {p: [] for p in paths}
            for i in range(requests):
                p = paths[i % len(paths)]
                t0 = time.perf_counter()
                r = await client.get(p)
                await r.read()
                times.append((time.perf_counter() - t0) * 1000)
                per_path[p].append(times[-1])
                assert r.status == 200, (p, r.status)
            results[name] = {**_figures(times), "paths": {p: _figures(v) for p, v in per_path.items()}}
        first, last = (_now() - timedelta(days=29)).date(), _now().date()
        for name, path in (("sent export", "/sent/export.csv"), ("received export", "/received/export.csv")):
            t0 = time.perf_counter()
            r = await client.get(f"{path}?from={first}&to={last}")
            body = await r.read()
            seconds = time.perf_counter() - t0
            assert r.status == 200, (path, r.status)
            rows = body.count(b"\r\n") - 1
            results[name] = {"seconds": round(seconds, 2), "rows": rows, "mb": round(len(body) / 1e6, 1),
                             "rows_per_s": round(rows / seconds)}
        return results
    finally:
        await client.close()


def _figures(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95 + 0.999) - 1)], 1),
            "max_ms": round(ordered[-1], 1), "requests": len(ordered)}


class _NoPool:
    """Stands in for the modem pool: two lines known, none connected."""

    def statuses(self) -> list[Any]:
        from gatewayd.modem.events import LineState, LineStatus

        return [LineStatus("line1", "/dev/null-line1", LineState.READY, signal=20, registered=True, operator="Orange F",
                           imsi="208011234560001", iccid="8933011234567890001"),
                LineStatus("line2", "/dev/null-line2", LineState.READY, signal=12, registered=True, operator="SFR",
                           imsi="208011234560002", iccid="8933011234567890002")]

    def ready_lines(self) -> list[str]:
        return []

    def names(self) -> list[str]:
        return ["line1", "line2"]


async def _user_count(app: Any) -> int:
    from gatewayd import keys
    from gatewayd.store import users

    return await users.count(app[keys.DB])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database in this directory")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="gatewayd-bench-console-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, workdir)
    finally:
        if args.keep is None:  # the 1M-message database is ~400 MB: never leave it in $TMPDIR
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Build (or reuse) the database in `workdir`, time the pages, print and write the figures."""
    path = workdir / "gatewayd.db"
    meta_path = workdir / "bench-console.json"
    if path.exists() and meta_path.exists():
        data = json.loads(meta_path.read_text())
        print(f"reusing {path} ({data['messages']:,} messages)")
    else:
        print(f"building {args.messages:,} messages in {path} …", flush=True)
        data = asyncio.run(build_database(path, args.messages))
        meta_path.write_text(json.dumps(data))
        print(f"built in {data['seconds']} s (outbound ledger {data['outbound_seconds']} s), {data['db_mb']} MB")
    results = asyncio.run(measure(path, data["busy_thread"], args.requests))
    print(f"\n{'page':<18}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  target")
    ok = True
    exports = {name: results.pop(name) for name in ("sent export", "received export")}
    for name, r in results.items():
        target = name in ("dashboard", "sent search", "discussion")
        passed = r["p95_ms"] <= TARGET_MS
        ok &= passed or not target
        mark = ("ok" if passed else "MISSED") + f" (≤ {TARGET_MS:.0f})" if target else "—"
        print(f"{name:<18}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['max_ms']:>9}  {mark}")
    for name, r in exports.items():
        print(f"{name:<18} {r['rows']:,} rows, {r['mb']} MB in {r['seconds']} s ({r['rows_per_s']:,} rows/s)")
    out = {"database": data, "pages": results, "exports": exports, "target_p95_ms": TARGET_MS, "ok": ok}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
