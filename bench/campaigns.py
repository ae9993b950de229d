"""Benchmarks of issue 6: a 200,000-row CSV import and a 200,000-recipient campaign launch.

    .venv/bin/python bench/campaigns.py [--rows 200000] [--json out.json]

Each phase runs in its own child process so its peak RSS (ru_maxrss) is its own:
  import   — upload (streamed from disk), analyse, commit of a French Excel-style CSV
             (Windows-1252, ';', header Nom;Prénom;Portable;Email;Langue;Ville) into a static group;
  campaign — create + preview, then launch: materialise recipients, render, opt-out filter and
             enqueue every message through OutboundService.enqueue (outbound's bulk submit);
             then the per-recipient report: the whole CSV (as the console streams it), one API
             page at the end of the campaign, and a filter that matches nobody (a full walk).
Targets: import ≤ 10 s in all; launch ≤ 10 s; peak RSS ≤ 150 MB for each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

TARGET_S = 10.0
TARGET_RSS_MB = 150.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _settings(workdir: Path, rows: int) -> Any:
    from gatewayd.config import Settings

    return Settings(storage={"database": str(workdir / "gatewayd.db")},
                    imports={"max_bytes": 64 * 1024 * 1024},
                    campaigns={"window": rows + 1})


def write_csv(path: Path, rows: int) -> None:
    """A French Excel export, written line by line (never held in memory)."""
    with path.open("w", encoding="cp1252", newline="") as fh:
        fh.write("Nom;Prénom;Portable;Email;Langue;Ville\r\n")
        for i in range(rows):
            lang = "EN" if i % 10 == 0 else "FR"
            fh.write(f"Lefèvre{i};Hélène{i};06 {i // 1000000 % 100:02d} {i // 10000 % 100:02d} "
                     f"{i // 100 % 100:02d} {i % 100:02d};h{i}@exemple.fr;{lang};Ville{i % 50}\r\n"
                     .replace("06 ", "06" if i % 2 else "6", 1))  # half lost their leading 0 in Excel


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(256 * 1024):
            yield chunk


async def phase_import(workdir: Path, rows: int) -> dict[str, Any]:
    from gatewayd.clock import SystemClock
    from gatewayd.contacts.importer import Certification, CommitOptions, ImportService
    from gatewayd.store.db import Database

    settings = _settings(workdir, rows)
    db = Database(settings.storage.database)
    await db.open()
    try:
        service = ImportService(db, settings, SystemClock())
        source = workdir / "contacts.csv"
        t0 = time.perf_counter()
        row = await service.save_upload(_file_chunks(source), filename="contacts.csv", purpose="contacts",
                                        created_by="bench")
        t1 = time.perf_counter()
        analysis = await service.analyse(row.id)
        t2 = time.perf_counter()
        report = await service.commit(row.id, CommitOptions(Certification("bench opt-in", "bench"),
                                                            new_groups=("Bench",)))
        t3 = time.perf_counter()
    finally:
        await db.close()  # aiosqlite's threads would otherwise keep the process alive
    return {"phase": "import", "rows": rows, "file_bytes": source.stat().st_size,
            "upload_s": t1 - t0, "analyse_s": t2 - t1, "commit_s": t3 - t2, "total_s": t3 - t0,
            "valid": analysis["valid"], "repaired": analysis["repaired"]["count"], "created": report["created"],
            "group_id": report["groups"][0], "peak_rss_mb": _rss_mb()}


async def phase_campaign(workdir: Path, rows: int, group_id: int) -> dict[str, Any]:
    from gatewayd.campaigns.audience import AudienceSpec
    from gatewayd.campaigns.preview import preview
    from gatewayd.campaigns.runner import CampaignRunner
    from gatewayd.campaigns.service import CampaignService, NewCampaign
    from gatewayd.clock import SystemClock
    from gatewayd.contacts.importer import ImportService
    from gatewayd.outbound.service import OutboundService
    from gatewayd.store import templates as template_store
    from gatewayd.store.db import Database

    settings = _settings(workdir, rows)
    clock = SystemClock()
    db = Database(settings.storage.database)
    await db.open()
    try:
        outbound = OutboundService(db, settings, clock)
        imports = ImportService(db, settings, clock)
        service = CampaignService(db, settings, clock, imports)
        timed = _TimedOutbound(outbound)
        runner = CampaignRunner(service, timed)
        fr = await template_store.insert(db, title="fr", line=None,
                                         text="Bonjour {first_name}, -20% à {ville} ce week-end !", now=clock.now())
        en = await template_store.insert(db, title="en", line=None, text="Hello {first_name}, 20% off in {ville}!",
                                         now=clock.now())
        campaign, _ = await service.create(NewCampaign("Bench", {"default": fr, "en": en},
                                                       AudienceSpec(group_ids=(group_id,))))
        t0 = time.perf_counter()
        shown = await preview(service, campaign.id)
        t1 = time.perf_counter()
        cpu1 = time.process_time()  # CPU seconds too: this box is shared, wall time alone is noisy
        await service.schedule(campaign.id)          # launch: recipients materialised
        t2 = time.perf_counter()
        handed = await runner.step(campaign.id)      # render + submit everything (window > rows)
        t3 = time.perf_counter()
        cpu3 = time.process_time()
        report = await _time_report(db, campaign.id)
    finally:
        await db.close()
    return {"phase": "campaign", "recipients": shown["totals"]["recipients"],
            "segments": shown["totals"]["segments"], "estimate": shown["estimated_duration"]["text"],
            "preview_s": t1 - t0, "materialise_s": t2 - t1, "render_submit_s": t3 - t2, "launch_s": t3 - t1,
            "launch_cpu_s": cpu3 - cpu1,
            "outbound_submit_s": timed.seconds, "campaigns_own_s": t3 - t1 - timed.seconds,
            "enqueued": handed, "peak_rss_mb": _rss_mb(), **report}


async def _time_report(db: Any, campaign_id: int) -> dict[str, Any]:
    from gatewayd.campaigns.report import CampaignReport
    from gatewayd.csv_export import csv_stream

    async def rows(report: CampaignReport) -> AsyncIterator[list[list[object]]]:
        async for page in report.pages():
            yield [[x.recipient.number, x.recipient.last_name, x.recipient.first_name, x.outcome, x.detail,
                    x.recipient.line, x.recipient.segments, x.recipient.sent_at, x.recipient.delivered_at,
                    x.replied, x.opted_out, x.recipient.message_id] for x in page]

    t0 = time.perf_counter()
    size = lines = 0
    async for chunk in csv_stream(["h"] * 12, rows(CampaignReport(db, campaign_id, 72))):
        size += len(chunk)
        lines += chunk.count(b"\n")
    t1 = time.perf_counter()
    full = CampaignReport(db, campaign_id, 72)
    async with db.read() as conn:
        from gatewayd.store.campaigns import recipient_id_span
        span = await recipient_id_span(conn, campaign_id)
    assert span is not None
    t2 = time.perf_counter()
    last = await full.page(span[1] - 100, 100)
    t3 = time.perf_counter()
    nobody = await CampaignReport(db, campaign_id, 72, ("failed",)).page(0, 100)
    t4 = time.perf_counter()
    assert len(last) == 100 and not nobody and lines == span[1] - span[0] + 2
    return {"report_csv_s": t1 - t0, "report_csv_mb": size / 1e6, "report_last_page_s": t3 - t2,
            "report_filter_walk_s": t4 - t3}


class _TimedOutbound:
    """Counts the time spent inside OutboundService.enqueue (outbound's share of the launch)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    async def compose(self, draft: Any, *, conn: Any = None) -> Any:
        """Rendering (personalisation, STOP mention): the runner's share, not timed as outbound's."""
        return await self.inner.compose(draft, conn=conn)

    async def enqueue(self, messages: Any, *, conn: Any) -> Any:
        start = time.perf_counter()
        try:
            return await self.inner.enqueue(messages, conn=conn)
        finally:
            self.seconds += time.perf_counter() - start


def child(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir)
    if args.phase == "import":
        result = asyncio.run(phase_import(workdir, args.rows))
    else:
        result = asyncio.run(phase_campaign(workdir, args.rows, args.group))
    print(json.dumps(result))


def run_child(workdir: Path, rows: int, phase: str, group: int = 0) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", phase, "--workdir", str(workdir), "--rows", str(rows),
                          "--group", str(group)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"{phase} phase failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", dest="phase", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--group", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-") as tmp:
        workdir = Path(tmp)
        write_csv(workdir / "contacts.csv", args.rows)
        imported = run_child(workdir, args.rows, "import")
        launched = run_child(workdir, args.rows, "campaign", imported["group_id"])
    rows = [
        ("import: upload+analyse+commit", imported["total_s"], TARGET_S, imported["peak_rss_mb"]),
        ("  analyse", imported["analyse_s"], None, None),
        ("  commit", imported["commit_s"], None, None),
        ("campaign: preview", launched["preview_s"], None, None),
        ("campaign launch: materialise+render+enqueue", launched["launch_s"], TARGET_S, launched["peak_rss_mb"]),
        ("  CPU time of the launch (all threads)", launched["launch_cpu_s"], None, None),
        ("  materialise (audience, opt-outs)", launched["materialise_s"], None, None),
        ("  render + submit", launched["render_submit_s"], None, None),
        ("  of which OutboundService.enqueue", launched["outbound_submit_s"], None, None),
        ("  campaigns' own share of the launch", launched["campaigns_own_s"], None, None),
        ("report: whole CSV, streamed", launched["report_csv_s"], None, None),
        ("report: API page at the campaign's end", launched["report_last_page_s"], None, None),
        ("report: filter matching nobody (full walk)", launched["report_filter_walk_s"], None, None),
    ]
    print(f"{'benchmark (' + str(args.rows) + ' rows)':48} {'seconds':>8} {'target':>7} {'peak RSS MB':>12}")
    for name, secs, target, rss in rows:
        verdict = "" if target is None else (" ok" if secs <= target else " SLOW")
        print(f"{name:48} {secs:8.2f} {'' if target is None else f'{target:.0f} s':>7} "
              f"{'' if rss is None else f'{rss:.0f}':>12}{verdict}")
    print(f"imported {imported['created']} contacts ({imported['repaired']} numbers repaired); "
          f"campaign: {launched['recipients']} recipients, {launched['segments']} segments, "
          f"estimated {launched['estimate']}")
    ok_rss = max(imported["peak_rss_mb"], launched["peak_rss_mb"]) <= TARGET_RSS_MB
    print(f"peak RSS {'ok' if ok_rss else 'OVER'} (target {TARGET_RSS_MB:.0f} MB)")
    result = {"rows": args.rows, "import": imported, "campaign": launched,
              "targets": {"seconds": TARGET_S, "rss_mb": TARGET_RSS_MB}}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
