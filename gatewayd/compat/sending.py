"""The one way the compatibility surfaces send: a Draft through the outbound service, with the API
key's rate limit and daily cap and the idempotency store, exactly as POST /api/v1/messages does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite
from aiohttp import web

from gatewayd import keys
from gatewayd.api.messages import accepted_json
from gatewayd.errors import Conflict
from gatewayd.outbound.compose import Composed, Draft
from gatewayd.outbound.model import Receipt
from gatewayd.store.apikeys import ApiKeyRow


@dataclass(frozen=True)
class Accepted:
    """What the ledger committed for a send (or committed the first time, for a replay)."""

    messages: list[tuple[int, str, str]]   # (id, to, state) in recipient order
    replayed: bool = False


@dataclass(frozen=True)
class Once:
    """An idempotent send: the client's key (namespaced per surface) and what its request said."""

    key: str
    request: Any

    @property
    def request_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.request, sort_keys=True, separators=(",", ":"),
                                         default=str).encode()).hexdigest()


def _parse(answer: str) -> list[tuple[int, str, str]]:
    return [(m["id"], m["to"], m["state"]) for m in json.loads(answer)["messages"]]


async def earlier(app: web.Application, key: ApiKeyRow, once: Once) -> Accepted | None:
    """The first answer to this idempotent send, if there was one; 409 if it said something else."""
    stored = await app[keys.OUTBOUND].idempotent_answer(key.id, once.key)
    if stored is None:
        return None
    if stored.request_hash != once.request_hash:
        raise Conflict("this id was already used with a different request")
    return Accepted(_parse(stored.response), replayed=True)


async def validate(app: web.Application, draft: Draft) -> Composed:
    """Every rule of a send, nothing written (SMSEagle's `test`)."""
    return await app[keys.OUTBOUND].compose(draft)


async def submit(app: web.Application, key: ApiKeyRow, draft: Draft, *, once: Once | None = None,
                 also: Callable[[aiosqlite.Connection, Receipt], Awaitable[None]] | None = None,
                 request: web.Request | None = None) -> Accepted:
    """Compose and commit `draft` for `key` (a replay answers the first commit); `also` (idempotent
    sends only) writes the surface's own record of the send in the same transaction. With the
    `request`, its answer carries the key's RateLimit-* headers, as /api/v1/messages' does."""
    limits, outbound = app[keys.API_LIMITS], app[keys.OUTBOUND]
    limits.check_rate(key.id, into=request)
    if once is not None and (replay := await earlier(app, key, once)) is not None:
        return replay
    messages = (await outbound.compose(draft)).messages
    count = len(messages)
    await limits.reserve(key.id, count)
    try:
        if once is None:
            receipt = await outbound.accept(messages)
            return Accepted(list(zip(receipt.ids, receipt.to, receipt.states, strict=True)))
        stored, replayed = await outbound.submit_once(messages, api_key_id=key.id, key=once.key,
                                                      request_hash=once.request_hash, answer=accepted_json,
                                                      also=also)
    except BaseException:
        limits.release(key.id, count)
        raise
    if replayed:  # a concurrent twin won the race
        limits.release(key.id, count)
        if stored.request_hash != once.request_hash:
            raise Conflict("this id was already used with a different request")
    return Accepted(_parse(stored.response), replayed=replayed)

