"""API keys: `gw_<prefix>_<secret>`, shown once, stored as a SHA-256 hash, with scopes."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from gatewayd.clock import Clock, SystemClock
from gatewayd.errors import InvalidInput
from gatewayd.store import apikeys as key_store
from gatewayd.store.apikeys import ApiKeyRow
from gatewayd.store.db import Database

SCOPES = ("send", "read", "admin")
USE_RECORD_SECONDS = 60.0  # last_used_at is written at most once a minute per key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    scopes: frozenset[str]
    token: str  # the only time the whole key exists outside the client


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    parts = token.split("_")
    if len(parts) != 3 or parts[0] != "gw" or len(parts[1]) != 10 or len(parts[2]) < 20:
        return None
    return parts[1], parts[2]


async def create_key(db: Database, clock: Clock, name: str, scopes: set[str] | frozenset[str]) -> NewKey:
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("name", code="apikey.bad_name")
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise InvalidInput("scopes", code="apikey.unknown_scope", scope=sorted(unknown)[0], scopes=", ".join(SCOPES))
    if not scopes:
        raise InvalidInput("scopes", code="apikey.no_scope")
    prefix = secrets.token_hex(5)
    token = f"gw_{prefix}_{secrets.token_urlsafe(24).replace('_', 'x')}"
    key_id = await key_store.insert(db, name=name, prefix=prefix, secret_hash=_hash(token),
                                    scopes=frozenset(scopes), now=clock.now())
    return NewKey(key_id, name, frozenset(scopes), token)


async def verify_token(db: Database, token: str) -> ApiKeyRow | None:
    """The key's row when `token` is a valid, unrevoked key; None otherwise."""
    parts = split_token(token)
    if parts is None:
        return None
    row = await key_store.by_prefix(db, parts[0])
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(token)):
        return None
    return row


class KeyVerifier:
    """verify_token() that remembers keys which verified for `ttl` seconds.

    An ERP posting hundreds of single messages a second would otherwise cost a database read per
    request. A key revoked through revoke() is forgotten at once; only a revocation written by
    another process waits for the ttl. Failed tokens are never remembered (each costs a read).
    Entries are keyed by the token's hash, so the cache holds no secrets.

    Each key's last use is recorded (api_keys.last_used_at) at most once every
    USE_RECORD_SECONDS, so a busy client costs one write a minute, not one per request."""

    def __init__(self, db: Database, *, ttl: float = 5.0, max_entries: int = 1024,
                 clock: Clock | None = None) -> None:
        self.db = db
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock or SystemClock()
        self._verified: dict[str, tuple[ApiKeyRow, float]] = {}
        self._recorded: dict[int, float] = {}  # key id -> clock.monotonic() of its last write

    async def verify(self, token: str) -> ApiKeyRow | None:
        digest = _hash(token)
        hit = self._verified.get(digest)
        if hit is not None and hit[1] > self.clock.monotonic():
            await self._record_use(hit[0])
            return hit[0]
        row = await verify_token(self.db, token)
        if row is None:
            self._verified.pop(digest, None)
            return None
        if len(self._verified) >= self.max_entries:
            self._verified.clear()
        self._verified[digest] = (row, self.clock.monotonic() + self.ttl)
        await self._record_use(row)
        return row

    async def _record_use(self, row: ApiKeyRow) -> None:
        mono = self.clock.monotonic()
        last = self._recorded.get(row.id)
        if last is not None and mono - last < USE_RECORD_SECONDS:
            return
        if len(self._recorded) >= self.max_entries:
            self._recorded.clear()
        self._recorded[row.id] = mono
        try:
            await key_store.touch(self.db, row.id, self.clock.now())
        except Exception:  # a full disk must not refuse requests: the use is only bookkeeping
            log.warning("could not record the use of API key %d", row.id, exc_info=True)

    async def revoke(self, key_id: int, now: datetime) -> bool:
        """Revoke key `key_id`; requests carrying it fail from now on."""
        revoked = await key_store.revoke(self.db, key_id, now)
        self._verified = {d: hit for d, hit in self._verified.items() if hit[0].id != key_id}
        return revoked
