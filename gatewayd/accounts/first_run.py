"""Who may create the first administrator (`/setup`) while no user exists.

Until then anyone who reaches the console could claim the box, so `/setup` is accepted only from
the gateway itself (loopback), from [console] trusted_networks, or with the one-time setup code the
daemon writes, at start while no user exists, to its log and to `setup-code` beside the database
(readable by whoever can read the database: the box's administrator)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from gatewayd.accounts.throttle import Network, in_networks

log = logging.getLogger(__name__)

CODE_FILE = "setup-code"


def code_path(database: str | Path) -> Path:
    return Path(database).resolve().parent / CODE_FILE


def issue_code(database: str | Path) -> str:
    """A new setup code, written (owner-only) beside the database and logged."""
    code = secrets.token_hex(4)  # 8 hex digits: typed by hand once, valid until the first admin exists
    path = code_path(database)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(code + "\n")
    except OSError as exc:  # the log still has it
        log.warning("could not write the setup code to %s: %s", path, exc)
    log.warning("no administrator yet: create one at /setup from this machine or a trusted network, "
                "or with the setup code %s (also in %s)", code, path)
    return code


def forget_code(database: str | Path) -> None:
    """The first administrator exists: the code is useless now."""
    code_path(database).unlink(missing_ok=True)


def may_set_up(address: str, trusted: tuple[Network, ...], given_code: str, code: str | None) -> bool:
    """True when `address` may create the first administrator (pure)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        ip = None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip is not None and ip.is_loopback:
        return True
    if in_networks(address, trusted):
        return True
    return code is not None and hmac.compare_digest(given_code.strip().lower().encode(), code.encode())
