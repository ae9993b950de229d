"""API keys: `gw_<prefix>_<secret>`, shown once, stored as a SHA-256 hash, with scopes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from gatewayd.clock import Clock
from gatewayd.errors import InvalidInput
from gatewayd.store import apikeys as key_store
from gatewayd.store.apikeys import ApiKeyRow
from gatewayd.store.db import Database

SCOPES = ("send", "read", "admin")


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
        raise InvalidInput("name", "1 to 64 characters")
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise InvalidInput("scopes", f"unknown scope {sorted(unknown)[0]!r} (use {', '.join(SCOPES)})")
    if not scopes:
        raise InvalidInput("scopes", "at least one scope is needed")
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
