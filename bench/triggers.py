"""What the metrics triggers cost on sending, and what serving gauges from them saves on a scrape.

    .venv/bin/python bench/triggers.py [--messages 5000] [--scrape-messages 200000] [--json PATH]

1. Sending: each message goes through the ledger writes the dispatcher makes (insert queued, mark
   sending, record its part sent, mark sent, the delivery report, settle delivered), one write
   transaction per step like the dispatcher's, through gatewayd's store functions, on a fresh
   database file: once as shipped (metrics triggers on), once with every `count_*` and `gauge_*` trigger
   dropped.
   The difference per message is the triggers' cost on the send path (median of --rounds runs of
   each, alternated; with --dir /dev/shm the fsyncs are gone and the CPU cost is left).
2. Scrape: GET /metrics' database read (store.metrics.snapshot) on a ledger of --scrape-messages
   messages, and next to it the `GROUP BY state` scan of the messages table it no longer needs when
   the state gauge is kept by triggers.

Prints a table (and --json writes the figures). Other engineers' load on a shared machine skews both
runs alike; the order alternates to spread it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _row(i: int, state: str, at: str) -> tuple[object, ...]:
    from gatewayd.store import messages as ledger

    row = {"id": i, "to_number": f"+3361{i:08d}", "text": f"Votre code {i}", "category": "transactional",
           "state": state, "priority": 0, "source": "api", "line_key": "", "line_soft": 0, "segments": 1, "encoding": "GSM-7",
           "concat_ref": i % 256, "due_at": at, "created_at": at, "updated_at": at}
    return tuple(row.get(column) for column in ledger.INSERT_COLUMNS)


async def _triggers(db: Any) -> list[str]:
    async with db.read() as conn:
        rows = await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'count%' OR name LIKE 'gauge%')")
    return [str(r[0]) for r in rows]


async def send_path(path: Path, messages: int, *, triggers: bool) -> dict[str, Any]:
    """Seconds per message for the dispatcher's ledger writes, counter triggers on or off."""
    from gatewayd.store import messages as ledger
    from gatewayd.store.db import Database

    db = Database(path)
    await db.open()
    names = await _triggers(db)
    if not triggers:
        async with db.write() as conn:
            for name in names:
                await conn.execute(f"DROP TRIGGER {name}")  # the 'before' of the comparison only
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    iso = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    started = time.perf_counter()
    for i in range(1, messages + 1):
        async with db.write() as conn:
            await ledger.insert_messages(conn, [_row(i, "queued", iso)])
        async with db.write() as conn:
            await ledger.mark_sending(conn, i, "line1", now)
        async with db.write() as conn:
            await ledger.record_parts_sent(conn, [(i, 1, "line1", i % 256, now)])
            await ledger.mark_sent(conn, i, now)
        async with db.write() as conn:
            await ledger.apply_part_report(conn, i, 1, status=0, final=True, delivered=True,
                                           at=now + timedelta(seconds=3))
            await ledger.settle_after_report(conn, i, "delivered", now + timedelta(seconds=3))
    seconds = time.perf_counter() - started
    await db.close()
    return {"triggers": len(names) if triggers else 0, "messages": messages, "seconds": round(seconds, 3),
            "us_per_message": round(seconds / messages * 1e6, 1)}


async def scrape(path: Path, messages: int, repeats: int = 7) -> dict[str, Any]:
    """Median milliseconds of the metrics snapshot and of the state scan it replaces."""
    from gatewayd.store import messages as ledger
    from gatewayd.store import metrics
    from gatewayd.store.db import Database

    db = Database(path)
    await db.open()
    iso = "2026-12-07T10:00:00.000Z"
    states = ["delivered"] * 8 + ["sent", "failed"]
    for start in range(1, messages + 1, 20_000):
        async with db.write() as conn:
            await ledger.insert_messages(conn, [_row(i, states[i % len(states)], iso)
                                                for i in range(start, min(messages, start + 19_999) + 1)])
    snap, scan = [], []
    for _ in range(repeats):
        async with db.read() as conn:
            t0 = time.perf_counter()
            await metrics.snapshot(conn)
            snap.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await ledger.state_counts(conn)  # the GROUP BY state scan
            scan.append((time.perf_counter() - t0) * 1000)
    await db.close()
    return {"messages": messages, "snapshot_ms": round(statistics.median(snap), 1),
            "state_scan_ms": round(statistics.median(scan), 1)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
        for n in range(args.rounds):
            for mode in (("off", "on") if n % 2 == 0 else ("on", "off")):
                runs[mode].append(await send_path(work / f"send-{mode}-{n}.db", args.messages, triggers=mode == "on"))
        scraped = await scrape(work / "scrape.db", args.scrape_messages) if args.scrape_messages else None
    # The median of the rounds: one commit is an fsync, whose time varies a lot on a shared disk.
    mid = {mode: round(statistics.median(r["us_per_message"] for r in rs), 1) for mode, rs in runs.items()}
    return {"dir": str(args.dir or tempfile.gettempdir()), "send": runs, "send_us_per_message": mid,
            "trigger_cost_us": round(mid["on"] - mid["off"], 1),
            "trigger_cost_pct": round((mid["on"] / mid["off"] - 1) * 100, 1), "scrape": scraped}


def table(result: dict[str, Any]) -> str:
    s = result["send_us_per_message"]
    sc = result["scrape"]
    spread = {m: "–".join(f"{x:.0f}" for x in (min(r["us_per_message"] for r in rs), max(r["us_per_message"] for r in rs)))
              for m, rs in result["send"].items()}
    rows = [(f"ledger writes per message (in {result['dir']}), metrics triggers off",
             f"{s['off']:.0f} µs (rounds {spread['off']})"),
            ("ledger writes per message, metrics triggers on", f"{s['on']:.0f} µs (rounds {spread['on']})"),
            ("triggers' cost per message sent", f"{result['trigger_cost_us']:+.0f} µs ({result['trigger_cost_pct']:+.1f} %)")]
    if sc:
        rows += [(f"metrics snapshot at {sc['messages']:,} messages", f"{sc['snapshot_ms']:.1f} ms"),
                 (f"GROUP BY state scan at {sc['messages']:,} messages", f"{sc['state_scan_ms']:.1f} ms")]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--scrape-messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=4, help="runs of each mode, alternated (median kept)")
    parser.add_argument("--dir", type=Path, help="where the databases go (/dev/shm: no disk, the CPU cost alone)")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    outcome = asyncio.run(main(options))
    print(table(outcome))
    if options.json:
        options.json.write_text(json.dumps(outcome, indent=2))
