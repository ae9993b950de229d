"""Smaller items of issue 14 about accounts: common passwords, look-alike and over-long names."""

from __future__ import annotations

import pytest

from gatewayd.accounts.users import check_new_user
from gatewayd.errors import InvalidInput

from tests.console.conftest import PASSWORD, Console, ConsoleFactory, add_user


@pytest.mark.parametrize("password", ["Passw0rd!", "Azerty123!", "P@ssword1", "Admin2024!", "Welcome1!"])
def test_common_passwords_are_refused_whatever_their_dressing(password: str) -> None:
    with pytest.raises(InvalidInput, match="less common password"):
        check_new_user("marie", password, "operator")


def test_look_alike_user_names_are_refused() -> None:
    check_new_user("Hélène Dupré", PASSWORD, "operator")  # accents are letters of the Latin alphabet
    for name in ("\u0430dmin", "admin\u200b", "ａｄｍｉｎ"):  # Cyrillic a, zero-width space, full-width
        with pytest.raises(InvalidInput, match="name"):
            check_new_user(name, PASSWORD, "operator")


async def test_an_over_long_user_name_is_not_cut_down_to_an_existing_one(console_factory: ConsoleFactory) -> None:
    c: Console = await console_factory()
    await add_user(c, "a" * 64, "admin")
    await c.get("/login")
    status, _, _ = await c.post("/login", {"name": "a" * 64 + "-someone-else", "password": PASSWORD})
    assert status == 401
    status, _, _ = await c.post("/login", {"name": "a" * 64, "password": PASSWORD})
    assert status == 303
