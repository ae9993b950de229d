"""Sign-in throttling (pure): who may try a password now, from where.

Failed attempts are counted per (user name, address), so guessing from one machine locks that
machine out of that account and nobody else. Two wider counts catch guessing spread out:
per address over every user name (a host trying many accounts) and per user name over every
address that is not trusted (a guess spread over many hosts). Neither wider count applies to an
address of a trusted network (the office LAN, set in [console] trusted_networks): from there the
real owner is only ever held back by their own mistakes, whatever others try.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatewayd.store.sessions import Failures

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ThrottleRule:
    window: timedelta
    per_user_address: int
    per_address: int
    per_user_untrusted: int
    trusted: tuple[Network, ...] = ()

    def is_trusted(self, address: str) -> bool:
        return in_networks(address, self.trusted)

    def wait(self, *, now: datetime, address: str, user_failures: Mapping[str, Failures],
             address_failures: Failures) -> timedelta | None:
        """How long `address` must wait before trying this user's password again; None: it may try now.

        `user_failures`: the user name's failures per address within the window; `address_failures`:
        the address's failures for every user name within the window."""
        waits = []
        own = user_failures.get(address)
        if own is not None and own.count >= self.per_user_address and own.oldest:
            waits.append(own.oldest + self.window - now)
        if not self.is_trusted(address):
            if address_failures.count >= self.per_address and address_failures.oldest:
                waits.append(address_failures.oldest + self.window - now)
            spread = [f for a, f in user_failures.items() if not self.is_trusted(a)]
            if sum(f.count for f in spread) >= self.per_user_untrusted:
                oldest = min(f.oldest for f in spread if f.oldest)
                waits.append(oldest + self.window - now)
        waits = [w for w in waits if w > timedelta(0)]
        return max(waits) if waits else None


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def in_networks(address: str, networks: tuple[Network, ...]) -> bool:
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)
