"""Attack 5 of issue 14: the login throttle as a weapon, and what sign-in tells about accounts.

Client addresses are given through a trusted reverse proxy (X-Forwarded-For from 127.0.0.1), the
set-up the README suggests, which is also how one test client speaks for many hosts."""

from __future__ import annotations

import statistics
import time

from gatewayd import keys
from gatewayd.store import users as user_store

from tests.console.conftest import PASSWORD, Console, ConsoleFactory, add_user

RULES = {"login_max_per_user": 3, "login_max_per_address": 5, "login_max_per_user_untrusted": 6,
         "trusted_proxies": ["127.0.0.1"], "trusted_networks": ["192.168.1.0/24"]}


async def _try(c: Console, name: str, password: str, address: str) -> int:
    c.clock.advance(1)  # attempts a second apart (a success clears the failures before it)
    status, _, _ = await c.post("/login", {"name": name, "password": password},
                                headers={"X-Forwarded-For": address})
    if status == 303:
        c.client.session.cookie_jar.clear()  # sign out this "browser" again
        await c.get("/login")
    return status


async def test_a_guesser_locks_only_itself_out_never_the_owner(console_factory: ConsoleFactory) -> None:
    c = await console_factory(console=RULES)
    await add_user(c, "admin", "admin")
    await c.get("/login")
    for _ in range(3):
        assert await _try(c, "admin", "Bad-guess-1", "10.0.0.66") == 401
    assert await _try(c, "admin", PASSWORD, "10.0.0.66") == 429      # the guesser's machine waits...
    assert await _try(c, "admin", PASSWORD, "10.0.0.7") == 303       # ...not the owner at their own desk

    # Guesses spread over many hosts: past 6 failures every untrusted address waits for this user,
    # but the office network is never held back by others' failures.
    for host in range(100, 106):
        assert await _try(c, "admin", "Bad-guess-1", f"10.0.0.{host}") == 401
    assert await _try(c, "admin", PASSWORD, "10.0.0.8") == 429
    assert await _try(c, "admin", PASSWORD, "192.168.1.20") == 303


async def test_one_address_trying_many_names_waits_unless_trusted(console_factory: ConsoleFactory) -> None:
    c = await console_factory(console=RULES)
    await add_user(c, "admin", "admin")
    await c.get("/login")
    for name in ("ann", "bob", "cid", "dan", "eve"):
        assert await _try(c, name, "Bad-guess-1", "10.0.0.66") == 401
    assert await _try(c, "fay", "Bad-guess-1", "10.0.0.66") == 429
    assert await _try(c, "admin", PASSWORD, "10.0.0.67") == 303      # a neighbour is not concerned
    # The reverse proxy's own address is not a client: everyone behind it is not locked together.
    for name in ("ann", "bob", "cid", "dan", "eve", "fay"):
        assert await _try(c, name, "Bad-guess-1", "192.168.1.50") == 401


async def _median_login_ms(c: Console, name: str, password: str) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        assert await _try(c, name, password, "10.1.0.1") == 401
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def test_a_disabled_account_answers_as_slowly_as_a_wrong_password(console_factory: ConsoleFactory) -> None:
    c = await console_factory(console={**RULES, "login_max_per_user": 100, "login_max_per_address": 100,
                                       "login_max_per_user_untrusted": 100})
    await add_user(c, "admin", "admin")
    await add_user(c, "gone", "operator")
    db = c.app[keys.DB]
    gone = await user_store.by_name(db, "gone")
    assert gone is not None
    await user_store.set_role_and_state(db, gone.id, role="operator", disabled_at=c.clock.now())
    await c.get("/login")
    wrong = await _median_login_ms(c, "admin", "Bad-guess-1")
    disabled = await _median_login_ms(c, "gone", PASSWORD)
    # Before: 2 ms against 125 ms. The same hash is computed now, so the times are alike.
    assert disabled > wrong / 2, (disabled, wrong)
