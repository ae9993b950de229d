"""Password policy (pure) and argon2id hashing."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gatewayd.problems import coded

MIN_LENGTH = 8

# argon2id with the library's RFC 9106 "low memory" profile: ~64 MiB, fine on a Raspberry Pi.
_hasher = PasswordHasher()


def policy_problems(password: str) -> list[dict[str, Any]]:
    """What the password lacks, as problems (gatewayd.problems: `password.*` codes); empty when it is
    acceptable. They go in the `missing` parameter of a `password.weak` problem."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(coded("password.min_length", count=MIN_LENGTH))
    if not any(c.isupper() for c in password):
        problems.append(coded("password.upper"))
    if not any(c.islower() for c in password):
        problems.append(coded("password.lower"))
    if not any(c.isdigit() for c in password):
        problems.append(coded("password.digit"))
    if not any(not c.isalnum() and not c.isspace() for c in password):
        problems.append(coded("password.special"))
    if password and is_common(password):
        problems.append(coded("password.common"))
    return problems


# The words behind the passwords guessed first (leaked-password lists, French and English): a
# password that is one of them once case, look-alike digits and what surrounds it are taken away
# ("Passw0rd!", "Azerty2024?", "@dmin123") falls to the first guesses whatever the character rules.
COMMON_WORDS = frozenset("""
password passwd passw pass motdepasse mdp azerty azertyuiop qwerty qwertyuiop qwertz admin administrator
administrateur root user utilisateur test guest welcome bienvenue bonjour salut soleil letmein monkey dragon
iloveyou jetaime football baseball master shadow sunshine princess chocolat loulou doudou marseille paris
secret changeme default gateway gatewayd sms abc abcd abcdef abcdefg abcdefgh login superman batman
starwars pokemon hello coucou maison amour trustno freedom whatever summer winter spring autumn ete hiver
printemps automne juillet aout septembre octobre novembre decembre janvier fevrier mars avril mai juin
""".split())
_LOOK_ALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def is_common(password: str) -> bool:
    """Whether `password` is a common word dressed up with case, look-alikes and digits or symbols."""
    core = password.strip().lower()
    core = core.strip("".join(c for c in set(core) if not c.isalpha() and c not in "@$013457"))
    core = core.lstrip("0123456789").rstrip("0123456789!?.*#%&+-_=")
    core = core.translate(_LOOK_ALIKES)
    core = "".join(c for c in core if c.isalpha())
    return core in COMMON_WORDS or (len(set(core)) <= 2 and len(core) < 6)


# Each hash takes ~64 MiB and tens of milliseconds of CPU on every core (argon2 lanes). They run
# one at a time in one worker thread of lowered priority: a burst of sign-ins cannot take gigabytes,
# and the event loop (HTTP, modems) gets the CPU first, whatever the rate of attempts.
HASHING_NICENESS = 4
T = TypeVar("T")


class _HashingThread:
    """One daemon thread (started on first use) running hashes in order for any event loop."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[..., Any],
                                             tuple[Any, ...]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="password-hash", daemon=True)
                self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return future

    def _work(self) -> None:
        try:  # on Linux the "process" priority of a thread id is that thread's (argon2's lanes inherit it)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)
        except (AttributeError, OSError):
            pass
        while True:
            loop, future, fn, args = self._queue.get()
            try:
                outcome: tuple[Any, BaseException | None] = (fn(*args), None)
            except BaseException as exc:  # handed to the awaiting coroutine
                outcome = (None, exc)
            try:
                loop.call_soon_threadsafe(_settle, future, *outcome)
            except RuntimeError:
                pass  # that loop is closed: nobody waits any more


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_hashing = _HashingThread()


async def hash_password_async(password: str) -> str:
    return await _hashing.run(hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    return await _hashing.run(verify_password, password_hash, password)


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
