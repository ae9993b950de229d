"""Password policy (pure) and argon2id hashing."""

from __future__ import annotations

import asyncio
import weakref

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8

# argon2id with the library's RFC 9106 "low memory" profile: ~64 MiB, fine on a Raspberry Pi.
_hasher = PasswordHasher()


def policy_problems(password: str) -> list[str]:
    """What the password lacks (empty list when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if not any(c.isupper() for c in password):
        problems.append("an upper-case letter")
    if not any(c.islower() for c in password):
        problems.append("a lower-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("a digit")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        problems.append("a special character")
    return problems


# Each hash takes ~64 MiB and tens of milliseconds of CPU: run them in worker threads (the event loop
# keeps answering) one at a time: a burst of sign-ins cannot take gigabytes, and a core stays free.
HASHES_AT_ONCE = 1
_hashing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _hashing.get(loop)
    if slots is None:
        slots = _hashing[loop] = asyncio.Semaphore(HASHES_AT_ONCE)
    return slots


async def hash_password_async(password: str) -> str:
    async with _slots():
        return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    async with _slots():
        return await asyncio.to_thread(verify_password, password_hash, password)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
