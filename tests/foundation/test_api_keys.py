"""API keys: verification, the short memory of verified keys, and revocation."""

from __future__ import annotations

from datetime import datetime, timedelta

from gatewayd.accounts.apikeys import KeyVerifier, create_key
from gatewayd.clock import FakeClock, SystemClock
from gatewayd.store import apikeys as key_store
from gatewayd.store.db import Database


async def test_only_the_whole_key_verifies(db: Database) -> None:
    key = await create_key(db, SystemClock(), "erp", {"send"})
    verifier = KeyVerifier(db)
    row = await verifier.verify(key.token)
    assert row is not None and row.id == key.id and row.scopes == {"send"}
    prefix = key.token.rsplit("_", 1)[0]
    assert await verifier.verify(prefix + "_" + "x" * 32) is None          # right prefix, wrong secret
    assert await verifier.verify(key.token[:-1]) is None
    assert await verifier.verify("gw_short_secret") is None
    assert await verifier.verify(key.token) is not None                     # a failure is not remembered


async def test_revoking_through_the_verifier_refuses_the_key_at_once(db: Database) -> None:
    key = await create_key(db, SystemClock(), "erp", {"send"})
    other = await create_key(db, SystemClock(), "crm", {"read"})
    verifier = KeyVerifier(db, ttl=3600)
    assert await verifier.verify(key.token) is not None and await verifier.verify(other.token) is not None
    assert await verifier.revoke(key.id, SystemClock().now())
    assert await verifier.verify(key.token) is None
    assert await verifier.verify(other.token) is not None
    assert not await verifier.revoke(key.id, SystemClock().now())  # already revoked


async def test_a_revocation_written_elsewhere_is_honoured_within_the_ttl(db: Database) -> None:
    key = await create_key(db, SystemClock(), "erp", {"send"})
    clock = FakeClock()
    verifier = KeyVerifier(db, ttl=5.0, clock=clock)
    assert await verifier.verify(key.token) is not None
    await key_store.revoke(db, key.id, SystemClock().now())  # another process, say
    clock.advance(4.9)
    assert await verifier.verify(key.token) is not None     # remembered: no database read
    clock.advance(0.2)
    assert await verifier.verify(key.token) is None


async def test_the_memory_holds_hashes_not_keys_and_stays_bounded(db: Database) -> None:
    verifier = KeyVerifier(db, max_entries=3)
    tokens = [(await create_key(db, SystemClock(), f"k{i}", {"send"})).token for i in range(5)]
    for token in tokens:
        assert await verifier.verify(token) is not None
    remembered = verifier._verified  # noqa: SLF001 (what the process holds is the point here)
    assert 1 <= len(remembered) <= 3
    assert not any(token in digest or digest in token for digest in remembered for token in tokens)


async def test_a_keys_use_is_recorded_at_most_once_a_minute(db: Database) -> None:
    clock = FakeClock()
    key = await create_key(db, clock, "erp", {"send"})
    verifier = KeyVerifier(db, ttl=0, clock=clock)

    async def last_used() -> datetime | None:
        [row] = await key_store.list_all(db)
        return row.last_used_at

    assert await last_used() is None
    first = clock.now()
    assert await verifier.verify(key.token) is not None
    assert await last_used() == first
    clock.advance(59)
    assert await verifier.verify(key.token) is not None
    assert await last_used() == first            # within the minute: no write
    assert await verifier.verify("gw_nope_" + "x" * 32) is None
    clock.advance(2)
    assert await verifier.verify(key.token) is not None
    assert await last_used() == first + timedelta(seconds=61)
