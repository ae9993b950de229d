"""Prepaid SIM care ([[sim_checks]]): the balance asked by USSD on each line's schedule, read
with the pure parser, kept in the database, and a low balance raising the `balance_low` alert;
an optional keep-alive USSD so a prepaid SIM without traffic does not expire."""

from __future__ import annotations

import logging
from typing import Any

from gatewayd.alerts.balance import parse_balance
from gatewayd.clock import Clock
from gatewayd.config import SimCheckSettings
from gatewayd.store import alerts as store
from gatewayd.store.db import Database

log = logging.getLogger(__name__)


class SimCare:
    def __init__(self, db: Database, checks: list[SimCheckSettings], clock: Clock, *, pool: Any,
                 alerts: Any, timezone: str, ussd_timeout: float = 30.0) -> None:
        self.db = db
        self.checks = {c.line: c for c in checks}
        self.clock = clock
        self.pool = pool
        self.alerts = alerts
        self.timezone = timezone
        self.ussd_timeout = ussd_timeout

    def schedule(self, scheduler: Any) -> None:
        for check in self.checks.values():
            if check.balance_code:
                scheduler.cron(f"balance-{check.line}", check.balance_schedule, self.timezone, self.check_balance,
                               check.line)
            if check.keepalive_code:
                scheduler.cron(f"keepalive-{check.line}", check.keepalive_schedule, self.timezone, self.keep_alive,
                               check.line)

    async def check_balance(self, line: str) -> store.BalanceCheck:
        """Ask the balance of `line` now, record it, and raise or clear the low-balance alert."""
        check = self.checks[line]
        answer: str | None = None
        error: str | None = None
        try:
            reply = await self.pool.ussd(line, check.balance_code, self.ussd_timeout)
            answer = reply.text
            if answer is None:
                error = f"no text in the network's answer ({reply.status})"
        except Exception as exc:  # noqa: BLE001 - a failed check is recorded, never fatal
            error = str(exc) or type(exc).__name__
        amount = parse_balance(answer)
        if answer is not None and amount is None:
            error = "no amount found in the answer"
        result = store.BalanceCheck(line, self.clock.now(), check.balance_code, answer,
                                    float(amount) if amount is not None else None, error)
        async with self.db.write() as conn:
            await store.record_balance(conn, result)
        if error:
            log.warning("balance check of %s: %s", line, error)
        if amount is not None and check.low_balance and self.alerts is not None:
            params = {"line": line, "amount": f"{amount:.2f}", "threshold": f"{check.low_balance:.2f}"}
            await self.alerts.set_condition("balance_low", line, params, float(amount) < check.low_balance)
        return result

    async def keep_alive(self, line: str) -> None:
        check = self.checks[line]
        try:
            await self.pool.ussd(line, check.keepalive_code, self.ussd_timeout)
            log.info("keep-alive USSD sent on %s", line)
        except Exception as exc:  # noqa: BLE001
            log.warning("keep-alive USSD on %s failed: %s", line, exc)
