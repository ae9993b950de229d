"""Retry policy for transient send failures (pure): capped exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """`base`·2^(n-1) seconds after the n-th failure, at most `cap`, drawn in [half, whole] of it."""

    base: float
    cap: float
    max_attempts: int

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after `failures` transient failures (1 = the first)."""
        if failures < 1:
            return 0.0
        # 2**63 overflows nothing in Python, but keep the exponent small so floats stay exact.
        ceiling = min(self.cap, self.base * (2.0 ** min(failures - 1, 40)))
        # Jitter spreads messages that failed together (a network outage) so they do not
        # all come back in the same second; never below half, so the backoff still grows.
        return ceiling * (0.5 + 0.5 * (rng or random).random())

    def give_up(self, failures: int, table_limit: int | None = None) -> bool:
        """Whether a message with `failures` transient failures has had enough tries.

        `table_limit` is the error table's own retry allowance for this error (None: no limit)."""
        if failures >= self.max_attempts:
            return True
        return table_limit is not None and failures > table_limit
