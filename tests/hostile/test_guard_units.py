"""The pure parts of the connection guard and of the log's repeat filter (no I/O)."""

from __future__ import annotations

import logging

from gatewayd.http_guard import Connection, ConnectionTable, GuardLimits
from gatewayd.logging_setup import RepeatFilter


def _conn(address: str, closed: list[str]) -> Connection:
    return Connection(address, 0.0, lambda: closed.append(address))


def test_limits_keep_connections_and_backlog_under_half_the_descriptors() -> None:
    for nofile in (256, 1024, 4096, 524288):
        limits = GuardLimits.for_descriptors(nofile, max_connections=1000, max_per_address=64, header_timeout=10)
        assert limits.max_connections + limits.backlog <= nofile // 2 or limits.max_connections == 1000
        assert limits.max_per_address <= limits.max_connections
    assert GuardLimits.for_descriptors(524288, max_connections=1000, max_per_address=64,
                                       header_timeout=10).max_connections == 1000


def test_the_table_refuses_past_the_per_address_cap_and_evicts_the_oldest_half_open() -> None:
    table = ConnectionTable(GuardLimits(max_connections=4, max_per_address=2, header_timeout=10))
    closed: list[str] = []
    a1, a2, a3 = (_conn("10.0.0.1", closed) for _ in range(3))
    assert table.admit(a1) == (True, None) and table.admit(a2) == (True, None)
    assert table.admit(a3) == (False, None)           # a third from the same address
    busy = _conn("10.0.0.2", closed)
    assert table.admit(busy)[0]
    assert table.saw(busy, b"GET / HTTP/1.1\r\nHost: x\r") is False
    assert table.saw(busy, b"\n\r\n") is True         # headers complete across two reads
    b2 = _conn("10.0.0.3", closed)
    assert table.admit(b2) == (True, None)            # 4 open now: the cap
    newcomer = _conn("10.0.0.9", closed)
    admitted, victim = table.admit(newcomer)
    assert admitted and victim is a1                  # the oldest still waiting for headers
    assert table.per_address == {"10.0.0.1": 1, "10.0.0.2": 1, "10.0.0.3": 1, "10.0.0.9": 1}
    for c in (a2, b2, newcomer):
        c.awaiting_headers = False
    assert table.admit(_conn("10.0.0.10", closed)) == (False, None)  # everyone busy: the newcomer waits
    table.remove(a2)
    assert "10.0.0.1" not in table.per_address


def test_repeated_lines_are_folded_with_a_count() -> None:
    now = [0.0]
    rule = RepeatFilter(window=60, burst=3, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    passed = [rule.filter(record("socket.accept() out of system resource")) for _ in range(1000)]
    assert passed.count(True) == 4                    # 3, then one saying it is muted
    assert rule.filter(record("another message"))
    now[0] = 61
    again = record("socket.accept() out of system resource")
    assert rule.filter(again) and "996 more like this" in again.getMessage()
