"""The store's exceptions, in a module of their own so that db.py and the migrations both raise them
without importing each other."""

from __future__ import annotations


class DatabaseError(Exception):
    """The database cannot be used (corrupt, unwritable, newer schema than this code)."""


class DiskFull(DatabaseError):
    """A write failed because the database's disk is full or refuses writes; nothing of it was kept."""
