"""Alert-test kit: a real SMTP server (aiosmtpd, in its own thread) that keeps every message it
receives and can be stopped and started again on the same port, plus the gateway with alerts
wired to it and a webhook receiver."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.outbound.conftest import Gateway, gateway, until  # noqa: F401 (until: the tests import it from here)
from tests.outbound.test_webhooks import Receiver, add_endpoint, receiver

ADMIN_MAIL = "admin@example.test"
ADMIN_SMS = "+33611100001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """Every message the SMTP server accepted, with the time it arrived (monotonic)."""

    port: int = field(default_factory=free_port)
    messages: list[tuple[float, EmailMessage, list[str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd handler hook
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append((time.monotonic(), msg, list(envelope.rcpt_tos)))  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self, containing: str = "") -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for _, m, _ in self.messages if containing in str(m["Subject"])]

    def matching(self, containing: str) -> list[tuple[float, EmailMessage, list[str]]]:
        with self._lock:
            return [x for x in self.messages if containing in str(x[1]["Subject"])]


@asynccontextmanager
async def mailbox(*, started: bool = True) -> AsyncIterator[Mailbox]:
    box = Mailbox()
    if started:
        box.start()
    try:
        yield box
    finally:
        box.stop()


def alert_sections(box: Mailbox, **alerts: Any) -> dict[str, dict[str, Any]]:
    """Config sections: e-mail to `box`, alerts by e-mail and SMS, short delays for tests."""
    return {
        "email": {"host": "127.0.0.1", "port": box.port, "retry_base_seconds": 0.2, "retry_cap_seconds": 0.5,
                  "timeout_seconds": 5.0},
        "alerts": {"email": [ADMIN_MAIL], "sms": [ADMIN_SMS], "line_down_after_seconds": 1.0,
                   "check_seconds": 0.2, **alerts},
        "webhooks": {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "timeout_seconds": 2.0},
        "site": {"language": "en"},
    }


@asynccontextmanager
async def alerting_gateway(tmp_path: Path, box: Mailbox, *, lines: int = 2, **kwargs: Any
                           ) -> AsyncIterator[tuple[Gateway, Receiver]]:
    sections = kwargs.pop("sections", None) or alert_sections(box)
    async with receiver() as hooks, gateway(tmp_path, lines=lines, sections=sections, stable_links=True,
                                            **kwargs) as gw:
        await add_endpoint(gw, hooks.url)
        yield gw, hooks


def sms_to(gw: Gateway, number: str, containing: str = "") -> list[Any]:
    return [r for r in gw.network.received if r.recipient == number and containing in r.text]
