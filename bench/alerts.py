"""How long the box takes to tell people a line died: `python bench/alerts.py [--down-after S] [--json out.json]`.

The in-process daemon over two simulated modems on real ptys, a real SMTP server (aiosmtpd), a
real webhook receiver and the real SQLite file, configured as the issue's "done when" says
([alerts] email + sms, a webhook endpoint, line_down_after_seconds = --down-after, 60 by
default). line1 is unplugged and not replugged; the figures are the seconds from the unplug to:
the alert e-mail in the SMTP server, the alert SMS on the network (sent by line2), the line.down
webhook at the receiver. Then line2 is unplugged too: seconds until GET /readyz answers 503.
Target: each alert within --down-after + 10 s (the delay is the configured patience, not latency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.alerts.kit import ADMIN_SMS, alert_sections, alerting_gateway, mailbox, sms_to  # noqa: E402


async def measure(down_after: float, workdir: Path) -> dict[str, Any]:
    async with mailbox() as box:
        sections = alert_sections(box, line_down_after_seconds=down_after, check_seconds=1.0)
        async with alerting_gateway(workdir, box, sections=sections) as (gw, hooks):
            start = time.monotonic()
            await gw.modems[0].unplug()
            seen: dict[str, float] = {}
            deadline = start + down_after + 60
            while len(seen) < 3 and time.monotonic() < deadline:
                now = round(time.monotonic() - start, 2)
                if "email_s" not in seen and box.subjects("line1"):
                    seen["email_s"] = now
                if "sms_s" not in seen and sms_to(gw, ADMIN_SMS, "line1"):
                    seen["sms_s"] = now
                if "webhook_s" not in seen and hooks.events("line.down"):
                    seen["webhook_s"] = now
                await asyncio.sleep(0.01)
            start = time.monotonic()
            await gw.modems[1].unplug()
            while time.monotonic() - start < 60:
                resp = await gw.client.get("/readyz")
                if resp.status == 503:
                    seen["readyz_503_s"] = round(time.monotonic() - start, 2)
                    break
                await asyncio.sleep(0.01)
            counts = {"emails": len(box.subjects("line1")), "sms": len(sms_to(gw, ADMIN_SMS, "line1")),
                      "webhooks": len(hooks.events("line.down"))}
    target = down_after + 10
    ok = all(k in seen for k in ("email_s", "sms_s", "webhook_s", "readyz_503_s")) and all(
        seen[k] <= target for k in ("email_s", "sms_s", "webhook_s")) and counts == {"emails": 1, "sms": 1,
                                                                                      "webhooks": 1}
    return {"down_after_s": down_after, **seen, "counts": counts, "target_s": target, "ok": ok}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--down-after", type=float, default=60.0, help="[alerts] line_down_after_seconds")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        result = asyncio.run(measure(args.down_after, Path(tmp)))
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
