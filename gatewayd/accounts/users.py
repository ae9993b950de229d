"""Console users: creation under the password policy, first-run admin, authentication."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from gatewayd.accounts.passwords import hash_password, hash_password_async, policy_problems, verify_password_async
from gatewayd.clock import Clock
from gatewayd.errors import Conflict, InvalidInput
from gatewayd.store import users as user_store
from gatewayd.store.db import Database
from gatewayd.store.users import DuplicateUser, UserRow

ROLES = ("admin", "operator", "viewer")


def check_new_user(name: str, password: str, role: str) -> None:
    """Raise InvalidInput naming the field when a new user's name, password or role is unusable."""
    if not name or len(name) > 64 or not name.isprintable() or name.strip() != name:
        raise InvalidInput("name", code="user.bad_name")
    if unicodedata.normalize("NFKC", name) != name or any(
            c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in name):
        # 'аdmin' with a Cyrillic 'а' looks like 'admin' in every list and log.
        raise InvalidInput("name", code="user.look_alike")
    if role not in ROLES:
        raise InvalidInput("role", code="user.bad_role", roles=", ".join(ROLES))
    problems = policy_problems(password)
    if problems:
        raise InvalidInput("password", code="password.weak", missing=problems)


async def create_user(db: Database, clock: Clock, name: str, password: str, role: str,
                      language: str | None = None) -> int:
    check_new_user(name, password, role)
    try:
        return await user_store.insert(db, name=name, password_hash=await hash_password_async(password), role=role,
                                       now=clock.now(), language=language)
    except DuplicateUser:
        raise Conflict(code="user.exists", field="name", name=name) from None


async def create_first_admin(db: Database, clock: Clock, name: str, password: str,
                             language: str | None = None) -> int:
    """Create the first admin; Conflict once any user exists (no default password, ever)."""
    check_new_user(name, password, "admin")
    user_id = await user_store.insert_first_admin(db, name=name, password_hash=await hash_password_async(password),
                                                  now=clock.now(), language=language)
    if user_id is None:
        raise Conflict(code="user.first_admin_exists")
    return user_id


async def authenticate(db: Database, name: str, password: str) -> UserRow | None:
    """The user when name and password match and the account is enabled. A missing or disabled
    account costs the same hash as a wrong password, so timing does not tell which names exist."""
    user = await user_store.by_name(db, name)
    matches = await verify_password_async(user.password_hash if user is not None else _DUMMY_HASH, password)
    if user is None or user.disabled_at is not None or not matches:
        return None
    return user


_DUMMY_HASH = hash_password("not-a-real-password-1A!")


async def set_default_line(db: Database, lines: Sequence[str], user_id: int, line: str | None) -> None:
    """The line `user_id` writes from when they choose none (None: the line choice rule alone);
    one of the pool's lines."""
    if line is not None and line not in lines:
        raise InvalidInput("line", code="line.unknown", line=line, known=", ".join(lines) or "none")
    await user_store.set_default_line(db, user_id, line)
