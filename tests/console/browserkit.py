"""Browser tests' kit: the whole daemon on a real port over simulated modems, and Debian's chromium
driven by Playwright (no `playwright install`: the browser comes from the `chromium` package)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gatewayd import keys
from gatewayd.app import build_app
from gatewayd.config import Settings
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.timings import FAST_TEST_TIMINGS
from tests.waiting import until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "Correct-Horse-9"
# Phones of the virtual network. Valid French mobile numbers: the simulator's demo range (06 39 98,
# set aside for fiction) is refused by libphonenumber, hence by the console and the API.
THANKS = "+33612000001"        # answers "Merci, bien reçu !", reports delivered
SAYS_STOP = "+33612000002"     # answers STOP to anything

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")


@dataclass
class Box:
    """The running daemon: its app, URL, simulated modems and their network."""

    app: web.Application
    url: str
    modems: list[SimModem]
    network: SimNetwork
    console_errors: list[str] = field(default_factory=list)

    async def until(self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> None:
        await until(predicate, timeout, what)


@asynccontextmanager
async def running_box(tmp_path: Path, *, lines: int = 1, latency: float | tuple[float, float] = 0.0,
                      sections: dict[str, Any] | None = None) -> AsyncIterator[Box]:
    """The daemon (build_app) on 127.0.0.1:<free port> over `lines` simulated modems, lines ready."""
    network = SimNetwork()
    network.add_subscriber(THANKS, reply="Merci, bien reçu !")
    network.add_subscriber(SAYS_STOP, reply_stop=True)
    modems: list[SimModem] = []
    server: TestServer | None = None
    try:
        for i in range(1, lines + 1):
            modem = SimModem(network, name=f"line{i}", profile=("sim800", "ec25")[(i - 1) % 2],
                             link=tmp_path / "sim" / f"line{i}", imei=f"86506702000{i:04d}",
                             imsi=f"20801123456{i:04d}", iccid=f"893301123456789{i:04d}",
                             msisdn=f"+3363998{i:04d}", seed=i, latency=latency)
            (tmp_path / "sim").mkdir(exist_ok=True)
            await modem.start()
            modems.append(modem)
        data: dict[str, Any] = {
            "storage": {"database": str(tmp_path / "gatewayd.db")}, "http": {"host": "127.0.0.1"},
            "modems": [{"name": m.name, "port": m.port} for m in modems],
            "outbound": {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "line_cooldown_seconds": 5.0},
            "quiet_hours": {"enabled": False},
            "console": {"poll_seconds": 0.5},
            "campaigns": {"tick_seconds": 0.2, "window": 2},
        }
        for name, values in (sections or {}).items():
            data.setdefault(name, {}).update(values)
        app = build_app(Settings(**data))
        app[keys.MODEM_TIMINGS] = FAST_TEST_TIMINGS
        app[keys.OUTBOUND_OPTIONS] = {"fallback": 0.2, "stop_grace": 1.0, "seed": 7}
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        box = Box(app, str(server.make_url("")).rstrip("/"), modems, network)
        pool = app[keys.POOL]
        await box.until(lambda: len(pool.ready_lines()) == lines, 20, "all lines ready")
        yield box
    finally:
        if server is not None:
            await server.close()
        for modem in modems:
            await modem.stop()
        network.close()


@asynccontextmanager
async def browser_page(box: Box, *, locale: str = "fr-FR", width: int = 1280, height: int = 860) -> AsyncIterator[Any]:
    """A fresh chromium page (own cookies) that records CSP violations and script errors in box."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale=locale, viewport={"width": width, "height": height},
                                                extra_http_headers={"Accept-Language": locale})
            page = await context.new_page()
            page.set_default_timeout(15_000)
            page.on("console", lambda msg: box.console_errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: box.console_errors.append(f"pageerror: {exc}"))
            yield page
        finally:
            await browser.close()


async def shot(page: Any, name: str, *, full: bool = True) -> None:
    """Save a screenshot under test-artifacts/screenshots/ (gitignored; CI keeps it as an artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full)


async def create_admin(page: Any, box: Box, name: str = "admin") -> None:
    """First run through the browser: any URL leads to the administrator form."""
    await page.goto(box.url + "/contacts")
    assert page.url.endswith("/setup")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.fill("input[name=confirm]", PASSWORD)
    await page.click("#setup-form button[type=submit]")
    await page.wait_for_url(box.url + "/?done=created")


async def sign_in(page: Any, box: Box, name: str = "admin", password: str = PASSWORD) -> None:
    await page.goto(box.url + "/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", password)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(box.url + "/")
