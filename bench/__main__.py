"""Every benchmark of the issues in one run: `python -m bench` (or bench/run).

    .venv/bin/python -m bench [--quick] [--only outbound,campaigns,console] [--json PATH]

Runs bench/outbound.py, bench/campaigns.py, bench/console.py and bench/alerts.py, each in its own process (they
start daemons and children of their own, and their peak RSS must be their own), reads the JSON
each one writes, and prints ONE table: benchmark, target, measured, pass. The same rows go to
bench/results/latest.json (with the host, the sizes used and each script's full JSON).

--quick shrinks what the scripts let us size: the CSV import/campaign to 20,000 rows and the
console database to 100,000 messages (outbound's phases have fixed sizes and run whole, the
kill -9 crash run is left out as in bench/outbound.py's default). A quick pass is a smoke test,
not proof of the targets, which are stated for the full sizes; the rows say which size ran.

On a Raspberry Pi (Raspberry Pi OS / Debian 12, the figures that matter for the appliance):
  - from a checkout with its .venv (`make demo` or `python3 -m venv .venv && .venv/bin/pip install -e .`),
    run `bench/run --quick` first (about two minutes), then `bench/run` with nothing else busy on the box
    (stop the gatewayd service: the benchmarks start their own daemons and simulated modems);
  - the scripts write their databases under $TMPDIR, about 0.5 GB at full size: where /tmp is a RAM
    disk, use `TMPDIR=/var/tmp bench/run` so the figures are SD card or SSD figures, as in service;
  - a Pi is several times slower than the x86 VM the notes were measured on: give the scripts room
    with `--timeout 7200` (seconds per script), and compare the JSON of bench/results/latest.json,
    which records the host (machine, CPUs, Python) next to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "latest.json"
SUITES = ("outbound", "campaigns", "console", "alerts")


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    benchmark: str
    target: str
    measured: str
    passed: bool | None   # None: a figure given for information, no target


@dataclass(frozen=True)
class SuiteRun:
    """What one script produced."""

    name: str
    argv: list[str]
    seconds: float
    exit_code: int
    data: dict[str, Any] | None
    error: str | None
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after: others' work skews figures


def load_average() -> float:
    """The 1-minute load average (0.0 where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def run_script(name: str, args: list[str], timeout: float) -> SuiteRun:
    """Run bench/<name>.py with `args` plus --json to a temporary file; parse what it wrote."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / "out.json"
        argv = [sys.executable, str(HERE / f"{name}.py"), *args, "--json", str(out)]
        print(f"== {name}: {' '.join(argv[1:])}", flush=True)
        start = time.monotonic()
        load_before = load_average()
        try:
            proc = subprocess.run(argv, cwd=ROOT, timeout=timeout, capture_output=True, text=True, check=False)
        except subprocess.TimeoutExpired:
            return SuiteRun(name, argv[1:], round(time.monotonic() - start, 1), -1, None,
                            f"timed out after {timeout:.0f} s", (load_before, load_average()))
        seconds = round(time.monotonic() - start, 1)
        log = HERE / "results" / f"{name}.log"
        log.write_text(proc.stdout + proc.stderr)
        try:
            data = json.loads(out.read_text())
        except (OSError, ValueError):
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return SuiteRun(name, argv[1:], seconds, proc.returncode, None,
                            f"exit {proc.returncode}, no JSON written: {tail[0]} (see bench/results/{log.name})",
                            (load_before, load_average()))
        print(f"   done in {seconds} s (exit {proc.returncode})", flush=True)
        return SuiteRun(name, argv[1:], seconds, proc.returncode, data, None, (load_before, load_average()))


def outbound_rows(data: dict[str, Any]) -> list[Row]:
    figures: dict[str, Callable[[dict[str, Any]], str]] = {
        "dispatch": lambda r: f"{r['sms_per_s']} SMS/s ({r['messages']} msgs, 1 line)",
        "lines4": lambda r: f"{r['sms_per_s']} SMS/s ({r['messages']} msgs, 4 lines, 1 s latency)",
        "ingest": lambda r: f"{r['accepted_per_s']} accepted/s (p99 {r['p99_ms']} ms)",
        "bulk": lambda r: f"{r['best_s']} s for 10,000 recipients",
        "rss": lambda r: f"{r['rss_after_ingest_mb']} MB after ingest, {r['rss_after_restart_mb']} MB after restart",
        "crash": lambda r: f"{r['lost']} lost, {r['received_twice']} twice, {r['unknown']} unknown",
    }
    rows = []
    for phase, r in data.items():
        measured = figures[phase](r) if phase in figures else json.dumps(r)[:60]
        rows.append(Row(f"outbound {phase}", str(r.get("target", "")), measured, bool(r.get("ok"))))
    return rows


def campaigns_rows(data: dict[str, Any]) -> list[Row]:
    size = f"{data['rows']:,} rows"
    t, rss = data["targets"]["seconds"], data["targets"]["rss_mb"]
    imp, camp = data["import"], data["campaign"]
    return [
        Row(f"CSV import ({size})", f"<= {t:.0f} s", f"{imp['total_s']:.2f} s", imp["total_s"] <= t),
        Row(f"CSV import peak RSS ({size})", f"<= {rss:.0f} MB", f"{imp['peak_rss_mb']:.0f} MB",
            imp["peak_rss_mb"] <= rss),
        Row(f"campaign launch ({size})", f"<= {t:.0f} s", f"{camp['launch_s']:.2f} s", camp["launch_s"] <= t),
        Row(f"campaign launch peak RSS ({size})", f"<= {rss:.0f} MB", f"{camp['peak_rss_mb']:.0f} MB",
            camp["peak_rss_mb"] <= rss),
        # Where a launch's time goes: the outbound ledger's submit, and the campaign code's own share.
        *([Row("  of which outbound submit", "-", f"{camp['outbound_submit_s']:.2f} s", None),
           Row("  of which campaigns' own work", "-", f"{camp['campaigns_own_s']:.2f} s", None)]
          if "outbound_submit_s" in camp and "campaigns_own_s" in camp else []),
        *([Row(f"campaign report CSV ({size})", "-", f"{camp['report_csv_s']:.2f} s", None)]
          if "report_csv_s" in camp else []),
    ]


def console_rows(data: dict[str, Any]) -> list[Row]:
    target = data["target_p95_ms"]
    size = f"{data['database']['messages']:,} msgs"
    rows = []
    for page, r in data["pages"].items():
        judged = page in ("dashboard", "sent search", "discussion")
        rows.append(Row(f"console {page} p95 ({size})", f"<= {target:.0f} ms" if judged else "-",
                        f"{r['p95_ms']} ms (p50 {r['p50_ms']})", r["p95_ms"] <= target if judged else None))
    for name, r in data.get("exports", {}).items():
        rows.append(Row(f"console {name}, 30 days ({r['rows']:,} rows)", "-", f"{r['seconds']} s", None))
    return rows


def alerts_rows(data: dict[str, Any]) -> list[Row]:
    target, after = data["target_s"], data["down_after_s"]
    rows = [Row(f"line unplugged → alert {what} (down after {after:g} s)", f"<= {target:g} s",
                f"{data[key]} s" if key in data else "never", key in data and data[key] <= target)
            for what, key in (("e-mail", "email_s"), ("SMS", "sms_s"), ("webhook line.down", "webhook_s"))]
    rows.append(Row("all lines unplugged → /readyz 503", "-", f"{data.get('readyz_503_s', 'never')} s", None))
    c = data["counts"]
    rows.append(Row("alerts per channel for one incident", "1 each",
                    f"{c['emails']} e-mail, {c['sms']} SMS, {c['webhooks']} webhook", c == {"emails": 1, "sms": 1,
                                                                                           "webhooks": 1}))
    return rows


ROWS = {"outbound": outbound_rows, "campaigns": campaigns_rows, "console": console_rows, "alerts": alerts_rows}


def suite_args(name: str, quick: bool) -> list[str]:
    if not quick:
        return []
    return {"outbound": [], "campaigns": ["--rows", "20000"], "console": ["--messages", "100000", "--requests", "30"],
            "alerts": ["--down-after", "5"]}[name]


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table."""
    head = Row("benchmark", "target", "measured", None)
    widths = [max(len(getattr(r, f)) for r in [head, *rows]) for f in ("benchmark", "target", "measured")]
    lines = []
    for i, r in enumerate([head, *rows]):
        verdict = "pass" if i == 0 else {True: "PASS", False: "FAIL", None: "-"}[r.passed]
        lines.append(f"{r.benchmark:<{widths[0]}}  {r.target:<{widths[1]}}  {r.measured:<{widths[2]}}  {verdict}")
        if i == 0:
            lines.append("-" * (sum(widths) + 10))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller import/campaign/console sizes (smoke run)")
    parser.add_argument("--only", default=",".join(SUITES), help=f"comma-separated subset of {', '.join(SUITES)}")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the results ({RESULTS})")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per script")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := [s for s in chosen if s not in SUITES]:
        parser.error(f"--only: unknown benchmark {unknown[0]!r} (choose from {', '.join(SUITES)})")
    (HERE / "results").mkdir(exist_ok=True)

    rows: list[Row] = []
    runs: list[SuiteRun] = []
    for name in chosen:
        run = run_script(name, suite_args(name, args.quick), args.timeout)
        runs.append(run)
        if run.data is None:
            reason = run.error or "failed"  # whole in the JSON; the table keeps one readable line
            rows.append(Row(name, "runs to the end", reason if len(reason) <= 90 else reason[:89] + "…", False))
            continue
        try:
            rows.extend(ROWS[name](run.data))
        except (KeyError, TypeError) as exc:  # the script's JSON changed shape
            rows.append(Row(name, "readable results", f"unexpected JSON ({exc!r})", False))

    print()
    print(table(rows))
    judged = [r for r in rows if r.passed is not None]
    ok = all(r.passed for r in judged)
    cpus = os.cpu_count() or 1
    print("\n" + "; ".join(f"{r.name} {r.seconds} s, load {r.load[0]} → {r.load[1]}" for r in runs)
          + f" ({cpus} CPUs: a load above {cpus} means other work shared the machine)")
    print(f"{sum(1 for r in judged if r.passed)}/{len(judged)} targets met"
          f"{' (quick sizes: not proof of the full targets)' if args.quick else ''}; results in {args.json}")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "host": {"machine": platform.machine(), "python": platform.python_version(), "system": platform.platform(),
                 "cpus": os.cpu_count()},
        "ok": ok,
        "rows": [asdict(r) for r in rows],
        "runs": [asdict(r) for r in runs],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
