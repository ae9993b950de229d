"""Hypothesis budgets for the fuzz tests, chosen by the GATEWAYD_FUZZ environment variable.

- unset or ``ci`` (default): a fixed, derandomised set of examples per test so the whole folder
  runs in well under 40 s on a shared two-core box and a failure reproduces on every rerun;
- ``long``: over 30 times the examples, random seeds and the example database (``.hypothesis/``) so
  a failure found once is replayed first next time; Schemathesis gets 100 examples per operation
  and 15 minutes instead of 5 and 16 s. Run it on demand, for instance overnight (about 25 min):

      GATEWAYD_FUZZ=long .venv/bin/pytest tests/fuzz -q -p no:cacheprovider

The budgets are registered as the Hypothesis profiles ``gatewayd-fuzz-ci`` and
``gatewayd-fuzz-long`` but never loaded globally, so other test folders keep their own settings;
each fuzz test takes ``budget(share)`` (its share of the profile's example count).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # the machine is shared: timing is not what these tests judge
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.function_scoped_fixture],
    "print_blob": True,
}
settings.register_profile("gatewayd-fuzz-ci", max_examples=150, derandomize=True, database=None, **_COMMON)
settings.register_profile("gatewayd-fuzz-long", max_examples=5000, derandomize=False, **_COMMON)

MODE = os.environ.get("GATEWAYD_FUZZ", "ci").strip().lower() or "ci"
if MODE not in ("ci", "long"):
    raise RuntimeError(f"GATEWAYD_FUZZ={MODE!r}: expected 'ci' or 'long'")
PROFILE = settings.get_profile(f"gatewayd-fuzz-{MODE}")
LONG = MODE == "long"


def budget(share: float = 1.0) -> settings:
    """The profile's settings with `share` of its examples (at least 5) for a costlier test."""
    return settings(PROFILE, max_examples=max(5, int(PROFILE.max_examples * share)))
