"""Hostile-load tests reuse the console's browser-like client fixtures (signed-in sessions over HTTP)."""

from __future__ import annotations

from tests.console.conftest import admin, console, console_factory

__all__ = ["admin", "console", "console_factory"]
