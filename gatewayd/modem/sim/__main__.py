"""`python -m gatewayd.modem.sim --lines 2`: simulated modems for manual work.

Prints one line per modem (name, profile, stable path, pty) and then reads verbs on stdin:
  sms LINE FROM TEXT…     a subscriber sends TEXT to LINE
  ring LINE FROM [N]      an incoming call ringing N times
  unplug LINE | replug LINE | hang LINE | unhang LINE | full LINE
  fail LINE CMS [TIMES]   the next sends fail with +CMS ERROR CMS
  dereg LINE | reg LINE   lose / regain the network
  sent                    what the network received so far
  quit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from pathlib import Path

from gatewayd.modem.sim.tuning import REALISTIC, SimTimings
from gatewayd.modem.sim.lines import DEFAULT_PROFILES, start_simulated_lines, stop_simulated_lines
from gatewayd.modem.sim.verbs import SimModem


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gatewayd.modem.sim", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=2, help="how many modems (default 2)")
    p.add_argument("--profiles", default=",".join(DEFAULT_PROFILES),
                   help="comma-separated families, cycled (sim800,sim7600,ec25,e3372,generic)")
    p.add_argument("--dir", type=Path, default=None, help="where the stable links go (default: a temp dir)")
    p.add_argument("--fast", action="store_true", help="test timings instead of realistic delays")
    p.add_argument("--pin", default=None, help="SIM PIN for every line")
    p.add_argument("-v", "--verbose", action="store_true", help="log every byte")
    return p


async def _verb(modems: dict[str, SimModem], words: list[str]) -> str:
    if not words:
        return ""
    verb, args = words[0], words[1:]
    if verb == "sent":
        network = next(iter(modems.values())).network
        return "\n".join(f"{r.at:%H:%M:%S} {r.line} -> {r.recipient}: {r.text!r}" for r in network.received) or "(nothing)"
    if not args or args[0] not in modems:
        return f"unknown line; known: {', '.join(modems)}"
    m = modems[args[0]]
    if verb == "sms" and len(args) >= 3:
        await m.deliver_sms(args[1], " ".join(args[2:]))
    elif verb == "ring" and len(args) >= 2:
        asyncio.get_running_loop().create_task(m.ring(args[1], int(args[2]) if len(args) > 2 else 3))
    elif verb == "unplug":
        await m.unplug()
    elif verb == "replug":
        await m.replug()
    elif verb in ("hang", "unhang"):
        getattr(m, verb)()
    elif verb == "full":
        return f"{m.storage_full()} old messages added"
    elif verb == "fail" and len(args) >= 2:
        m.fail_next(int(args[1]), int(args[2]) if len(args) > 2 else 1)
    elif verb == "dereg":
        m.deregister()
    elif verb == "reg":
        m.register()
    else:
        return f"unknown verb {verb!r}"
    return "ok"


async def _main(args: argparse.Namespace) -> None:
    data_dir = args.dir or Path(tempfile.mkdtemp(prefix="gatewayd-sim-"))
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    timings = SimTimings() if args.fast else REALISTIC
    pins = [args.pin] * args.lines if args.pin else None
    lines = await start_simulated_lines(args.lines, data_dir=data_dir, profiles=profiles, timings=timings, pins=pins)
    modems = {m.name: m for m, _ in lines}
    for m, _ in lines:
        print(f"{m.name}\t{m.profile.name}\t{m.port}\t{m.slave_path}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            words = line.decode().split()
            if words[:1] == ["quit"]:
                break
            answer = await _verb(modems, words)
            if answer:
                print(answer, flush=True)
    finally:
        await stop_simulated_lines(lines)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=5 if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
